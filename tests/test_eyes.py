"""Eyes (runtime/eyes.py, the rig's eyeLook* shapes): gaze moves the photo's iris unscaled and
FaceTracker reads it back; blinks close a lid layer that FaceTracker reads as closed, more than the
warped lids of before (eye_layers=False); the rig keeps eyeLook shapes to the iris and lids."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.blendshapes import Blendshape as B
from talkies.runtime.rig import EYES, FaceRig
from talkies.tests.helpers.media import astronaut_path


def weights(**values: float) -> np.ndarray:
    w = np.zeros(52, np.float32)
    for name, v in values.items():
        w[B[name].value] = v
    return w


def gaze(h: float) -> np.ndarray:
    """Both eyes looking to the subject's left (h > 0) or right (h < 0)."""
    return weights(eyeLookOutLeft=max(h, 0), eyeLookInRight=max(h, 0), eyeLookInLeft=max(-h, 0),
                   eyeLookOutRight=max(-h, 0))


def test_rig_gaze_shapes_move_the_iris_rigidly() -> None:
    rig = FaceRig.load()
    for name in ("eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeLookDownLeft", "eyeLookInRight",
                 "eyeLookOutRight", "eyeLookUpRight", "eyeLookDownRight"):
        assert name in rig.names
        d = rig.delta(name)
        for side, eye in EYES.items():
            iris = d[list(eye["iris"])]
            assert np.allclose(iris, iris[0], atol=1e-5)  # the 5 iris points move together: shape kept
        side = "left" if name.endswith("Left") else "right"
        moved = d[list(EYES[side]["iris"])][0]
        assert np.linalg.norm(moved) > 0.02
        other = "right" if side == "left" else "left"
        assert np.abs(d[list(EYES[other]["iris"])]).max() == 0.0
    # in = towards the nose; the subject's left eye is on +x
    assert rig.delta("eyeLookInLeft")[473, 0] < 0 < rig.delta("eyeLookOutLeft")[473, 0]
    assert rig.delta("eyeLookInRight")[468, 0] > 0 > rig.delta("eyeLookOutRight")[468, 0]
    assert rig.delta("eyeLookUpLeft")[473, 1] < 0 < rig.delta("eyeLookDownLeft")[473, 1]


@pytest.fixture(scope="module")
def tracker(face_models):
    from talkies.runtime.face import FaceTrackerOptions
    from talkies.runtime.face.tracker import FaceTracker

    with FaceTracker(FaceTrackerOptions(), models=face_models) as t:
        yield t


@pytest.fixture(scope="module")
def astronaut(face_models, tmp_path_factory):
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions

    path = astronaut_path(tmp_path_factory.mktemp("eyes"))
    return {layers: PhotoAnimator(path, PhotoAnimatorOptions(watermark=False, eye_layers=layers), models=face_models)
            for layers in (True, False)}


def retrack(tracker, frame: np.ndarray) -> np.ndarray:
    return tracker.detect(frame.copy()).faces[0].weights


def test_gaze_is_read_back_and_the_iris_keeps_its_size(astronaut, tracker) -> None:
    an = astronaut[True]
    hs = np.linspace(-1, 1, 9)
    read = []
    for h in hs:
        w = retrack(tracker, an.render_frame(gaze(h)))
        read.append([w[B.eyeLookOutLeft.value] - w[B.eyeLookInLeft.value],
                     w[B.eyeLookInRight.value] - w[B.eyeLookOutRight.value]])
    read = np.asarray(read)
    for k in range(2):
        assert np.corrcoef(hs, read[:, k])[0, 1] >= 0.9, read
    assert np.ptp(read) > 0.8
    # the warped lids of before leave the iris where it was: gaze is not read back
    old = [retrack(tracker, astronaut[False].render_frame(gaze(h)))[B.eyeLookOutLeft.value] for h in (-1, 1)]
    assert abs(old[1] - old[0]) < 0.3
    # the iris is pasted unscaled: its re-tracked radius stays the photo's
    r0 = np.linalg.norm(an.fitted.landmarks[469, :2] - an.fitted.landmarks[471, :2])
    lm = tracker.detect(an.render_frame(gaze(0.8)).copy()).faces[0].landmarks
    assert np.linalg.norm(lm[469, :2] - lm[471, :2]) == pytest.approx(r0, rel=0.2)


def test_closed_lid_layer_reads_as_closed(astronaut, tracker) -> None:
    got = {layers: retrack(tracker, astronaut[layers].render_frame(weights(eyeBlinkLeft=1, eyeBlinkRight=1)))
           for layers in (True, False)}
    cols = [B.eyeBlinkLeft.value, B.eyeBlinkRight.value]
    assert got[True][cols].min() >= 0.55, got[True][cols]
    assert got[True][cols].mean() > got[False][cols].mean() + 0.2, (got[True][cols], got[False][cols])
    open_ = retrack(tracker, astronaut[True].render_frame(weights()))
    assert open_[cols].max() < 0.2
