"""torch → ONNX through the dynamo exporter: named I/O from the spec, one self-contained file
(no external data), deterministic bytes for the same module."""

from __future__ import annotations

import tempfile
from pathlib import Path

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
