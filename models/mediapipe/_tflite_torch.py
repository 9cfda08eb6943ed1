"""The torch side of the TFLite importer: one nn.Module per operator, and the graph module.

Imported only by `tflite_import.import_tflite` (it imports torch at module level).

Layouts: a tensor of the tflite graph is "logical" (NHWC for 4-D tensors, as the tflite sees it).
The builder keeps each 4-D activation in whichever physical layout its producer made, NCHW for
convolutions and pools, and inserts a permute only when a consumer needs the other one; constants
that broadcast against an NCHW tensor are permuted at build time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from talkies.errors import UnsupportedTargetError

from talkies.models.mediapipe.tflite_graph import Graph, ModelIO, Op

NCHW, NHWC = "nchw", "nhwc"  # NHWC: the logical (tflite) layout of a tensor of any rank
TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)

# ActivationFunctionType of the TFLite schema.
_ACTIVATIONS = {0: None, 1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh"}
_SAME, _VALID = 0, 1


def _activation(op: Op) -> str | None:
    code = op.options.get("fusedActivationFunction", 0)
    if code not in _ACTIVATIONS:
        raise UnsupportedTargetError(f"{op.name} with fused activation code {code} is not supported")
    return _ACTIVATIONS[code]


def _act(x: torch.Tensor, kind: str | None) -> torch.Tensor:
    if kind is None:
        return x
    if kind == "relu":
        return F.relu(x)
    if kind == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if kind == "relu_n1_to_1":
        return torch.clamp(x, -1.0, 1.0)
    return torch.tanh(x)


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding: (before, after); the odd pixel goes after."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


class _WithConsts(nn.Module):
    """A layer some of whose operands are constants (stored as buffers, in operand order)."""

    def __init__(self, consts: list[np.ndarray | None]):
        super().__init__()
        self.n_operands = len(consts)
        self.const_slots = tuple(i for i, c in enumerate(consts) if c is not None)
        for i, c in enumerate(consts):
            if c is not None:
                self.register_buffer(f"const{i}", torch.from_numpy(np.ascontiguousarray(c, np.float32)))

    def operands(self, dynamic: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        it = iter(dynamic)
        return [getattr(self, f"const{i}") if i in self.const_slots else next(it) for i in range(self.n_operands)]


class Padded(nn.Module):
    """A conv or max-pool on NCHW after exact (possibly asymmetric) SAME padding, then an activation."""

    def __init__(self, layer: nn.Module, pad: tuple[int, int, int, int], act: str | None, value: float = 0.0):
        super().__init__()
        self.layer, self.pad, self.act, self.value = layer, pad, act, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad, value=self.value)
        return _act(self.layer(x), self.act)


class PReLU(nn.Module):
    """PRELU with an alpha that broadcasts beyond one value per channel."""

    def __init__(self, alpha: np.ndarray):
        super().__init__()
        self.alpha = nn.Parameter(torch.from_numpy(np.ascontiguousarray(alpha, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, x * self.alpha)


_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "RELU": F.relu,
    "RELU6": lambda x: torch.clamp(x, 0.0, 6.0),
    "LOGISTIC": torch.sigmoid,
    "TANH": torch.tanh,
    "NEG": torch.neg,
    "SQRT": torch.sqrt,
    "RSQRT": torch.rsqrt,
    "EXP": torch.exp,
    "ABS": torch.abs,
}


def _squared_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    d = a - b
    return d * d


_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ADD": torch.add,
    "SUB": torch.sub,
    "MUL": torch.mul,
    "DIV": torch.div,
    "SQUARED_DIFFERENCE": _squared_difference,
    "MAXIMUM": torch.maximum,
    "MINIMUM": torch.minimum,
}


class Unary(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _UNARY[self.kind](x)


class Binary(_WithConsts):
    def __init__(self, kind: str, consts: list[np.ndarray | None], act: str | None):
        super().__init__(consts)
        self.kind, self.act = kind, act

    def forward(self, *dynamic: torch.Tensor) -> torch.Tensor:
        a, b = self.operands(dynamic)
        return _act(_BINARY[self.kind](a, b), self.act)


class Concat(_WithConsts):
    def __init__(self, dim: int, consts: list[np.ndarray | None], act: str | None):
        super().__init__(consts)
        self.dim, self.act = dim, act

    def forward(self, *dynamic: torch.Tensor) -> torch.Tensor:
        return _act(torch.cat(self.operands(dynamic), dim=self.dim), self.act)


class Reduce(nn.Module):
    def __init__(self, kind: str, dims: tuple[int, ...], keepdim: bool):
        super().__init__()
        self.kind, self.dims, self.keepdim = kind, dims, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "MEAN":
            return torch.mean(x, dim=self.dims, keepdim=self.keepdim)
        return torch.sum(x, dim=self.dims, keepdim=self.keepdim)


class Pad(nn.Module):
    def __init__(self, pad: tuple[int, ...], value: float):
        super().__init__()
        self.pad, self.value = pad, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, value=self.value)


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.reshape(x, self.shape)


class Permute(nn.Module):
    def __init__(self, perm: tuple[int, ...]):
        super().__init__()
        self.perm = perm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.perm)


class StridedSlice(nn.Module):
    def __init__(self, index: tuple[slice, ...], shape: tuple[int, ...]):
        super().__init__()
        self.index, self.shape = index, shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.reshape(x[self.index], self.shape)


# ---------------------------------------------------------------------------------------------
# Graph module
# ---------------------------------------------------------------------------------------------


class TFLiteModule(nn.Module):
    """A tflite graph as a static list of layers; forward(*inputs) -> tuple of outputs (tflite order)."""

    def __init__(self, layers: list[nn.Module], wiring: list[tuple[tuple[str, ...], str]],
                 input_keys: list[str], output_keys: list[str], io: ModelIO):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.wiring = wiring
        self.input_keys, self.output_keys = input_keys, output_keys
        self.io = io
        self.input_names = [t.name for t in io.inputs]
        self.output_names = [t.name for t in io.outputs]
        self.input_shapes = [t.shape for t in io.inputs]
        self.output_shapes = [t.shape for t in io.outputs]

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.input_keys):
            raise TypeError(f"expected {len(self.input_keys)} inputs ({', '.join(self.input_names)}), "
                            f"got {len(inputs)}")
        env = dict(zip(self.input_keys, inputs))
        for layer, (ins, out) in zip(self.layers, self.wiring):
            env[out] = layer(*[env[k] for k in ins])
        return tuple(env[k] for k in self.output_keys)


@dataclass
class _Builder:
    graph: Graph

    def __post_init__(self) -> None:
        self.layers: list[nn.Module] = []
        self.wiring: list[tuple[tuple[str, ...], str]] = []
        self.avail: dict[int, dict[str, str]] = {}  # tensor -> layout -> env key

    # -- tensors ---------------------------------------------------------------------------
    def shape(self, t: int) -> tuple[int, ...]:
        return self.graph.tensors[t].shape

    def const(self, t: int) -> np.ndarray | None:
        return self.graph.const(t)

    def need_const(self, op: Op, slot: int, what: str) -> np.ndarray:
        value = self.const(op.inputs[slot]) if slot < len(op.inputs) else None
        if value is None:
            raise UnsupportedTargetError(f"{op.name} with a non-constant {what} is not supported")
        return value

    def has(self, t: int, layout: str) -> bool:
        return layout in self.avail.get(t, {})

    def get(self, t: int, layout: str) -> str:
        """The env key of tensor `t` in `layout`, adding a permute when only the other one exists."""
        have = self.avail.get(t)
        if not have:
            raise UnsupportedTargetError(f"tensor {self.graph.tensors[t].name!r} is used before it is computed")
        if layout in have:
            return have[layout]
        if len(self.shape(t)) != 4:
            raise AssertionError(f"tensor {t} has rank {len(self.shape(t))}; only 4-D tensors go NCHW")
        src = next(iter(have.values()))
        key = f"t{t}@{layout}"
        self.emit(Permute(TO_NCHW if layout == NCHW else TO_NHWC), [src], key)
        have[layout] = key
        return key

    def emit(self, layer: nn.Module, in_keys: list[str], out_key: str) -> None:
        self.layers.append(layer)
        self.wiring.append((tuple(in_keys), out_key))

    def add(self, layer: nn.Module, op: Op, dynamic: list[int], layout: str, out_layout: str | None = None) -> None:
        """Append `layer` fed by the dynamic inputs of `op` (in `layout`); its output is op.outputs[0]."""
        out_layout = out_layout or layout
        out = op.outputs[0]
        key = f"t{out}" if out_layout == NHWC else f"t{out}@{out_layout}"
        self.emit(layer, [self.get(t, layout) for t in dynamic], key)
        self.avail[out] = {out_layout: key}

    def dynamic(self, op: Op) -> list[int]:
        return [t for t in op.inputs if t >= 0 and self.const(t) is None]

    def pick_layout(self, op: Op, tensors: list[int]) -> str:
        """NCHW when the output and every dynamic input are 4-D and one of them already is NCHW."""
        if len(self.shape(op.outputs[0])) != 4 or any(len(self.shape(t)) != 4 for t in tensors):
            return NHWC
        return NCHW if any(self.has(t, NCHW) for t in tensors) else NHWC


def _const_in(value: np.ndarray, layout: str) -> np.ndarray:
    """A constant operand that broadcasts against a (logical) 4-D tensor, in `layout`."""
    if layout == NHWC:
        return value
    if value.ndim > 4:
        raise UnsupportedTargetError(f"a constant of rank {value.ndim} cannot broadcast against a 4-D tensor")
    return value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(TO_NCHW)


def _axis(axis: int, rank: int, layout: str) -> int:
    axis = axis % rank
    return TO_NCHW.index(axis) if layout == NCHW else axis


def _check_shape(op: Op, got: tuple[int, ...], want: tuple[int, ...]) -> None:
    if tuple(got) != tuple(want):
        raise UnsupportedTargetError(f"{op.name} (operator #{op.index}): rebuilt shape {tuple(got)} != tflite {want}")


# ---------------------------------------------------------------------------------------------
# Operator builders
# ---------------------------------------------------------------------------------------------


def _conv_pads(b: _Builder, op: Op, kernel: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """(symmetric padding for the layer, extra F.pad (left, right, top, bottom)) for SAME/VALID."""
    _, h, w, _ = b.shape(op.inputs[0])
    stride = (op.options.get("strideH", 1), op.options.get("strideW", 1))
    dil = (op.options.get("dilationHFactor", 1), op.options.get("dilationWFactor", 1))
    if op.options.get("padding", _VALID) == _VALID:
        return (0, 0), (0, 0, 0, 0)
    top, bottom = _same_pads(h, kernel[0], stride[0], dil[0])
    left, right = _same_pads(w, kernel[1], stride[1], dil[1])
    if top == bottom and left == right:
        return (top, left), (0, 0, 0, 0)
    return (0, 0), (left, right, top, bottom)


def _build_conv(b: _Builder, op: Op) -> None:
    weight = b.need_const(op, 1, "filter")
    bias = b.const(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    cin = b.shape(op.inputs[0])[3]
    if op.name == "CONV_2D":
        cout, kh, kw, per_group = weight.shape
        groups = cin // per_group
        torch_weight = weight.transpose(0, 3, 1, 2)  # OHWI -> OIHW
    else:  # DEPTHWISE_CONV_2D: [1, KH, KW, C * multiplier]
        _, kh, kw, cout = weight.shape
        groups = cin
        torch_weight = weight.transpose(3, 0, 1, 2)  # -> [C*M, 1, KH, KW]
    padding, pad = _conv_pads(b, op, (kh, kw))
    conv = nn.Conv2d(cin, cout, (kh, kw), stride=(op.options.get("strideH", 1), op.options.get("strideW", 1)),
                     padding=padding, dilation=(op.options.get("dilationHFactor", 1),
                                                op.options.get("dilationWFactor", 1)),
                     groups=groups, bias=bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(torch_weight, np.float32)))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias, np.float32)))
    b.add(Padded(conv, pad, _activation(op)), op, [op.inputs[0]], NCHW)


def _build_max_pool(b: _Builder, op: Op) -> None:
    kernel = (op.options["filterHeight"], op.options["filterWidth"])
    padding, pad = _conv_pads(b, op, kernel)
    pool = nn.MaxPool2d(kernel, stride=(op.options["strideH"], op.options["strideW"]), padding=padding)
    b.add(Padded(pool, pad, _activation(op), float("-inf")), op, [op.inputs[0]], NCHW)


def _build_prelu(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    alpha = b.need_const(op, 1, "alpha")
    layout = b.pick_layout(op, [x])
    channels = b.shape(x)[-1]
    if layout == NCHW and alpha.size == channels and alpha.shape[-1] == channels:
        layer: nn.Module = nn.PReLU(channels)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(alpha.reshape(-1).astype(np.float32)))
    else:
        layer = PReLU(_const_in(alpha, layout))
    b.add(layer, op, [x], layout)


def _build_unary(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    b.add(Unary(op.name), op, [x], b.pick_layout(op, [x]))


def _build_binary(b: _Builder, op: Op) -> None:
    dynamic = b.dynamic(op)
    if not dynamic:
        raise UnsupportedTargetError(f"{op.name} (operator #{op.index}) has only constant operands")
    layout = b.pick_layout(op, dynamic)
    consts = [None if b.const(t) is None else _const_in(b.const(t), layout) for t in op.inputs[:2]]
    b.add(Binary(op.name, consts, _activation(op)), op, dynamic, layout)


def _build_concat(b: _Builder, op: Op) -> None:
    dynamic = b.dynamic(op)
    layout = b.pick_layout(op, dynamic)
    consts = [None if b.const(t) is None else _const_in(b.const(t), layout) for t in op.inputs]
    dim = _axis(op.options.get("axis", 0), len(b.shape(op.outputs[0])), layout)
    b.add(Concat(dim, consts, _activation(op)), op, dynamic, layout)


def _build_reduce(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    rank = len(b.shape(x))
    axes = [int(a) for a in np.atleast_1d(b.need_const(op, 1, "axis"))]
    keep = bool(op.options.get("keepDims", False))
    layout = NCHW if keep and rank == 4 and b.has(x, NCHW) else NHWC
    dims = tuple(sorted(_axis(a, rank, layout) for a in axes))
    b.add(Reduce(op.name, dims, keep), op, [x], layout)


def _build_pad(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    pads = b.need_const(op, 1, "padding").astype(np.int64).reshape(-1, 2)
    value = 0.0
    if op.name == "PADV2" and len(op.inputs) > 2:
        value = float(b.need_const(op, 2, "pad value").reshape(-1)[0])
    layout = b.pick_layout(op, [x])
    if layout == NCHW:
        pads = pads[list(TO_NCHW)]
    flat = tuple(int(v) for row in pads[::-1] for v in row)  # F.pad: last dim first
    b.add(Pad(flat, value), op, [x], layout)


def _build_reshape(b: _Builder, op: Op) -> None:
    b.add(Reshape(b.shape(op.outputs[0])), op, [op.inputs[0]], NHWC)


def _build_transpose(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    perm = tuple(int(p) for p in b.need_const(op, 1, "permutation"))
    if b.has(x, NCHW) and not b.has(x, NHWC):  # fold the layout permute into this one
        b.add(Permute(tuple(TO_NHWC[p] for p in perm)), op, [x], NCHW, NHWC)
    else:
        b.add(Permute(perm), op, [x], NHWC)


def _build_strided_slice(b: _Builder, op: Op) -> None:
    x = op.inputs[0]
    shape = b.shape(x)
    begin = b.need_const(op, 1, "begin").astype(np.int64)
    end = b.need_const(op, 2, "end").astype(np.int64)
    strides = (b.need_const(op, 3, "strides") if len(op.inputs) > 3 else np.ones_like(begin)).astype(np.int64)
    o = op.options
    if o.get("ellipsisMask", 0) or o.get("newAxisMask", 0):
        raise UnsupportedTargetError("STRIDED_SLICE with an ellipsis or new-axis mask is not supported")
    if (strides <= 0).any():
        raise UnsupportedTargetError("STRIDED_SLICE with a non-positive stride is not supported")
    index: list[slice] = []
    for d in range(len(shape)):
        lo = None if o.get("beginMask", 0) >> d & 1 else int(begin[d])
        if o.get("shrinkAxisMask", 0) >> d & 1:
            lo = int(begin[d]) % shape[d]
            index.append(slice(lo, lo + 1, 1))
            continue
        hi = None if o.get("endMask", 0) >> d & 1 else int(end[d])
        if o.get("offset", False) and lo is not None and hi is not None:
            hi = lo + hi
        index.append(slice(lo, hi, int(strides[d])))
    out_shape = b.shape(op.outputs[0])
    _check_shape(op, np.empty(shape, np.uint8)[tuple(index)].reshape(out_shape).shape, out_shape)
    b.add(StridedSlice(tuple(index), out_shape), op, [x], NHWC)


OP_BUILDERS: dict[str, Callable[[_Builder, Op], None]] = {
    "CONV_2D": _build_conv,
    "DEPTHWISE_CONV_2D": _build_conv,
    "MAX_POOL_2D": _build_max_pool,
    "PRELU": _build_prelu,
    **{name: _build_unary for name in _UNARY},
    **{name: _build_binary for name in _BINARY},
    "CONCATENATION": _build_concat,
    "MEAN": _build_reduce,
    "SUM": _build_reduce,
    "PAD": _build_pad,
    "PADV2": _build_pad,
    "RESHAPE": _build_reshape,
    "TRANSPOSE": _build_transpose,
    "STRIDED_SLICE": _build_strided_slice,
}


def op_builder(name: str) -> Callable[[_Builder, Op], None]:
    try:
        return OP_BUILDERS[name]
    except KeyError:
        raise UnsupportedTargetError(
            f"TFLite operator {name} is not supported by the talkies importer "
            f"(supported: {', '.join(sorted(OP_BUILDERS))})") from None


def build_module(graph: Graph) -> TFLiteModule:
    unsupported = sorted({op.name for op in graph.ops if op.name not in OP_BUILDERS})
    if unsupported:
        op_builder(unsupported[0])  # raises, naming the first
    b = _Builder(graph)
    input_keys = []
    for t in graph.inputs:
        b.avail[t] = {NHWC: f"t{t}"}
        input_keys.append(f"t{t}")
    for op in graph.ops:
        if len(op.outputs) != 1:
            raise UnsupportedTargetError(f"{op.name} with {len(op.outputs)} outputs is not supported")
        op_builder(op.name)(b, op)
    for t in graph.outputs:
        if graph.tensors[t].const is not None:
            raise UnsupportedTargetError(f"output {graph.tensors[t].name!r} is a constant")
    output_keys = [b.get(t, NHWC) for t in graph.outputs]
    module = TFLiteModule(b.layers, b.wiring, input_keys, output_keys, graph.io).eval()
    with torch.no_grad():  # a dry run: every rebuilt output has the tflite shape
        outs = module(*[torch.zeros(t.shape) for t in graph.io.inputs])
    for out, want in zip(outs, graph.io.outputs):
        if tuple(out.shape) != want.shape:
            raise UnsupportedTargetError(f"output {want.tflite_name}: rebuilt shape {tuple(out.shape)} "
                                         f"!= tflite {want.shape}")
    return module
