"""Talking photos: one photo plus speech (audio, a script) or a driving video becomes a lip-synced MP4.

Each function is one pipeline, source → FaceMotion → :class:`~talkies.runtime.animator.PhotoAnimator`:

- :func:`animate_audio`: any audio or video file → LipSync → the photo speaks it;
- :func:`animate_text`: a script → text-to-speech with phone timings → the photo speaks it, with subtitles;
- :func:`reenact`: another face's video → FaceTracker → retargeted onto the photo, keeping its audio.

An output named ``.glb`` or ``.gltf`` is the photo's talking head instead of a video: the face in 3-D,
textured with the photo, with the same frames' weights and head pose as a morph-target animation
(runtime.gltf_anim); a script's speech goes beside it as a ``.wav``, as its subtitles go in an ``.srt``.

    result = animate_text("photo.jpg", "Hello there.", "out.mp4", PhotoAnimatorOptions(expression="happy"))
    print(result.path, result.subtitles, result.seconds)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.io import check_sidecar, check_writable, write_text_atomic
from talkies.log import get_logger
from talkies.runtime import media
from talkies.runtime.animator import AnimationResult, PhotoAnimator, PhotoAnimatorOptions
from talkies.runtime.motion import FaceMotion
from talkies.runtime.speech_motion import motion_from_audio

log = get_logger(__name__)

OUTPUT_SAMPLE_RATE_MAX = 48000
#: Output suffixes that make a talking-head GLB/glTF instead of an MP4, and their curve format.
HEAD_SUFFIXES = {".glb": "glb", ".gltf": "gltf"}
SILENCE_RMS = 1e-4  # below this the track is treated as silent (digital silence, or near it)


def load_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Mono float32 PCM of any audio or video file at its own rate (at most 48 kHz), checked for sound."""
    path = Path(path)
    info = media.audio_info(path)
    rate = int(min(info.sample_rate or 16000, OUTPUT_SAMPLE_RATE_MAX))
    pcm = media.read_audio(path, sample_rate=rate)
    if pcm.size == 0:
        raise InputError(f"{path}: the audio track is empty (0 samples); give a file with sound")
    if not np.isfinite(pcm).all():
        raise InputError(f"{path}: the audio holds NaN or infinite samples")
    return pcm, rate


def _paths(*sources) -> list:
    """The sources given as paths (a photo may also come as pixels), for the output-is-an-input check."""
    return [s for s in sources if isinstance(s, (str, os.PathLike))]


def _default_models(models):
    from talkies.runtime.face.sessions import FaceModels

    return models or FaceModels.from_mediapipe()


def _animator(photo, options: PhotoAnimatorOptions | None, models) -> PhotoAnimator:
    """Finds and fits the face (NoFaceError early, before the motion's work)."""
    return PhotoAnimator(photo, options or PhotoAnimatorOptions(), models=models)


def _render(animator: PhotoAnimator, motion: FaceMotion, duration: float, output: Path, audio: np.ndarray | None,
            sample_rate: int, *, started: float, synthesize: bool = True, source: str = "") -> AnimationResult:
    plan = animator.plan(motion, duration, synthesize=synthesize)
    fmt = HEAD_SUFFIXES.get(output.suffix.lower())
    if fmt is not None:
        from talkies.runtime.formats import write_curves
        from talkies.runtime.talking_head import photo_head

        # the face the video would show: the same fitted rig, its retargeted shapes, the photo as texture
        write_curves(plan, output, fmt, with_head=photo_head(animator.image, animator.fitted))
        result = AnimationResult(path=output, frames=len(plan), duration=len(plan) / plan.fps, size=animator.size,
                                 plan=plan, extras={"format": fmt})
    else:
        meta = {"title": f"talkies: {source}"[:120]} if source else None
        result = animator.write(plan, output, audio=audio, sample_rate=sample_rate, metadata=meta)
    result.motion = motion
    result.seconds = time.perf_counter() - started
    return result


def animate_audio(photo, audio_path: str | os.PathLike, output: str | os.PathLike,
                  options: PhotoAnimatorOptions | None = None, *, models=None, lipsync=None) -> AnimationResult:
    """Talking photo from any audio or video file (its audio track): lip-sync → PhotoAnimator → MP4.
    `lipsync`: an open offline LipSync task to reuse (else one is opened for this call).

    A silent track gives a video of the face at rest (blinks and idle head motion only), with a warning.
    """
    t0 = time.perf_counter()
    output = check_writable(output, inputs=_paths(photo, audio_path))
    pcm, rate = load_audio(audio_path)
    animator = _animator(photo, options, models)
    motion = motion_from_audio(pcm, rate, lipsync)
    if float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) < SILENCE_RMS:
        log.warning("%s is silent: the video shows the face at rest", audio_path)
    return _render(animator, motion, len(pcm) / rate, output, pcm, rate, started=t0,
                   source=Path(audio_path).name)


def animate_text(photo, text: str, output: str | os.PathLike, options: PhotoAnimatorOptions | None = None, *,
                 voice: str = "af_heart", rate: int = 175, pitch: int = 50, srt: bool = True,
                 models=None) -> AnimationResult:
    """Talking photo from a script: speech whose phone timings drive the visemes directly; an .srt
    subtitle file is written beside the video (unless `srt` is False), and beside a talking-head GLB the
    speech too, as a .wav."""
    from talkies.runtime import tts
    from talkies.runtime.formats import srt_subtitles
    from talkies.runtime.speech import motion_from_phones

    t0 = time.perf_counter()
    output = check_writable(output, inputs=_paths(photo))
    srt_path = check_sidecar(output, output.with_suffix(".srt"), inputs=_paths(photo)) if srt else None
    wav_path = (check_sidecar(output, output.with_suffix(".wav"), inputs=_paths(photo))
                if output.suffix.lower() in HEAD_SUFFIXES else None)
    speech = tts.synthesize(text, voice=voice, rate=rate, pitch=pitch)
    animator = _animator(photo, options, models)
    motion = motion_from_phones(speech)
    result = _render(animator, motion, speech.duration, output, speech.float32(),
                     speech.sample_rate, started=t0, source=text[:60])
    if wav_path is not None:
        result.extras["audio"] = media.write_wav(wav_path, speech.float32(), speech.sample_rate)
    if srt_path is not None:
        result.subtitles = write_text_atomic(srt_path, srt_subtitles(text, speech))
    return result


def driver_motion(motion: FaceMotion, *, rest_percentile: float = 5.0, max_angle: float = 0.45) -> FaceMotion:
    """Retarget a tracked face: weights relative to the driver's own rest (a low percentile per
    channel, rescaled), head pose relative to its median, angles clamped to ±max_angle rad."""
    w = np.asarray(motion.weights, np.float32)
    rest = np.percentile(w, rest_percentile, axis=0).astype(np.float32) if len(w) else np.zeros(w.shape[1])
    rest = np.minimum(rest, 0.8)
    rel = np.clip((w - rest) / (1.0 - rest), 0.0, 1.0)
    pose = np.asarray(motion.head_pose, np.float32)
    pose = pose - np.median(pose, axis=0) if len(pose) else pose
    pose[:, :3] = np.clip(pose[:, :3], -max_angle, max_angle)
    pose[:, 3:] = np.clip(pose[:, 3:], -5.0, 5.0)
    return FaceMotion(motion.timestamps, rel, pose, fps=motion.fps, extras={"source": "reenact"})


def reenact(photo, driver: str | os.PathLike, output: str | os.PathLike, options: PhotoAnimatorOptions | None = None,
            *, models=None) -> AnimationResult:
    """Drive the photo with the (largest) face of another video, keeping that video's audio."""
    from talkies.runtime.face import FaceTrackerOptions, track_video

    t0 = time.perf_counter()
    output = check_writable(output, inputs=_paths(photo, driver))
    models = _default_models(models)
    info = media.video_info(driver)
    duration = info.duration or ((info.frames or 0) / info.fps if info.fps else 0.0)
    pcm, rate = None, 16000
    if info.has_audio:
        pcm, rate = load_audio(driver)
        duration = len(pcm) / rate
    animator = _animator(photo, options, models)
    motions = track_video(driver, FaceTrackerOptions(num_faces=4, smoothing=False), models=models,
                          keep_landmarks=True)
    main = max(motions, key=lambda m: float(np.mean(np.ptp(m.extras["landmarks"][:, :, 1], axis=1)))
               * float(np.mean(m.tracked)))
    return _render(animator, driver_motion(main), duration, output, pcm, rate, started=t0,
                   synthesize=False, source=f"reenacted from {Path(driver).name}")


__all__ = ["animate_audio", "animate_text", "driver_motion", "load_audio", "reenact"]
