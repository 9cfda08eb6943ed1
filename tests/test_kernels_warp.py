"""Piecewise-affine warp, composite and mouth fill vs NumPy references, plus edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial import Delaunay

from talkies.errors import InputError
from talkies.kernels import border_anchors, composite, fill_mouth, moved_bbox, warp

from talkies.tests.helpers.kernels import SETTINGS, bilinear_ref, random_image, small, to_dtype

#: Barycentric slack and degenerate-area threshold, as documented by the kernel.
BARY_EPS = 1e-6
MIN_DET = 1e-6


def warp_ref(image: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray, eps: float = BARY_EPS,
             min_motion: float = 0.0) -> np.ndarray:
    """Brute force: every pixel tested against every moved triangle (barycentrics >= -eps)."""
    img = image if image.ndim == 3 else image[:, :, None]
    h, w = img.shape[:2]
    out = img.astype(np.float64).copy()
    ys, xs = np.mgrid[0:h, 0:w]
    px = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    moved = np.linalg.norm(dst - src, axis=1) > min_motion
    for tri in tris:
        if not moved[tri].any():
            continue
        d0, d1, d2 = dst[tri]
        t = np.array([d1 - d0, d2 - d0]).T
        if abs(np.linalg.det(t)) < MIN_DET:
            continue
        l12 = np.linalg.solve(t, (px - d0).T)
        lam = np.vstack([1 - l12.sum(0), l12])
        inside = lam.min(0) >= -eps
        sp = lam.T @ src[tri]
        out.reshape(-1, out.shape[2])[inside] = bilinear_ref(img, sp[inside, 0], sp[inside, 1])
    return out.reshape(image.shape)


def random_mesh(rng: np.random.Generator, h: int, w: int, n: int, jitter: float, outside: bool = False):
    pad = 0.3 * max(h, w) if outside else 0.0
    pad = max(pad, 2.0) if min(h, w) < 4 else pad  # tiny images: keep the triangulation non-degenerate
    pts = rng.uniform([-pad, -pad], [w - 1 + pad, h - 1 + pad], (n, 2))
    pts = np.concatenate([pts, border_anchors(h, w, 3)])
    tris = Delaunay(pts).simplices
    dst = pts + rng.normal(scale=jitter, size=pts.shape)
    dst[-8:] = pts[-8:]  # anchors stay put
    return pts.astype(np.float32), dst.astype(np.float32), tris


def check_against_reference(image: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray) -> None:
    """Pixels whose centre lies on a moved triangle's edge may go either way (this triangle, its
    neighbour, or outside the mesh), so each pixel must match the reference drawn with exclusive,
    the kernel's, or inclusive coverage, and almost all must match the kernel's."""
    got = warp(image, src, dst, tris)
    assert got.dtype == image.dtype and got.shape == image.shape
    tol = 1 if image.dtype == np.uint8 else 1e-4
    diffs = [np.abs(got.astype(np.float64) - to_dtype(warp_ref(image, src, dst, tris, eps), image.dtype))
             for eps in (BARY_EPS, -1e-3, 1e-3)]
    assert np.minimum.reduce(diffs).max(initial=0) <= tol
    assert (diffs[0] > tol).mean() < 0.02


@SETTINGS
@given(h=st.integers(1, 40), w=st.integers(1, 40), c=st.sampled_from([1, 3, 4]), n=st.integers(3, 25),
       jitter=st.floats(0.0, 4.0), outside=st.booleans(), as_float=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_warp_matches_brute_force_reference(h: int, w: int, c: int, n: int, jitter: float, outside: bool,
                                            as_float: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = random_image(rng, h, w, c, np.float32 if as_float else np.uint8)
    src, dst, tris = random_mesh(rng, h, w, n, jitter, outside)
    check_against_reference(image, src, dst, tris)


def test_warp_face_sized_frame() -> None:
    rng = np.random.default_rng(1)
    h, w = small(180, 36), small(320, 48)
    image = random_image(rng, h, w, 3)
    src, dst, tris = random_mesh(rng, h, w, small(150, 12), 3.0)
    check_against_reference(image, src, dst, tris)


def test_identity_mesh_is_an_exact_copy_and_still_mesh_is_skipped() -> None:
    rng = np.random.default_rng(2)
    image = random_image(rng, 23, 31, 3)
    src, _, tris = random_mesh(rng, 23, 31, 10, 0.0)
    np.testing.assert_array_equal(warp(image, src, src, tris), image)
    assert moved_bbox(src, src, tris, image.shape[:2]) is None


def test_shared_edges_through_pixel_centres_leave_no_cracks() -> None:
    # Two triangles share the diagonal of a square with integer corners, so the diagonal passes
    # through pixel centres. A sub-pixel translation must rewrite every pixel in the square.
    image = np.zeros((12, 12), np.float32)
    image[:, 6:] = 1.0
    src = np.array([[2, 2], [9, 2], [9, 9], [2, 9]], np.float32)
    dst = src + np.float32([0.5, 0.0])
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    got = warp(image, src, dst, tris)
    ys, xs = np.mgrid[0:12, 0:12]
    inside = (xs >= 2.5) & (xs <= 9.5) & (ys >= 2) & (ys <= 9)
    want = bilinear_ref(image[:, :, None], xs - 0.5, ys)[:, :, 0]
    np.testing.assert_allclose(got[inside], want[inside], atol=1e-6)
    np.testing.assert_array_equal(got[~inside], image[~inside])


def test_degenerate_and_zero_area_triangles_are_skipped() -> None:
    rng = np.random.default_rng(3)
    image = random_image(rng, 20, 20, 3)
    src = np.array([[1, 1], [18, 1], [18, 18], [1, 18], [5, 5], [10, 10]], np.float32)
    dst = src + np.float32(0.7)
    tris = np.array([[0, 1, 2], [0, 0, 1], [4, 5, 5], [0, 2, 4]])  # repeated index, collinear (0, 4, 5 on y=x)
    dst[5] = dst[4]  # also a zero-length edge in the destination
    tris = np.vstack([tris, [[0, 4, 5]]])
    check_against_reference(image, src, dst, tris)
    # Only degenerate triangles: nothing to draw, the image comes back unchanged.
    np.testing.assert_array_equal(warp(image, src, dst, tris[1:3]), image)


def test_points_outside_the_image_and_tiny_images() -> None:
    rng = np.random.default_rng(4)
    for h, w in ((1, 1), (1, 7), (5, 1), (3, 5)):
        image = random_image(rng, h, w, 3)
        src = np.array([[-10, -10], [w + 10, -8], [w + 5, h + 12], [-7, h + 9]], np.float32)
        dst = src + rng.normal(scale=2.0, size=src.shape).astype(np.float32)
        tris = np.array([[0, 1, 2], [0, 2, 3]])
        check_against_reference(image, src, dst, tris)


def test_gray_2d_images_and_out_buffer() -> None:
    rng = np.random.default_rng(5)
    image = rng.random((15, 17), dtype=np.float32)
    src, dst, tris = random_mesh(rng, 15, 17, 8, 1.5)
    out = np.empty_like(image)
    res = warp(image, src, dst, tris, out=out)
    assert res is out and res.shape == (15, 17)
    np.testing.assert_array_equal(res, warp(image, src, dst, tris))
    check_against_reference(image, src, dst, tris)


def test_min_motion_treats_small_moves_as_still() -> None:
    rng = np.random.default_rng(6)
    image = random_image(rng, 20, 20, 3)
    src, _, tris = random_mesh(rng, 20, 20, 10, 0.0)
    dst = src + np.float32(0.01)
    np.testing.assert_array_equal(warp(image, src, dst, tris, min_motion=0.1), image)
    # Every vertex moved (by 0.01 px): the whole destination mesh, which now starts at x = y = 0.01.
    assert moved_bbox(src, dst, tris, (20, 20)) == (1, 1, 20, 20)


def test_moved_bbox_covers_every_changed_pixel() -> None:
    rng = np.random.default_rng(7)
    image = random_image(rng, 60, 80, 3)
    src, _, tris = random_mesh(rng, 60, 80, 40, 0.0)
    dst = src.copy()
    near = np.hypot(src[:, 0] - 40, src[:, 1] - 30) < 12
    dst[near] += np.float32([0.0, 3.0])
    x0, y0, x1, y1 = moved_bbox(src, dst, tris, (60, 80))
    changed = np.argwhere((warp(image, src, dst, tris) != image).any(axis=2))
    assert changed.size
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1


def test_warp_bad_input() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    pts = np.zeros((3, 2), np.float32)
    tri = np.array([[0, 1, 2]])
    with pytest.raises(InputError, match="NaN or inf"):
        warp(image, np.full((3, 2), np.nan), pts, tri)
    with pytest.raises(InputError, match="NaN or inf"):
        warp(np.full((4, 4), np.nan), pts, pts, tri)
    with pytest.raises(InputError, match="within"):
        warp(image, pts, np.full((3, 2), 1e9), tri)
    with pytest.raises(InputError, match="dst_points must have shape"):
        warp(image, pts, np.zeros((4, 2)), tri)
    with pytest.raises(InputError, match="indices outside"):
        warp(image, pts, pts, np.array([[0, 1, 3]]))
    with pytest.raises(TypeError, match="integer"):
        warp(image, pts, pts, np.array([[0.0, 1.0, 2.0]]))
    with pytest.raises(InputError, match="1 to 4 channels"):
        warp(np.zeros((4, 4, 5)), pts, pts, tri)
    with pytest.raises(TypeError, match="real numeric"):
        warp(np.zeros((4, 4), bool), pts, pts, tri)
    with pytest.raises(InputError, match="share memory"):
        warp(image, pts, pts, tri, out=image)
    with pytest.raises(TypeError, match="dtype uint8"):
        warp(image, pts, pts, tri, out=np.zeros((8, 8, 3), np.float32))


def test_border_anchors() -> None:
    pts = border_anchors(10, 20, 3)
    assert pts.shape == (8, 2) and pts.dtype == np.float32
    assert {tuple(p) for p in pts} == {(0, 0), (9.5, 0), (19, 0), (19, 4.5), (19, 9), (9.5, 9), (0, 9), (0, 4.5)}
    with pytest.raises(InputError):
        border_anchors(10, 20, 1)
    with pytest.raises(TypeError):
        border_anchors(10.0, 20, 3)


# ----------------------------------------------------------------------------------------------------
# Composite


def blur_ref(mask: np.ndarray, sigma: float) -> np.ndarray:
    r = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    taps /= taps.sum()
    rows = np.apply_along_axis(lambda v: np.convolve(v, taps, mode="full")[r:r + v.size], 1, mask)
    return np.apply_along_axis(lambda v: np.convolve(v, taps, mode="full")[r:r + v.size], 0, rows)


def composite_ref(image: np.ndarray, patch: np.ndarray, mask: np.ndarray, ox: int, oy: int, sigma: float) -> np.ndarray:
    out = image.astype(np.float64).copy()
    alpha = blur_ref(mask.astype(np.float64), sigma) if sigma > 0 else mask.astype(np.float64)
    h, w = image.shape[:2]
    for py in range(patch.shape[0]):
        for px in range(patch.shape[1]):
            y, x = py + oy, px + ox
            if 0 <= y < h and 0 <= x < w and alpha[py, px] > 0:
                out[y, x] = out[y, x] + alpha[py, px] * (patch[py, px] - out[y, x])
    return out


@SETTINGS
@given(ph=st.integers(1, 12), pw=st.integers(1, 12), ox=st.integers(-8, 20), oy=st.integers(-8, 20),
       sigma=st.sampled_from([0.0, 0.7, 2.0]), as_float=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_composite_matches_reference(ph: int, pw: int, ox: int, oy: int, sigma: float, as_float: bool,
                                     seed: int) -> None:
    rng = np.random.default_rng(seed)
    dtype = np.float32 if as_float else np.uint8
    image = random_image(rng, 15, 13, 3, dtype)
    patch = random_image(rng, ph, pw, 3, dtype)
    mask = (rng.random((ph, pw)) > 0.3).astype(np.float32) * rng.random((ph, pw), dtype=np.float32)
    got = composite(image, patch, mask, origin=(ox, oy), feather=sigma)
    want = to_dtype(composite_ref(image, patch, mask, ox, oy, sigma), dtype)
    tol = 1 if dtype == np.uint8 else 1e-5
    assert np.abs(got.astype(np.float64) - want).max() <= tol


def test_composite_uint8_mask_full_opacity_pastes_the_patch() -> None:
    image = np.zeros((6, 6, 3), np.uint8)
    patch = np.full((2, 3, 3), 200, np.uint8)
    got = composite(image, patch, np.full((2, 3), 255, np.uint8), origin=(1, 2))
    assert (got[2:4, 1:4] == 200).all() and got.sum() == 200 * 18


def test_composite_and_fill_mouth_in_place() -> None:
    rng = np.random.default_rng(8)
    image = random_image(rng, 20, 24, 3)
    patch = random_image(rng, 6, 7, 3)
    mask = rng.random((6, 7), dtype=np.float32)
    want = composite(image, patch, mask, origin=(3, 4), feather=1.0)
    target = image.copy()
    assert composite(target, patch, mask, origin=(3, 4), feather=1.0, out=target) is target
    np.testing.assert_array_equal(target, want)
    poly = np.array([[4, 10], [12, 6], [20, 10], [12, 15]], np.float32)
    want = fill_mouth(image, poly)
    target = image.copy()
    fill_mouth(target, poly, out=target)
    np.testing.assert_array_equal(target, want)
    # A patch viewing the image's own memory would be read while written: refused.
    with pytest.raises(InputError, match="share memory"):
        composite(target, target[:6], np.ones((6, 24)), origin=(0, 3), out=target)


def test_composite_bad_input() -> None:
    image = np.zeros((6, 6, 3), np.uint8)
    with pytest.raises(InputError, match="mask must lie"):
        composite(image, image[:2, :2], np.full((2, 2), 2.0))
    with pytest.raises(InputError, match="mask must have shape"):
        composite(image, image[:2, :2], np.ones((3, 2)))
    with pytest.raises(InputError, match="match the image"):
        composite(image, np.zeros((2, 2, 3), np.float32), np.ones((2, 2)))
    with pytest.raises(InputError, match="NaN or inf"):
        composite(image, image[:2, :2], np.full((2, 2), np.nan))
    with pytest.raises(TypeError, match="origin"):
        composite(image, image[:2, :2], np.ones((2, 2)), origin=(0.5, 1))


# ----------------------------------------------------------------------------------------------------
# Mouth fill


def smoothstep(e0: float, e1: float, v: np.ndarray) -> np.ndarray:
    if e1 <= e0:
        return (v >= e0).astype(np.float64)
    t = np.clip((v - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def fill_mouth_ref(image: np.ndarray, poly: np.ndarray, cavity: np.ndarray, teeth: np.ndarray, size: float,
                   soft: float) -> np.ndarray:
    out = image.astype(np.float64).copy()
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    p, q = poly, np.roll(poly, -1, axis=0)
    inside = np.zeros((h, w), bool)
    dist = np.full((h, w), np.inf)
    top = np.full(w, np.inf)
    for (px, py), (qx, qy) in zip(p, q):
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = (py > ys) != (qy > ys)
            inside ^= crosses & (xs < px + (ys - py) * (qx - px) / (qy - py))
            col = np.arange(w, dtype=np.float64)
            hits = ((px <= col) & (col < qx)) | ((qx <= col) & (col < px))
            top = np.where(hits, np.minimum(top, py + (col - px) * (qy - py) / (qx - px)), top)
        ex, ey = qx - px, qy - py
        len2 = ex * ex + ey * ey
        t = np.zeros_like(xs) if len2 == 0 else np.clip(((xs - px) * ex + (ys - py) * ey) / len2, 0, 1)
        dist = np.minimum(dist, np.hypot(xs - (px + t * ex), ys - (py + t * ey)))
    x_lo, x_hi = poly[:, 0].min(), poly[:, 0].max()
    y_lo, y_hi = poly[:, 1].min(), poly[:, 1].max()
    in_box = (xs >= np.ceil(x_lo)) & (xs <= np.floor(x_hi)) & (ys >= np.ceil(y_lo)) & (ys <= np.floor(y_hi))
    cover = np.where(inside & in_box & np.isfinite(top)[None, :], smoothstep(0, soft, dist), 0.0)
    u = (xs - 0.5 * (x_lo + x_hi)) / max(0.5 * (x_hi - x_lo), 1e-6)
    tooth = (1 - smoothstep(size * (x_hi - x_lo) - soft, size * (x_hi - x_lo) + soft, ys - top[None, :]))
    tooth = tooth * np.maximum(0, 1 - u**4)
    n = cavity.size
    colour = cavity[None, None, :] + tooth[:, :, None] * (teeth - cavity)[None, None, :]
    out[:, :, :n] += cover[:, :, None] * (colour - out[:, :, :n])
    return out


def mouth_outline(rng: np.random.Generator, cx: float, cy: float, half_w: float, half_h: float, n: int = 20):
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.1)
    r = 1 + 0.05 * rng.normal(size=n)
    return np.stack([cx + half_w * r * np.cos(ang), cy + half_h * r * np.sin(ang)], 1).astype(np.float32)


@SETTINGS
@given(half_h=st.floats(0.3, 10.0), soft=st.sampled_from([0.0, 1.5, 3.0]), c=st.sampled_from([3, 4]),
       as_float=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fill_mouth_matches_reference(half_h: float, soft: float, c: int, as_float: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dtype = np.float32 if as_float else np.uint8
    image = random_image(rng, 30, 40, c, dtype)
    scale = 1.0 if as_float else 255.0
    cavity = np.array([0.2, 0.1, 0.1], np.float32) * scale
    teeth = np.array([0.9, 0.9, 0.85], np.float32) * scale
    poly = mouth_outline(rng, 20.3, 14.6, 13.0, half_h)
    got = fill_mouth(image, poly, cavity_colour=cavity, teeth_colour=teeth, teeth_size=0.15, softness=soft)
    want = to_dtype(fill_mouth_ref(image, poly.astype(np.float64), cavity, teeth, 0.15, soft), dtype)
    tol = 1 if dtype == np.uint8 else 1e-4
    diff = np.abs(got.astype(np.float64) - want)
    assert diff.max() <= tol
    if c == 4:
        np.testing.assert_array_equal(got[:, :, 3], image[:, :, 3])  # alpha untouched


def test_fill_mouth_paints_teeth_above_a_dark_cavity_and_keeps_closed_mouths() -> None:
    image = np.full((60, 80, 3), 150, np.uint8)
    poly = np.array([[20, 30], [40, 18], [60, 30], [40, 45]], np.float32)  # open mouth, upper lip at top
    got = fill_mouth(image, poly, softness=1.0)
    assert got[22, 40].mean() > 200  # just below the upper lip: teeth
    assert got[40, 40].mean() < 60  # lower in the opening: cavity
    assert (got[:17] == 150).all() and (got[46:] == 150).all()  # outside untouched
    # Lips together (0.4 px apart): the inward feather keeps the change to a few levels at most.
    closed = np.array([[20, 30], [40, 29.8], [60, 30], [40, 30.2]], np.float32)
    change = np.abs(fill_mouth(image, closed, softness=1.5).astype(int) - image)
    assert change.max() <= 6 and (change.sum(axis=2) > 0).sum() <= 40


def test_fill_mouth_bad_input() -> None:
    image = np.zeros((10, 10, 3), np.uint8)
    poly = np.array([[1, 1], [8, 1], [5, 8]], np.float32)
    with pytest.raises(InputError, match="at least 3"):
        fill_mouth(image, poly[:2])
    with pytest.raises(InputError, match="NaN or inf"):
        fill_mouth(image, np.full((3, 2), np.nan))
    with pytest.raises(InputError, match="needs 3 values"):
        fill_mouth(image, poly, cavity_colour=(1, 2))
    with pytest.raises(InputError, match="0-255"):
        fill_mouth(image, poly, teeth_colour=(300, 0, 0))
