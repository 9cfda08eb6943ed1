"""LiteRT (.tflite) through litert-torch, straight from the torch module.

- fp32: `litert_torch.convert(module, sample_args).export(path)`, with PReLU as TFLite's PRELU op
  (:mod:`.litert_prelu`).
- fp16: float16 weights through litert-torch's ai-edge-quantizer recipe (`full_fp16_recipe`); compute
  and I/O stay float32 (the weights are dequantized at load).
- int8: static, calibrated on real samples, by one of two quantizers (`QuantizationConfig.litert_quantizer`):
  - `pt2e` (default): torch's PT2E on the module (per-channel symmetric weights, affine activations),
    then conversion;
  - `ai_edge_quantizer`: Google's quantizer for .tflite files, on the fp32 conversion. It can keep any
    single TFLite op float, which a mixed-precision scope needs (PT2E makes every convolution write
    int8). Its calibration smooths each sample's min/max with a moving average. The input stays float
    (the first int8 op quantizes it).
  PT2E makes the input int8, and the outputs too unless `float_outputs`; the manifest records each
  int8 I/O tensor's scale and zero point.

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
        edge = None
        if precision is Precision.INT8 and config.litert_quantizer == "ai_edge_quantizer":
            config.to_aeq_recipe([], set())  # refuses unsupported settings before any work
            dataset = self.calibration(spec, config)
            float_file = workdir / f"{spec.name}.float.tflite"
            with step(f"{spec.name}: converting to LiteRT (fp32, for ai-edge-quantizer)"), native_prelu():
                _litert_torch().convert(module, args).export(str(float_file))
            with step(f"{spec.name}: ai-edge-quantizer int8 calibration and quantization"):
                quantized = _aeq_int8(spec, float_file, dataset, config)
            float_file.unlink()
            (workdir / model_file).write_bytes(quantized)
            counts = _int8_ops(quantized)
            int8_ops = ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) or "none"
            notes.append(f"static int8 (ai-edge-quantizer), calibrated on {len(dataset)} real samples; float input, "
                         f"{'float' if config.float_outputs else 'int8'} outputs; int8 ops: {int8_ops}; "
                         "the other ops run float (mixed-precision scope; PRELU has no int8 kernel there)")
            quant = config.describe()
        elif precision is Precision.INT8:
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
        if edge is not None:
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


def tflite_ops(path: Path) -> list[tuple[str, str]]:
    """(op type, ai-edge-quantizer scope) of each op of a .tflite's main graph, in order: the names that
    QuantizationConfig.ignored_scope patterns match as `OP_TYPE scope` on the ai-edge-quantizer path."""
    return _ops(_read_tflite(path))


def _read_tflite(model: Path | bytes) -> Any:
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    return tfl.read_model(model)


def _ops(model: Any) -> list[tuple[str, str]]:
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    graph = model.subgraphs[0]
    return [(names.get(model.operatorCodes[op.opcodeIndex].builtinCode, "CUSTOM"),
             tfl.get_op_scope(op, graph.tensors)) for op in graph.operators]


def _aeq_int8(spec: ModelSpec, float_file: Path, dataset: Any, config: QuantizationConfig) -> bytes:
    """Static int8 of a float .tflite by ai-edge-quantizer, calibrated on the dataset."""
    quantizer = require("ai_edge_quantizer.quantizer", "export")
    model = _read_tflite(float_file)
    signature = model.signatureDefs[0]
    outputs = {t.tensorIndex for t in signature.outputs}
    # The ops that write an output, and those that read one: were a reader int8, the quantizer would
    # make the graph's output its int8 copy (and leave the signature on the float tensor).
    heads = {i for i, op in enumerate(model.subgraphs[0].operators) if (set(op.outputs) | set(op.inputs)) & outputs}
    q = quantizer.Quantizer(str(float_file))
    q.load_quantization_recipe(config.to_aeq_recipe(_ops(model), heads))
    key = signature.signatureKey.decode()
    # litert-torch names the signature inputs args_0, args_1, ... in the spec's order
    ranges = q.calibrate(dataset.to_aeq(key, [f"args_{i}" for i in range(len(spec.inputs))]), num_threads=1)
    return bytes(q.quantize(ranges, enable_progress_report=False).quantized_model)


def _int8_ops(tflite: Path | bytes) -> dict[str, int]:
    """How many ops of each type compute in int8 (their first output is int8), QUANTIZE/DEQUANTIZE aside."""
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    model = _read_tflite(tflite)
    graph = model.subgraphs[0]
    counts: dict[str, int] = {}
    for op, (op_type, _) in zip(graph.operators, _ops(model)):
        if op_type not in ("QUANTIZE", "DEQUANTIZE") and op.outputs and \
                tfl.TENSOR_CODE_TO_TYPE.get(graph.tensors[op.outputs[0]].type) == "INT8":
            counts[op_type] = counts.get(op_type, 0) + 1
    return counts


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
