"""Fetch-time edit of the Kokoro ONNX graph (needs the `onnx` package; the runtime never does):
:func:`add_duration_output` exposes ``/encoder/Round_output_0``, the per-token durations (units of 600
samples), as a second graph output, so the runtime times phones without touching the graph.

The int8 graph is kept as it is. Dequantized to fp32 (MatMulInteger/ConvInteger/DynamicQuantizeLSTM back
to MatMul/Conv/LSTM: 325 MB instead of 92 MB) it ran no faster on one thread: 3.10 s against 3.07 s for
5.8 s of speech (medians of 9, same run), the convolutions taking 2.1 s either way; OpenVINO on the fp32
graph took 2.98 s. The rewrite is in this file's history (commit 6e4e8e3).
"""

from __future__ import annotations

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
