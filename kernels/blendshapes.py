"""Blend-shape evaluation: ``V = base + Σ_k w_k · Δ_k`` for one frame or a batch of frames.

Deltas are dense (K×N×D) or sparse (:class:`SparseDeltas`, CSR by shape: each shape lists the vertices
it moves). Per-frame callers build a :class:`BlendshapeRig` once, so the big delta arrays are checked
and converted once rather than on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import all_finite, as_f32, as_f32_unchecked, as_index, check_no_alias, check_out
from .config import jit


@dataclass(frozen=True, eq=False)
class SparseDeltas:
    """Per-shape sparse vertex deltas in CSR layout (rows are shapes).

    Shape ``k`` moves vertices ``indices[indptr[k]:indptr[k+1]]`` by the matching rows of ``values``.

    Attributes:
        indptr: (K+1,) int64, non-decreasing, ``indptr[0] == 0`` and ``indptr[-1] == nnz``.
        indices: (nnz,) int64 vertex indices in ``[0, n_vertices)``.
        values: (nnz, D) float32 delta rows.
        n_vertices: number of vertices N of the mesh the deltas apply to.
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    n_vertices: int

    def __post_init__(self) -> None:
        # Validate once here; the kernel trusts these arrays (no bounds checks in the hot loop).
        if isinstance(self.n_vertices, bool) or not isinstance(self.n_vertices, (int, np.integer)):
            raise TypeError(f"n_vertices must be an int, got {type(self.n_vertices).__name__}")
        if self.n_vertices < 1:
            raise InputError(f"n_vertices must be >= 1, got {self.n_vertices}")
        indptr = as_index(self.indptr, "indptr", (None,), np.iinfo(np.int64).max)
        values = as_f32(self.values, "values", (None, None))
        nnz = values.shape[0]
        indices = as_index(self.indices, "indices", (nnz,), int(self.n_vertices))
        if indptr.size < 2 or indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
            raise InputError(
                f"indptr must be non-decreasing from 0 to nnz={nnz} with one entry per shape plus one; "
                f"got {indptr.size} entries from {indptr[:1]} to {indptr[-1:]}")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "n_vertices", int(self.n_vertices))

    @property
    def n_shapes(self) -> int:
        return self.indptr.size - 1

    @property
    def n_dims(self) -> int:
        return self.values.shape[1]

    @classmethod
    def from_dense(cls, deltas: Any, tol: float = 0.0) -> SparseDeltas:
        """Keep, per shape, the vertices whose delta has any component with ``|Δ| > tol``."""
        dense = as_f32(deltas, "deltas", (None, None, None))
        keep = np.abs(dense).max(axis=2) > tol  # K×N
        counts = keep.sum(axis=1)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        shape_idx, vertex_idx = np.nonzero(keep)  # row-major, so grouped by shape in order
        return cls(indptr, vertex_idx.astype(np.int64), dense[shape_idx, vertex_idx], dense.shape[1])

    def to_dense(self) -> np.ndarray:
        """The K×N×D dense equivalent (duplicate vertex entries add up, as in the kernel)."""
        dense = np.zeros((self.n_shapes, self.n_vertices, self.n_dims), np.float32)
        shape_idx = np.repeat(np.arange(self.n_shapes), np.diff(self.indptr))
        np.add.at(dense, (shape_idx, self.indices), self.values)
        return dense


@jit
def _blend_dense(base: np.ndarray, deltas: np.ndarray, weights: np.ndarray, out: np.ndarray) -> bool:
    """base (L,), deltas (K, L), weights (T, K), out (T, L) with L = N·D flattened.

    Returns False, writing nothing, if a weight is NaN or inf.
    """
    if not all_finite(weights.reshape(-1)):
        return False
    n_frames, n_shapes = weights.shape
    length = base.shape[0]
    for t in range(n_frames):
        row = out[t]
        for j in range(length):  # explicit loops compile faster than slice assignment
            row[j] = base[j]
        # Shape-outer order streams each delta row once per frame and keeps `row` in L1; the inner loop
        # is a contiguous axpy that LLVM vectorises.
        for k in range(n_shapes):
            w = weights[t, k]
            if w == 0.0:  # inactive shapes are common (closed eyes, neutral brows): skip them
                continue
            d = deltas[k]
            for j in range(length):
                row[j] += w * d[j]
    return True


@jit
def _blend_sparse(base: np.ndarray, n_dims: int, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray,
                  weights: np.ndarray, out: np.ndarray) -> bool:
    """base (N·D,), CSR deltas by shape with values (nnz·D,), weights (T, K), out (T, N·D); flat arrays
    and unsigned offsets keep the scattered updates free of index fix-ups."""
    if not all_finite(weights.reshape(-1)):
        return False
    n_frames, n_shapes = weights.shape
    dims = np.uint64(n_dims)
    for t in range(n_frames):
        frame = out[t]
        for j in range(base.shape[0]):
            frame[j] = base[j]
        for k in range(n_shapes):
            w = weights[t, k]
            if w == 0.0:
                continue
            for p in range(indptr[k], indptr[k + 1]):
                dst = np.uint64(indices[p]) * dims
                src = np.uint64(p) * dims
                for c in range(n_dims):
                    frame[dst + np.uint64(c)] += w * values[src + np.uint64(c)]
    return True


class BlendshapeRig:
    """A base mesh and its blend-shape deltas, validated once, evaluated per frame.

    Args:
        base: (N, D) neutral vertex positions (D is 3 for meshes, 2 for image landmarks).
        deltas: (K, N, D) dense deltas, or :class:`SparseDeltas` with ``n_vertices == N``.

    Example:
        >>> rig = BlendshapeRig(base, deltas)      # once
        >>> verts = rig.apply(weights)             # per frame: (K,) -> (N, D)
        >>> clip = rig.apply(weights_t)            # a clip: (T, K) -> (T, N, D)
    """

    def __init__(self, base: Any, deltas: Any | SparseDeltas) -> None:
        self.base = as_f32(base, "base", (None, None))
        n_vertices, n_dims = self.base.shape
        if isinstance(deltas, SparseDeltas):
            if deltas.n_vertices != n_vertices or deltas.n_dims != n_dims:
                raise InputError(
                    f"sparse deltas are for {deltas.n_vertices} vertices × {deltas.n_dims} dims, "
                    f"but base is {n_vertices} × {n_dims}")
            self.deltas: np.ndarray | SparseDeltas = deltas
            self.n_shapes = deltas.n_shapes
        else:
            dense = as_f32(deltas, "deltas", (None, n_vertices, n_dims))
            # Flatten to K×(N·D) so the kernel's inner loop is one long contiguous axpy.
            self.deltas = dense.reshape(dense.shape[0], n_vertices * n_dims)
            self.n_shapes = dense.shape[0]
        if self.n_shapes < 1:
            raise InputError("deltas must hold at least one shape")
        # Flat views, made once: per-frame calls then pay for no reshapes.
        self._flat_base = self.base.reshape(-1)
        if isinstance(self.deltas, SparseDeltas):
            self._flat_values = self.deltas.values.reshape(-1)

    @property
    def n_vertices(self) -> int:
        return self.base.shape[0]

    def apply(self, weights: Any, *, out: np.ndarray | None = None) -> np.ndarray:
        """Blend one frame (weights (K,) -> (N, D)) or a batch ((T, K) -> (T, N, D)), float32.

        ``out``, when given, must be a C-contiguous float32 array of the result's shape; it is
        filled and returned (no allocation, handy in a render loop).
        """
        w = as_f32_unchecked(weights, "weights")  # the kernel checks finiteness in its first pass
        if w.ndim not in (1, 2) or w.shape[-1] != self.n_shapes:
            raise InputError(f"weights must have {self.n_shapes} values per frame (one per shape), "
                             f"got shape {w.shape}")
        single = w.ndim == 1
        w2 = w.reshape(-1, self.n_shapes)
        shape = self.base.shape if single else (w2.shape[0], *self.base.shape)
        if out is None:
            out = np.empty(shape, np.float32)
        else:
            check_out(out, "out", shape, np.float32)
            check_no_alias(out, "out", self.base, w2)
        flat_out = out.reshape(w2.shape[0], -1)
        if isinstance(self.deltas, SparseDeltas):
            d = self.deltas
            ok = _blend_sparse(self._flat_base, self.base.shape[1], d.indptr, d.indices, self._flat_values, w2,
                               flat_out)
        else:
            ok = _blend_dense(self._flat_base, self.deltas, w2, flat_out)
        if not ok:
            raise InputError("weights contains NaN or inf; clean or mask the input first")
        return out


def blend(base: Any, deltas: Any | SparseDeltas, weights: Any, *, out: np.ndarray | None = None) -> np.ndarray:
    """One-off ``base + Σ w_k Δ_k``; see :class:`BlendshapeRig` (build it once for per-frame use)."""
    return BlendshapeRig(base, deltas).apply(weights, out=out)


__all__ = ["BlendshapeRig", "SparseDeltas", "blend"]
