"""One-Euro filter (Casiez et al. 2012) for landmark and weight streams, as MediaPipe runs it.

For each value: ``dx = (x - x_prev_raw)·value_scale/dt`` is low-passed at ``d_cutoff`` Hz, the value's
cutoff becomes ``min_cutoff + beta·|dx̂|`` and the value is low-passed at that cutoff, with
``alpha = 1 / (1 + 1/(2π·cutoff·dt))``. Like MediaPipe (and unlike Casiez's reference code) the
derivative uses the previous *raw* value, and a timestamp that does not increase passes the value
through without touching the state.

Defaults are MediaPipe's face-landmark smoothing: ``min_cutoff=0.05`` Hz (heavy smoothing when still),
``beta=80`` (cutoff rises fast with speed, so motion lags little), ``d_cutoff=1`` Hz. MediaPipe tunes them
for values scaled by ``value_scale = 1/face_size`` (landmarks in face-size units per second): pass that
scale for pixel landmarks, or retune ``beta`` for other units.

:func:`one_euro` (a whole clip) and :class:`OneEuroFilter` (one step at a time) share the step kernel,
so they give bit-identical results.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import all_finite, as_f32, as_f32_unchecked, as_f64, as_scalar, check_out
from .config import jit, run

MIN_CUTOFF = 0.05
BETA = 80.0
D_CUTOFF = 1.0

# Layout of the float64 state array: rows of length D.
_RAW, _XHAT, _DXHAT = 0, 1, 2


@jit
def _step(x: np.ndarray, t: float, state: np.ndarray, clock: np.ndarray, params: np.ndarray,
          out: np.ndarray) -> bool:
    """One filter step for every value; returns False (state untouched) if ``x`` holds NaN/inf.

    ``clock`` = [last timestamp, started flag]; ``params`` = [min_cutoff, beta, d_cutoff, value_scale].
    """
    n = x.size
    if not all_finite(x):
        return False
    if clock[1] == 0.0:
        clock[0] = t
        clock[1] = 1.0
        for i in range(n):
            state[_RAW, i] = x[i]
            state[_XHAT, i] = x[i]
            state[_DXHAT, i] = 0.0  # first derivative sample is 0, as in MediaPipe
            out[i] = x[i]
        return True
    dt = t - clock[0]
    if not dt > 0.0:
        for i in range(n):
            out[i] = x[i]
        return True
    clock[0] = t
    min_cutoff = params[0]
    beta = params[1]
    rate = params[3] / dt
    tau_d = 1.0 / (2.0 * math.pi * params[2])
    alpha_d = 1.0 / (1.0 + tau_d / dt)
    two_pi_dt = 2.0 * math.pi * dt
    for i in range(n):
        xi = np.float64(x[i])
        dx = (xi - state[_RAW, i]) * rate
        dxhat = state[_DXHAT, i] + alpha_d * (dx - state[_DXHAT, i])
        cutoff = min_cutoff + beta * abs(dxhat)
        # alpha = 1/(1 + tau/dt) with tau = 1/(2π·cutoff), rewritten to need a single division.
        wc = two_pi_dt * cutoff
        alpha = wc / (wc + 1.0)
        xhat = state[_XHAT, i] + alpha * (xi - state[_XHAT, i])
        state[_RAW, i] = xi
        state[_DXHAT, i] = dxhat
        state[_XHAT, i] = xhat
        out[i] = xhat
    return True


@jit
def _run(x: np.ndarray, t: np.ndarray, scale: np.ndarray, state: np.ndarray, clock: np.ndarray,
         params: np.ndarray, out: np.ndarray) -> None:
    for k in range(x.shape[0]):
        params[3] = scale[k]
        _step(x[k], t[k], state, clock, params, out[k])


def _params(min_cutoff: float, beta: float, d_cutoff: float, value_scale: float = 1.0) -> np.ndarray:
    return np.array([as_scalar(min_cutoff, "min_cutoff", low=0.0, low_open=True),
                     as_scalar(beta, "beta", low=0.0),
                     as_scalar(d_cutoff, "d_cutoff", low=0.0, low_open=True),
                     as_scalar(value_scale, "value_scale", low=0.0, low_open=True)], np.float64)


def one_euro(x: Any, t: Any, *, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF,
             value_scale: Any = 1.0) -> np.ndarray:
    """Filter a whole clip offline.

    Args:
        x: (T, ...) values, e.g. (T, 52) weights or (T, 478, 3) landmarks; each value filtered alone.
        t: (T,) timestamps in seconds (float64 is kept: float32 loses milliseconds after hours).
        min_cutoff, beta, d_cutoff: see the module docstring (defaults: MediaPipe's).
        value_scale: scalar or (T,) factor on the derivative, e.g. 1/face size per frame.

    Returns:
        float32 array shaped like ``x``.
    """
    xs = as_f32(x, "x")
    if xs.ndim < 1:
        raise InputError("x must have a time axis: shape (T, ...)")
    n_frames = xs.shape[0]
    ts = as_f64(t, "t", (n_frames,))
    params = _params(min_cutoff, beta, d_cutoff)
    scale = np.broadcast_to(np.asarray(value_scale, np.float64), (n_frames,))
    scale = as_f64(scale, "value_scale", (n_frames,))
    if (scale <= 0).any():
        raise InputError("value_scale must be > 0")
    flat = xs.reshape(n_frames, -1)
    out = np.empty_like(flat)
    _run(flat, ts, scale, np.zeros((3, flat.shape[1])), np.zeros(2), params, out)
    return out.reshape(xs.shape)


class OneEuroFilter:
    """Streaming One-Euro filter; ``step(x_t, t)`` equals row t of :func:`one_euro` bit for bit.

    The value shape is fixed by the first step. ``reset()`` forgets the stream (e.g. after a face is
    lost), so the next step passes its value through and restarts the filter.
    """

    def __init__(self, *, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, d_cutoff: float = D_CUTOFF,
                 value_scale: float = 1.0) -> None:
        self._params = _params(min_cutoff, beta, d_cutoff, value_scale)
        self._scale = self._params[3]
        self._shape: tuple[int, ...] | None = None
        self._state = np.zeros((3, 0))
        self._clock = np.zeros(2)

    def reset(self) -> None:
        self._shape = None
        self._clock[:] = 0.0

    def step(self, x: Any, t: float, *, value_scale: float | None = None,
             out: np.ndarray | None = None) -> np.ndarray:
        """Filter one sample ``x`` taken at time ``t`` (s); returns float32 shaped like ``x``."""
        x = as_f32_unchecked(x, "x")  # the kernel checks finiteness before touching the state
        if self._shape is None:
            self._shape = x.shape
            self._state = np.zeros((3, x.size))
        elif x.shape != self._shape:
            raise InputError(f"x has shape {x.shape} but this filter runs on {self._shape}; call reset() first")
        if type(t) is not float or not math.isfinite(t):
            t = as_scalar(t, "t")
        # A per-step scale (e.g. this frame's face size) applies to this step only.
        self._params[3] = self._scale if value_scale is None else \
            as_scalar(value_scale, "value_scale", low=0.0, low_open=True)
        if out is None:
            out = np.empty(x.shape, np.float32)
        else:
            check_out(out, "out", x.shape, np.float32)
        if not _step(x.reshape(-1), t, self._state, self._clock, self._params, out.reshape(-1)):
            raise InputError("x contains NaN or inf; drop the sample or reset() the filter")
        return out

    def step_many(self, x: Any, t: Any) -> np.ndarray:
        """Filter a block of consecutive samples ((T, ...) values at (T,) times) in one kernel call,
        carrying the state: the same as calling ``step`` on each row in turn."""
        xs = as_f32(x, "x")
        if xs.ndim < 1:
            raise InputError("x must have a time axis: shape (T, ...)")
        n_frames = xs.shape[0]
        ts = as_f64(t, "t", (n_frames,))
        flat = xs.reshape(n_frames, -1)
        if self._shape is None:
            self._shape = xs.shape[1:]
            self._state = np.zeros((3, flat.shape[1]))
        elif xs.shape[1:] != self._shape:
            raise InputError(f"x rows have shape {xs.shape[1:]} but this filter runs on {self._shape}; call reset() first")
        out = np.empty_like(flat)
        run(_run, flat, ts, np.full(n_frames, self._scale, np.float64), self._state, self._clock, self._params, out,
            work=flat.size)
        return out.reshape(xs.shape)


__all__ = ["BETA", "D_CUTOFF", "MIN_CUTOFF", "OneEuroFilter", "one_euro"]
