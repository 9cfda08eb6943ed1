"""Speech audio → FaceMotion for animating a photo: the LipSync task, or, when its model bundle is not
installed, a mouth that follows the loudness (no viseme shapes, but it opens and closes in time).
"""

from __future__ import annotations

import math

import numpy as np

from talkies.errors import BundleError
from talkies.log import get_logger
from talkies.runtime.blendshapes import NUM_BLENDSHAPES, Blendshape
from talkies.runtime.lipsync import LipSync
from talkies.runtime.motion import FaceMotion

log = get_logger(__name__)


def loudness_motion(pcm: np.ndarray, sample_rate: int, *, fps: float = 100.0) -> FaceMotion:
    """Mouth weights at `fps` from the loudness of speech: the jaw opens with the level, lips part.

    A stand-in for the lip-sync model: it has no viseme shapes, but closures (p, b, m and pauses) are
    quiet, so the mouth closes on them. Silence gives a closed mouth.
    """
    x = np.asarray(pcm, np.float32).reshape(-1)
    hop = sample_rate / fps
    n = int(math.ceil(len(x) / hop)) if len(x) else 0
    times = np.arange(n) / fps
    weights = np.zeros((n, NUM_BLENDSHAPES), np.float32)
    if n == 0:
        return FaceMotion(times, weights, fps=fps)
    win = int(round(0.025 * sample_rate))
    padded = np.concatenate([np.zeros(win // 2, np.float32), x, np.zeros(win, np.float32)])
    sq = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])
    starts = np.minimum((np.arange(n) * hop).astype(np.int64), len(padded) - win)
    rms = np.sqrt(np.maximum(sq[starts + win] - sq[starts], 0.0) / win)
    db = 20 * np.log10(rms + 1e-9)
    peak = float(np.percentile(db, 95))
    if peak < -55.0:  # silence: nothing to say
        return FaceMotion(times, weights, fps=fps, extras={"source": "loudness", "silent": True})
    level = np.clip((db - (peak - 30.0)) / 30.0, 0.0, 1.0) ** 1.4
    # fast attack, slower release (mouths open quickly and close a little slower)
    env = np.empty(n)
    acc = 0.0
    for i, v in enumerate(level):
        k = 0.6 if v > acc else 0.35
        acc += k * (v - acc)
        env[i] = acc
    cols = {"jawOpen": 0.6, "mouthLowerDownLeft": 0.25, "mouthLowerDownRight": 0.25,
            "mouthUpperUpLeft": 0.1, "mouthUpperUpRight": 0.1, "mouthStretchLeft": 0.08, "mouthStretchRight": 0.08}
    for name, gain in cols.items():
        weights[:, Blendshape[name].value] = gain * env
    return FaceMotion(times, weights, fps=fps, extras={"source": "loudness", "silent": False})


def motion_from_audio(pcm: np.ndarray, sample_rate: int, task: LipSync | None = None) -> FaceMotion:
    """Speech → FaceMotion at 100 fps (visemes and mouth weights) through `task`, an open offline LipSync
    (kept open by callers with many clips, e.g. a batch), or one opened for this call; when its model
    bundle is not installed, the mouth follows the loudness instead (with a warning)."""
    if task is not None:
        return task.process(pcm, sample_rate)
    try:
        task = LipSync()
    except BundleError as exc:
        log.warning("lip-sync model unavailable (%s); the mouth follows the loudness instead", exc)
        return loudness_motion(pcm, sample_rate)
    with task:
        return task.process(pcm, sample_rate)


__all__ = ["loudness_motion", "motion_from_audio"]
