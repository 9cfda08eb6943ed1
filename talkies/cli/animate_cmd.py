"""`talkies animate` (a talking photo from audio or a script), `talkies reenact` (a photo driven by
another face's video) and `talkies voices` (the TTS voices).

The functions here are also the Python API behind those commands (used by ``talkies.demo`` and the
benchmarks): :func:`animate_audio`, :func:`animate_text`, :func:`reenact`.
"""

from __future__ import annotations

import bisect
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from talkies.cli import cli
from talkies.errors import InputError
from talkies.io import check_writable, write_text_atomic
from talkies.log import get_logger

log = get_logger(__name__)

BACKENDS = ("auto", "mediapipe", "onnx", "openvino", "litert")
OUTPUT_SAMPLE_RATE_MAX = 48000
TTS_FPS = 100  # viseme frames per second from the phoneme events
PP_POSE_HOLD = 0.05  # s: a bilabial closure is held at least this long (lips must meet on p, b, m)


# ---------------------------------------------------------------------------------------------------
# Face models
# ---------------------------------------------------------------------------------------------------


def face_models(backend: str = "auto", precision: str = "fp32", bundle_dir: str | os.PathLike | None = None,
                threads: int | None = None):
    """FaceModels for the tracker. "mediapipe": the original .tflite files in LiteRT (no bundles needed);
    "auto": the ONNX bundles when they are installed, else "mediapipe"; any other backend: its bundles
    (built on first use when the export extra is installed)."""
    from talkies.runtime.face.models import FaceModels, missing_bundles

    if backend == "mediapipe" or (backend == "auto" and missing_bundles(bundle_dir, "onnx", precision)):
        return FaceModels.from_mediapipe(threads=threads)
    if backend == "auto":
        backend = "onnx"
    from talkies.cli.track_cmd import ensure_face_bundles

    root = ensure_face_bundles(bundle_dir, backend, precision)
    return FaceModels.from_bundles(root, backend, precision, threads=threads)


# ---------------------------------------------------------------------------------------------------
# Text → speech, visemes, subtitles
# ---------------------------------------------------------------------------------------------------


def text_motion(speech) -> object:
    """FaceMotion at 100 fps from espeak phoneme events: one-hot visemes at their exact times, mouth
    weights from the viseme pose table with light coarticulation, and p/b/m closures held shut."""
    from talkies.models.lipsync.data import frame_labels, pose_targets
    from talkies.models.lipsync.phonemes import ARKIT_MOUTH, VISEME_INDEX, VISEME_POSES, is_language_switch
    from talkies.runtime.blendshapes import NUM_BLENDSHAPES, NUM_VISEMES, Blendshape
    from talkies.models.lipsync.data import HOP
    from talkies.runtime.motion import FaceMotion

    n = max(1, int(np.ceil(speech.duration * TTS_FPS)))
    # frame_labels counts HOP samples per frame (100 frames/s at 16 kHz): express event times that way
    events = [(int(round(e.time * TTS_FPS * HOP)), e.phoneme) for e in speech.phonemes
              if not is_language_switch(e.phoneme)]
    labels = frame_labels(events, n * HOP)
    mouth = pose_targets(labels, smooth_frames=3)
    pp = labels == VISEME_INDEX["PP"]
    # hold each closure for PP_POSE_HOLD at least, centred on the phoneme: lips must meet
    hold = max(1, int(round(PP_POSE_HOLD * TTS_FPS)))
    closed = pp.copy()
    for start in np.flatnonzero(pp & ~np.concatenate([[False], pp[:-1]])):
        closed[start:start + hold] = True
    mouth[closed] = VISEME_POSES[VISEME_INDEX["PP"]]
    weights = np.zeros((n, NUM_BLENDSHAPES), np.float32)
    weights[:, [Blendshape[m].value for m in ARKIT_MOUTH]] = mouth
    visemes = np.zeros((n, NUM_VISEMES), np.float32)
    visemes[np.arange(n), labels] = 1.0
    return FaceMotion(np.arange(n) / TTS_FPS, weights, visemes=visemes, fps=float(TTS_FPS),
                      extras={"source": "tts", "closures": closed})


def _srt_time(t: float) -> str:
    ms = int(round(max(t, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def subtitles(text: str, speech, *, max_words: int = 7, max_seconds: float = 3.5) -> str:
    """SRT cues for `text`: each whitespace-separated word starts at its first espeak word event; cues
    hold up to `max_words` words or `max_seconds`, and break after sentence ends."""
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    if not tokens:
        return ""
    starts = [None] * len(tokens)
    offsets = [start for start, _ in tokens]
    for w in speech.words:
        k = max(0, bisect.bisect_right(offsets, max(0, w.text_position - 1)) - 1)
        if starts[k] is None:
            starts[k] = w.time
    last = 0.0
    for k in range(len(tokens)):  # words espeak did not report start where the previous one did
        last = starts[k] = last if starts[k] is None else max(starts[k], last)
    cues, first = [], 0
    for k, (_, token) in enumerate(tokens):
        end_of_cue = (token[-1] in ".!?;:" or k - first + 1 >= max_words
                      or starts[k] - starts[first] >= max_seconds or k == len(tokens) - 1)
        if end_of_cue:
            end = starts[k + 1] if k + 1 < len(tokens) else speech.duration
            cues.append((starts[first], max(end, starts[first] + 0.3), " ".join(t for _, t in tokens[first:k + 1])))
            first = k + 1
    return "".join(f"{n}\n{_srt_time(a)} --> {_srt_time(b)}\n{line}\n\n" for n, (a, b, line) in enumerate(cues, 1))


# ---------------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------------


@dataclass
class RenderReport:
    path: Path
    frames: int
    duration: float
    size: tuple[int, int]
    seconds: float
    """Wall time of the whole call."""
    subtitles: Path | None = None
    result: object = None
    """The AnimationResult (its .plan holds every frame's weights and pose)."""
    motion: object = None
    """The driving FaceMotion before planning (100 fps speech motion, or the retargeted driver)."""


def _animator(photo, options, models):
    from talkies.runtime.animator import PhotoAnimator

    return PhotoAnimator(photo, options, models=models)


def _render(animator, motion, duration: float, output: Path, audio: np.ndarray | None, sample_rate: int,
            *, synthesize: bool = True, source: str = "") -> object:
    plan = animator.plan(motion, duration, synthesize=synthesize)
    meta = {"title": f"talkies: {source}"[:120]} if source else None
    return animator.write(plan, output, audio=audio, sample_rate=sample_rate, metadata=meta)


def _load_audio(path: Path) -> tuple[np.ndarray, int]:
    from talkies.runtime import media

    info = media.audio_info(path)
    rate = int(min(info.sample_rate or 16000, OUTPUT_SAMPLE_RATE_MAX))
    pcm = media.read_audio(path, sample_rate=rate)
    if pcm.size == 0:
        raise InputError(f"{path}: the audio track is empty (0 samples); give a file with sound")
    if not np.isfinite(pcm).all():
        raise InputError(f"{path}: the audio holds NaN or infinite samples")
    return pcm, rate


def animate_audio(photo, audio_path: str | os.PathLike, output: str | os.PathLike, options=None, *,
                  models=None) -> RenderReport:
    """Talking photo from any audio or video file (its audio track): lip-sync → PhotoAnimator → MP4.

    A silent track gives a video of the face at rest (blinks and idle head motion only), with a warning.
    """
    from talkies.runtime.animator import PhotoAnimatorOptions, motion_from_audio

    t0 = time.perf_counter()
    output = check_writable(output)
    options = options or PhotoAnimatorOptions()
    pcm, rate = _load_audio(Path(audio_path))
    animator = _animator(photo, options, models)
    motion = motion_from_audio(pcm, rate)
    if float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) < 1e-4:
        log.warning("%s is silent: the video shows the face at rest", audio_path)
    result = _render(animator, motion, len(pcm) / rate, output, pcm, rate, source=Path(audio_path).name)
    return RenderReport(result.path, result.frames, result.duration, result.size, time.perf_counter() - t0,
                        result=result, motion=motion)


def animate_text(photo, text: str, output: str | os.PathLike, options=None, *, voice: str = "en-us",
                 rate: int = 175, pitch: int = 50, srt: bool = True, models=None) -> RenderReport:
    """Talking photo from a script: espeak-ng speech whose phoneme events drive the visemes directly;
    an .srt subtitle file is written beside the video (unless `srt` is False)."""
    from talkies.models.lipsync import espeak
    from talkies.runtime.animator import PhotoAnimatorOptions

    t0 = time.perf_counter()
    output = check_writable(output)
    options = options or PhotoAnimatorOptions()
    if not text or not text.strip():
        raise InputError("--text is empty; give the words to say")
    speech = espeak.synthesize(text, voice=voice, rate=rate, pitch=pitch)
    if len(speech.pcm) == 0:
        raise InputError(f"espeak produced no audio for {text!r}")
    animator = _animator(photo, options, models)
    motion = text_motion(speech)
    result = _render(animator, motion, speech.duration, output, speech.float32(), speech.sample_rate,
                     source=text[:60])
    srt_path = None
    if srt:
        srt_path = write_text_atomic(Path(output).with_suffix(".srt"), subtitles(text, speech))
    return RenderReport(result.path, result.frames, result.duration, result.size, time.perf_counter() - t0,
                        subtitles=srt_path, result=result, motion=motion)


def driver_motion(motion, *, rest_percentile: float = 5.0, max_angle: float = 0.45) -> object:
    """Retarget a tracked face: weights relative to the driver's own rest (a low percentile per
    channel, rescaled), head pose relative to its median, angles clamped to ±max_angle rad."""
    from talkies.runtime.motion import FaceMotion

    w = np.asarray(motion.weights, np.float32)
    rest = np.percentile(w, rest_percentile, axis=0).astype(np.float32) if len(w) else np.zeros(w.shape[1])
    rest = np.minimum(rest, 0.8)
    rel = np.clip((w - rest) / (1.0 - rest), 0.0, 1.0)
    pose = np.asarray(motion.head_pose, np.float32)
    pose = pose - np.median(pose, axis=0) if len(pose) else pose
    pose[:, :3] = np.clip(pose[:, :3], -max_angle, max_angle)
    pose[:, 3:] = np.clip(pose[:, 3:], -5.0, 5.0)
    return FaceMotion(motion.timestamps, rel, pose, fps=motion.fps, extras={"source": "reenact"})


def reenact(photo, driver: str | os.PathLike, output: str | os.PathLike, options=None, *, models=None
            ) -> RenderReport:
    """Drive the photo with the (largest) face of another video, keeping that video's audio."""
    from talkies.runtime import media
    from talkies.runtime.animator import PhotoAnimatorOptions
    from talkies.runtime.face import FaceTrackerOptions, track_video

    t0 = time.perf_counter()
    output = check_writable(output)
    options = options or PhotoAnimatorOptions()
    models = _default_models(models)
    info = media.video_info(driver)
    duration = info.duration or ((info.frames or 0) / info.fps if info.fps else 0.0)
    pcm, rate = None, 16000
    if info.has_audio:
        pcm, rate = _load_audio(Path(driver))
        duration = duration or len(pcm) / rate
    animator = _animator(photo, options, models)
    motions = track_video(driver, FaceTrackerOptions(num_faces=4, smoothing=False), models=models,
                          keep_landmarks=True)
    main = max(motions, key=lambda m: float(np.mean(np.ptp(m.extras["landmarks"][:, :, 1], axis=1)))
               * float(np.mean(m.tracked)))
    motion = driver_motion(main)
    if pcm is not None:
        duration = len(pcm) / rate
    result = _render(animator, motion, duration, output, pcm, rate, synthesize=False,
                     source=f"reenacted from {Path(driver).name}")
    return RenderReport(result.path, result.frames, result.duration, result.size, time.perf_counter() - t0,
                        result=result, motion=motion)


def _default_models(models):
    from talkies.runtime.face.models import FaceModels

    return models or FaceModels.from_mediapipe()


# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------


def render_options(func):
    """Options shared by `animate` and `reenact`."""
    for decorator in reversed([
        click.option("--resolution", type=click.Choice(["source", "720p", "1080p"]), default="source",
                     show_default=True, help="Output height: the photo's own, 720 or 1080 pixels (aspect kept)."),
        click.option("--fps", type=click.Choice(["25", "30"]), default="25", show_default=True,
                     help="Frame rate."),
        click.option("--expression", type=click.Choice(["neutral", "happy", "sad", "surprised"]),
                     default="neutral", show_default=True, help="Expression preset."),
        click.option("--intensity", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
                     help="Strength of the expression, 0-2."),
        click.option("--face", "face", type=click.IntRange(0, None), default=None,
                     help="Which face to animate (numbered as in `talkies faces PHOTO`) [default: the largest]."),
        click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
                     help="Face tracking models: mediapipe = the original .tflite in LiteRT; auto = the ONNX "
                          "bundles when installed, else mediapipe."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of blinks and idle motion."),
        click.option("--no-watermark", is_flag=True,
                     help="Leave out the small visible 'AI-generated' mark (the file's metadata still says it "
                          "was synthesised). Only for uses where viewers know the video is synthetic."),
    ]):
        func = decorator(func)
    return func


def _options(resolution, fps, expression, intensity, face, seed, no_watermark, **extra):
    from talkies.runtime.animator import PhotoAnimatorOptions

    return PhotoAnimatorOptions(resolution=resolution, fps=int(fps), expression=expression, intensity=intensity,
                                face=face, seed=seed, watermark=not no_watermark, **extra)


def _report(report: RenderReport) -> None:
    w, h = report.size
    click.echo(str(report.path))
    if report.subtitles:
        click.echo(str(report.subtitles))
    log.info("%d frames %dx%d, %.2f s of video in %.1f s", report.frames, w, h, report.duration, report.seconds)


@cli.command("animate")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output MP4.")
@click.option("--audio", type=click.Path(path_type=Path), default=None,
              help="Speech to lip-sync: any audio or video file FFmpeg reads (a video's audio track is used).")
@click.option("--text", default=None, help="A script to speak with espeak-ng (writes OUT.srt subtitles too).")
@click.option("--voice", default="en-us", show_default=True, help="TTS voice or language (see `talkies voices`).")
@click.option("--rate", type=click.IntRange(80, 450), default=175, show_default=True, help="TTS words per minute.")
@click.option("--pitch", type=click.IntRange(0, 99), default=50, show_default=True, help="TTS pitch, 0-99.")
@render_options
def animate_command(photo: Path, output: Path, audio: Path | None, text: str | None, voice: str, rate: int,
                    pitch: int, backend: str, **render) -> None:
    """Make a talking-photo video: PHOTO speaks --audio FILE or --text "...".

    The video is H.264 + AAC, as long as the speech, with a small "AI-generated" mark (see
    --no-watermark) and a "synthesised by talkies" metadata tag. A silent audio track gives a video of
    the face at rest (blinks and idle head motion).
    """
    if (audio is None) == (text is None):
        raise click.UsageError("give exactly one of --audio FILE or --text \"...\"")
    check_writable(output)
    if text is not None:
        check_writable(output.with_suffix(".srt"))
    from talkies.runtime import media

    media.read_image(photo)  # InputError for a missing or unreadable photo, before any other work
    options = _options(**render)
    models = face_models(backend)
    if audio is not None:
        report = animate_audio(photo, audio, output, options, models=models)
    else:
        report = animate_text(photo, text, output, options, voice=voice, rate=rate, pitch=pitch, models=models)
    _report(report)


@cli.command("reenact")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--driver", type=click.Path(path_type=Path), required=True,
              help="Video of another face whose expressions and head motion drive the photo (its audio is kept).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output MP4.")
@render_options
def reenact_command(photo: Path, driver: Path, output: Path, backend: str, **render) -> None:
    """Drive PHOTO with the face in a --driver video (tracked with FaceTracker)."""
    from talkies.runtime import media

    check_writable(output)
    media.read_image(photo)
    media.video_info(driver)
    report = reenact(photo, driver, output, _options(**render), models=face_models(backend))
    _report(report)


@cli.command("voices")
@click.option("--language", default=None, help="Only voices for this language prefix (e.g. en, de).")
def voices_command(language: str | None) -> None:
    """List the espeak-ng voices for `talkies animate --text ... --voice NAME`."""
    from talkies.models.lipsync import espeak

    voices = espeak.list_voices()
    if language:
        voices = [v for v in voices if any(lang.startswith(language.lower()) for lang in v.languages)]
    for v in sorted(voices, key=lambda v: v.language):
        click.echo(f"{v.language:<12} {v.name:<32} {v.gender}")
    click.echo(f"{len(voices)} voices; add a variant with +NAME, e.g. en-us+f3", err=True)
