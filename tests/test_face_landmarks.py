"""Landmarks, blend-shapes and pose on real photos, on every available backend, against MediaPipe.

The reference numbers (talkies.tests.helpers.faces.MEDIAPIPE) are MediaPipe's own FaceLandmarker output.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from talkies.runtime.blendshapes import ARKIT_NAMES, Blendshape
from talkies.runtime.face import FaceModels, track_image
from talkies.runtime.face.blendshape_model import MODEL_LABELS, UNSUPPORTED, BlendshapeModel, to_arkit
from talkies.runtime.face.results import FaceTrackerResult
from talkies.tests.helpers.faces import (LANDMARK_IDS, MEDIAPIPE, PHOTOS, bundle_backends, bundle_dir, mediapipe_models,
                                         needs_jit, photo_landmarks)
from talkies.tests.helpers.media import photo

pytestmark = needs_jit

#: Parity limits against MediaPipe (DESIGN: landmarks within 1 px mean, blend-shapes within 0.02).
LANDMARK_MEAN_PX = 1.0
BLENDSHAPE_MAX_ABS = 0.02
#: Between two backends running the same fp32 model.
BACKEND_LANDMARK_PX = 0.05
BACKEND_WEIGHT = 1e-3


@functools.lru_cache(maxsize=None)
def _models(backend: str) -> FaceModels:
    if backend == "mediapipe-tflite":
        return mediapipe_models()
    return FaceModels.from_bundles(bundle_dir(), backend, "fp32")


@functools.lru_cache(maxsize=None)
def _result(backend: str, name: str) -> FaceTrackerResult:
    return track_image(photo(name), models=_models(backend))


def _backends() -> list[str]:
    return ["mediapipe-tflite", *bundle_backends()]


def test_every_backend_matches_mediapipe():
    backends = _backends()
    assert "onnx" in backends
    for backend in backends:
        for name in PHOTOS:
            result = _result(backend, name)
            assert len(result) == 1, (backend, name)
            face = result[0]
            err = np.linalg.norm(face.landmarks[LANDMARK_IDS, :2] - photo_landmarks(name), axis=1)
            assert err.mean() < LANDMARK_MEAN_PX and err.max() < 2 * LANDMARK_MEAN_PX, (backend, name, err)
            scores = BlendshapeModel(_models(backend).blendshapes).scores(face.landmarks)
            diff = np.abs(scores - np.array(MEDIAPIPE[name]["scores"]))
            assert diff.max() < BLENDSHAPE_MAX_ABS, (backend, name, MODEL_LABELS[int(diff.argmax())], diff.max())


@pytest.mark.parametrize("name", PHOTOS)
def test_head_pose_matches_mediapipe_transformation_matrix(name):
    face = _result("mediapipe-tflite", name)[0]
    ref = np.array(MEDIAPIPE[name]["matrix"])
    np.testing.assert_allclose(face.transform[:3, :3], ref[:, :3], atol=2e-3)  # ≈ 0.1°
    np.testing.assert_allclose(face.transform[:3, 3], ref[:, 3], atol=0.05 + 0.002 * abs(ref[2, 3]))  # cm
    np.testing.assert_allclose(face.head_pose[3:], ref[:, 3], atol=0.2)


def test_backends_agree_with_each_other():
    backends = _backends()
    for name in PHOTOS:
        base = _result(backends[0], name)[0]
        for backend in backends[1:]:
            face = _result(backend, name)[0]
            assert np.abs(face.landmarks[:, :2] - base.landmarks[:, :2]).max() < BACKEND_LANDMARK_PX, backend
            assert np.abs(face.weights - base.weights).max() < BACKEND_WEIGHT, backend
            np.testing.assert_allclose(face.head_pose[:3], base.head_pose[:3], atol=1e-3)


@pytest.mark.parametrize("name", PHOTOS)
def test_face_result_is_complete_and_sane(name):
    result = _result("onnx" if "onnx" in bundle_backends() else "mediapipe-tflite", name)
    face = result[0]
    h, w = photo(name).shape[:2]
    assert result.image_size == (h, w) and face.face_id == 0 and not face.tracked
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    assert face.presence > 0.9
    assert (face.landmarks[:, 0] > 0).all() and (face.landmarks[:, 0] < w).all()
    assert (face.landmarks[:, 1] > 0).all() and (face.landmarks[:, 1] < h).all()
    np.testing.assert_allclose(face.box, [*face.landmarks[:, :2].min(0), *face.landmarks[:, :2].max(0)])
    # Depth: the nose tip is nearer the camera (smaller z) than the cheek edges.
    assert face.landmarks[1, 2] < face.landmarks[234, 2] and face.landmarks[1, 2] < face.landmarks[454, 2]
    assert face.weights.shape == (52,) and ((face.weights >= 0) & (face.weights <= 1)).all()
    assert face.weight("tongueOut") == 0.0 and UNSUPPORTED == ("tongueOut",)
    # Both photos face the camera, level: small yaw and roll; a visible face is in front (tz < 0).
    yaw, pitch, roll, tx, ty, tz = face.head_pose
    assert abs(yaw) < 0.15 and abs(roll) < 0.15 and abs(pitch) < 0.35 and tz < 0
    assert face.transform.shape == (4, 4) and np.allclose(face.transform[3], [0, 0, 0, 1])


def test_astronaut_smiles_and_grace_hopper_does_not():
    smile = ("mouthSmileLeft", "mouthSmileRight")
    assert all(_result("mediapipe-tflite", "astronaut")[0].weight(s) > 0.7 for s in smile)
    assert all(_result("mediapipe-tflite", "grace_hopper")[0].weight(s) < 0.1 for s in smile)


def test_scores_map_to_canonical_arkit_order():
    scores = np.arange(52, dtype=np.float32) / 100.0  # score i = i/100, so each column names its source
    weights = to_arkit(scores)
    assert MODEL_LABELS[0] == "_neutral" and len(MODEL_LABELS) == 52
    for i, label in enumerate(MODEL_LABELS[1:], start=1):
        assert weights[Blendshape[label].value] == pytest.approx(i / 100.0)
    assert weights[Blendshape.tongueOut.value] == 0.0
    assert list(ARKIT_NAMES) == sorted(ARKIT_NAMES)
    with pytest.raises(ValueError):
        to_arkit(np.zeros(51))


def test_opening_the_jaw_raises_jaw_open():
    """A rig sanity check (DESIGN): moving the lower face down raises jawOpen's own score."""
    face = _result("mediapipe-tflite", "astronaut")[0]
    model = BlendshapeModel(mediapipe_models().blendshapes)
    lm = face.landmarks.copy()
    mouth_y = lm[13, 1]
    height = lm[:, 1].max() - lm[:, 1].min()
    below = lm[:, 1] > mouth_y + 0.01 * height
    lm[below, 1] += 0.15 * height
    jaw = Blendshape.jawOpen.value
    assert model(lm)[jaw] > model(face.landmarks)[jaw] + 0.05


def test_landmark_scale_invariance_of_blendshapes():
    """The blend-shape model normalises its input: the same face at twice the size scores the same."""
    face = _result("mediapipe-tflite", "grace_hopper")[0]
    model = BlendshapeModel(mediapipe_models().blendshapes)
    np.testing.assert_allclose(model(face.landmarks * 2.0), model(face.landmarks), atol=1e-4)
