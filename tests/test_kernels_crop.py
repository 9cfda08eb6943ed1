"""Rotated ROI crop vs a NumPy reference built independently from the ROI geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from talkies.errors import InputError
from talkies.kernels import crop, roi_matrix, transform_points

from talkies.tests.helpers.kernels import SETTINGS, bilinear_ref, random_image, small

#: float32 arithmetic on 0-255 values, normalised: about 1e-6 of the range per tap.
ATOL = 2e-5


def roi_matrix_ref(cx: float, cy: float, w: float, h: float, rot: float, ow: int, oh: int) -> np.ndarray:
    """Compose: crop pixel -> box-local (centred, scaled) -> rotate -> translate to the centre."""
    to_local = np.array([[w / ow, 0, -w / 2 + 0.5 * w / ow], [0, h / oh, -h / 2 + 0.5 * h / oh], [0, 0, 1]])
    c, s = math.cos(rot), math.sin(rot)
    rotate = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    shift = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    return (shift @ rotate @ to_local)[:2]


def crop_ref(image: np.ndarray, m: np.ndarray, ow: int, oh: int, lo: float, hi: float,
             border: float | None) -> np.ndarray:
    """``border=None`` replicates the edge pixels."""
    vs, us = np.mgrid[0:oh, 0:ow].astype(np.float64)
    x = m[0, 0] * us + m[0, 1] * vs + m[0, 2]
    y = m[1, 0] * us + m[1, 1] * vs + m[1, 2]
    full = 255.0 if image.dtype == np.uint8 else 1.0
    return bilinear_ref(image, x, y, border) / full * (hi - lo) + lo


@SETTINGS
@given(h=st.integers(1, 40), w=st.integers(1, 40), c=st.sampled_from([1, 3, 4]), ow=st.integers(1, 24),
       oh=st.integers(1, 24), cx=st.floats(-10, 50), cy=st.floats(-10, 50), bw=st.floats(0.5, 60),
       bh=st.floats(0.5, 60), rot=st.floats(-4, 4), as_float=st.booleans(),
       border=st.sampled_from([0.0, 0.5, None]), seed=st.integers(0, 2**32 - 1))
# a denormal rotation: the row's source y barely changes along x, and its range divides by ~1e-313
@example(h=1, w=1, c=1, ow=1, oh=1, cx=0.0, cy=-1.0, bw=1.0, bh=1.0, rot=2.2250738585e-313, as_float=False,
         border=0.0, seed=0)
@example(h=1, w=1, c=1, ow=1, oh=1, cx=0.0, cy=0.0, bw=1.0, bh=1.0, rot=2.2250738585e-313, as_float=False,
         border=0.0, seed=0)
def test_crop_matches_reference(h: int, w: int, c: int, ow: int, oh: int, cx: float, cy: float, bw: float,
                                bh: float, rot: float, as_float: bool, border: float | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = random_image(rng, h, w, c, np.float32 if as_float else np.uint8)
    mode = {"border_mode": "replicate"} if border is None else {"border": border}
    got, m = crop(image, (cx, cy), (bw, bh), rotation=rot, out_size=(ow, oh), value_range=(-1.0, 1.0), **mode)
    want_m = roi_matrix_ref(cx, cy, bw, bh, rot, ow, oh)
    np.testing.assert_allclose(m, want_m, atol=1e-9)
    assert got.dtype == np.float32 and got.shape == (oh, ow, c)
    np.testing.assert_allclose(got, crop_ref(image, want_m, ow, oh, -1.0, 1.0, border), atol=ATOL)


def test_face_crop_to_256() -> None:
    rng = np.random.default_rng(1)
    n = small(256, 16)
    image = random_image(rng, small(720, 60), small(1280, 80), 3)
    cx, cy, size = small(640, 40), small(360, 30), small(400, 30)
    got, m = crop(image, (cx + 0.3, cy - 0.2), (size, size), rotation=0.3, out_size=(n, n))
    np.testing.assert_allclose(got, crop_ref(image, m, n, n, 0.0, 1.0, 0.0), atol=ATOL)


def test_unrotated_unscaled_crop_is_the_image_itself() -> None:
    rng = np.random.default_rng(2)
    image = random_image(rng, 9, 11, 3)
    got, m = crop(image, (5.0, 4.0), (11, 9), out_size=(11, 9), value_range=(0.0, 255.0))
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    np.testing.assert_allclose(got, image, atol=1e-4)


def test_crop_edges_land_on_the_rotated_box_corners() -> None:
    m = roi_matrix((100.0, 50.0), (40.0, 20.0), math.pi / 2, (8, 4))
    corners = transform_points(np.array([[-0.5, -0.5], [7.5, -0.5], [7.5, 3.5]]), m)
    # Rotated 90°: the box's x axis points down the image, its y axis points left.
    np.testing.assert_allclose(corners, [[110, 30], [110, 70], [90, 70]], atol=1e-4)


def test_pixels_outside_the_image_read_the_border() -> None:
    image = np.full((4, 4, 3), 255, np.uint8)
    got, _ = crop(image, (100.0, 100.0), (10, 10), out_size=(5, 5), value_range=(-1.0, 1.0))
    np.testing.assert_array_equal(got, -1.0)
    got, _ = crop(image, (100.0, 100.0), (10, 10), out_size=(5, 5), border=51.0)
    np.testing.assert_allclose(got, 0.2, atol=1e-6)
    image[-1, -1] = 0  # the corner pixel is the nearest edge pixel of everything far down-right
    got, _ = crop(image, (100.0, 100.0), (10, 10), out_size=(5, 5), border_mode="replicate")
    np.testing.assert_array_equal(got, 0.0)


def test_transform_points_round_trip_keeps_extra_columns() -> None:
    rng = np.random.default_rng(3)
    m = roi_matrix((320.0, 240.0), (200.0, 200.0), 0.4, (256, 256))
    pts = np.column_stack([rng.uniform(0, 256, (20, 2)), rng.normal(size=20)]).astype(np.float32)
    img_pts = transform_points(pts, m)
    np.testing.assert_array_equal(img_pts[:, 2], pts[:, 2])
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    np.testing.assert_allclose(transform_points(img_pts, inv), pts, atol=1e-3)


def test_out_buffer_view_of_a_batch() -> None:
    rng = np.random.default_rng(4)
    image = random_image(rng, 30, 30, 3)
    batch = np.zeros((2, 8, 8, 3), np.float32)
    got, _ = crop(image, (15.0, 15.0), (20, 20), out_size=(8, 8), out=batch[1])
    assert got is batch[1] or np.shares_memory(got, batch)
    np.testing.assert_array_equal(batch[1], crop(image, (15.0, 15.0), (20, 20), out_size=(8, 8))[0])


def test_crop_bad_input() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match="NaN or inf"):
        crop(image, (np.nan, 1.0), (4, 4))
    with pytest.raises(InputError, match="NaN or inf"):
        crop(np.full((8, 8, 3), np.inf, np.float32), (4, 4), (4, 4))
    with pytest.raises(InputError, match="size must be positive"):
        crop(image, (4, 4), (0, 4))
    with pytest.raises(InputError, match="rotation must be finite"):
        crop(image, (4, 4), (4, 4), rotation=float("inf"))
    with pytest.raises(TypeError, match="out_size"):
        crop(image, (4, 4), (4, 4), out_size=(8.0, 8))
    with pytest.raises(InputError, match="out_size must be positive"):
        crop(image, (4, 4), (4, 4), out_size=(0, 8))
    with pytest.raises(TypeError, match="dtype float32"):
        crop(image, (4, 4), (4, 4), out_size=(2, 2), out=np.zeros((2, 2, 3)))
    with pytest.raises(InputError, match="shape"):
        crop(image, (4, 4), (4, 4), out_size=(2, 2), out=np.zeros((2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="real number"):
        crop(image, (4, 4), (4, 4), rotation="0.5")
    with pytest.raises(InputError, match="border_mode"):
        crop(image, (4, 4), (4, 4), border_mode="wrap")
