"""One-Euro filter vs a line-by-line port of MediaPipe's OneEuroFilter; offline == streaming."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from talkies.errors import InputError
from talkies.kernels import OneEuroFilter, one_euro
from talkies.kernels.filters import BETA, D_CUTOFF, MIN_CUTOFF

from talkies.tests.helpers.kernels import SETTINGS, small

RTOL = 1e-5  # float32 output of a float64 computation


class MediaPipeOneEuro:
    """mediapipe/util/filtering/one_euro_filter.cc for one scalar (seconds instead of nanoseconds)."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.last_time: float | None = None
        self.raw: float | None = None
        self.x_hat: float | None = None
        self.dx_hat: float | None = None
        self.frequency = 30.0

    @staticmethod
    def _low_pass(stored: float | None, value: float, alpha: float) -> float:
        return value if stored is None else alpha * value + (1.0 - alpha) * stored

    def _alpha(self, cutoff: float) -> float:
        te = 1.0 / self.frequency
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def apply(self, t: float, value: float, value_scale: float = 1.0) -> float:
        if self.last_time is not None and self.last_time >= t:
            return value
        if self.last_time is not None:
            self.frequency = 1.0 / (t - self.last_time)
        self.last_time = t
        dvalue = 0.0 if self.raw is None else (value - self.raw) * value_scale * self.frequency
        self.dx_hat = self._low_pass(self.dx_hat, dvalue, self._alpha(self.d_cutoff))
        cutoff = self.min_cutoff + self.beta * abs(self.dx_hat)
        self.raw = value
        self.x_hat = self._low_pass(self.x_hat, value, self._alpha(cutoff))
        return self.x_hat


def reference(x: np.ndarray, t: np.ndarray, min_cutoff: float, beta: float, d_cutoff: float,
              scale: np.ndarray | None = None) -> np.ndarray:
    flat = x.reshape(len(t), -1).astype(np.float64)
    out = np.empty_like(flat)
    scale = np.ones(len(t)) if scale is None else scale
    for j in range(flat.shape[1]):
        f = MediaPipeOneEuro(min_cutoff, beta, d_cutoff)
        for i in range(len(t)):
            out[i, j] = f.apply(float(t[i]), float(flat[i, j]), float(scale[i]))
    return out.reshape(x.shape)


def test_defaults_are_mediapipe_face_smoothing() -> None:
    assert (MIN_CUTOFF, BETA, D_CUTOFF) == (0.05, 80.0, 1.0)


@SETTINGS
@given(frames=st.integers(1, 25), d=st.integers(1, 6), min_cutoff=st.floats(0.01, 5.0), beta=st.floats(0.0, 100.0),
       d_cutoff=st.floats(0.1, 5.0), seed=st.integers(0, 2**32 - 1))
def test_offline_and_streaming_match_mediapipe(frames: int, d: int, min_cutoff: float, beta: float,
                                               d_cutoff: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.005, 0.05, frames))
    x = np.cumsum(rng.normal(scale=0.1, size=(frames, d)), axis=0).astype(np.float32)
    want = reference(x, t, min_cutoff, beta, d_cutoff)
    got = one_euro(x, t, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)
    f = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
    stream = np.stack([f.step(x[i], t[i]) for i in range(frames)])
    np.testing.assert_array_equal(stream, got)  # bit-identical


def test_landmark_stream_with_per_frame_scale() -> None:
    rng = np.random.default_rng(1)
    frames, n = small(60, 6), small(478, 5)
    t = np.arange(frames) / 30.0
    x = (rng.normal(size=(frames, n, 3)).cumsum(axis=0) + 300).astype(np.float32)
    scale = 1.0 / rng.uniform(150, 250, frames)
    want = reference(x, t, MIN_CUTOFF, BETA, D_CUTOFF, scale)
    got = one_euro(x, t, value_scale=scale)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL)
    f = OneEuroFilter()
    stream = np.stack([f.step(x[i], t[i], value_scale=scale[i]) for i in range(frames)])
    np.testing.assert_array_equal(stream, got)


def test_non_increasing_timestamps_pass_through_without_touching_state() -> None:
    t = np.array([0.0, 0.1, 0.1, 0.05, 0.2])
    x = np.array([[0.0], [1.0], [5.0], [7.0], [2.0]], np.float32)
    got = one_euro(x, t, min_cutoff=1.0, beta=0.5)
    np.testing.assert_allclose(got, reference(x, t, 1.0, 0.5, 1.0), rtol=RTOL)
    assert got[2, 0] == 5.0 and got[3, 0] == 7.0
    without = one_euro(x[[0, 1, 4]], t[[0, 1, 4]], min_cutoff=1.0, beta=0.5)
    np.testing.assert_array_equal(got[[0, 1, 4]], without)


def test_constant_input_is_a_fixed_point_and_first_sample_passes() -> None:
    x = np.full((10, 4), 3.25, np.float32)
    np.testing.assert_array_equal(one_euro(x, np.arange(10) * 0.03), x)
    f = OneEuroFilter()
    np.testing.assert_array_equal(f.step([1.0, 2.0], 0.0), [1.0, 2.0])


def test_reset_restarts_the_stream() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    f.step(np.zeros(3), 0.0)
    assert f.step(np.ones(3), 0.1)[0] < 1.0
    f.reset()
    np.testing.assert_array_equal(f.step(np.full(3, 9.0), 0.2), 9.0)
    f.reset()
    np.testing.assert_array_equal(f.step(np.zeros(5), 0.3), 0.0)  # a new shape is fine after reset


def test_nan_raises_and_leaves_the_state_unchanged() -> None:
    x = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    t = np.arange(6) * 0.03
    with pytest.raises(InputError, match="NaN or inf"):
        one_euro(np.where(np.arange(6)[:, None] == 3, np.nan, x), t)
    f = OneEuroFilter()
    for i in range(3):
        f.step(x[i], t[i])
    with pytest.raises(InputError, match="NaN or inf"):
        f.step([np.nan, 0.0, 0.0], 0.1)
    rest = [f.step(x[i], t[i]) for i in range(3, 6)]
    np.testing.assert_array_equal(np.stack(rest), one_euro(x, t)[3:])


def test_bad_input_errors() -> None:
    with pytest.raises(InputError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0.0)
    with pytest.raises(InputError, match="beta"):
        one_euro(np.zeros((3, 2)), np.arange(3.0), beta=-1.0)
    with pytest.raises(InputError, match=r"t must have shape \(3\)"):
        one_euro(np.zeros((3, 2)), np.arange(4.0))
    with pytest.raises(InputError, match="NaN or inf"):
        one_euro(np.zeros((3, 2)), [0.0, np.nan, 1.0])
    with pytest.raises(InputError, match="value_scale"):
        one_euro(np.zeros((3, 2)), np.arange(3.0), value_scale=0.0)
    f = OneEuroFilter()
    f.step(np.zeros(3), 0.0)
    with pytest.raises(InputError, match="call reset"):
        f.step(np.zeros(4), 0.1)
    with pytest.raises(InputError, match="t must be finite"):
        f.step(np.zeros(3), float("nan"))
    with pytest.raises(TypeError, match="real number"):
        f.step(np.zeros(3), "0.2")
    with pytest.raises(TypeError, match="numeric"):
        f.step(["a", "b", "c"], 0.2)


def test_step_many_equals_steps_and_carries_state() -> None:
    from talkies.kernels.filters import OneEuroFilter

    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 7)).astype(np.float32)
    t = np.arange(40) / 100.0
    one = OneEuroFilter(min_cutoff=2.0, beta=0.5, d_cutoff=1.0)
    expected = np.stack([one.step(x[k], float(t[k])) for k in range(40)])
    blocks = OneEuroFilter(min_cutoff=2.0, beta=0.5, d_cutoff=1.0)
    got = np.concatenate([blocks.step_many(x[:13], t[:13]), blocks.step_many(x[13:], t[13:])])
    np.testing.assert_array_equal(got, expected)
