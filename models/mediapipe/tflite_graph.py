"""The .tflite flatbuffer as plain data (tensors, operators, I/O), read with the schema module that
ai-edge-litert ships; numpy only. `tflite_import` rebuilds the graph as a torch module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from talkies.errors import AssetError, UnsupportedTargetError
from talkies.runtime.face import constants as C

# TensorType enum of the TFLite schema -> numpy dtype.
_TFLITE_DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float32), 1: np.dtype(np.float16), 2: np.dtype(np.int32), 3: np.dtype(np.uint8),
    4: np.dtype(np.int64), 6: np.dtype(np.bool_), 7: np.dtype(np.int16), 9: np.dtype(np.int8),
    10: np.dtype(np.float64),
}


@dataclass(frozen=True)
class TensorIO:
    """One input or output of a model: its talkies name, the tflite tensor name, shape and dtype."""

    name: str
    tflite_name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class ModelIO:
    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    const: np.ndarray | None = None  # the value of a constant (fp16/int8 weights already dequantized)


@dataclass
class Op:
    index: int
    name: str  # the builtin operator name, e.g. "CONV_2D"
    inputs: list[int]  # tensor indices (-1: an omitted optional input)
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """The first subgraph of a .tflite file, constants folded, with talkies I/O names."""

    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    io: ModelIO

    def const(self, index: int) -> np.ndarray | None:
        return None if index < 0 else self.tensors[index].const


def _schema():
    # ai-edge-litert is a core dependency; its generated flatbuffer schema reads the file.
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _op_names() -> dict[int, str]:
    ops = _schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int)}


def _options(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(obj).items()}


def _sanitize(name: str) -> str:
    clean = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_")
    return clean if clean and not clean[0].isdigit() else f"t_{clean}"


def _known_model(path: Path) -> str | None:
    for key, file in C.FACE_MODEL_FILES.items():
        if path.name == file:
            return key
    return None


def _dequantize(t: Tensor, tensor_t: Any) -> np.ndarray:
    """The fp32 value of a constant fed to DEQUANTIZE (fp16 cast, or int8/uint8 affine)."""
    assert t.const is not None
    if t.dtype == np.float16:
        return t.const.astype(np.float32)
    q = tensor_t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        raise UnsupportedTargetError(f"DEQUANTIZE of {t.name}: {t.dtype} without quantization parameters")
    scale = np.asarray(q.scale, np.float32)
    zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else [0], np.float32)
    if scale.size > 1:
        shape = [1] * t.const.ndim
        shape[q.quantizedDimension] = scale.size
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((t.const.astype(np.float32) - zero) * scale).astype(np.float32)


def parse_tflite(path: str | Path) -> Graph:
    """Read the first subgraph of a .tflite file; fold DEQUANTIZE of constants."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise AssetError(f"cannot read {path}: {exc}") from exc
    schema = _schema()
    try:
        model = schema.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as exc:  # noqa: BLE001 - flatbuffers raises assorted errors on garbage
        raise AssetError(f"{path} is not a valid .tflite flatbuffer: {exc}") from exc
    if not model.subgraphs:
        raise AssetError(f"{path} has no subgraph")
    graph = model.subgraphs[0]
    names = _op_names()

    tensors: list[Tensor] = []
    for i, t in enumerate(graph.tensors):
        shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
        dtype = _TFLITE_DTYPES.get(t.type)
        if dtype is None:
            raise UnsupportedTargetError(f"tensor {t.name!r} has an unsupported TFLite type {t.type}")
        const = None
        b = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        if b is not None:
            raw = None
            if b.data is not None and len(b.data):
                raw = np.asarray(b.data, np.uint8).tobytes()
            elif getattr(b, "offset", 0) > 1 and getattr(b, "size", 0):
                raw = buf[b.offset:b.offset + b.size]
            if raw is not None:
                const = np.frombuffer(raw, dtype).reshape(shape).copy()
        tensors.append(Tensor(i, t.name.decode("utf-8", "replace"), shape, dtype, const))

    ops: list[Op] = []
    for k, op in enumerate(graph.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        opname = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), f"BUILTIN_{code.builtinCode}")
        if opname == "CUSTOM":
            opname = f"CUSTOM:{(code.customCode or b'').decode()}"
        ins = [int(i) for i in (op.inputs if op.inputs is not None else [])]
        outs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
        if opname == "DEQUANTIZE" and tensors[ins[0]].const is not None:
            out = tensors[outs[0]]
            out.const = _dequantize(tensors[ins[0]], graph.tensors[ins[0]]).reshape(out.shape)
            continue
        ops.append(Op(k, opname, ins, outs, _options(op.builtinOptions)))

    inputs = [int(i) for i in graph.inputs]
    outputs = [int(i) for i in graph.outputs]
    return Graph(tensors, ops, inputs, outputs, _model_io(path, tensors, inputs, outputs))


def _model_io(path: Path, tensors: list[Tensor], inputs: list[int], outputs: list[int]) -> ModelIO:
    known = _known_model(path)
    rename = C.FACE_MODEL_IO_NAMES.get(known, {}) if known else {}

    def describe(i: int) -> TensorIO:
        t = tensors[i]
        return TensorIO(rename.get(t.name, _sanitize(t.name)), t.name, t.shape, str(t.dtype))

    return ModelIO(tuple(describe(i) for i in inputs), tuple(describe(i) for i in outputs))


def io_details(path: str | Path) -> ModelIO:
    """Input/output names (talkies and tflite), shapes and dtypes of a .tflite model."""
    return parse_tflite(path).io
