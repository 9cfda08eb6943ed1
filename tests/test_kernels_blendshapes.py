"""Blend-shape kernel vs a NumPy reference: dense, sparse, one frame, a clip, out=, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from talkies.errors import InputError
from talkies.kernels import BlendshapeRig, SparseDeltas, blend

from talkies.tests.helpers.kernels import SETTINGS, small

ATOL = 1e-4  # float32 sums of up to 52 terms of magnitude ~1


def blend_ref(base: np.ndarray, deltas: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return base.astype(np.float64) + np.einsum("...k,knd->...nd", weights.astype(np.float64),
                                               deltas.astype(np.float64))


def sparse_deltas(rng: np.random.Generator, k: int, n: int, d: int, density: float) -> np.ndarray:
    deltas = rng.normal(size=(k, n, d)).astype(np.float32)
    deltas[rng.random((k, n)) > density] = 0.0
    return deltas


@SETTINGS
@given(k=st.integers(1, 12), n=st.integers(1, 40), d=st.integers(1, 3), frames=st.integers(0, 4),
       density=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_dense_and_sparse_match_reference(k: int, n: int, d: int, frames: int, density: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, d)).astype(np.float32)
    deltas = sparse_deltas(rng, k, n, d, density)
    shape = (k,) if frames == 0 else (frames, k)
    weights = rng.uniform(-0.5, 1.5, shape).astype(np.float32)
    weights[rng.random(shape) < 0.3] = 0.0  # exercises the zero-weight skip
    want = blend_ref(base, deltas, weights)
    dense = BlendshapeRig(base, deltas).apply(weights)
    sparse = BlendshapeRig(base, SparseDeltas.from_dense(deltas)).apply(weights)
    for got in (dense, sparse):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL)


def test_arkit_sized_rig_one_frame_and_clip() -> None:
    rng = np.random.default_rng(1)
    k, n = 52, small(478, 40)
    base = rng.normal(size=(n, 3)).astype(np.float32)
    deltas = sparse_deltas(rng, k, n, 3, 0.3)
    weights = rng.random((small(20, 3), k)).astype(np.float32)
    rig = BlendshapeRig(base, deltas)
    np.testing.assert_allclose(rig.apply(weights), blend_ref(base, deltas, weights), atol=ATOL)
    np.testing.assert_allclose(rig.apply(weights[0]), blend_ref(base, deltas, weights[0]), atol=ATOL)
    assert rig.n_shapes == k and rig.n_vertices == n


def test_out_is_filled_and_returned() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=(10, 3)).astype(np.float32)
    deltas = rng.normal(size=(4, 10, 3)).astype(np.float32)
    weights = rng.random((3, 4)).astype(np.float32)
    for d in (deltas, SparseDeltas.from_dense(deltas)):
        out = np.full((3, 10, 3), np.nan, np.float32)
        res = blend(base, d, weights, out=out)
        assert res is out
        np.testing.assert_allclose(out, blend_ref(base, deltas, weights), atol=ATOL)


def test_all_zero_weights_give_the_base_exactly() -> None:
    base = np.arange(12, dtype=np.float32).reshape(4, 3)
    deltas = np.ones((2, 4, 3), np.float32)
    np.testing.assert_array_equal(blend(base, deltas, np.zeros(2)), base)
    np.testing.assert_array_equal(blend(base, SparseDeltas.from_dense(deltas), np.zeros(2)), base)


def test_sparse_round_trip_and_tolerance() -> None:
    rng = np.random.default_rng(3)
    deltas = sparse_deltas(rng, 5, 30, 3, 0.4)
    sp = SparseDeltas.from_dense(deltas)
    np.testing.assert_array_equal(sp.to_dense(), deltas)
    assert sp.indices.size == int((np.abs(deltas).max(axis=2) > 0).sum())
    tiny = deltas.copy()
    tiny[0, 0] = 1e-6
    assert SparseDeltas.from_dense(tiny, tol=1e-3).to_dense()[0, 0].tolist() == [0.0, 0.0, 0.0]


def test_sparse_duplicate_vertices_add_up() -> None:
    # Hand-built CSR may list a vertex twice in one shape; both rows apply, like np.add.at.
    sp = SparseDeltas(indptr=[0, 2], indices=[1, 1], values=[[1, 0, 0], [2, 0, 0]], n_vertices=3)
    got = blend(np.zeros((3, 3)), sp, [0.5])
    np.testing.assert_allclose(got[1], [1.5, 0, 0])
    np.testing.assert_allclose(sp.to_dense()[0, 1], [3, 0, 0])


@pytest.mark.parametrize("weights", [[np.nan, 0.0], [0.0, np.inf]])
def test_non_finite_weights_raise_input_error(weights: list[float]) -> None:
    with pytest.raises(InputError, match="NaN or inf"):
        blend(np.zeros((3, 3)), np.zeros((2, 3, 3)), weights)


def test_bad_input_errors() -> None:
    base = np.zeros((3, 3), np.float32)
    deltas = np.zeros((2, 3, 3), np.float32)
    with pytest.raises(InputError, match="2 values per frame"):
        blend(base, deltas, np.zeros(3))
    with pytest.raises(InputError, match="deltas must have shape"):
        blend(base, np.zeros((2, 4, 3)), np.zeros(2))
    with pytest.raises(InputError, match="NaN or inf"):
        BlendshapeRig(base, np.full((2, 3, 3), np.nan))
    with pytest.raises(TypeError, match="numeric"):
        blend(base, deltas, ["a", "b"])
    with pytest.raises(TypeError, match="dtype float32"):
        blend(base, deltas, np.zeros(2), out=np.zeros((3, 3)))
    with pytest.raises(InputError, match="shape"):
        blend(base, deltas, np.zeros(2), out=np.zeros((4, 3), np.float32))
    with pytest.raises(InputError, match="sparse deltas are for 4 vertices"):
        BlendshapeRig(base, SparseDeltas.from_dense(np.zeros((2, 4, 3))))
    with pytest.raises(InputError, match="indices outside"):
        SparseDeltas(indptr=[0, 1], indices=[5], values=[[1, 2, 3]], n_vertices=3)
    with pytest.raises(InputError, match="indptr"):
        SparseDeltas(indptr=[0, 2], indices=[0], values=[[1, 2, 3]], n_vertices=3)
