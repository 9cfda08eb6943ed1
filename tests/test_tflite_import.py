"""The TFLite importer: each MediaPipe face model rebuilt in torch matches the .tflite run in
ai-edge-litert on real face crops, exports to ONNX, and names any operator it cannot rebuild.

Error metric (all parity checks here): max|a - b| / max(max|b|, 1) per output tensor, where b is the
reference. It is the error relative to the tensor's scale, with a floor of 1 so that probabilities
([0, 1] outputs such as `tongue` or `scores`) are held to an absolute 1e-4.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from talkies.errors import UnsupportedTargetError  # noqa: E402
from talkies.runtime.face import constants as C  # noqa: E402
from talkies.models.mediapipe import faces  # noqa: E402
from talkies.models.mediapipe.assets import fetch_face_models  # noqa: E402
from talkies.runtime.face.model_files import face_model_path  # noqa: E402
from talkies.models.mediapipe.tflite_import import (  # noqa: E402
    import_tflite,
    io_details,
    op_builder,
    parse_tflite,
)

PARITY_RTOL = 1e-4
N_VECTORS = 8  # per model: the un-augmented grace_hopper and astronaut crops + 6 augmented ones
EXPECTED_IO = {
    "face_detector": ({"image": (1, 128, 128, 3)}, {"regressors": (1, 896, 16), "classificators": (1, 896, 1)}),
    "face_landmarks": ({"image": (1, 256, 256, 3)},
                       {"landmarks": (1, 1, 1, 1434), "face_flag": (1, 1, 1, 1), "tongue": (1, 1)}),
    "face_blendshapes": ({"points": (1, 146, 2)}, {"scores": (52,)}),
}


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a) - b).max() / max(float(np.abs(b).max()), 1.0))


@pytest.fixture(scope="module", autouse=True)
def models():
    return fetch_face_models()  # a no-op when already cached


@pytest.fixture(scope="module")
def imported():
    return {name: import_tflite(face_model_path(name)) for name in C.FACE_TFLITE_MODELS}


@pytest.mark.parametrize("name", C.FACE_TFLITE_MODELS)
def test_io_matches_the_tflite(name, imported):
    inputs, outputs = EXPECTED_IO[name]
    io = io_details(face_model_path(name))
    assert {t.name: t.shape for t in io.inputs} == inputs
    assert {t.name: t.shape for t in io.outputs} == outputs
    assert all(t.dtype == "float32" for t in io.inputs + io.outputs)
    # same order as the tflite's own I/O, which the reference runner (a LiteRTSession) names in turn
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(face_model_path(name))).get_output_details()
    assert [t.tflite_name for t in io.outputs] == [d["name"] for d in details]
    assert [tuple(d["shape"]) for d in details] == list(outputs.values())
    session = faces.reference_runner(name).session
    assert session.output_names == [C.FACE_MODEL_IO_NAMES[name][d["name"]] for d in details]
    assert [tuple(t.shape) for t in session.outputs] == list(outputs.values())
    module = imported[name]
    assert module.input_names == list(inputs) and module.output_names == list(outputs)


@pytest.mark.parametrize("name", C.FACE_TFLITE_MODELS)
def test_parity_with_litert_on_real_faces(name, imported):
    module = imported[name]
    ref = faces.reference_runner(name)
    vectors = faces.face_crops(name, N_VECTORS, seed=7)
    worst = dict.fromkeys(module.output_names, 0.0)
    for vector in vectors:
        x = vector[module.input_names[0]]
        expected = ref.run(x)
        with torch.no_grad():
            got = module(torch.from_numpy(x))
        for out_name, a, b in zip(module.output_names, got, expected, strict=True):
            assert a.shape == b.shape
            worst[out_name] = max(worst[out_name], rel_error(a.numpy(), b))
    assert max(worst.values()) <= PARITY_RTOL, worst


def test_crops_hold_real_faces():
    """The crops are faces by the reference models' own account, and differ under augmentation."""
    crops = faces.face_crops("face_landmarks", 4, seed=3)
    flags = [faces.reference_runner("face_landmarks").run(c["image"])[1].item() for c in crops]
    assert min(flags) > 5.0  # face-presence logit
    scores = faces.reference_runner("face_detector").run(faces.face_crops("face_detector", 1)[0]["image"])[1]
    assert scores.max() > 2.0  # a confident detection in the whole photo
    assert not np.array_equal(crops[0]["image"], crops[2]["image"])


def test_face_crops_are_deterministic():
    a = faces.face_crops("face_blendshapes", 4, seed=11)
    b = faces.face_crops("face_blendshapes", 4, seed=11)
    c = faces.face_crops("face_blendshapes", 4, seed=12)
    assert all(np.array_equal(x["points"], y["points"]) for x, y in zip(a, b))
    assert np.array_equal(a[0]["points"], c[0]["points"])  # un-augmented crops do not depend on the seed
    assert not np.array_equal(a[3]["points"], c[3]["points"])
    lfw = faces.face_crops("face_landmarks", 2, seed=0, sources=("lfw",))
    assert lfw[0]["image"].shape == (1, 256, 256, 3) and 0 <= lfw[0]["image"].min() <= lfw[0]["image"].max() <= 1


@pytest.mark.parametrize("name", C.FACE_TFLITE_MODELS)
def test_onnx_export_runs_in_onnxruntime(name, imported, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    module = imported[name]
    x = torch.from_numpy(faces.face_crops(name, 3, seed=5)[2][module.input_names[0]])
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(module, (x,), str(path), dynamo=True, external_data=False,
                      input_names=module.input_names, output_names=module.output_names, verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == module.output_names
    got = session.run(None, {module.input_names[0]: x.numpy()})
    with torch.no_grad():
        expected = module(x)
    for a, b in zip(got, expected, strict=True):
        assert rel_error(a, b.numpy()) <= PARITY_RTOL


def test_jit_trace_matches(imported):
    module = imported["face_detector"]
    x = torch.from_numpy(faces.face_crops("face_detector", 1)[0]["image"])
    traced = torch.jit.trace(module, (x,), check_trace=False)
    with torch.no_grad():
        for a, b in zip(traced(x), module(x), strict=True):
            assert torch.equal(a, b)


def test_unsupported_operator_is_named():
    with pytest.raises(UnsupportedTargetError, match="FAKE_OP"):
        op_builder("FAKE_OP")
    graph = parse_tflite(face_model_path("face_blendshapes"))
    graph.ops[3].name = "GELU"  # as if the model used an operator the importer lacks
    from talkies.models.mediapipe._tflite_torch import build_module

    with pytest.raises(UnsupportedTargetError, match="TFLite operator GELU"):
        build_module(graph)


def test_tensorflow_same_padding_is_asymmetric():
    from talkies.models.mediapipe._tflite_torch import _same_pads

    assert _same_pads(128, 5, 2, 1) == (1, 2)  # the detector's first conv: the odd pixel goes after
    assert _same_pads(256, 3, 2, 1) == (0, 1)
    assert _same_pads(64, 3, 1, 1) == (1, 1)
    assert _same_pads(16, 2, 2, 1) == (0, 0)


def test_parsing_does_not_import_torch():
    code = ("import sys; from talkies.models.mediapipe.tflite_import import io_details; "
            "from talkies.runtime.face.model_files import face_model_path; "
            "io_details(face_model_path('face_detector')); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
