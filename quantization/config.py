"""QuantizationConfig: one validated description of how to reduce a model's precision, translated to
each toolchain's own arguments by a `to_<tool>_kwargs()` method.

The vocabulary follows NNCF (`nncf.quantize(model, dataset, preset=..., subset_size=...,
fast_bias_correction=..., ignored_scope=...)`):

- `preset`: `mixed` (default) quantizes weights symmetrically and activations asymmetrically;
  `performance` makes both symmetric (faster on some kernels, a little less accurate).
- `calibration_size`: how many real samples calibrate the activation ranges (NNCF's subset_size).
- `calibration_method`: how activation ranges are estimated; `minmax` (default, the same rule on every
  toolchain, and the fastest: PT2E's histogram observer is several times slower) or `histogram` /
  `percentile`, mapped to each toolchain's equivalent or refused where it has none.
- `ignored_scope`: regular expressions (full match) of node names to keep in float: ONNX node names
  for ORT, the same names in the OpenVINO IR for NNCF (a conv's weight op is `<name>/WithoutBiases`),
  and for LiteRT's PT2E quantizer the torch.export node names with the ONNX exporter's `node_` prefix
  (`conv2d_2` is `node_conv2d_2`; the exporter renames depthwise convs, which then match nothing there);
  for LiteRT through ai-edge-quantizer, `OP_TYPE scope` strings of the float .tflite's ops (the scope
  is ai-edge-quantizer's: the op's output tensor names, each followed by `;`).
- `float_modules`: torch submodule names (e.g. `frontend`, also matching `net.frontend`) whose ops stay
  float on every toolchain: found through the ONNX exporter's name-scope metadata for ORT and NNCF, and
  through torch.export's module stack for LiteRT. Unlike node names, they survive re-export.
- `per_channel`: per-output-channel weight scales (recommended for convolutions).

Weights are always quantized symmetrically, as every target's int8 kernels expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from talkies.errors import InputError, require
from talkies.types import Precision, _Choice

if TYPE_CHECKING:
    from talkies.export.spec import ModelSpec


class QuantizationPreset(_Choice):
    """NNCF's presets: which tensors get symmetric ranges."""

    PERFORMANCE = "performance"
    MIXED = "mixed"


class CalibrationMethod(_Choice):
    """How activation ranges are estimated from the calibration samples."""

    MINMAX = "minmax"
    HISTOGRAM = "histogram"
    PERCENTILE = "percentile"


ONNX_QUANTIZERS = ("onnxruntime", "nncf")
LITERT_QUANTIZERS = ("pt2e", "ai_edge_quantizer")
#: Each target's choice of quantizer: the field, and its choices with the default first.
_QUANTIZER_FIELDS = {"onnx_quantizer": ONNX_QUANTIZERS, "litert_quantizer": LITERT_QUANTIZERS}


@dataclass(frozen=True, kw_only=True)
class QuantizationConfig:
    precision: Precision = Precision.INT8
    preset: QuantizationPreset = QuantizationPreset.MIXED
    per_channel: bool = True
    calibration_size: int = 64
    calibration_method: CalibrationMethod = CalibrationMethod.MINMAX
    fast_bias_correction: bool = True
    """NNCF only: the fast bias correction pass after calibration."""
    seed: int = 1234
    """Seed of the calibration samples (test vectors use another seed, so they are never calibrated on)."""
    ignored_scope: tuple[str, ...] = ()
    """Regular expressions of node names to keep in float (ORT nodes_to_exclude, NNCF IgnoredScope)."""
    float_modules: tuple[str, ...] = ()
    """Torch submodule names whose ops stay float (see quantization/heads.py, `in_modules`)."""
    float_outputs: bool = True
    """Keep the layers that produce the model's outputs in float (see quantization/heads.py): an output's
    single int8 range is set by its widest values and washes out the ones that matter."""
    weight_threshold: int = 2048
    """Core ML only: weight tensors with fewer elements stay in float."""
    onnx_quantizer: str = "onnxruntime"
    """ONNX target only: `onnxruntime` (quantize_static: QDQ on each quantized op's inputs and output, which
    ORT fuses into int8 kernels) or `nncf` (NNCF's ONNX backend: QDQ on inputs only, plus fast bias
    correction; more accurate where many layers feed float ops, but those layers then run dequantized)."""
    litert_quantizer: str = "pt2e"
    """LiteRT target only: `pt2e` (torch's PT2E on the torch module, then conversion) or `ai_edge_quantizer`
    (Google's quantizer for .tflite files, on the float conversion: each TFLite op can stay float, so a
    mixed-precision scope can be chosen op by op)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "precision", Precision.parse(self.precision))
        set_(self, "preset", QuantizationPreset.parse(self.preset))
        set_(self, "calibration_method", CalibrationMethod.parse(self.calibration_method))
        for name in ("per_channel", "fast_bias_correction", "float_outputs"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"QuantizationConfig.{name} must be True or False, got {getattr(self, name)!r}")
        for name, low, high in (("calibration_size", 1, 100_000), ("seed", 0, 2**32 - 1),
                                ("weight_threshold", 0, 2**31)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(f"QuantizationConfig.{name} must be an integer in [{low}, {high}], got {value!r}")
        if isinstance(self.ignored_scope, str) or not all(isinstance(n, str) for n in self.ignored_scope):
            raise InputError("QuantizationConfig.ignored_scope must be a tuple of node-name patterns")
        for pattern in self.ignored_scope:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InputError(f"QuantizationConfig.ignored_scope: {pattern!r} is not a valid regex ({exc})") from None
        set_(self, "ignored_scope", tuple(self.ignored_scope))
        if isinstance(self.float_modules, str) or not all(
                isinstance(n, str) and re.fullmatch(r"[\w.]+", n) for n in self.float_modules):
            raise InputError("QuantizationConfig.float_modules must be a tuple of module names like 'frontend'")
        set_(self, "float_modules", tuple(self.float_modules))
        for name, choices in _QUANTIZER_FIELDS.items():
            if getattr(self, name) not in choices:
                raise InputError(f"QuantizationConfig.{name} must be one of {', '.join(choices)}, "
                                 f"got {getattr(self, name)!r}")

    @property
    def symmetric(self) -> bool:
        """Whether activations are quantized symmetrically (weights always are)."""
        return self.preset is QuantizationPreset.PERFORMANCE

    @property
    def needs_calibration(self) -> bool:
        return self.precision is Precision.INT8

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary for the bundle manifest."""
        return {"precision": str(self.precision), "preset": str(self.preset), "per_channel": self.per_channel,
                "symmetric_activations": self.symmetric, "calibration_size": self.calibration_size,
                "calibration_method": str(self.calibration_method), "seed": self.seed,
                "float_outputs": self.float_outputs,
                **({"ignored_scope": list(self.ignored_scope)} if self.ignored_scope else {}),
                **({"float_modules": list(self.float_modules)} if self.float_modules else {}),
                **{name: getattr(self, name) for name, choices in _QUANTIZER_FIELDS.items()
                   if getattr(self, name) != choices[0]}}

    def _refuse(self, tool: str, what: str) -> InputError:
        return InputError(f"{tool} has no {what}; change the QuantizationConfig for this target")

    # --- per-toolchain translations --------------------------------------------------------------

    def float_nodes(self, graph: Any) -> list[str]:
        """The nodes of an onnx.ModelProto that stay float: ignored_scope matches, nodes inside
        float_modules, and the output heads when float_outputs is set (graph order)."""
        from talkies.quantization.heads import onnx_head_nodes, onnx_module_nodes

        patterns = [re.compile(p) for p in self.ignored_scope]
        keep = set(onnx_head_nodes(graph)) if self.float_outputs else set()
        keep |= onnx_module_nodes(graph, self.float_modules)
        return [n.name for n in graph.graph.node if n.name in keep or any(p.fullmatch(n.name) for p in patterns)]

    def to_ort_kwargs(self, graph: Any) -> dict[str, Any]:
        """Arguments of onnxruntime.quantization.quantize_static (static QDQ; never quantize_dynamic,
        whose ConvInteger makes conv nets slower). `graph`: the fp32 onnx.ModelProto (for the float nodes)."""
        q = require("onnxruntime.quantization", "runtime")
        method = {CalibrationMethod.MINMAX: q.CalibrationMethod.MinMax,
                  CalibrationMethod.HISTOGRAM: q.CalibrationMethod.Entropy,
                  CalibrationMethod.PERCENTILE: q.CalibrationMethod.Percentile}[self.calibration_method]
        # Asymmetric activations run as uint8 (x86 VNNI kernels' preferred U8S8), symmetric as int8.
        return {
            "quant_format": q.QuantFormat.QDQ,
            "per_channel": self.per_channel,
            "activation_type": q.QuantType.QInt8 if self.symmetric else q.QuantType.QUInt8,
            "weight_type": q.QuantType.QInt8,
            "calibrate_method": method,
            "nodes_to_exclude": self.float_nodes(graph) or None,
            "extra_options": {"ActivationSymmetric": self.symmetric, "WeightSymmetric": True,
                              **({"CalibPercentile": 99.99} if self.calibration_method is CalibrationMethod.PERCENTILE
                                 else {})},
        }

    def to_nncf_kwargs(self, graph: Any, *, per_tensor_activations: bool = False) -> dict[str, Any]:
        """Keyword arguments of nncf.quantize (after the model and the nncf.Dataset). `graph`: the ONNX
        model (quantized itself, or the one the OpenVINO IR was converted from: its node names are the IR's
        op names, a conv's weight op being `<name>/WithoutBiases`), so the float nodes become IgnoredScope
        patterns. `per_tensor_activations`: ONNX Runtime's QLinearConv takes one input scale, while NNCF
        may give a depthwise convolution's input one scale per channel."""
        nncf = require("nncf", "export")
        from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, QuantizationParameters
        from nncf.quantization.range_estimator import RangeEstimatorParametersSet

        estimator = {CalibrationMethod.MINMAX: RangeEstimatorParametersSet.MINMAX,
                     CalibrationMethod.HISTOGRAM: RangeEstimatorParametersSet.HISTOGRAM,
                     CalibrationMethod.PERCENTILE: RangeEstimatorParametersSet.MEAN_QUANTILE}[self.calibration_method]
        floats = self.float_nodes(graph)
        advanced = AdvancedQuantizationParameters(
            weights_quantization_params=None if self.per_channel else QuantizationParameters(per_channel=False),
            activations_quantization_params=QuantizationParameters(per_channel=False) if per_tensor_activations
            else None,
            activations_range_estimator_params=estimator)
        return {
            "preset": nncf.QuantizationPreset(self.preset.value),
            "subset_size": self.calibration_size,
            "fast_bias_correction": self.fast_bias_correction,
            # NNCF applies patterns with re.match (a prefix match): `$` stops `node_conv2d` from also
            # matching `node_conv2d_16`.
            "ignored_scope": nncf.IgnoredScope(patterns=[f"{re.escape(n)}(/.*)?$" for n in floats], validate=False)
            if floats else None,
            "advanced_parameters": advanced,
        }

    def to_litert_kwargs(self) -> dict[str, Any]:
        """Arguments of litert_torch's pt2e_quantizer.get_symmetric_quantization_config (static PT2E),
        plus `activation_observer` ("minmax" | "histogram") for the activation observer to install.
        PT2E weights are symmetric and its activations are always affine per-tensor."""
        if self.preset is QuantizationPreset.PERFORMANCE:
            raise self._refuse("the LiteRT PT2E quantizer", "symmetric activation ranges (preset performance)")
        if self.calibration_method is CalibrationMethod.PERCENTILE:
            raise self._refuse("the LiteRT PT2E quantizer", "percentile calibration (use minmax or histogram)")
        return {"is_per_channel": self.per_channel, "is_qat": False, "is_dynamic": False,
                "activation_observer": self.calibration_method.value, "float_outputs": self.float_outputs,
                "float_patterns": list(self.ignored_scope), "float_modules": list(self.float_modules)}

    def to_aeq_recipe(self, ops: list[tuple[str, str]], heads: set[int]) -> list[dict[str, Any]]:
        """An ai-edge-quantizer recipe (static int8) for a float .tflite whose ops are `ops` ((op type,
        scope) in graph order; `heads`: indices of the ops that write or read the outputs). The ops that
        fully match an ignored_scope pattern as `OP_TYPE scope`, and the heads and outputs when
        float_outputs is set, are `no_quantize`, each op by its exact scope."""
        if self.calibration_method is not CalibrationMethod.MINMAX:
            raise self._refuse("ai-edge-quantizer", f"{self.calibration_method} calibration (use minmax)")
        if self.float_modules:
            raise self._refuse("ai-edge-quantizer", "float_modules (name the float ops in ignored_scope)")
        config = {
            "activation_tensor_config": {"num_bits": 8, "symmetric": self.symmetric, "granularity": "TENSORWISE",
                                         "dtype": "INT"},
            "weight_tensor_config": {"num_bits": 8, "symmetric": True, "dtype": "INT",
                                     "granularity": "CHANNELWISE" if self.per_channel else "TENSORWISE"},
            "compute_precision": "INTEGER", "explicit_dequantize": False, "skip_checks": False,
            "min_weight_elements": 0,
        }
        recipe = [{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize", "op_config": config}]
        # Float input: the first int8 op quantizes it where it needs to (the quantizer otherwise adds a
        # QUANTIZE at the input even when the first op runs float). Float outputs with float_outputs.
        recipe.append({"regex": ".*", "operation": "INPUT", "algorithm_key": "no_quantize"})
        if self.float_outputs:
            recipe.append({"regex": ".*", "operation": "OUTPUT", "algorithm_key": "no_quantize"})
        patterns = [re.compile(p) for p in self.ignored_scope]
        for index, (op_type, scope) in enumerate(ops):
            if (self.float_outputs and index in heads) or any(p.fullmatch(f"{op_type} {scope}") for p in patterns):
                recipe.append({"regex": f"^{re.escape(scope)}$", "operation": op_type, "algorithm_key": "no_quantize"})
        return recipe

    def to_coreml_kwargs(self) -> dict[str, Any]:
        """Arguments of coremltools.optimize.coreml.OpLinearQuantizerConfig (int8 weights; Core ML keeps
        activations in its compute precision)."""
        if self.ignored_scope or self.float_modules:
            raise self._refuse("Core ML weight quantization", "ignored_scope or float_modules")
        return {"mode": "linear_symmetric", "dtype": "int8",
                "granularity": "per_channel" if self.per_channel else "per_tensor",
                "weight_threshold": self.weight_threshold}


def default_config(precision: Precision | str, *, spec: ModelSpec | None = None,
                   target: str | None = None) -> QuantizationConfig:
    """The config used when a target gets none: the defaults, then the spec's calibration size and its
    own defaults (`spec.quantization`: those for every target, then those for this target)."""
    kwargs: dict[str, Any] = {"precision": Precision.parse(precision)}
    if spec is not None:
        kwargs["calibration_size"] = spec.n_calibration
        kwargs.update(spec.quantization.fields(target))
    return QuantizationConfig(**kwargs)


__all__ = ["CalibrationMethod", "QuantizationConfig", "QuantizationPreset", "default_config"]
