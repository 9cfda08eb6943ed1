"""The performance layered over speech when a photo is animated: blinks, idle head sway, nods that
follow the speech, and expression presets. Everything random is drawn from a seeded generator, so a
seed gives the same performance every time.
"""

from __future__ import annotations

import math

import numpy as np

from talkies.errors import InputError
from talkies.runtime.blendshapes import NUM_BLENDSHAPES, Blendshape
from talkies.runtime.lipsync import EXPRESSIONS

_JAW = Blendshape.jawOpen.value
_CLOSE = Blendshape.mouthClose.value
_BLINKS = (Blendshape.eyeBlinkLeft.value, Blendshape.eyeBlinkRight.value)
#: A nod: the head starts down this long (s) before the stressed syllable and comes back over NOD_FALL.
NOD_RISE = 0.08
NOD_FALL = 0.35
#: How far the head dips on a stressed syllable (degrees, at head_motion 1).
NOD_DEG = 3.0


def blink_curve(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 → 1 → 0 eyelid closures at random intervals (2–6 s apart): close 80 ms, hold 70 ms, open 150 ms
    (closed long enough to be on two frames at 25-30 fps, so a tracker that smooths still sees it shut)."""
    out = np.zeros(len(times), np.float32)
    if not len(times):
        return out
    end = float(times[-1])
    t = float(rng.uniform(0.6, 2.5))
    while t < end + 0.3:
        close, hold, open_ = 0.08, 0.07, 0.15
        x = times - t
        ramp_up = np.clip(x / close, 0, 1)
        ramp_down = np.clip(1 - (x - close - hold) / open_, 0, 1)
        shape = np.where(x < close, ramp_up, ramp_down)
        shape = np.where((x < 0) | (x > close + hold + open_), 0.0, shape)
        out = np.maximum(out, (shape * shape * (3 - 2 * shape)).astype(np.float32))  # smoothstep
        if rng.random() < 0.12:  # now and then a double blink
            t += close + hold + open_ + 0.12
        else:
            t += float(rng.uniform(2.0, 6.0))
    return out


def idle_head(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 6) slow, smooth head sway: sums of three sines per axis with random rates and phases."""
    amp = np.array([math.radians(1.8), math.radians(1.2), math.radians(0.8), 0.12, 0.1, 0.0])
    pose = np.zeros((len(times), 6), np.float32)
    for axis in range(6):
        if not amp[axis]:
            continue
        freqs = rng.uniform(0.05, 0.35, 3)
        phases = rng.uniform(0, 2 * np.pi, 3)
        weights = rng.uniform(0.5, 1.0, 3)
        wave = sum(wk * np.sin(2 * np.pi * f * times + p) for f, p, wk in zip(freqs, phases, weights))
        pose[:, axis] = amp[axis] * wave / weights.sum()
    return pose


def _lowpass(x: np.ndarray, fps: float, tau: float) -> np.ndarray:
    """Zero-phase one-pole low-pass (forward and backward)."""
    if not len(x):
        return x
    a = 1.0 - math.exp(-1.0 / (fps * tau))
    y = np.empty_like(x, dtype=np.float64)
    for direction in (1, -1):
        src = x if direction == 1 else y[::-1].copy()
        acc = float(src[0])
        out = np.empty(len(src))
        for i, v in enumerate(src):
            acc += a * (float(v) - acc)
            out[i] = acc
        y = out if direction == 1 else out[::-1]
    return y


def stressed_syllables(jaw: np.ndarray, fps: float) -> np.ndarray:
    """(T,) 0/1 marks of the stressed syllables of a jaw curve: syllable nuclei (local peaks of the jaw
    opening) clearly more open than the syllables around them (the louder, longer vowels)."""
    marks = np.zeros(len(jaw), np.float32)
    if len(jaw) < 3:
        return marks
    j = _lowpass(jaw.astype(np.float64), fps, 0.03)
    peak = (j[1:-1] >= j[:-2]) & (j[1:-1] > j[2:]) & (j[1:-1] > 0.12)
    idx = np.flatnonzero(peak) + 1
    if not len(idx):
        return marks
    local = _lowpass(j, fps, 0.6)
    strong = idx[j[idx] > 1.15 * local[idx] + 0.03]
    marks[strong] = 1.0
    return marks


def _impulses(marks: np.ndarray, fps: float, rise: float, fall: float) -> np.ndarray:
    """Each mark becomes a smooth bump: up over `rise` s (from just before it), down over `fall` s."""
    n = len(marks)
    k = np.arange(-int(rise * fps) - 1, int(fall * fps) + 2) / fps
    kernel = np.where(k < 0, np.clip(1 + k / rise, 0, 1), np.clip(1 - k / fall, 0, 1)) ** 2
    full = np.convolve(marks, kernel)
    start = int(rise * fps) + 1
    return full[start:start + n]


def stress_marks(times: np.ndarray, stress: np.ndarray) -> np.ndarray:
    """(T,) 0/1 marks at the frames (`times`) nearest each stressed syllable's time in `stress` (s)."""
    marks = np.zeros(len(times), np.float32)
    stress = np.asarray(stress, np.float64)
    if len(times) and len(stress):
        idx = np.clip(np.searchsorted(times, stress), 0, len(times) - 1)
        prev = np.clip(idx - 1, 0, len(times) - 1)
        idx = np.where(np.abs(times[prev] - stress) < np.abs(times[idx] - stress), prev, idx)
        marks[idx[(stress >= times[0] - 0.5) & (stress <= times[-1] + 0.5)]] = 1.0
    return marks


def speech_nods(jaw: np.ndarray, fps: float, stress: np.ndarray | None = None) -> np.ndarray:
    """(T, 6) head motion that follows the speech: a nod (the head dips) on each stressed syllable, a
    little tilt and rise at each phrase end, and a slow drift with the emphasis. `stress`: 0/1 marks of
    the stressed syllables where the speech says them (a script's phone stress marks); without them (audio)
    they are guessed from the jaw (stressed_syllables)."""
    pose = np.zeros((len(jaw), 6), np.float32)
    if len(jaw) < 2:
        return pose
    fast = _lowpass(jaw.astype(np.float64), fps, 0.25)
    slow = _lowpass(jaw.astype(np.float64), fps, 1.5)
    emphasis = fast - slow
    marks = stressed_syllables(jaw, fps) if stress is None else np.asarray(stress, np.float32)
    nods = _impulses(marks, fps, NOD_RISE, NOD_FALL)
    talking = fast > 0.05
    ends = np.zeros(len(jaw), np.float32)
    ends[1:][talking[:-1] & ~talking[1:]] = 1.0  # speech stops: a phrase end
    tilt = _impulses(ends, fps, 0.15, 0.8)
    side = np.where(np.cumsum(ends) % 2 == 0, 1.0, -1.0)  # phrase ends tilt one way, then the other
    # pitch: with the stress known the nods carry the emphasis (the jaw's rises would lift the head on
    # every open vowel, stressed or not)
    lift = 2.5 if stress is None else 0.0
    pose[:, 1] = np.radians(lift) * emphasis - np.radians(NOD_DEG) * nods + np.radians(1.2) * tilt
    pose[:, 2] = np.radians(1.8) * tilt * side  # roll
    pose[:, 0] = np.radians(2.0) * (fast - fast.mean())  # a little yaw with it
    return pose


_GAZE = {"out_left": Blendshape.eyeLookOutLeft.value, "in_left": Blendshape.eyeLookInLeft.value,
         "out_right": Blendshape.eyeLookOutRight.value, "in_right": Blendshape.eyeLookInRight.value,
         "up": (Blendshape.eyeLookUpLeft.value, Blendshape.eyeLookUpRight.value),
         "down": (Blendshape.eyeLookDownLeft.value, Blendshape.eyeLookDownRight.value)}


def idle_gaze(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 2) gaze (horizontal +: to the subject's left, vertical +: up), -1..1: fixations of 0.4-3 s
    (log-normal), mostly back near the camera, joined by 40 ms saccades."""
    out = np.zeros((len(times), 2), np.float32)
    if not len(times):
        return out
    t, here = 0.0, np.zeros(2)
    end = float(times[-1])
    while t <= end:
        hold = float(np.clip(rng.lognormal(np.log(1.1), 0.5), 0.4, 3.0))
        nxt = np.zeros(2) if rng.random() < 0.45 else np.array([rng.normal(0, 0.35), rng.normal(0.0, 0.18)])
        nxt = np.clip(nxt, -0.7, 0.5)
        ramp = np.clip((times - t) / 0.04, 0.0, 1.0)[:, None]
        sel = times >= t
        out[sel] = (here + (nxt - here) * ramp[sel]).astype(np.float32)
        here, t = nxt, t + hold
    return out


def add_gaze(weights: np.ndarray, gaze: np.ndarray) -> None:
    """Add a (T, 2) gaze to the eyeLook weights (both eyes together), in place."""
    h, v = gaze[:, 0], gaze[:, 1]
    weights[:, _GAZE["out_left"]] += np.clip(h, 0, None)
    weights[:, _GAZE["in_right"]] += np.clip(h, 0, None)
    weights[:, _GAZE["in_left"]] += np.clip(-h, 0, None)
    weights[:, _GAZE["out_right"]] += np.clip(-h, 0, None)
    for col in _GAZE["up"]:
        weights[:, col] += np.clip(v, 0, None)
    for col in _GAZE["down"]:
        weights[:, col] += np.clip(-v, 0, None)


def expression_weights(expression: str, intensity: float) -> np.ndarray:
    """The 52 weights of an expression preset at `intensity`, to add on top of the speech or driver
    weights. The presets (ARKit weights at intensity 1) are the LipSync task's EXPRESSIONS."""
    if expression not in EXPRESSIONS:
        raise InputError(f"unknown expression {expression!r}; valid: {', '.join(EXPRESSIONS)}")
    w = np.zeros(NUM_BLENDSHAPES, np.float32)
    for name, value in EXPRESSIONS[expression].items():
        w[Blendshape[name].value] = value * intensity
    return w


def add_performance(weights: np.ndarray, pose: np.ndarray, times: np.ndarray, *, fps: float, seed: int,
                    blinks: bool = True, head_motion: float = 1.0, gaze: bool = True,
                    stress: np.ndarray | None = None) -> None:
    """Add seeded blinks and idle gaze (saccades between fixations) to `weights` and idle sway plus speech
    nods (scaled by `head_motion`; on the `stress` times in s when known, see speech_nods) to `pose`,
    in place. One generator serves both, in this order, so a seed always gives the same performance."""
    rng = np.random.default_rng(seed)
    if blinks:
        blink = blink_curve(times, rng)
        for col in _BLINKS:
            weights[:, col] = np.maximum(weights[:, col], blink)
    if head_motion:
        marks = None if stress is None else stress_marks(times, stress)
        pose += head_motion * (idle_head(times, rng) + speech_nods(weights[:, _JAW], fps, marks))
    if gaze:  # its own generator, so the blinks and head motion of a seed stay what they were
        add_gaze(weights, idle_gaze(times, np.random.default_rng([seed, 25])))


def finish_weights(weights: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and keep ARKit's rule mouthClose ≤ jawOpen (the lips cannot close past each other)."""
    w = np.clip(weights, 0.0, 1.0).astype(np.float32)
    w[..., _CLOSE] = np.minimum(w[..., _CLOSE], w[..., _JAW])
    return w


__all__ = ["add_gaze", "add_performance", "blink_curve", "idle_gaze", "expression_weights", "finish_weights", "idle_head", "speech_nods", "stress_marks", "stressed_syllables"]
