"""End-to-end talking photos: `talkies animate` (--text, --audio), `talkies reenact`, the rendered
video's streams, length and metadata, and a closed loop through FaceTracker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkies.runtime.blendshapes import Blendshape
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.media import TEXT, astronaut_path, grace_hopper_path, speech, write_wav

FPS = 25
JAW = Blendshape.jawOpen.value


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------


def probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        out = {"metadata": dict(c.metadata), "codecs": sorted(s.codec_context.name for s in c.streams),
               "width": v.codec_context.width, "height": v.codec_context.height,
               "frames": sum(1 for _ in c.decode(video=0))}
    with av.open(str(path)) as c:
        a = c.streams.audio[0] if c.streams.audio else None
        out["audio"] = None if a is None else sum(f.samples for f in c.decode(audio=0)) / a.codec_context.sample_rate
    return out


def track_weights(path: Path, models) -> tuple[np.ndarray, np.ndarray]:
    """(T, 52) weights and (T, 478, 3) landmarks of the main face of a video, via FaceTracker."""
    from talkies.runtime.face import FaceTrackerOptions, track_video

    motions = track_video(path, FaceTrackerOptions(smoothing=False), models=models)
    return motions[0].weights, motions[0].extras["landmarks"]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


# ---------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("animate")


@pytest.fixture(scope="module")
def text_video(workdir, face_models):
    """Grace Hopper saying TEXT, through the API (to keep the plan) — the CLI path is tested below."""
    from talkies.runtime.talking_photo import animate_text
    from talkies.runtime.animator import PhotoAnimatorOptions

    out = workdir / "grace_text.mp4"
    report = animate_text(grace_hopper_path(), TEXT, out, PhotoAnimatorOptions(fps=FPS), models=face_models)
    return report


# ---------------------------------------------------------------------------------------------------
# --text
# ---------------------------------------------------------------------------------------------------


def test_text_video_streams_length_and_metadata(text_video):
    info = probe(text_video.path)
    assert info["codecs"] == ["aac", "h264"]
    assert (info["width"], info["height"]) == (512, 600)
    audio_s = info["audio"]
    assert abs(info["frames"] / FPS - audio_s) <= 1.0 / FPS + 0.03  # AAC pads to whole 1024-sample frames
    assert abs(text_video.frames - audio_s * FPS) <= 1
    assert info["metadata"]["comment"].startswith("synthesised by talkies")
    srt = text_video.subtitles.read_text()
    # the first word starts within the voice's lead-in (Kokoro speaks after about 0.3 s of silence)
    assert srt.startswith("1\n00:00:00,") and "Peter picked a pepper," in srt and "big map." in srt


def test_closed_loop_tracked_jaw_follows_the_driving_curve(text_video, face_models):
    tracked, _ = track_weights(text_video.path, face_models)
    driving = text_video.plan.weights[:, JAW]
    assert len(tracked) == len(driving)
    r = correlation(tracked[:, JAW], driving)
    assert r >= 0.7, f"tracked jawOpen vs driving curve: r = {r:.2f}"


def test_mouth_closes_on_p_b_m(text_video, face_models):
    plan = text_video.plan  # frames at FPS
    closures = text_video.motion.extras["closures"]  # 100 fps, True inside p/b/m holds
    idx = np.round(plan.timestamps * 100).astype(int)
    inside = np.array([closures[max(i - 1, 0):i + 2].all() for i in np.minimum(idx, len(closures) - 1)])
    assert inside.sum() >= 4  # "Peter picked a pepper ... Bob may buy a big map"
    _, landmarks = track_weights(text_video.path, face_models)
    height = landmarks[:, 152, 1] - landmarks[:, 10, 1]
    gap = (landmarks[:, 14, 1] - landmarks[:, 13, 1]) / height  # inner-lip opening / face height
    open_frames = plan.weights[:, JAW] > 0.3
    assert open_frames.sum() >= 4
    assert gap[inside].max() < 0.02, f"lips apart on p/b/m: {gap[inside]}"
    assert gap[open_frames].mean() > 3 * max(gap[inside].mean(), 0.005)


def test_cli_text_writes_video_and_subtitles(workdir, capsys):
    out = workdir / "cli_text.mp4"
    rc = run_cli("animate", grace_hopper_path(), "--text", "Hello there.", "-o", out, "--fps", "30",
                 "--expression", "happy", "--resolution", "720p", "--backend", "mediapipe")
    assert rc == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out), str(out.with_suffix(".srt"))]
    info = probe(out)
    assert info["height"] == 720 and info["width"] % 2 == 0
    assert abs(info["frames"] / 30 - info["audio"]) <= 1 / 30 + 0.03
    assert not list(workdir.glob(".cli_text*"))  # no temporary files left


# ---------------------------------------------------------------------------------------------------
# --audio
# ---------------------------------------------------------------------------------------------------


def test_cli_audio_from_a_video_container_on_astronaut(workdir, text_video):
    out = workdir / "astro_audio.mp4"
    photo = astronaut_path(workdir)
    rc = run_cli("animate", photo, "--audio", text_video.path, "-o", out, "--no-watermark")
    assert rc == 0
    info = probe(out)
    assert info["codecs"] == ["aac", "h264"] and (info["width"], info["height"]) == (512, 512)
    assert abs(info["frames"] / FPS - info["audio"]) <= 1 / FPS + 0.05
    assert not out.with_suffix(".srt").exists()


def test_mouth_moves_with_loud_speech_and_rests_in_silence(workdir, face_models):
    from talkies.runtime.talking_photo import animate_audio
    from talkies.runtime.animator import PhotoAnimatorOptions
    from talkies.runtime.rig import INNER_LIP_LOOP

    sp = speech("Open wide and say ah, ah, ah.")
    rate = sp.sample_rate
    pcm = np.concatenate([np.zeros(rate, np.float32), sp.float32()])  # 1 s of silence, then speech
    wav = write_wav(workdir / "silence_then_speech.wav", pcm, rate)
    still = PhotoAnimatorOptions(blinks=False, head_motion=0.0, watermark=False)
    report = animate_audio(grace_hopper_path(), wav, workdir / "loud.mp4", still, models=face_models)
    plan = report.plan
    jaw = plan.weights[:, JAW]
    silent = plan.timestamps < 0.9
    assert jaw[silent].max() < 0.05
    assert jaw[~silent].max() > 0.3
    # pixels: the mouth region only changes once the speech starts
    import av

    from talkies.runtime.media import read_image

    photo = read_image(grace_hopper_path()).astype(np.float32)
    with av.open(str(report.path)) as c:
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    from talkies.runtime.face.selection import detect_faces

    lips = detect_faces(photo.astype(np.uint8), face_models)[0][list(INNER_LIP_LOOP), :2]
    (x0, y0), (x1, y1) = lips.min(0).astype(int) - 12, lips.max(0).astype(int) + 25
    change = np.array([np.abs(f[y0:y1, x0:x1] - photo[y0:y1, x0:x1]).mean() for f in frames])
    assert change[silent].max() < 4.0  # H.264 noise only
    assert change[~silent].max() > 4 * change[silent].max() + 10


# ---------------------------------------------------------------------------------------------------
# reenact
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def driver_clip(workdir, face_models) -> Path:
    """2.4 s of Grace Hopper opening and closing her mouth (0.8 s period) over a 220 Hz tone."""
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
    from talkies.runtime.motion import FaceMotion

    t = np.arange(0, 2.4, 0.01)
    w = np.zeros((len(t), 52), np.float32)
    w[:, JAW] = 0.5 - 0.5 * np.cos(2 * np.pi * t / 0.8)
    animator = PhotoAnimator(grace_hopper_path(), PhotoAnimatorOptions(), models=face_models)
    rate = 16000
    tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(2.4 * rate)) / rate)).astype(np.float32)
    path = workdir / "driver.mp4"
    animator.write(animator.plan(FaceMotion(t, w, fps=100.0), 2.4), path, audio=tone, sample_rate=rate)
    return path


def test_reenact_follows_the_driver_and_keeps_its_audio(workdir, driver_clip, face_models):
    out = workdir / "reenact.mp4"
    rc = run_cli("reenact", astronaut_path(workdir), "--driver", driver_clip, "-o", out, "--backend", "mediapipe")
    assert rc == 0
    driver, drv = probe(driver_clip), probe(out)
    assert drv["codecs"] == ["aac", "h264"] and (drv["width"], drv["height"]) == (512, 512)
    assert abs(drv["frames"] - driver["frames"]) <= 1
    assert abs(drv["audio"] - driver["audio"]) < 0.05
    driver_jaw = track_weights(driver_clip, face_models)[0][:, JAW]
    out_jaw = track_weights(out, face_models)[0][:, JAW]
    n = min(len(driver_jaw), len(out_jaw))
    r = correlation(driver_jaw[:n], out_jaw[:n])
    assert r >= 0.7, f"reenacted jawOpen vs driver: r = {r:.2f}"
