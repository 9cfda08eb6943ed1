"""Keyframes for the keyed curve formats (glTF, Unity, Godot, Live2D, VRMA), and the channels the
animation tools name (VRM vowels and blinks, Live2D parameters, Preston Blair mouths) derived from a
FaceMotion.

Reduction: each channel keeps the frames of its own grid (the motion's frame rate, so every key time is a
whole frame) that a vertical-distance Ramer-Douglas-Peucker needs for the piecewise-linear curve through the
keys to stay within the tolerance of every original sample. (OpenFaceFX's ``reduce_to_track`` measures the
perpendicular distance in the (seconds, weight) plane, which lets a steep curve drift further than its
epsilon; see the README.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.runtime.blendshapes import VISEME_NAMES, Blendshape
from talkies.runtime.motion import FaceMotion

#: Every written weight stays within this of the source curve (the round trips check it).
WEIGHT_TOLERANCE = 0.02
#: Head rotation keys stay within this many radians (about 0.3 degrees).
ANGLE_TOLERANCE = 0.005
#: Head translation keys stay within this many centimetres.
TRANSLATION_TOLERANCE = 0.05
# Files print values with a few decimals; the reduction leaves room for that rounding.
_ROUNDING_MARGIN = 1e-3


def frame_rate(motion: FaceMotion) -> float:
    """The frame rate the keyed files use: the motion's own (100 for lip-sync, the video's for tracking)."""
    if motion.fps:
        return float(motion.fps)
    if len(motion) < 2:
        return 30.0
    return float(round(1.0 / np.median(np.diff(motion.timestamps)), 3))


def reduce_keys(values: np.ndarray, tolerance: float = WEIGHT_TOLERANCE) -> np.ndarray:
    """Indices of the samples to key so that linear interpolation between them stays within `tolerance`
    (less a margin for printed decimals) of every sample. The first and last samples are always kept."""
    v = np.asarray(values, np.float64).reshape(-1)
    n = len(v)
    if n <= 2:
        return np.arange(n)
    eps = max(tolerance - _ROUNDING_MARGIN, 1e-6)
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        idx = np.arange(lo + 1, hi)
        line = v[lo] + (v[hi] - v[lo]) * (idx - lo) / (hi - lo)
        err = np.abs(v[lo + 1:hi] - line)
        k = int(np.argmax(err))
        if err[k] > eps:
            mid = lo + 1 + k
            keep[mid] = True
            stack += [(lo, mid), (mid, hi)]
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class KeyedChannel:
    """One channel's keys: frame numbers on the file's grid and the values there."""

    name: str
    frames: np.ndarray
    values: np.ndarray

    def times(self, fps: float) -> np.ndarray:
        return self.frames / fps


def keyed(name: str, values: np.ndarray, tolerance: float = WEIGHT_TOLERANCE) -> KeyedChannel:
    values = np.asarray(values, np.float64)
    idx = reduce_keys(values, tolerance)
    return KeyedChannel(name, idx.astype(np.int64), values[idx])


def on_grid(motion: FaceMotion) -> FaceMotion:
    """The motion on its own frame grid (frame i at i / fps from its first timestamp); resampled only when
    its timestamps are not already that grid."""
    fps = frame_rate(motion)
    n = int(round(motion.timestamps[-1] * fps)) + 1 if len(motion) else 0
    grid = np.arange(n) / fps
    if len(motion) == n and np.allclose(motion.timestamps, grid, atol=1e-6):
        return motion
    out = motion.sample(grid)
    out.fps = fps
    return out


def sample_keys(frames: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The piecewise-linear curve through keys, on frames 0 … n-1 (held flat past the ends)."""
    return np.interp(np.arange(n), frames, values)


# ------------------------------------------------------------------------------------------------
# Channels the tools name, derived from the 52 weights (and the visemes when the motion has them)
# ------------------------------------------------------------------------------------------------


def _w(motion: FaceMotion, *names: str) -> np.ndarray:
    return motion.weights[:, [Blendshape[n].value for n in names]].astype(np.float64).mean(axis=1)


def mouth_open(motion: FaceMotion) -> np.ndarray:
    """0 (closed) … 1 (wide open): the jaw, the lower lip's drop, less a lip closure."""
    return np.clip(_w(motion, "jawOpen") + 0.5 * _w(motion, "mouthLowerDownLeft", "mouthLowerDownRight")
                   - 0.5 * _w(motion, "mouthClose"), 0.0, 1.0)


def mouth_round(motion: FaceMotion) -> np.ndarray:
    return np.clip(np.maximum(_w(motion, "mouthFunnel"), _w(motion, "mouthPucker")), 0.0, 1.0)


def mouth_spread(motion: FaceMotion) -> np.ndarray:
    return np.clip(_w(motion, "mouthStretchLeft", "mouthStretchRight")
                   + _w(motion, "mouthSmileLeft", "mouthSmileRight"), 0.0, 1.0)


# VRM vowel weights of each OVR viseme (vowels to themselves, consonants to the nearest vowel, weaker).
_VISEME_TO_VRM: dict[str, tuple[tuple[str, float], ...]] = {
    "aa": (("aa", 1.0),), "E": (("ee", 1.0),), "ih": (("ih", 1.0),), "oh": (("oh", 1.0),),
    "ou": (("ou", 1.0),), "FF": (("ih", 0.2),), "TH": (("ih", 0.3),), "DD": (("ih", 0.5),),
    "kk": (("aa", 0.3),), "CH": (("ou", 0.5),), "SS": (("ih", 0.4),), "nn": (("ih", 0.4),),
    "RR": (("ou", 0.4),),
}
VRM_VOWELS = ("aa", "ih", "ou", "ee", "oh")


def vrm_expressions(motion: FaceMotion) -> dict[str, np.ndarray]:
    """VRM 1.0 preset expressions: the five vowels (from the visemes, else from the mouth's shape) and
    the blinks."""
    if motion.visemes is not None:
        out = {v: np.zeros(len(motion)) for v in VRM_VOWELS}
        for j, name in enumerate(VISEME_NAMES):
            for vowel, gain in _VISEME_TO_VRM.get(name, ()):
                out[vowel] += gain * motion.visemes[:, j]
    else:
        opening, rnd, spread = mouth_open(motion), mouth_round(motion), mouth_spread(motion)
        out = {"aa": opening * (1 - rnd) * (1 - spread), "ih": spread * (1 - rnd) * (1 - opening),
               "ou": rnd * (1 - opening), "ee": spread * (1 - rnd) * opening, "oh": rnd * opening}
    out["blinkLeft"] = _w(motion, "eyeBlinkLeft")
    out["blinkRight"] = _w(motion, "eyeBlinkRight")
    out["blink"] = np.minimum(out["blinkLeft"], out["blinkRight"])
    return {k: np.clip(v, 0.0, 1.0) for k, v in out.items()}


def live2d_parameters(motion: FaceMotion) -> dict[str, np.ndarray]:
    """Cubism standard parameters: mouth open (0…1) and form (-1 pursed … 1 smile), eyes open, head angles
    in degrees (AngleX turns, AngleY nods up, AngleZ tilts)."""
    form = (_w(motion, "mouthSmileLeft", "mouthSmileRight") + 0.5 * _w(motion, "mouthStretchLeft", "mouthStretchRight")
            - _w(motion, "mouthFrownLeft", "mouthFrownRight") - mouth_round(motion))
    yaw, pitch, roll = (np.degrees(motion.head_pose[:, k].astype(np.float64)) for k in range(3))
    return {"ParamMouthOpenY": mouth_open(motion), "ParamMouthForm": np.clip(form, -1.0, 1.0),
            "ParamEyeLOpen": 1.0 - _w(motion, "eyeBlinkLeft"), "ParamEyeROpen": 1.0 - _w(motion, "eyeBlinkRight"),
            "ParamAngleX": np.clip(yaw, -30, 30), "ParamAngleY": np.clip(-pitch, -30, 30),
            "ParamAngleZ": np.clip(roll, -30, 30)}


#: Preston Blair mouth drawings (Papagayo's and Moho's names), and the OVR visemes that show each.
PRESTON_BLAIR = ("AI", "E", "O", "U", "etc", "L", "WQ", "MBP", "FV", "rest")
VISEME_TO_PRESTON_BLAIR = {
    "sil": "rest", "PP": "MBP", "FF": "FV", "TH": "etc", "DD": "etc", "kk": "etc", "CH": "etc", "SS": "etc",
    "nn": "L", "RR": "etc", "aa": "AI", "E": "E", "ih": "AI", "oh": "O", "ou": "U",
}


def preston_blair(motion: FaceMotion) -> list[str]:
    """The Preston Blair mouth of each frame: the strongest viseme's, or (tracked faces, no visemes) one
    read off the mouth's opening, rounding, spread and closure."""
    if motion.visemes is not None:
        return [VISEME_TO_PRESTON_BLAIR[VISEME_NAMES[i]] for i in np.argmax(motion.visemes, axis=1)]
    opening, rnd, spread = mouth_open(motion), mouth_round(motion), mouth_spread(motion)
    closed = np.maximum(_w(motion, "mouthClose"), _w(motion, "mouthPressLeft", "mouthPressRight"))
    tuck = _w(motion, "mouthRollLower")
    out = []
    for o, r, s, c, t in zip(opening, rnd, spread, closed, tuck):
        if o < 0.1:
            out.append("MBP" if c > 0.3 else "FV" if t > 0.3 else "U" if r > 0.4 else "rest")
        elif r > 0.4:
            out.append("O" if o > 0.3 else "WQ")
        elif o > 0.45:
            out.append("AI")
        else:
            out.append("E" if s > 0.4 else "etc")
    return out


def cue_runs(labels: list[str], fps: float, out_fps: float) -> list[tuple[int, str]]:
    """(frame at `out_fps`, label) where each run of equal labels (on the `fps` grid) starts; frames are
    rounded to the nearest whole frame, and a run that lands on the frame of the one before replaces it."""
    runs: list[tuple[int, str]] = []
    for i, label in enumerate(labels):
        if i and label == labels[i - 1]:
            continue
        frame = int(np.floor(i / fps * out_fps + 0.5))
        if runs and runs[-1][0] == frame:
            runs.pop()
        if not runs or runs[-1][1] != label:
            runs.append((frame, label))
    return runs
