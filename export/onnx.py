"""torch → ONNX through the dynamo exporter: named I/O from the spec, one self-contained file
(no external data), deterministic bytes for the same module."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from talkies.errors import InputError, TalkiesError, require
from talkies.export.module import build_module, torch_args
from talkies.export.quiet import step
from talkies.export.spec import ModelSpec

DEFAULT_OPSET = 18
MIN_OPSET = 17

# Exports are deterministic, so one export per (spec, opset) serves every target in this process.
_CACHE: dict[tuple[str, int, int], bytes] = {}


def onnx_bytes(spec: ModelSpec, *, opset: int = DEFAULT_OPSET) -> bytes:
    """The spec's fp32 module as ONNX bytes (cached per process)."""
    if opset < MIN_OPSET:
        raise InputError(f"opset {opset} is too old; use {MIN_OPSET} or newer (default {DEFAULT_OPSET})")
    key = (spec.name, id(spec), opset)
    if key not in _CACHE:
        torch = require("torch", "export")
        require("onnxscript", "export")
        module = build_module(spec)
        args = torch_args(spec, spec.dummy_inputs())
        with tempfile.TemporaryDirectory(prefix="talkies-onnx-") as tmp, \
                step(f"{spec.name}: exporting to ONNX (opset {opset})"):
            path = Path(tmp) / f"{spec.name}.onnx"
            try:
                torch.onnx.export(module, args, str(path), input_names=[t.name for t in spec.inputs],
                                  output_names=[t.name for t in spec.outputs], opset_version=opset,
                                  dynamo=True, external_data=False, verbose=False)
            except Exception as exc:  # the exporter raises many types; name the model and the cause
                raise TalkiesError(f"{spec.name}: ONNX export failed: {type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
            data = path.read_bytes()
        _check_io(spec, data)
        _CACHE[key] = data
    return _CACHE[key]


def export_onnx(spec: ModelSpec, path: str | Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write the spec's fp32 ONNX model to `path`."""
    path = Path(path)
    path.write_bytes(onnx_bytes(spec, opset=opset))
    return path


#: The names of the nodes prelu_as_depthwise writes (a full-match pattern, as QuantizationConfig.ignored_scope).
PRELU_REWRITE_NODES = r".+_prelu_(neg|relu|scaled|add)"


def prelu_as_depthwise(data: bytes) -> tuple[bytes, int]:
    """ONNX Runtime's CPU graph for per-channel PRelu: (new model bytes, PRelu nodes rewritten).

    ORT has no PRelu in its blocked (NCHWc) conv layout and no Conv+PRelu fusion, so every PRelu costs
    a slow broadcast kernel plus two layout reorders around it (the MediaPipe landmark model: 69 PRelus,
    about half its time). PRelu(x) = x + (1 − α)·relu(−x), written as two depthwise 1×1 convolutions
    (weights −1, then 1 − α; the relu fuses into the first, the add into the second) stays in the
    blocked layout: 2.3× faster in ORT on that model, with outputs equal to ~1e-7 relative (rounding of
    1 − α and of the sum). Only 4-D PRelus whose slope is one constant per channel are rewritten.
    """
    onnx = require("onnx", "export")
    from onnx import helper, numpy_helper

    model = onnx.load_model_from_string(data)
    graph = model.graph
    consts = {t.name: t for t in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        slope = consts.get(node.input[1]) if node.op_type == "PRelu" and len(node.input) == 2 else None
        alpha = numpy_helper.to_array(slope) if slope is not None else None
        if alpha is None or alpha.dtype != np.float32 or alpha.ndim not in (3, 4) or \
                alpha.shape[-2:] != (1, 1) or (alpha.ndim == 4 and alpha.shape[0] != 1):
            nodes.append(node)
            continue
        channels = int(alpha.size)
        x, y, tag = node.input[0], node.output[0], f"{node.name or node.output[0]}_prelu"
        minus, gain = f"{tag}_minus_one", f"{tag}_one_minus_alpha"
        graph.initializer.extend([
            numpy_helper.from_array(np.full((channels, 1, 1, 1), -1.0, np.float32), minus),
            numpy_helper.from_array((np.float32(1.0) - alpha.reshape(channels, 1, 1, 1)).astype(np.float32), gain)])
        nodes += [helper.make_node("Conv", [x, minus], [f"{tag}_neg"], name=f"{tag}_neg", group=channels,
                                   kernel_shape=[1, 1]),
                  helper.make_node("Relu", [f"{tag}_neg"], [f"{tag}_relu"], name=f"{tag}_relu"),
                  helper.make_node("Conv", [f"{tag}_relu", gain], [f"{tag}_scaled"], name=f"{tag}_scaled",
                                   group=channels, kernel_shape=[1, 1]),
                  helper.make_node("Add", [x, f"{tag}_scaled"], [y], name=f"{tag}_add")]
        rewritten += 1
    if not rewritten:
        return data, 0
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return model.SerializeToString(), rewritten


def _check_io(spec: ModelSpec, data: bytes) -> None:
    onnx = require("onnx", "export")
    model = onnx.load_model_from_string(data)
    got_in = [i.name for i in model.graph.input]
    got_out = [o.name for o in model.graph.output]
    want_in = [t.name for t in spec.inputs]
    want_out = [t.name for t in spec.outputs]
    if got_in != want_in or got_out != want_out:
        raise TalkiesError(f"{spec.name}: exported ONNX I/O {got_in} → {got_out} does not match the spec "
                           f"{want_in} → {want_out}")
