"""The fp32 torch module behind a ModelSpec: built once per process, run on named numpy feeds.

Every target starts from this module (directly, or through the ONNX file exported from it), so the
I/O convention lives here: `forward(*inputs)` takes the spec's inputs in order and returns one tensor,
or a tuple/list in the spec's output order, or a dict keyed by output name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from talkies.errors import InputError, require
from talkies.export.spec import Feeds, ModelSpec

if TYPE_CHECKING:
    import torch

_MODULES: dict[tuple[str, int], "torch.nn.Module"] = {}


def build_module(spec: ModelSpec) -> "torch.nn.Module":
    """The spec's fp32 reference module in eval mode, built once per process (build() can be slow)."""
    require("torch", "export")
    key = (spec.name, id(spec))
    if key not in _MODULES:
        module = spec.build()
        _MODULES[key] = module.eval()
    return _MODULES[key]


def torch_args(spec: ModelSpec, feeds: Feeds) -> tuple["torch.Tensor", ...]:
    """The spec's inputs as a tuple of float32 torch tensors, in the spec's input order."""
    torch = require("torch", "export")
    missing = [t.name for t in spec.inputs if t.name not in feeds]
    if missing:
        raise InputError(f"{spec.name}: missing inputs {missing}; expects {[t.name for t in spec.inputs]}")
    return tuple(torch.from_numpy(np.ascontiguousarray(feeds[t.name], dtype=t.dtype)) for t in spec.inputs)


def name_outputs(spec: ModelSpec, result: Any) -> Feeds:
    """Map a module's raw result (tensor, sequence or dict) to {output name: float32 array}."""
    names = [t.name for t in spec.outputs]
    if isinstance(result, dict):
        values = [result[n] for n in names]
    elif isinstance(result, (tuple, list)):
        values = list(result)
    else:
        values = [result]
    if len(values) != len(names):
        raise InputError(f"{spec.name}: the module returned {len(values)} outputs, the spec lists {names}")
    return {n: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float32)
            for n, v in zip(names, values)}


def run_module(spec: ModelSpec, feeds: Feeds) -> Feeds:
    """Run the fp32 module on one sample of named feeds."""
    torch = require("torch", "export")
    module = build_module(spec)
    with torch.no_grad():
        return name_outputs(spec, module(*torch_args(spec, feeds)))


def reference_outputs(spec: ModelSpec, feeds: Feeds) -> Feeds:
    """The parity reference for one sample: the original model when the spec has one, else the module."""
    if spec.reference is not None:
        out = spec.reference(feeds)
        return {t.name: np.asarray(out[t.name], dtype=np.float32) for t in spec.outputs}
    return run_module(spec, feeds)


def contains_recurrent(spec: ModelSpec) -> bool:
    """True when the module holds a GRU/LSTM/RNN layer (they block some int8 and Core ML paths)."""
    torch = require("torch", "export")
    return any(isinstance(m, torch.nn.RNNBase) for m in build_module(spec).modules())
