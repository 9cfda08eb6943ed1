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


def blink_curve(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 → 1 → 0 eyelid closures at random intervals (2–6 s apart): close 80 ms, hold 40 ms, open 150 ms."""
    out = np.zeros(len(times), np.float32)
    if not len(times):
        return out
    end = float(times[-1])
    t = float(rng.uniform(0.6, 2.5))
    while t < end + 0.3:
        close, hold, open_ = 0.08, 0.04, 0.15
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


def speech_nods(jaw: np.ndarray, fps: float) -> np.ndarray:
    """(T, 6) small nods that follow the speech: the head dips with emphasis and rises in pauses."""
    pose = np.zeros((len(jaw), 6), np.float32)
    if len(jaw) < 2:
        return pose
    fast = _lowpass(jaw.astype(np.float64), fps, 0.25)
    slow = _lowpass(jaw.astype(np.float64), fps, 1.5)
    emphasis = fast - slow
    pose[:, 1] = np.radians(6.0) * emphasis  # pitch
    pose[:, 0] = np.radians(2.0) * (fast - fast.mean())  # a little yaw with it
    return pose


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
                    blinks: bool = True, head_motion: float = 1.0) -> None:
    """Add seeded blinks to `weights` and idle sway plus speech nods (scaled by `head_motion`) to `pose`,
    in place. One generator serves both, in this order, so a seed always gives the same performance."""
    rng = np.random.default_rng(seed)
    if blinks:
        blink = blink_curve(times, rng)
        for col in _BLINKS:
            weights[:, col] = np.maximum(weights[:, col], blink)
    if head_motion:
        pose += head_motion * (idle_head(times, rng) + speech_nods(weights[:, _JAW], fps))


def finish_weights(weights: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and keep ARKit's rule mouthClose ≤ jawOpen (the lips cannot close past each other)."""
    w = np.clip(weights, 0.0, 1.0).astype(np.float32)
    w[..., _CLOSE] = np.minimum(w[..., _CLOSE], w[..., _JAW])
    return w


__all__ = ["add_performance", "blink_curve", "expression_weights", "finish_weights", "idle_head", "speech_nods"]
