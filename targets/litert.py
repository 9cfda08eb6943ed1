"""LiteRT (.tflite) through litert-torch, straight from the torch module.

- fp32: `litert_torch.convert(module, sample_args).export(path)`, with PReLU as TFLite's PRELU op
  (:mod:`.litert_prelu`).
- fp16: float16 weights through litert-torch's ai-edge-quantizer recipe (`full_fp16_recipe`); compute
  and I/O stay float32 (the weights are dequantized at load).
- int8: static PT2E (per-channel symmetric weights, affine activations) calibrated on real samples. The
  converter makes the I/O int8 too, so the manifest records each I/O tensor's scale and zero point.

The .tflite's own tensor names and order differ from the spec's (`serving_default_output_0_output`...),
so the I/O is mapped through the signature (args_i / output_i follow the spec's order) and listed in the
manifest in the interpreter's order, which is what the runtime session zips against.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from talkies.errors import TalkiesError, UnsupportedTargetError, require
from talkies.export.module import build_module, contains_recurrent, torch_args
from talkies.export.quiet import quiet_import, step
from talkies.export.spec import ModelSpec
from talkies.quantization.config import QuantizationConfig
from talkies.runtime.bundle import TensorInfo
from talkies.targets.base import Artifact, Target, TargetOptions
from talkies.targets.litert_prelu import native_prelu
from talkies.types import Backend, Precision, TargetName


@dataclass(frozen=True, kw_only=True)
class LiteRTOptions(TargetOptions):
    pass


def _litert_torch() -> Any:
    # litert-torch pulls jax and TensorFlow-style C++ logging: import it only here, silenced.
    return quiet_import("litert_torch")


class LiteRTTarget(Target):
    name = TargetName.LITERT
    backend = Backend.LITERT
    options_type = LiteRTOptions
    sdk_modules = ("torch", "ai_edge_litert.interpreter")

    def _check_support(self, spec: ModelSpec, precision: Precision) -> None:
        import importlib.util

        if importlib.util.find_spec("litert_torch") is None:
            raise UnsupportedTargetError("litert needs litert-torch: pip install 'talkies[export]'")
        if precision is Precision.FP16 and importlib.util.find_spec("ai_edge_quantizer") is None:
            raise UnsupportedTargetError("litert fp16 needs ai-edge-quantizer (litert-torch's fp16 weight recipe)")
        if precision is Precision.INT8 and contains_recurrent(spec):
            raise UnsupportedTargetError(
                f"litert int8: {spec.name} has recurrent layers (GRU/LSTM), which the PT2E static int8 "
                "quantizer does not quantize; use fp16, or the onnx/openvino int8 bundles")

    def _compile(self, spec: ModelSpec, precision: Precision, workdir: Path, options: LiteRTOptions,
                 config: QuantizationConfig) -> Artifact:
        model_file = f"{spec.name}.tflite"
        module = build_module(spec)
        args = torch_args(spec, spec.dummy_inputs())
        notes: list[str] = []
        quant = None
        if precision is Precision.INT8:
            kwargs = config.to_litert_kwargs()  # refuses unsupported settings before any work
            dataset = self.calibration(spec, config)
            batches = dataset.torch_batches()
            with step(f"{spec.name}: PT2E int8 calibration and LiteRT conversion"):
                edge = self._convert_int8(module, args, dataset, batches, kwargs)
            notes.append(f"static PT2E int8, calibrated on {len(dataset)} real samples; "
                         + ("int8 input, output layers and outputs in float" if config.float_outputs else
                            "int8 I/O (scales in the manifest; the runtime (de)quantizes)"))
            quant = config.describe()
        else:
            quant_config = None
            if precision is Precision.FP16:
                from litert_torch.generative.quantize import quant_recipes

                quant_config = quant_recipes.full_fp16_recipe()
                notes.append("float16 weights (ai-edge-quantizer fp16 recipe); float32 compute and I/O")
            with step(f"{spec.name}: converting to LiteRT ({precision})"), native_prelu():
                edge = _litert_torch().convert(module, args, quant_config=quant_config)
        with step(f"{spec.name}: writing {model_file}"):
            edge.export(str(workdir / model_file))
        inputs, outputs = map_io(spec, workdir / model_file)
        return Artifact(model_file=model_file, files=[model_file], inputs=inputs, outputs=outputs,
                        backend=self.backend, runtime_hints={"litert": {"xnnpack": True}}, notes=notes,
                        quantization=quant)

    @staticmethod
    def _convert_int8(module: Any, args: tuple, dataset: Any, batches: Any, kwargs: dict[str, Any]) -> Any:
        torch = require("torch", "export")
        litert_torch = _litert_torch()
        from litert_torch.quantize import pt2e_quantizer, quant_config
        from torchao.quantization.pt2e import quantize_pt2e

        kwargs = dict(kwargs)
        observer = kwargs.pop("activation_observer")
        float_outputs = kwargs.pop("float_outputs")
        float_patterns = kwargs.pop("float_patterns")
        float_modules = kwargs.pop("float_modules")
        config = pt2e_quantizer.get_symmetric_quantization_config(**kwargs)
        if observer == "minmax":  # the PT2E default is a (much slower) histogram observer
            from torchao.quantization.pt2e.observer import MinMaxObserver

            activation = dataclasses.replace(config.input_activation,
                                             observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12))
            config = dataclasses.replace(config, input_activation=activation, output_activation=activation)
        quantizer = _FloatNodesQuantizer(float_outputs, float_patterns, float_modules).set_global(config)
        graph = torch.export.export(module, args).module()
        prepared = quantize_pt2e.prepare_pt2e(graph, quantizer)
        dataset.calibrate_torch(prepared, batches)
        converted = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
        return litert_torch.convert(converted, args, quant_config=quant_config.QuantConfig(pt2e_quantizer=quantizer))


def _float_nodes_quantizer_class() -> type:
    from litert_torch.quantize import pt2e_quantizer

    class FloatNodesQuantizer(pt2e_quantizer.PT2EQuantizer):
        """The PT2E quantizer, minus the annotations of the layers that produce the outputs (they stay
        float, and so do the outputs) when `heads`, of the nodes whose name with the ONNX exporter's
        `node_` prefix fully matches one of `patterns` (QuantizationConfig.ignored_scope), and of the
        nodes inside the torch submodules named in `modules` (QuantizationConfig.float_modules)."""

        def __init__(self, heads: bool, patterns: list[str], modules: list[str]) -> None:
            super().__init__()
            self.heads = heads
            self.patterns = [re.compile(p) for p in patterns]
            self.modules = list(modules)

        def annotate(self, model: Any) -> Any:
            from talkies.quantization.heads import fx_head_nodes, fx_module_nodes

            model = super().annotate(model)
            dropped = fx_head_nodes(model) if self.heads else set()
            dropped |= fx_module_nodes(model, self.modules)
            dropped |= {n.name for n in model.graph.nodes
                        if any(p.fullmatch(f"node_{n.name}") for p in self.patterns)}
            changed = True
            while changed:  # a node whose spec is shared with a dropped node must go float too
                changed = False
                for node in model.graph.nodes:
                    annotation = node.meta.get("quantization_annotation")
                    if annotation is None:
                        continue
                    if node.name in dropped or _shares_with(annotation, dropped):
                        node.meta.pop("quantization_annotation")
                        dropped.add(node.name)
                        changed = True
            return model

    return FloatNodesQuantizer


def _shares_with(annotation: Any, names: set[str]) -> bool:
    """Whether a PT2E annotation shares a quantization spec with any of the named nodes."""
    from torchao.quantization.pt2e.quantizer import SharedQuantizationSpec

    for spec in (*annotation.input_qspec_map.values(), annotation.output_qspec):
        if isinstance(spec, SharedQuantizationSpec):
            ref = spec.edge_or_node
            if any(getattr(n, "name", None) in names for n in (ref if isinstance(ref, tuple) else (ref,))):
                return True
    return False


def _FloatNodesQuantizer(heads: bool, patterns: list[str], modules: list[str]) -> Any:  # noqa: N802 - lazy class
    return _float_nodes_quantizer_class()(heads, patterns, modules)


def map_io(spec: ModelSpec, path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """The spec's I/O names attached to the .tflite's tensors, listed in the interpreter's order, with
    the dtype, shape and (for int8 I/O) scale and zero point the file really has."""
    interpreter_mod = require("ai_edge_litert.interpreter", "runtime")
    interp = interpreter_mod.Interpreter(model_path=str(path))
    signatures = interp.get_signature_list()
    if len(signatures) != 1:
        raise TalkiesError(f"{path.name}: expected one signature, found {sorted(signatures)}")
    runner = interp.get_signature_runner(next(iter(signatures)))
    by_index: dict[int, str] = {}
    for details, tensors, prefix in ((runner.get_input_details(), spec.inputs, "args_"),
                                     (runner.get_output_details(), spec.outputs, "output_")):
        if len(details) != len(tensors):
            raise TalkiesError(f"{path.name}: signature has {len(details)} tensors, the spec lists "
                               f"{[t.name for t in tensors]}")
        for key, detail in details.items():
            position = int(key.removeprefix(prefix)) if key.removeprefix(prefix).isdigit() else -1
            if not 0 <= position < len(tensors):
                raise TalkiesError(f"{path.name}: cannot map signature tensor {key!r} to the spec")
            by_index[detail["index"]] = tensors[position].name

    def infos(details: list[dict[str, Any]]) -> list[TensorInfo]:
        out = []
        for d in details:
            scale, zero = d["quantization"]
            quantized = np.issubdtype(d["dtype"], np.integer) and scale
            out.append(TensorInfo(name=by_index[d["index"]], shape=[int(s) for s in d["shape"]],
                                  dtype=np.dtype(d["dtype"]).name, scale=float(scale) if quantized else None,
                                  zero_point=int(zero) if quantized else None))
        return out

    return infos(interp.get_input_details()), infos(interp.get_output_details())
