"""`talkies animate` with bad inputs, and the PhotoAnimator's options: errors come early, with a clear
message, and a failed run leaves no file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkies.errors import InputError, NoFaceError
from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
from talkies.runtime.blendshapes import Blendshape
from talkies.runtime.lipsync import EXPRESSIONS
from talkies.runtime.performance import blink_curve, finish_weights
from talkies.runtime.warp_mesh import build_mesh
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.media import astronaut_path, grace_hopper_path, speech, write_wav


@pytest.fixture(scope="module")
def grace(face_models) -> PhotoAnimator:
    return PhotoAnimator(grace_hopper_path(), PhotoAnimatorOptions(), models=face_models)


@pytest.fixture
def wav(tmp_path) -> Path:
    sp = speech("Hi.")
    return write_wav(tmp_path / "hi.wav", sp.float32(), sp.sample_rate)


def _no_outputs(folder: Path, stem: str) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith((stem, f".{stem}"))]


# ---------------------------------------------------------------------------------------------------
# usage and early errors
# ---------------------------------------------------------------------------------------------------


def test_audio_and_text_together_is_a_usage_error(tmp_path, wav, capsys):
    rc = run_cli("animate", grace_hopper_path(), "--audio", wav, "--text", "hi", "-o", tmp_path / "o.mp4")
    assert rc == 2
    assert "exactly one of --audio" in capsys.readouterr().err
    assert run_cli("animate", grace_hopper_path(), "-o", tmp_path / "o.mp4") == 2
    assert _no_outputs(tmp_path, "o")


def test_unwritable_output_fails_before_rendering(tmp_path, wav, monkeypatch, capsys):
    import talkies.runtime.animator as animator

    def boom(*args, **kwargs):
        raise AssertionError("rendering started")

    monkeypatch.setattr(animator.PhotoAnimator, "__init__", boom)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    rc = run_cli("animate", grace_hopper_path(), "--audio", wav, "-o", blocker / "out.mp4")
    assert rc == 2
    assert "cannot write to" in capsys.readouterr().err


def test_failed_run_leaves_no_partial_file(tmp_path, wav, monkeypatch, face_models):
    from talkies.runtime.talking_photo import animate_audio

    calls = {"n": 0}
    real = PhotoAnimator.render_frame

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("disk on fire")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PhotoAnimator, "render_frame", failing)
    out = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError, match="disk on fire"):
        animate_audio(grace_hopper_path(), wav, out, models=face_models)
    assert calls["n"] == 4
    assert _no_outputs(tmp_path, "partial")


# ---------------------------------------------------------------------------------------------------
# photos
# ---------------------------------------------------------------------------------------------------


def test_no_face_raises_noface(tmp_path, face_models):
    path = tmp_path / "wall.png"
    Image.fromarray(np.full((256, 256, 3), 180, np.uint8)).save(path)
    with pytest.raises(NoFaceError, match="no face found"):
        PhotoAnimator(path, models=face_models)


def test_cli_no_face_exits_2(tmp_path, wav, capsys):
    path = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(path)
    assert run_cli("animate", path, "--audio", wav, "-o", tmp_path / "o.mp4", "--backend", "mediapipe") == 2
    assert "no face found" in capsys.readouterr().err
    assert _no_outputs(tmp_path, "o")


def test_small_face_is_a_clear_error(tmp_path, face_models):
    path = tmp_path / "tiny.png"
    Image.open(grace_hopper_path()).resize((102, 120)).save(path)  # face about 40 px tall
    with pytest.raises(InputError, match=r"only \d+ px tall; talkies needs at least 64 px"):
        PhotoAnimator(path, models=face_models)


@pytest.mark.parametrize("content", [b"this is not a picture", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"])
def test_non_image_or_corrupt_photo_is_input_error(tmp_path, wav, content, capsys):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable image"):
        PhotoAnimator(path)
    assert run_cli("animate", path, "--audio", wav, "-o", tmp_path / "o.mp4") == 2
    assert "not a readable image" in capsys.readouterr().err


def test_photo_beyond_4k_is_downscaled(tmp_path, face_models):
    big = tmp_path / "big.jpg"
    Image.open(grace_hopper_path()).resize((4096, 4800)).save(big, quality=80)
    animator = PhotoAnimator(big, PhotoAnimatorOptions(), models=face_models)
    w, h = animator.size
    assert h == 3840 and w == 3276  # the 4096×4800 photo came in at 3277×3840, then even sizes
    frame = animator.render_frame(np.zeros(52, np.float32))
    assert frame.shape == (3840, 3276, 3)


def test_face_index_picks_a_face_and_default_is_the_largest(tmp_path, face_models):
    grace = Image.open(grace_hopper_path()).convert("RGB")  # 512x600, face about 200 px
    astro = Image.open(astronaut_path(tmp_path)).convert("RGB").crop((80, 0, 380, 300)).resize((400, 400))
    both = Image.new("RGB", (912, 600), (0, 0, 0))
    both.paste(grace, (0, 0))
    both.paste(astro, (512, 100))  # face about 140 px
    path = tmp_path / "two.png"
    both.save(path)
    largest = PhotoAnimator(path, PhotoAnimatorOptions(), models=face_models)
    assert largest.fitted.landmarks[:, 0].mean() < 512  # Grace, the bigger face
    picks = [PhotoAnimator(path, PhotoAnimatorOptions(face=i), models=face_models).fitted.landmarks[:, 0].mean()
             for i in (0, 1)]
    assert sorted(x < 512 for x in picks) == [False, True]  # one of each
    with pytest.raises(InputError, match="has 2 face"):
        PhotoAnimator(path, PhotoAnimatorOptions(face=2), models=face_models)


# ---------------------------------------------------------------------------------------------------
# audio
# ---------------------------------------------------------------------------------------------------


def test_empty_audio_is_an_error(tmp_path, capsys):
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    rc = run_cli("animate", grace_hopper_path(), "--audio", empty, "-o", tmp_path / "o.mp4", "--backend",
                 "mediapipe")
    assert rc == 2
    err = capsys.readouterr().err
    assert "empty" in err or "no audio" in err
    assert _no_outputs(tmp_path, "o")


def test_silent_audio_gives_a_video_at_rest(tmp_path, face_models):
    from talkies.runtime.talking_photo import animate_audio

    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    report = animate_audio(grace_hopper_path(), silent, tmp_path / "rest.mp4", models=face_models)
    assert report.path.exists() and report.frames == 25
    mouth = [Blendshape[n].value for n in ("jawOpen", "mouthLowerDownLeft", "mouthFunnel", "mouthPucker")]
    assert np.abs(report.plan.weights[:, mouth]).max() < 0.02


def test_text_must_not_be_empty(tmp_path):
    assert run_cli("animate", grace_hopper_path(), "--text", "  ", "-o", tmp_path / "o.mp4") == 2


# ---------------------------------------------------------------------------------------------------
# options and planning
# ---------------------------------------------------------------------------------------------------


def test_options_are_checked():
    with pytest.raises(InputError, match="intensity"):
        PhotoAnimatorOptions(intensity=2.5)
    with pytest.raises(InputError, match="unknown expression"):
        PhotoAnimatorOptions(expression="angry")
    with pytest.raises(InputError, match="unknown resolution"):
        PhotoAnimatorOptions(resolution="4k")
    with pytest.raises(TypeError):
        PhotoAnimatorOptions(25)  # keyword-only


def test_expression_presets_scale_with_intensity(grace):
    grace.options.expression, grace.options.intensity = "happy", 1.5
    try:
        plan = grace.plan(None, 1.0)
    finally:
        grace.options.expression, grace.options.intensity = "neutral", 1.0
    smile = Blendshape.mouthSmileLeft.value
    assert plan.weights[:, smile] == pytest.approx(min(1.0, 1.5 * EXPRESSIONS["happy"]["mouthSmileLeft"]))
    for name in ("neutral", "happy", "sad", "surprised"):
        assert name in EXPRESSIONS


def test_blinks_are_seeded_and_natural():
    times = np.arange(0, 20, 0.04)
    a = blink_curve(times, np.random.default_rng(1))
    b = blink_curve(times, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    onsets = np.flatnonzero((a[1:] > 0.5) & (a[:-1] <= 0.5))
    assert 3 <= len(onsets) <= 12  # a blink every 2-6 s
    assert (a > 0.5).sum() * 0.04 / len(onsets) < 0.3  # each one brief
    assert not np.array_equal(a, blink_curve(times, np.random.default_rng(2)))


def test_plan_adds_blinks_head_motion_and_keeps_lips_possible(grace):
    plan = grace.plan(None, 8.0)
    assert len(plan) == 200
    assert plan.weights[:, Blendshape.eyeBlinkLeft.value].max() > 0.9
    assert 0.005 < np.abs(plan.head_pose[:, :3]).max() < 0.1  # subtle: a few degrees at most
    w = np.zeros((3, 52), np.float32)
    w[:, Blendshape.mouthClose.value] = 0.8
    w[:, Blendshape.jawOpen.value] = [0.0, 0.3, 1.0]
    fixed = finish_weights(w)
    np.testing.assert_allclose(fixed[:, Blendshape.mouthClose.value], [0.0, 0.3, 0.8])
    still = grace.plan(None, 1.0, synthesize=False)
    assert not still.weights.any() and not still.head_pose.any()


def test_mesh_covers_the_whole_frame_once(grace):
    """Rings + border triangles tile the image: every pixel centre lies in a triangle, and the triangles
    outside the face mesh do not overlap (their areas add up to the frame minus the face)."""
    mesh = build_mesh(grace.fitted.landmarks, grace.fitted.rig.triangles, grace.width, grace.height)
    p = mesh.src.astype(np.float64)
    t = mesh.triangles
    a = p[t[:, 1]] - p[t[:, 0]]
    b = p[t[:, 2]] - p[t[:, 0]]
    area = 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    n_face = len(grace.fitted.rig.triangles)
    face_outline = p[list(mesh.oval)]
    x, y = face_outline[:, 0], face_outline[:, 1]
    face_area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    frame_area = (grace.width - 1) * (grace.height - 1)
    assert area[n_face:].sum() == pytest.approx(frame_area - face_area, rel=1e-6)
    # coverage on a grid of pixel centres
    ys, xs = np.mgrid[0:grace.height:7, 0:grace.width:7]
    q = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    covered = np.zeros(len(q), bool)
    for tri in t:
        v0, v1, v2 = p[tri]
        d = (v1[1] - v2[1]) * (v0[0] - v2[0]) + (v2[0] - v1[0]) * (v0[1] - v2[1])
        if abs(d) < 1e-9:
            continue
        l1 = ((v1[1] - v2[1]) * (q[:, 0] - v2[0]) + (v2[0] - v1[0]) * (q[:, 1] - v2[1])) / d
        l2 = ((v2[1] - v0[1]) * (q[:, 0] - v2[0]) + (v0[0] - v2[0]) * (q[:, 1] - v2[1])) / d
        covered |= (l1 >= -1e-6) & (l2 >= -1e-6) & (1 - l1 - l2 >= -1e-6)
    assert covered.all()


def test_rest_frame_is_the_photo_and_frames_reuse_one_buffer(grace):
    from talkies.runtime.media import read_image

    zero = np.zeros(52, np.float32)
    grace.options.watermark = False
    try:
        grace._wm = None
        frame = grace.render_frame(zero)
    finally:
        grace.options.watermark = True
        from talkies.runtime.animator import watermark_patch

        grace._wm = watermark_patch(grace.options.watermark_text, grace.height)
    np.testing.assert_array_equal(frame, read_image(grace_hopper_path()))
    plan = grace.plan(None, 0.2)
    ids = {id(f) for f in grace.iter_frames(plan)}
    assert len(ids) == 1  # frames are produced one at a time into one buffer


def test_watermark_is_visible_by_default(grace):
    zero = np.zeros(52, np.float32)
    frame = grace.render_frame(zero).astype(np.int16)
    photo = grace.image.astype(np.int16)
    diff = np.abs(frame - photo).sum(axis=2)
    ys, xs = np.nonzero(diff > 30)
    assert len(ys) > 50
    assert ys.min() > 0.9 * grace.height and xs.min() > 0.6 * grace.width  # bottom-right corner only


def test_face_running_off_the_photo_still_animates(face_models):
    from talkies.runtime.media import read_image

    crop = read_image(grace_hopper_path())[60:320, 150:380].copy()  # chin and ears cut off
    animator = PhotoAnimator(crop, PhotoAnimatorOptions(watermark=False), models=face_models)
    w = np.zeros(52, np.float32)
    w[Blendshape.jawOpen.value] = 0.6
    animator.render_frame(w, np.array([0.05, 0.03, 0.02, 0, 0, 0], np.float32))  # head motion: no error
    frame = animator.render_frame(w)
    changed = np.abs(frame.astype(np.int16) - animator.image).max(axis=2) > 40
    ys, xs = np.nonzero(changed)
    assert len(ys) > 500  # the mouth opened
    assert ys.min() > 0.3 * crop.shape[0]  # and the top of the frame (the cap) stayed put


def test_voices_lists_espeak_voices(capsys):
    assert run_cli("voices", "--language", "en") == 0
    out = capsys.readouterr().out
    assert "en-us" in out and "en-gb" in out
