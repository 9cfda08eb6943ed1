"""Fetch-time edits of the Kokoro ONNX graph (needs the `onnx` package; the runtime never does).

- :func:`add_duration_output` exposes ``/encoder/Round_output_0``, the per-token durations (units of 600
  samples), as a second graph output, so the runtime can time phones without touching the graph.
- :func:`dequantize` turns the dynamic-int8 export (DynamicQuantizeLinear + MatMulInteger / ConvInteger /
  DynamicQuantizeLSTM) back into fp32 MatMul / Conv / LSTM with the dequantized weights: ONNX Runtime runs
  ConvInteger slowly on CPU, and the fp32 graph is faster on one thread (see models/kokoro/MODEL_CARD.md).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from talkies.errors import require

DURATION_OUTPUT = "/encoder/Round_output_0"


def add_duration_output(model) -> None:
    """Append the encoder's rounded durations to the graph outputs (no-op when already there)."""
    onnx = require("onnx", "export")
    if any(o.name == DURATION_OUTPUT for o in model.graph.output):
        return
    if not any(DURATION_OUTPUT in n.output for n in model.graph.node):
        raise ValueError(f"the Kokoro graph has no tensor {DURATION_OUTPUT}")
    model.graph.output.append(onnx.helper.make_tensor_value_info(DURATION_OUTPUT, onnx.TensorProto.FLOAT, None))


class _Graph:
    """Producer/consumer lookups and initializer access over one GraphProto."""

    def __init__(self, graph) -> None:
        from onnx import numpy_helper

        self.graph, self._nh = graph, numpy_helper
        self.inits = {i.name: i for i in graph.initializer}
        self.prod = {o: n for n in graph.node for o in n.output}
        self.cons: dict[str, list] = defaultdict(list)
        for n in graph.node:
            for i in n.input:
                self.cons[i].append(n)

    def array(self, name: str) -> np.ndarray:
        return self._nh.to_array(self.inits[name])

    def only_consumer(self, name: str, op: str):
        users = self.cons[name]
        if len(users) != 1 or users[0].op_type != op:
            raise ValueError(f"unexpected quantization pattern after {name}: {[u.op_type for u in users]}")
        return users[0]

    def float_input(self, quantized: str) -> str:
        """The fp32 tensor a DynamicQuantizeLinear output was made from."""
        node = self.prod[quantized]
        if node.op_type != "DynamicQuantizeLinear":
            raise ValueError(f"{quantized} does not come from DynamicQuantizeLinear")
        return node.input[0]

    def weight_scale(self, scale_mul) -> np.ndarray:
        """The weight's scale: the initializer input of the node that multiplies it by the input's scale."""
        node = self.prod[scale_mul.input[1]]
        names = [i for i in node.input if i in self.inits]
        if node.op_type != "Mul" or len(names) != 1:
            raise ValueError(f"unexpected scale computation at {scale_mul.name}")
        return self.array(names[0]).astype(np.float32)

    def add_init(self, name: str, value: np.ndarray) -> str:
        if name in self.inits:  # a weight shared by several nodes is dequantized once
            return name
        self.graph.initializer.append(self._nh.from_array(np.ascontiguousarray(value, np.float32), name))
        self.inits[name] = self.graph.initializer[-1]
        return name


def _dequantized(g: _Graph, weight: str, zero_point: str, scale: np.ndarray) -> np.ndarray:
    return (g.array(weight).astype(np.float32) - g.array(zero_point).astype(np.float32)) * scale


def dequantize(model) -> None:
    """Rewrite the dynamic-int8 operators of `model` as fp32 ones, in place."""
    onnx = require("onnx", "export")
    helper = onnx.helper
    g = _Graph(model.graph)
    new_nodes: dict[int, object] = {}  # id of the node it replaces -> new node
    drop: set[int] = set()
    for n in list(model.graph.node):
        if n.op_type == "MatMulInteger":  # -> Cast -> Mul(x_scale * w_scale)
            cast = g.only_consumer(n.output[0], "Cast")
            mul = g.only_consumer(cast.output[0], "Mul")
            w = _dequantized(g, n.input[1], n.input[3], g.weight_scale(mul))
            new_nodes[id(mul)] = helper.make_node(
                "MatMul", [g.float_input(n.input[0]), g.add_init(n.input[1] + "_fp32", w)], [mul.output[0]],
                name=n.name + "_fp32")
            drop |= {id(n), id(cast)}
        elif n.op_type == "ConvInteger":  # -> [Add(quantized bias)] -> Cast -> Mul(x_scale * w_scale)
            nxt = g.cons[n.output[0]][0]
            inputs = [g.float_input(n.input[0])]
            add = None
            if nxt.op_type == "Add":
                add = nxt
                bias = _bias_source(g, add.input[1])
                nxt = g.only_consumer(add.output[0], "Cast")
            cast = nxt
            mul = g.only_consumer(cast.output[0], "Mul")
            w = _dequantized(g, n.input[1], n.input[3], g.weight_scale(mul))
            inputs.append(g.add_init(n.input[1] + "_fp32", w))
            if add is not None:
                inputs.append(bias)
            node = helper.make_node("Conv", inputs, [mul.output[0]], name=n.name + "_fp32")
            node.attribute.extend(n.attribute)
            new_nodes[id(mul)] = node
            drop |= {id(n), id(cast)} | ({id(add)} if add is not None else set())
        elif n.op_type == "DynamicQuantizeLSTM":
            # inputs: X W R B seq_lens h0 c0 P W_scale W_zp R_scale R_zp; W/R are [dirs, in, 4*hidden]
            ins = list(n.input)
            w = g.add_init(ins[1] + "_fp32", _lstm_weight(g, ins[1], ins[8], ins[9]))
            r = g.add_init(ins[2] + "_fp32", _lstm_weight(g, ins[2], ins[10], ins[11]))
            node = helper.make_node("LSTM", [ins[0], w, r, *ins[3:8]], list(n.output), name=n.name + "_fp32")
            node.attribute.extend(a for a in n.attribute if a.name in ("direction", "hidden_size", "input_forget",
                                                                         "activations", "clip"))
            new_nodes[id(n)] = node
    nodes = [new_nodes.get(id(n), n) for n in model.graph.node if id(n) not in drop]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _prune(model)


def _lstm_weight(g: _Graph, weight: str, scale: str, zero_point: str) -> np.ndarray:
    """ONNX LSTM layout [dirs, 4*hidden, in] from DynamicQuantizeLSTM's [dirs, in, 4*hidden], per-direction scale."""
    q = g.array(weight).astype(np.float32) - g.array(zero_point).astype(np.float32)[:, None, None]
    return np.transpose(q * g.array(scale).astype(np.float32)[:, None, None], (0, 2, 1))


def _bias_source(g: _Graph, quantized_bias: str) -> str:
    """The fp32 bias initializer behind Reshape(Cast(Floor(Div(bias, scale))))."""
    node = g.prod[quantized_bias]
    for op in ("Reshape", "Cast", "Floor", "Div"):
        if node.op_type != op:
            raise ValueError(f"unexpected bias pattern at {node.name}: {node.op_type}, expected {op}")
        if op == "Div":
            return node.input[0]
        node = g.prod[node.input[0]]
    raise AssertionError("unreachable")


def _prune(model) -> None:
    """Drop nodes whose outputs nobody reads, then initializers nobody reads."""
    graph = model.graph
    keep_out = {o.name for o in graph.output}
    while True:
        used = keep_out | {i for n in graph.node for i in n.input}
        nodes = [n for n in graph.node if any(o in used for o in n.output if o)]
        if len(nodes) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
