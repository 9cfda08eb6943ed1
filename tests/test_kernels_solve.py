"""Bounded least squares vs exact references: brute-force face enumeration and scipy's BVLS."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

from talkies.errors import InputError
from talkies.kernels import BoundedSolver, solve_bounded

from talkies.tests.helpers.kernels import SETTINGS, small

#: Agreement with the exact optimum. The solver works in float64 but the basis and target are
#: float32, so weights agree to about 1e-5 for well-conditioned problems.
X_ATOL = 2e-4


def objective(b: np.ndarray, t: np.ndarray, x: np.ndarray, w: np.ndarray, lam: np.ndarray, prior: np.ndarray) -> float:
    r = b.astype(np.float64) @ x - t
    return float(np.sum(w * r * r) + np.sum(lam * (x - prior) ** 2))


def augmented(b: np.ndarray, t: np.ndarray, w: np.ndarray, lam: np.ndarray, prior: np.ndarray):
    """The same problem as one plain least squares: [√w·B; √λ·I] x ≈ [√w·t; √λ·p]."""
    sw = np.sqrt(w)[:, None]
    a = np.vstack([b.astype(np.float64) * sw, np.diag(np.sqrt(lam))])
    rhs = np.concatenate([t.astype(np.float64) * sw[:, 0], np.sqrt(lam) * prior])
    return a, rhs


def brute_force(a: np.ndarray, rhs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Exact box-constrained least squares for small K: try every (lower, upper, free) face."""
    k = a.shape[1]
    best, best_val = None, np.inf
    for face in itertools.product((0, 1, 2), repeat=k):
        x = np.where(np.array(face) == 0, lo, hi).astype(np.float64)
        free = np.array(face) == 2
        if free.any():
            x[free] = np.linalg.lstsq(a[:, free], rhs - a[:, ~free] @ x[~free], rcond=None)[0]
        if np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12):
            val = float(np.sum((a @ x - rhs) ** 2))
            if val < best_val - 1e-12:
                best, best_val = x, val
    assert best is not None
    return best


@SETTINGS
@given(k=st.integers(1, 5), m=st.integers(6, 30), seed=st.integers(0, 2**32 - 1), use_l2=st.booleans(),
       use_weights=st.booleans())
def test_small_problems_match_brute_force(k: int, m: int, seed: int, use_l2: bool, use_weights: bool) -> None:
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(m, k)).astype(np.float32)
    t = (b @ rng.uniform(-0.5, 1.5, k) + 0.1 * rng.normal(size=m)).astype(np.float32)
    w = rng.uniform(0.1, 2.0, m) if use_weights else np.ones(m)
    lam = rng.uniform(0.0, 0.5, k) if use_l2 else np.zeros(k)
    prior = rng.uniform(0, 1, k) if use_l2 else np.zeros(k)
    lo, hi = np.zeros(k), np.ones(k)
    solver = BoundedSolver(b, point_weights=w.astype(np.float32), l2=lam, prior=prior)
    got = solver.solve(t)
    want = brute_force(*augmented(b, t, w, lam, prior), lo, hi)
    assert got.dtype == np.float32 and got.shape == (k,)
    np.testing.assert_allclose(got, want, atol=X_ATOL)
    assert objective(b, t, got.astype(np.float64), w, lam, prior) <= \
        objective(b, t, want, w, lam, prior) * (1 + 1e-5) + 1e-6


def test_arkit_sized_problem_matches_scipy_bvls_cold_and_warm() -> None:
    rng = np.random.default_rng(7)
    m, k = small(1434, 120), small(52, 12)
    b = rng.normal(size=(m, k)).astype(np.float32)
    b[:, 1] = 0.9 * b[:, 0] + 0.1 * b[:, 1]  # correlated pair, like left/right shapes
    x_true = np.clip(rng.uniform(-0.4, 1.4, k), 0, 1)
    solver = BoundedSolver(b, l2=1e-3)
    lam = np.full(k, 1e-3)
    x_prev = None
    for frame in range(3):
        t = (b @ (x_true + 0.05 * frame) + 0.05 * rng.normal(size=m)).astype(np.float32)
        got = solver.solve(t, x0=x_prev)
        a, rhs = augmented(b, t, np.ones(m), lam, np.zeros(k))
        want = lsq_linear(a, rhs, bounds=(0, 1), method="bvls", tol=1e-12).x
        np.testing.assert_allclose(got, want, atol=X_ATOL)
        assert solver.iterations <= solver.max_iter
        x_prev = got
    # Warm-started from its own answer, the solver stops at once and returns the same weights.
    again = solver.solve(t, x0=got)
    assert solver.iterations <= 1
    np.testing.assert_allclose(again, got, atol=1e-6)


def test_solve_many_equals_sequential_warm_started_solves() -> None:
    rng = np.random.default_rng(8)
    b = rng.normal(size=(60, 8)).astype(np.float32)
    targets = (rng.uniform(0, 1, (5, 8)) @ b.T).astype(np.float32)
    solver = BoundedSolver(b)
    many = solver.solve_many(targets)
    x = None
    for t, row in zip(targets, many):
        x = solver.solve(t, x0=x)
        np.testing.assert_allclose(row, x, atol=1e-6)


def test_bounds_and_prior_are_respected() -> None:
    rng = np.random.default_rng(9)
    b = rng.normal(size=(40, 4)).astype(np.float32)
    t = (b @ np.array([2.0, -1.0, 0.5, 0.5])).astype(np.float32)
    got = BoundedSolver(b, lower=[0, -2, 0, 0.6], upper=[1, 0, 1, 1]).solve(t)
    assert got[0] == pytest.approx(1.0, abs=1e-6) and got[3] == pytest.approx(0.6, abs=1e-6)
    assert np.all(got >= [0, -2, 0, 0.6]) and np.all(got <= [1, 0, 1, 1])
    # A huge L2 weight pins the solution to the prior; a per-call prior overrides the default.
    strong = BoundedSolver(b, l2=1e9, prior=[0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(strong.solve(t), [0.2, 0.3, 0.4, 0.5], atol=1e-5)
    np.testing.assert_allclose(strong.solve(t, prior=[0.9, 0.1, 0.0, 1.0]), [0.9, 0.1, 0.0, 1.0], atol=1e-5)


def test_rank_deficient_basis_without_l2_reaches_the_optimum() -> None:
    # Duplicate and zero columns: the minimiser is not unique, but the objective must be optimal.
    rng = np.random.default_rng(10)
    b = rng.normal(size=(30, 5)).astype(np.float32)
    b[:, 3] = b[:, 0]
    b[:, 4] = 0.0
    t = (b @ np.array([0.3, 0.7, 0.2, 0.3, 0.0]) + 0.01 * rng.normal(size=30)).astype(np.float32)
    got = solve_bounded(b, t).astype(np.float64)
    want = lsq_linear(b.astype(np.float64), t.astype(np.float64), bounds=(0, 1), method="bvls", tol=1e-12).x
    ones, zeros = np.ones(30), np.zeros(5)
    assert objective(b, t, got, ones, zeros, zeros) <= objective(b, t, want, ones, zeros, zeros) + 1e-6
    assert np.all((got >= 0) & (got <= 1))


def test_exact_fit_inside_the_box_is_recovered() -> None:
    rng = np.random.default_rng(11)
    b = rng.normal(size=(50, 6)).astype(np.float32)
    x = np.array([0.1, 0.9, 0.5, 0.25, 0.75, 0.6])
    np.testing.assert_allclose(solve_bounded(b, b.astype(np.float64) @ x), x, atol=1e-5)


def test_bad_input_errors() -> None:
    b = np.ones((10, 3), np.float32)
    solver = BoundedSolver(b)
    with pytest.raises(InputError, match="NaN or inf"):
        solver.solve(np.full(10, np.nan))
    with pytest.raises(InputError, match=r"shape \(10\)"):
        solver.solve(np.zeros(9))
    with pytest.raises(InputError, match="x0"):
        solver.solve(np.zeros(10), x0=np.zeros(2))
    with pytest.raises(InputError, match="NaN or inf"):
        BoundedSolver(np.full((10, 3), np.inf))
    with pytest.raises(InputError, match="lower must be <= upper"):
        BoundedSolver(b, lower=1.0, upper=0.0)
    with pytest.raises(InputError, match="l2 must be >= 0"):
        BoundedSolver(b, l2=-1.0)
    with pytest.raises(InputError, match="point_weights must be >= 0"):
        BoundedSolver(b, point_weights=-np.ones(10))
    with pytest.raises(TypeError, match="max_iter"):
        BoundedSolver(b, max_iter=2.5)
    with pytest.raises(TypeError):
        BoundedSolver(b, l2="big")
