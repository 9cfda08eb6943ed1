"""The procedural ARKit rig: data file, fit, and a sanity check against MediaPipe's blend-shape model
(applying a shape to Grace Hopper's neutral landmarks must raise that shape's own score the most)."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.blendshapes import ARKIT_NAMES, Blendshape
from talkies.runtime.rig import NUM_LANDMARKS, RIG_FILE, FaceRig
from talkies.tests.helpers.media import grace_hopper_path

#: Shapes the rig must have (the talking-photo issue's list).
REQUIRED = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft",
    "mouthPressRight", "mouthRollLower", "mouthRollUpper", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft",
    "browOuterUpRight",
)
#: A shape's own score must rise at least this much (weight 1 on the neutral face).
MIN_RISE = 0.1


@pytest.fixture(scope="module")
def grace_landmarks(face_models) -> np.ndarray:
    from talkies.runtime.face.selection import detect_faces

    faces = detect_faces(grace_hopper_path(), face_models)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="module")
def rig() -> FaceRig:
    return FaceRig.load()


def test_rig_file_is_plain_arrays_with_every_required_shape(rig):
    with np.load(RIG_FILE, allow_pickle=False) as z:  # no pickle anywhere in the file
        assert {"reference", "names", "indptr", "indices", "values", "triangles"} <= set(z.files)
    assert rig.reference.shape == (NUM_LANDMARKS, 3)
    assert set(REQUIRED) <= set(rig.names)
    assert set(rig.names) <= set(ARKIT_NAMES)
    # sparse: each shape moves a region, not the whole face
    counts = np.diff(rig.deltas.indptr)
    assert counts.min() > 0 and counts.max() < 0.6 * 468
    # face-normalised units: eye corners one unit apart, deltas a fraction of that
    assert np.linalg.norm(rig.reference[263] - rig.reference[33]) == pytest.approx(1.0, abs=1e-5)
    assert 0.1 < np.abs(rig.delta("jawOpen")).max() < 0.5
    assert rig.triangles.shape[1] == 3 and rig.triangles.max() < 468


def test_rig_file_matches_its_generator(rig):
    pytest.importorskip("scipy")
    from talkies.errors import AssetError
    from talkies.runtime.face.geometry import canonical_face_mesh
    from talkies.models.rig.authoring import build_rig

    try:
        mesh = canonical_face_mesh()
    except AssetError as exc:
        pytest.skip(str(exc))
    rebuilt = build_rig(mesh.vertices, mesh.triangles)
    assert rebuilt.names == rig.names
    np.testing.assert_allclose(rebuilt.reference, rig.reference, atol=1e-6)
    np.testing.assert_allclose(rebuilt.deltas.to_dense(), rig.deltas.to_dense(), atol=1e-5)


def test_fit_reproduces_the_photo_at_zero_weights(rig, grace_landmarks):
    fitted = rig.fit(grace_landmarks)
    np.testing.assert_allclose(fitted.landmarks_for(np.zeros(52, np.float32)), grace_landmarks, atol=1e-3)
    # scale: pixels per eye-corner distance
    iod = np.linalg.norm(grace_landmarks[263, :2] - grace_landmarks[33, :2])
    assert fitted.scale == pytest.approx(iod, rel=0.1)


def test_head_pose_follows_the_tracker_conventions(rig, grace_landmarks):
    from talkies.runtime.face.pose import estimate_pose

    fitted = rig.fit(grace_landmarks)
    zero = np.zeros(52, np.float32)
    base = estimate_pose(fitted.landmarks_for(zero), (600, 512)).as_array()
    for axis in range(3):  # yaw, pitch, roll
        pose = np.zeros(6, np.float32)
        pose[axis] = 0.2
        moved = estimate_pose(fitted.landmarks_for(zero, pose), (600, 512)).as_array()
        assert moved[axis] - base[axis] == pytest.approx(0.2, abs=0.03)


def _scores(face_models, landmarks: np.ndarray) -> np.ndarray:
    from talkies.runtime.face.blendshape_model import BlendshapeModel

    return BlendshapeModel(face_models.blendshapes)(landmarks)


@pytest.mark.parametrize("name", REQUIRED)
def test_each_shape_raises_its_own_blendshape_score_most(name, rig, grace_landmarks, face_models):
    fitted = rig.fit(grace_landmarks)
    base_w = np.zeros(52, np.float32)
    if name == "mouthClose":  # ARKit's mouthClose closes the lips against an open jaw
        base_w[Blendshape.jawOpen.value] = 1.0
    w = base_w.copy()
    w[Blendshape[name].value] = 1.0
    before = _scores(face_models, fitted.landmarks_for(base_w))
    after = _scores(face_models, fitted.landmarks_for(w))
    rise = after - before
    own = rise[Blendshape[name].value]
    assert own >= MIN_RISE, f"{name}: own score rose only {own:.3f}"
    best = ARKIT_NAMES[int(np.argmax(rise))]
    assert best == name, f"{name}: {best} rose more ({rise.max():.3f} vs {own:.3f})"
