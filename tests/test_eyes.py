"""Eyes (runtime/eyes.py, the rig's eyeLook* shapes): gaze moves the photo's iris unscaled and
FaceTracker reads it back; blinks close a lid layer that FaceTracker reads as closed, more than the
warped lids of before (eye_layers=False); the rig keeps eyeLook shapes to the iris and lids.

The closed loop over whole clips: every planned blink of a rendered, encoded clip (speech, head motion,
gaze) re-tracked with FaceTracker reads eyeBlink >= 0.6 on both eyes, on the astronaut and on stills of
the shared videos. Grace Hopper (glasses, hooded eyes) and the d18 man (deep-set eyes) stay below it.
FaceTracker reads the d18 man's own closed eyes in his video at no more than 0.58-0.68 (his open eyes:
0.16-0.22), and his rendered blinks now read about as closed (0.53-0.62): the closed lid takes the lit
skin's tone rather than his shadowed socket's (0.46-0.52 before). For her the test holds what the lid
layer gained (about 0.2-0.3 before) and that her glasses' rim no longer slides down over the eye."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.blendshapes import Blendshape as B
from talkies.runtime.rig import EYES, FaceRig
from talkies.tests.helpers.media import TEXT, astronaut_path, grace_hopper_path, video_still


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
    assert got[True][cols].min() >= 0.6, got[True][cols]
    assert got[True][cols].mean() > got[False][cols].mean() + 0.2, (got[True][cols], got[False][cols])
    open_ = retrack(tracker, astronaut[True].render_frame(weights()))
    assert open_[cols].max() < 0.2


BLINKS = [B.eyeBlinkLeft.value, B.eyeBlinkRight.value]


def blink_peaks(photo, models, folder, seconds: float = 9.0) -> tuple[np.ndarray, np.ndarray]:
    """Render `seconds` of a talking clip with blinks (seed 3), encode it, re-track it: per planned blink
    the highest re-tracked eyeBlink (left, right), and the re-tracked weights of the open-eyed frames."""
    from talkies.runtime import espeak
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
    from talkies.runtime.face import FaceTrackerOptions, track_video
    from talkies.runtime.speech import motion_from_phones

    animator = PhotoAnimator(photo, PhotoAnimatorOptions(watermark=False, seed=3), models=models)
    plan = animator.plan(motion_from_phones(espeak.synthesize(TEXT, rate=165)), seconds)
    path = animator.write(plan, folder / "blinks.mp4").path
    read = track_video(path, FaceTrackerOptions(smoothing=False), models=models)[0].weights[:, BLINKS]
    closing = plan.weights[:, BLINKS[0]] > 0.05
    edges = np.flatnonzero(np.diff(np.r_[0, closing.astype(int), 0]))
    peaks = np.array([read[a:b + 1].max(0) for a, b in zip(edges[::2], edges[1::2])])
    assert len(peaks) >= 2, "the clip should hold a few blinks"
    return peaks, read[~closing]


@pytest.mark.parametrize("name", ["astronaut", "d14", "s18"])
def test_every_blink_of_a_clip_reads_closed(name, face_models, tmp_path) -> None:
    photo = astronaut_path(tmp_path) if name == "astronaut" else video_still(name)
    if photo is None:
        pytest.skip(f"the shared video {name}.mp4 is not here")
    peaks, open_ = blink_peaks(photo, face_models, tmp_path)
    assert peaks.min() >= 0.6, peaks  # every blink, both eyes (astronaut 0.62-0.73 here)
    assert np.median(open_, axis=0).max() < 0.15


def test_glasses_stay_put_and_blinks_read_closer(face_models, tmp_path) -> None:
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
    from talkies.runtime.eyes import LASH_BAND

    an = PhotoAnimator(grace_hopper_path(), PhotoAnimatorOptions(watermark=False), models=face_models)
    lm = an.fitted.landmarks
    # her lid shows a strip of skin only a tenth of the eye wide below the glasses' rim (the astronaut's: 0.37)
    assert all(eye.skin < 0.15 for eye in an._eyes.eyes), [eye.skin for eye in an._eyes.eyes]
    open_ = an.render_frame(weights()).copy()
    shut = an.render_frame(weights(eyeBlinkLeft=1, eyeBlinkRight=1)).copy()
    for eye in an._eyes.eyes:  # the rim above the unfolding skin is not dragged down over the eye
        top = lm[eye.upper, :2]
        width = np.ptp(top[:, 0])
        x = np.arange(int(top[:, 0].min() + 0.3 * width), int(top[:, 0].max() - 0.3 * width))
        crease = np.interp(x, *top[np.argsort(top[:, 0])].T) - LASH_BAND * width - eye.skin * width
        for dy in range(2, 7):
            rows = np.floor(crease - dy).astype(int)
            diff = np.abs(shut[rows, x].astype(int) - open_[rows, x].astype(int))
            assert diff.max() <= 2, (eye.side, dy, diff.max())
    peaks, _ = blink_peaks(grace_hopper_path(), face_models, tmp_path)
    assert peaks.min() >= 0.3, peaks  # 0.40-0.46 here; the warped-then-smeared lids of before: 0.19-0.33


def test_a_deep_set_eye_closes_as_far_as_its_own_blinks_read(face_models, tmp_path, monkeypatch) -> None:
    """The d18 man's own blinks in his video set what FaceTracker can read on his closed eyes; his
    rendered blinks reach about that, and his closed lid is lit like the skin under his eye."""
    from talkies.runtime import eyes
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
    from talkies.runtime.face import FaceTrackerOptions, track_video
    from talkies.tests.helpers.media import shared_video

    src, still = shared_video("d18"), video_still("d18")
    if src is None or still is None:
        pytest.skip("the shared video d18.mp4 is not here")
    own = track_video(src, FaceTrackerOptions(smoothing=False), models=face_models)[0].weights[:, BLINKS]
    # his own blinks: the tracker's ceiling on this face (0.64/0.68 at the most closed frame, here)
    assert 0.55 <= own.max(0).min() and own.max() < 0.75, own.max(0)
    peaks, open_ = blink_peaks(still, face_models, tmp_path)
    assert peaks.min() >= 0.5, peaks  # 0.53-0.62 here; his shadowed lid's tone copied, before: 0.46-0.52
    assert np.median(peaks) >= own.max(0).mean() - 0.12, (peaks, own.max(0))
    # the closed lid, mid-lid, is near the lit skin under the eye, not the socket's shadow
    an = PhotoAnimator(still, PhotoAnimatorOptions(watermark=False), models=face_models)
    shut = weights(eyeBlinkLeft=1, eyeBlinkRight=1)
    lit = an.render_frame(shut).astype(np.float32) @ eyes._LUMA
    monkeypatch.setattr(eyes, "LID_LIT", 0.0)
    shadowed = an.render_frame(shut).astype(np.float32) @ eyes._LUMA
    lm = an.fitted.landmarks
    for eye in an._eyes.eyes:
        top = lm[eye.upper, :2]
        width = np.ptp(top[:, 0])
        x = np.arange(int(top[:, 0].min() + 0.35 * width), int(top[:, 0].max() - 0.35 * width))
        y = np.round(np.interp(x, *top[np.argsort(top[:, 0])].T)).astype(int)  # the open lid's line
        skin = float(eye.lit @ eyes._LUMA)
        assert abs(lit[y, x].mean() - skin) < abs(shadowed[y, x].mean() - skin) - 5, (eye.side, lit[y, x].mean(),
                                                                                   shadowed[y, x].mean(), skin)


def gaze_hv(w: np.ndarray) -> np.ndarray:
    """(T, 2) gaze from eyeLook weights: horizontal (+: to the subject's left) and vertical (+: up),
    each the mean of both eyes."""
    def g(name: str) -> np.ndarray:
        return w[:, B[name].value]

    h = (g("eyeLookOutLeft") - g("eyeLookInLeft") + g("eyeLookInRight") - g("eyeLookOutRight")) / 2
    v = (g("eyeLookUpLeft") - g("eyeLookDownLeft") + g("eyeLookUpRight") - g("eyeLookDownRight")) / 2
    return np.stack([h, v], 1)


#: (driver, start s, seconds): stretches of the shared videos where the eyes move (7 and 6 s, to stay quick)
GAZE_CUTS = [("d14", 2.0, 7.0), ("s18", 0.0, 6.0)]


@pytest.mark.parametrize("driver, start, seconds", GAZE_CUTS)
def test_reenact_carries_the_drivers_gaze(driver, start, seconds, face_models, tmp_path) -> None:
    from talkies.runtime.animator import PhotoAnimatorOptions
    from talkies.runtime.face import FaceTrackerOptions, track_video
    from talkies.runtime.media import VideoWriter, iter_video, video_info
    from talkies.runtime.talking_photo import reenact
    from talkies.tests.helpers.media import shared_video

    src = shared_video(driver)
    if src is None:
        pytest.skip(f"the shared video {driver}.mp4 is not here")
    info = video_info(src)
    cut = tmp_path / "driver.mp4"
    with VideoWriter(cut, width=info.width, height=info.height, fps=round(info.fps), crf=12) as writer:
        for t, frame in iter_video(src):
            if start - 1e-3 <= t < start + seconds - 1e-3:
                writer.write(frame)
    options = FaceTrackerOptions(smoothing=False)
    driven = track_video(cut, options, models=face_models)[0]
    for photo in (astronaut_path(tmp_path), grace_hopper_path()):
        result = reenact(photo, cut, tmp_path / "out.mp4", PhotoAnimatorOptions(watermark=False), models=face_models)
        out = track_video(result.path, options, models=face_models)[0]
        want = gaze_hv(driven.sample(out.timestamps).weights)  # the driver is 30 fps, the video 25
        got = gaze_hv(out.weights)
        r = [np.corrcoef(want[:, k], got[:, k])[0, 1] for k in range(2)]
        # here (astronaut, Grace Hopper): d14 across 0.99, 0.96, up/down 0.95, 0.88; s18 0.85, 0.95 and
        # 0.96, 0.80. Not tested: d18, whose eyes hardly move (gaze std 0.05, under half a pixel on her
        # photo): 0.69/0.67 on the astronaut, 0.23/0.28 on Grace Hopper
        assert min(r) >= 0.6, (driver, str(photo), r)
