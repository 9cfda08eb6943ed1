"""Rebuild a .tflite graph as a `torch.nn.Module` (toolchain side: the runtime never imports this).

The flatbuffer is read with the schema module that ai-edge-litert ships
(`ai_edge_litert.schema_py_generated`), so there is no hand-written parser. Constant tensors that
the graph dequantizes (fp16 weights -> fp32) are folded at import time; every other operator becomes
a real `nn.Module` layer (`nn.Conv2d`, `nn.PReLU`, ...) in a static list that `forward` walks, so the
module traces (`torch.jit.trace`), exports (`torch.onnx.export(dynamo=True)`, `litert_torch.convert`)
and has ordinary parameters.

The module keeps the TFLite I/O: same input/output layouts (NHWC images), shapes and order;
`forward(*inputs)` returns a tuple with one tensor per tflite output. Inside, 4-D activations run
NCHW; permutes are inserted only where an operator needs the other layout.

    from talkies.models.mediapipe.tflite_import import import_tflite, io_details
    module = import_tflite(face_model_path("face_landmarks"))
    landmarks, face_flag, tongue = module(torch.from_numpy(crop))   # crop: [1, 256, 256, 3] in [0, 1]

torch is imported only when a module is built (`import_tflite`); `io_details` and `parse_tflite`
need numpy and ai-edge-litert alone.
"""

from __future__ import annotations

from pathlib import Path

from talkies.errors import require
from talkies.models.mediapipe.tflite_graph import Graph, ModelIO, Op, Tensor, TensorIO, io_details, parse_tflite

__all__ = ["Graph", "ModelIO", "Op", "Tensor", "TensorIO", "import_tflite", "io_details", "op_builder",
           "parse_tflite", "supported_ops"]


def op_builder(name: str):
    """The builder of one TFLite operator; UnsupportedTargetError naming it when there is none."""
    from talkies.models.mediapipe import _tflite_torch

    return _tflite_torch.op_builder(name)


def supported_ops() -> list[str]:
    from talkies.models.mediapipe import _tflite_torch

    return sorted(_tflite_torch.OP_BUILDERS)


def import_tflite(path: str | Path):
    """Rebuild the .tflite model at `path` as a torch.nn.Module with the same I/O (see module doc).

    The module has `input_names`, `output_names`, `input_shapes` and `output_shapes` attributes and
    returns a tuple of tensors. Raises UnsupportedTargetError naming any operator it cannot rebuild.
    """
    require("torch", "export")
    from talkies.models.mediapipe import _tflite_torch

    return _tflite_torch.build_module(parse_tflite(path))
