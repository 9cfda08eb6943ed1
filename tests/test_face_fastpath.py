"""The per-frame fast paths of face tracking give the same numbers as the plain ones: the compiled head
pose against the numpy fit, sessions' in-place input buffers, the ONNX PRelu rewrite for ONNX Runtime and
LiteRT's one-op PRELU."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from talkies.runtime.bundle import TensorInfo
from talkies.runtime.face import pose as pose_mod
from talkies.runtime.face.roi import landmark_box, roi_from_landmarks
from talkies.tests.helpers.faces import needs_jit


def _numpy_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """estimate_pose as three numpy fit_similarity calls (the formulation the kernel replaces)."""
    ref = pose_mod.face_reference()
    height, width = image_size
    lm = np.asarray(landmarks, np.float64)[:, :3]
    h_near = 2.0 * math.tan(math.radians(pose_mod.VERTICAL_FOV_DEGREES) / 2.0)
    w_near = width * h_near / height
    x = lm[:, 0] / width * w_near - w_near / 2.0
    y = (1.0 - lm[:, 1] / height) * h_near - h_near / 2.0
    z = lm[:, 2] / width * w_near
    offset = float(z.mean())
    src = ref.vertices[ref.ids].astype(np.float64)

    def fit(points: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return pose_mod.fit_similarity(src, points[ref.ids], ref.weights)

    def unproject(scale: float) -> np.ndarray:
        depth = (z - offset + 1.0) / scale
        return np.stack([x * depth, y * depth, -depth], axis=1)

    first = fit(np.stack([x, y, -z], axis=1))[0]
    second = fit(unproject(first))[0]
    _, rot, t = fit(unproject(first * second))
    return rot, t


def _synthetic_face(rng: np.random.Generator) -> np.ndarray:
    ref = pose_mod.face_reference()
    rot = pose_mod.matrix_from_euler(*rng.uniform(-0.8, 0.8, 3))
    v = np.concatenate([ref.vertices, ref.vertices[:10]]) @ rot.T * rng.uniform(5, 20)
    v[:, 0] += rng.uniform(100, 500)
    v[:, 1] = 600 - v[:, 1] - rng.uniform(100, 300)
    return v + rng.normal(0, 0.5, v.shape)


@needs_jit
def test_compiled_pose_equals_the_numpy_fits():
    rng = np.random.default_rng(0)
    for trial in range(60):
        lm = _synthetic_face(rng)
        lm = lm.astype(np.float32) if trial % 2 else lm
        size = (640, 640) if trial % 3 else (480, 640)
        got = pose_mod.estimate_pose(lm, size)
        rot, t = _numpy_pose(lm, size)
        np.testing.assert_allclose(got.transform[:3, :3], rot, atol=1e-6)
        np.testing.assert_allclose(got.transform[:3, 3], t, rtol=1e-6, atol=1e-5)
        assert (got.yaw, got.pitch, got.roll) == pytest.approx(pose_mod.euler_from_matrix(rot), abs=1e-9)


@needs_jit
def test_jacobi_svd_matches_lapack():
    rng = np.random.default_rng(1)
    cases = [rng.normal(size=(3, 3)) for _ in range(200)]
    cases += [np.diag([3.0, 2.0, 0.0]), np.zeros((3, 3)), np.outer([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]), -np.eye(3)]
    for m in cases:
        u, s, vt = pose_mod._svd3(m)
        np.testing.assert_allclose(s, np.linalg.svd(m, compute_uv=False), atol=1e-12)
        np.testing.assert_allclose((u * s) @ vt, m, atol=1e-12)
        np.testing.assert_allclose(vt @ vt.T, np.eye(3), atol=1e-12)
        if s[1] > 1e-9:  # u is a full orthogonal basis unless the matrix is (near) rank one
            np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-9)


def test_pose_of_degenerate_landmarks_returns():
    result = pose_mod.estimate_pose(np.zeros((478, 3), np.float32), (480, 640))
    assert result.transform.shape == (4, 4)


@needs_jit
def test_landmark_box_and_roi_match_the_float64_formulas():
    rng = np.random.default_rng(2)
    lm = (rng.uniform(0, 600, (478, 3))).astype(np.float32)
    xy = lm[:, :2].astype(np.float64)
    np.testing.assert_array_equal(landmark_box(lm), np.concatenate([lm[:, :2].min(0), lm[:, :2].max(0)]))
    roi = roi_from_landmarks(lm)
    assert roi == roi_from_landmarks(lm.astype(np.float64))
    box = np.concatenate([xy.min(0), xy.max(0)])
    assert (roi.cx, roi.cy) == ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _tiny_openvino(tmp_path):
    ov = pytest.importorskip("openvino")
    from openvino import opset13 as ops

    x = ops.parameter([1, 4, 3], np.float32, name="x")
    y = ops.multiply(ops.add(x, ops.constant(np.float32(1.0))), ops.constant(np.float32(2.0)))
    y.output(0).get_tensor().set_names({"y"})
    path = tmp_path / "tiny.xml"
    ov.save_model(ov.Model([y], [x], "tiny"), str(path))
    return path


def test_openvino_input_buffer_is_read_in_place(tmp_path):
    from talkies.errors import BundleError
    from talkies.runtime.session import OpenVINOSession

    session = OpenVINOSession(_tiny_openvino(tmp_path), [TensorInfo("x", [1, 4, 3])], [TensorInfo("y", [1, 4, 3])])
    buffer = session.input_buffer("x")
    assert buffer is session.input_buffer("x") and buffer.shape == (1, 4, 3) and buffer.dtype == np.float32
    buffer[...] = np.arange(12, dtype=np.float32).reshape(1, 4, 3)
    first = session.run({"x": buffer})["y"]
    np.testing.assert_array_equal(first, (buffer + 1) * 2)
    other = np.ones((4, 3))  # another array, another dtype and a squeezed shape: copied in
    second = session.run({"x": other})["y"]
    np.testing.assert_array_equal(second, np.full((1, 4, 3), 4.0, np.float32))
    np.testing.assert_array_equal(first, (np.arange(12).reshape(1, 4, 3) + 1) * 2)  # outputs are copies
    with pytest.raises(BundleError):
        session.run({"x": np.ones((2, 4, 3), np.float32)})


def test_default_input_buffer_has_the_declared_shape(tmp_path):
    from talkies.runtime.session import InferenceSession

    class Echo(InferenceSession):
        def run(self, feeds):
            return {"y": np.asarray(feeds["x"]) * 1}

    session = Echo(tmp_path / "m", [TensorInfo("x", [1, 146, 2]), TensorInfo("z", [1, "n", 2])],
                   [TensorInfo("y", [1, 146, 2])])
    assert session.input_buffer("x").shape == (1, 146, 2)
    assert session.input_buffer("x") is session.input_buffer("x")
    assert session.input_buffer("z") is None


def test_prelu_as_depthwise_keeps_the_outputs():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    from talkies.export.onnx import PRELU_REWRITE_NODES, prelu_as_depthwise

    rng = np.random.default_rng(3)
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    alpha = rng.uniform(-2, 3, (1, 8, 1, 1)).astype(np.float32)
    scalar = np.array([0.25], np.float32)  # not per channel: left as PRelu
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("PRelu", ["c", "alpha"], ["p"]),
         helper.make_node("PRelu", ["p", "scalar"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(alpha, "alpha"),
         numpy_helper.from_array(scalar, "scalar")])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9).SerializeToString()
    new, rewritten = prelu_as_depthwise(data)
    assert rewritten == 1
    nodes = onnx.load_model_from_string(new).graph.node
    ops = [n.op_type for n in nodes]
    assert ops.count("PRelu") == 1 and ops.count("Conv") == 3
    # the pattern that keeps them float under int8 (QuantizationConfig.ignored_scope) names exactly these
    assert [n.op_type for n in nodes if re.fullmatch(PRELU_REWRITE_NODES, n.name)] == ["Conv", "Relu", "Conv", "Add"]
    x = rng.normal(size=(1, 3, 16, 16)).astype(np.float32)
    want = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = ort.InferenceSession(new, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert prelu_as_depthwise(new)[1] == 0  # idempotent
    unchanged, n = prelu_as_depthwise(helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])).SerializeToString())
    assert n == 0


def test_litert_float_conversion_keeps_prelu_one_op(tmp_path):
    torch = pytest.importorskip("torch")
    from ai_edge_litert.interpreter import Interpreter
    from litert_torch.fx_infra import decomp

    from talkies.export.quiet import quiet_import
    from talkies.targets.litert_prelu import native_prelu

    litert_torch = quiet_import("litert_torch")
    op = torch.ops.aten._prelu_kernel.default
    tables = (decomp._pre_convert_decomp, decomp._pre_lower_decomp)

    def entries():
        return [table[op] if op in table else None for table in tables]

    import litert_torch.backend.lowerings  # noqa: F401 - registers litert-torch's own decompositions
    before = entries()
    assert all(before)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.PReLU(8),
                                 torch.nn.Conv2d(8, 4, 1), torch.nn.PReLU()).eval()  # per-channel and one slope
    with torch.no_grad():
        module[1].weight.uniform_(-1.0, 2.0)
    x = torch.randn(1, 3, 12, 12)
    with native_prelu():
        edge = litert_torch.convert(module, (x,))
    assert entries() == before  # restored: a later int8 conversion decomposes PReLU again
    path = tmp_path / "m.tflite"
    edge.export(str(path))
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    ops = [d["op_name"] for d in interpreter._get_ops_details()]
    assert ops.count("PRELU") == 2 and not {"SUB", "RELU", "MUL"} & set(ops)
    with torch.no_grad():
        want = module(x).numpy()
    np.testing.assert_allclose(np.asarray(edge(x)), want, rtol=1e-5, atol=1e-6)
