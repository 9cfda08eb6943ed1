"""Find the "heads" of a graph: the compute layers that produce the model's outputs, and the reshapes,
concats and activations between them and the outputs.

Keeping them in float (QuantizationConfig.float_outputs) matters for regression and detection outputs:
an int8 tensor gets one range, and an output's range is set by its widest values (the face detector's
logits reach -500, so an int8 step of 2 would wipe out the logits near 0 that decide a detection).

Walking back from each output: layout, activation and bias ops are passed through (and kept float);
the first convolution / matrix product on each path is kept float and ends the walk; any other op ends
it without being kept.
"""

from __future__ import annotations

import operator
from typing import Any

#: ONNX ops that end the walk and stay float.
ONNX_COMPUTE = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
#: ONNX ops passed through (kept float) on the way back from an output.
ONNX_PASS = {"Reshape", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Cast", "Sigmoid",
             "Softmax", "Tanh", "Relu", "Clip", "Slice", "Split", "Add", "Mul", "Sub", "Div"}
#: torch ATen op names (without overload) that end the walk / are passed through.
FX_COMPUTE = {"conv1d", "conv2d", "convolution", "linear", "addmm", "mm", "matmul", "bmm"}
FX_PASS = {"view", "reshape", "_unsafe_view", "permute", "transpose", "cat", "concat", "squeeze", "unsqueeze",
           "flatten", "clone", "contiguous", "_to_copy", "sigmoid", "softmax", "_softmax", "tanh", "relu",
           "hardtanh", "clamp", "slice", "split", "split_with_sizes", "getitem", "add", "mul", "sub", "div"}


def onnx_head_nodes(model: Any) -> list[str]:
    """Names of the nodes of an onnx.ModelProto to keep in float (graph order)."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    constants = {i.name for i in graph.initializer} | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    keep: set[str] = set()
    stack = [o.name for o in graph.output]
    seen: set[str] = set()
    while stack:
        tensor = stack.pop()
        node = producer.get(tensor)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type in ONNX_COMPUTE:
            keep.add(node.name)
        elif node.op_type in ONNX_PASS:
            keep.add(node.name)
            stack.extend(i for i in node.input if i and i not in constants)
    return [n.name for n in graph.node if n.name in keep]


def fx_head_nodes(graph_module: Any) -> set[str]:
    """Names of the nodes of a torch.fx GraphModule (torch.export'ed) to keep in float."""
    def op_name(node: Any) -> str:
        if node.op != "call_function":
            return ""
        if node.target is operator.getitem:
            return "getitem"
        return getattr(node.target, "__name__", str(node.target)).split(".")[0]  # "conv2d.default" → conv2d

    output = next(n for n in graph_module.graph.nodes if n.op == "output")
    keep: set[str] = set()
    stack = _flatten(output.args)
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        name = op_name(node)
        if name in FX_COMPUTE:
            keep.add(node.name)
        elif name in FX_PASS:
            keep.add(node.name)
            stack.extend(_flatten(node.args))
    return keep


def _flatten(args: Any) -> list[Any]:
    import torch

    out: list[Any] = []
    torch.fx.node.map_arg(args, out.append)
    return out


# ---- nodes inside named torch submodules (QuantizationConfig.float_modules) ----------------------------

def in_modules(paths: list[str], modules: tuple[str, ...] | list[str]) -> bool:
    """Whether a node whose enclosing module paths are `paths` (e.g. ['', 'net', 'net.frontend']) lies
    inside one of `modules`: a path equal to a name or ending in '.' + name."""
    return any(p == m or p.endswith("." + m) for p in paths for m in modules)


def onnx_module_nodes(model: Any, modules: tuple[str, ...] | list[str]) -> set[str]:
    """Names of the ONNX nodes inside `modules`, from torch's exporter metadata
    (``pkg.torch.onnx.name_scopes``, a list literal of the enclosing module paths)."""
    import ast

    if not modules:
        return set()
    found = set()
    for node in model.graph.node:
        for prop in node.metadata_props:
            if prop.key == "pkg.torch.onnx.name_scopes" and in_modules(ast.literal_eval(prop.value), modules):
                found.add(node.name)
    return found


def fx_module_nodes(graph_module: Any, modules: tuple[str, ...] | list[str]) -> set[str]:
    """Names of the torch.export graph nodes inside `modules` (from each node's ``nn_module_stack``)."""
    if not modules:
        return set()
    return {n.name for n in graph_module.graph.nodes
            if in_modules([path for path, _ in (n.meta.get("nn_module_stack") or {}).values()], modules)}
