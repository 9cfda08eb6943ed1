"""Bounded least squares for blend-shape weights, solved per frame.

Minimises ``Σ_m w_m (B x - t)_m² + Σ_k λ_k (x_k - p_k)²`` subject to ``lower ≤ x ≤ upper``
(by default 0 ≤ x ≤ 1) for a fixed basis ``B`` (M×K, e.g. 1434×52) and a new target ``t`` each frame.

Everything that does not depend on the target (the Gram matrix ``BᵀWB + diag(λ)``, the weighted
basis) is precomputed once in :class:`BoundedSolver`. Each frame then costs one K×M product for the
right-hand side plus a few K×K projected-Newton iterations (Bertsekas 1982: Newton on the free
variables, scaled gradient on the ε-active ones, Armijo search along the projection arc). Warm-started
from the previous frame's weights, the active set is usually right at once, so a frame takes one or two
iterations and the result is exact to the tolerance, not an early-stopped gradient iterate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import all_finite, as_f32, as_f32_unchecked, as_scalar, check_shape
from .config import jit

#: Width of the ε-active set: variables this close to a bound, with the gradient pushing outwards,
#: are treated as fixed for the Newton step (shrinks to the stationarity measure near the solution).
_EPS_ACTIVE = 1e-3
#: Armijo sufficient-decrease constant and the number of step halvings before falling back.
_SIGMA = 1e-4
_MAX_HALVINGS = 30


@jit
def _rhs(bw: np.ndarray, target: np.ndarray, lam_prior: np.ndarray, c: np.ndarray) -> None:
    """c = (BᵀW) t + λ·p, accumulated in float64 (the products stay exact enough in float32)."""
    n_params, n_points = bw.shape
    for k in range(n_params):
        row = bw[k]
        s = 0.0
        for m in range(n_points):
            s += row[m] * target[m]
        c[k] = s + lam_prior[k]


@jit
def _matvec(a: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    n = x.size
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += a[i, j] * x[j]
        out[i] = s


@jit
def _chol_factor(gram: np.ndarray, free: np.ndarray, nf: int, u: np.ndarray, pivot_floor: float) -> None:
    """Cholesky factor U (upper, UᵀU = gram[free][:, free]) into u[:nf, :nf].

    Right-looking and row-oriented: every inner loop is a contiguous axpy, which vectorises; the
    textbook dot-product form spends its time on loop overhead at these sizes (about 3× slower).
    A pivot below ``pivot_floor`` (a rank-deficient basis with no L2 term) is raised to it: the step
    along that null direction is then huge but harmless, the projection and line search tame it.
    """
    for i in range(nf):
        gi = free[i]
        for j in range(i, nf):
            u[i, j] = gram[gi, free[j]]
    for k in range(nf):
        row_k = u[k]  # 1-D row views: simpler indexing that LLVM vectorises (2-D indexing: 1.7× slower)
        d = row_k[k]
        d = np.sqrt(d if d > pivot_floor else pivot_floor)
        row_k[k] = d
        inv = 1.0 / d
        for j in range(k + 1, nf):
            row_k[j] *= inv
        for i in range(k + 1, nf):
            a = row_k[i]
            dst = u[i, i:nf]
            src = row_k[i:nf]
            for j in range(nf - i):
                dst[j] -= a * src[j]


@jit
def _chol_solve(u: np.ndarray, nf: int, rhs: np.ndarray) -> None:
    """Solve UᵀU y = rhs[:nf] in place (both sweeps walk rows of U)."""
    for i in range(nf):
        row = u[i]
        y = rhs[i] / row[i]
        rhs[i] = y
        for j in range(i + 1, nf):
            rhs[j] -= row[j] * y
    for i in range(nf - 1, -1, -1):
        row = u[i]
        s = rhs[i]
        for p in range(i + 1, nf):
            s -= row[p] * rhs[p]
        rhs[i] = s / row[i]


@jit
def _clip(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else (hi if v > hi else v)


@jit
def _box_qp(gram: np.ndarray, c: np.ndarray, bounds: np.ndarray, dinv: np.ndarray, inv_lip: float,
            pivot_floor: float, x: np.ndarray, max_iter: int, tol: float) -> int:
    """min ½xᵀGx - cᵀx on the box; ``x`` holds the (clipped) start and receives the solution.

    ``bounds`` is (2, K): lower and upper. ``dinv`` = 1/diag(G) scales the stationarity measure to
    weight units and the steps of active variables. Returns the number of iterations used.
    """
    n = x.size
    lo = bounds[0]
    hi = bounds[1]
    gx = np.empty(n)
    g = np.empty(n)
    d = np.empty(n)
    s = np.empty(n)
    gs = np.empty(n)
    xn = np.empty(n)
    rhs = np.empty(n)
    free = np.empty(n, np.int64)
    factored = np.empty(n, np.int64)  # the free set `chol` was factored for (often reused)
    n_factored = -1
    chol = np.empty((n, n))
    _matvec(gram, x, gx)
    for it in range(max_iter):
        # Stationarity: how far one diagonally scaled projected-gradient step would move x.
        pg = 0.0
        for i in range(n):
            g[i] = gx[i] - c[i]
            step = abs(_clip(x[i] - g[i] * dinv[i], lo[i], hi[i]) - x[i])
            pg = step if step > pg else pg
        if pg <= tol:
            return it
        eps = _EPS_ACTIVE if pg > _EPS_ACTIVE else pg
        nf = 0
        for i in range(n):
            at_lo = x[i] <= lo[i] + eps and g[i] > 0.0
            at_hi = x[i] >= hi[i] - eps and g[i] < 0.0
            if at_lo or at_hi:
                d[i] = -g[i] * dinv[i]
            else:
                free[nf] = i
                rhs[nf] = -g[i]
                nf += 1
        if nf > 0:
            same = nf == n_factored
            for q in range(nf if same else 0):
                if free[q] != factored[q]:
                    same = False
                    break
            if not same:
                _chol_factor(gram, free, nf, chol, pivot_floor)
                factored[:nf] = free[:nf]
                n_factored = nf
            _chol_solve(chol, nf, rhs)
            for q in range(nf):
                d[free[q]] = rhs[q]
        # Armijo along the projection arc x(α) = P[x + α d]. The decrease is computed as
        # f(x+s) - f(x) = gᵀs + ½ sᵀGs, which stays accurate when the change is tiny.
        alpha = 1.0
        accepted = False
        for _ in range(_MAX_HALVINGS):
            for i in range(n):
                xn[i] = _clip(x[i] + alpha * d[i], lo[i], hi[i])
                s[i] = xn[i] - x[i]
            _matvec(gram, s, gs)
            lin = 0.0
            quad = 0.0
            for i in range(n):
                lin += g[i] * s[i]
                quad += s[i] * gs[i]
            change = lin + 0.5 * quad
            if change <= 0.0 and change <= _SIGMA * lin:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            # Safeguard: a projected-gradient step of length 1/L never increases a convex quadratic.
            for i in range(n):
                xn[i] = _clip(x[i] - g[i] * inv_lip, lo[i], hi[i])
                s[i] = xn[i] - x[i]
            _matvec(gram, s, gs)
            change = 0.0
            for i in range(n):
                change += s[i] * (g[i] + 0.5 * gs[i])
            if change >= 0.0:  # no progress left at float64 precision
                return it + 1
        for i in range(n):
            x[i] = xn[i]
            gx[i] += gs[i]
    return max_iter


@jit
def _solve_frames(bw: np.ndarray, targets: np.ndarray, lam_prior: np.ndarray, gram: np.ndarray,
                  bounds: np.ndarray, dinv: np.ndarray, inv_lip: float, pivot_floor: float, x: np.ndarray,
                  out: np.ndarray, max_iter: int, tol: float) -> int:
    """Solve each row of ``targets`` in turn, warm-starting from the previous solution (in ``x``).

    Returns the total iteration count, or -1 (nothing solved) if ``targets`` or ``x`` is not finite.
    """
    if not (all_finite(targets.reshape(-1)) and all_finite(x)):
        return -1
    for k in range(x.size):
        x[k] = _clip(x[k], bounds[0, k], bounds[1, k])
    c = np.empty(x.size)
    total = 0
    for t in range(targets.shape[0]):
        _rhs(bw, targets[t], lam_prior, c)
        total += _box_qp(gram, c, bounds, dinv, inv_lip, pivot_floor, x, max_iter, tol)
        for k in range(x.size):
            out[t, k] = x[k]
    return total


def _per_param(value: Any, name: str, n: int) -> np.ndarray:
    """A scalar or a (K,) array, broadcast to (K,) float64."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(n, float(as_scalar(value, name)))
    else:
        arr = as_f32(value, name, (n,)).astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{name} must be finite")
    return arr


class BoundedSolver:
    """Per-frame bounded least squares with a fixed basis, precomputed once.

    Args:
        basis: (M, K) basis B; column k is shape k's flattened delta (e.g. 478·3 = 1434 rows, 52 columns).
        point_weights: (M,) non-negative weights w_m per target coordinate (default all 1).
        l2: λ ≥ 0, scalar or (K,): pulls x towards ``prior`` and regularises correlated shapes.
        prior: (K,) the L2 pull target p (default 0: a plain ridge ``λ‖x‖²``).
        lower, upper: bounds, scalars or (K,) (default 0 and 1, the ARKit weight range).
        max_iter: projected-Newton iteration cap per frame (warm starts need 1-3).
        tol: stop when a scaled projected-gradient step moves no weight by more than this.

    Example:
        >>> solver = BoundedSolver(basis, l2=1e-3)      # once
        >>> w = solver.solve(target, x0=w)              # per frame, warm-started
    """

    def __init__(self, basis: Any, *, point_weights: Any = None, l2: Any = 0.0, prior: Any = None,
                 lower: Any = 0.0, upper: Any = 1.0, max_iter: int = 100, tol: float = 1e-6) -> None:
        b = as_f32(basis, "basis", (None, None)).astype(np.float64)
        n_points, n_params = b.shape
        if n_points < 1 or n_params < 1:
            raise InputError(f"basis must be non-empty, got shape {b.shape}")
        w = np.ones(n_points) if point_weights is None else \
            as_f32(point_weights, "point_weights", (n_points,)).astype(np.float64)
        if (w < 0).any():
            raise InputError("point_weights must be >= 0")
        lam = _per_param(l2, "l2", n_params)
        if (lam < 0).any():
            raise InputError("l2 must be >= 0")
        lower_arr = _per_param(lower, "lower", n_params)
        upper_arr = _per_param(upper, "upper", n_params)
        if (lower_arr > upper_arr).any():
            raise InputError("lower must be <= upper for every parameter")
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
            raise TypeError(f"max_iter must be an int, got {type(max_iter).__name__}")
        if max_iter < 1:
            raise InputError(f"max_iter must be >= 1, got {max_iter}")
        self.tol = as_scalar(tol, "tol", low=0.0)
        self.max_iter = int(max_iter)
        self.n_points = n_points
        self.n_params = n_params
        self._lam = lam
        self._prior = np.zeros(n_params) if prior is None else self._check_prior(prior)
        self._lam_prior = lam * self._prior
        bw = b * w[:, None]
        gram = b.T @ bw + np.diag(lam)
        # float32 for the per-frame K×M product: half the memory traffic, accumulated in float64.
        self._bw = np.ascontiguousarray(bw.T, dtype=np.float32)
        self._gram = np.ascontiguousarray(gram)
        self._bounds = np.ascontiguousarray(np.stack([lower_arr, upper_arr]))
        diag = np.diag(gram).copy()
        scale = max(float(diag.max()), 1e-300)
        self._pivot_floor = 1e-12 * scale
        self._dinv = 1.0 / np.maximum(diag, self._pivot_floor)
        self._inv_lip = 1.0 / max(float(np.linalg.eigvalsh(gram)[-1]), self._pivot_floor)
        #: Projected-Newton iterations of the last call, summed over frames for solve_many (diagnostics).
        self.iterations = 0

    def _check_prior(self, prior: Any) -> np.ndarray:
        return as_f32(prior, "prior", (self.n_params,)).astype(np.float64)

    def solve(self, target: Any, x0: Any = None, *, prior: Any = None) -> np.ndarray:
        """Weights (K,) float32 for one target (M,), warm-started from ``x0`` (previous frame) if given.

        ``prior`` overrides the constructor's prior for this call (e.g. a temporal prior).
        """
        t = as_f32_unchecked(target, "target")  # the kernel checks finiteness
        check_shape(t, "target", (self.n_points,))
        return self._run(t.reshape(1, -1), x0, prior)[0]

    def solve_many(self, targets: Any, x0: Any = None, *, prior: Any = None) -> np.ndarray:
        """Weights (T, K) for targets (T, M); frame t warm-starts from frame t-1's solution."""
        t = as_f32_unchecked(targets, "targets")
        check_shape(t, "targets", (None, self.n_points))
        return self._run(t, x0, prior)

    def _run(self, targets: np.ndarray, x0: Any, prior: Any) -> np.ndarray:
        p = self._prior if prior is None else self._check_prior(prior)
        lam_prior = self._lam_prior if prior is None else self._lam * p
        # Cold start from the prior (0 by default): the natural guess before any frame is seen. The
        # kernel clips the start into the box and writes the solution into this float64 copy.
        start = p if x0 is None else as_f32_unchecked(x0, "x0")
        check_shape(start, "x0", (self.n_params,))
        x = np.array(start, np.float64)
        out = np.empty((targets.shape[0], self.n_params), np.float32)
        its = _solve_frames(self._bw, targets, lam_prior, self._gram, self._bounds, self._dinv, self._inv_lip,
                            self._pivot_floor, x, out, self.max_iter, self.tol)
        if its < 0:
            raise InputError("target or x0 contains NaN or inf; clean or mask the input first")
        self.iterations = int(its)
        return out


def solve_bounded(basis: Any, target: Any, **options: Any) -> np.ndarray:
    """One-off solve; ``options`` are :class:`BoundedSolver`'s. Build the solver once for video."""
    return BoundedSolver(basis, **options).solve(target)


__all__ = ["BoundedSolver", "solve_bounded"]
