"""Image kernels for photo animation: piecewise-affine mesh warp, feathered composite, mouth fill.

Coordinates are pixels with pixel *centres* at integer positions (x right, y down), as in OpenCV
and scikit-image. Images are H×W or H×W×C (C ≤ 4), uint8 or float32; uint8 results are rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import as_f32, as_image, as_index, as_scalar, check_no_alias, check_out
from ._sample import pixel_table, resample_span, sample_replicate, scratch, span_inside
from .config import jit

#: Barycentric slack when deciding coverage: a pixel centre on an edge shared by two triangles is
#: drawn by both, so float rounding can never open a one-pixel crack between them.
_BARY_EPS = 1e-6
#: |2·area| below this (px²) counts as degenerate: such a triangle covers no pixel centre reliably
#: and inverting it would blow up; its neighbours cover the line it lies on.
_MIN_DET = 1e-6


def _prepare_output(img: np.ndarray, out: np.ndarray | None, original: Any, *, in_place: bool = False) -> np.ndarray:
    """Validate/allocate ``out`` (same shape and dtype as the input image) and copy the image in.

    ``in_place`` lets ``out`` be the image itself, for kernels that only read the pixel they write.
    """
    shape = np.shape(original) if np.ndim(original) == 2 else img.shape
    if out is None:
        return img.copy()
    check_out(out, "out", shape, img.dtype)
    res = out.reshape(img.shape)
    if in_place and res.ctypes.data == img.ctypes.data and res.strides == img.strides:
        return res  # the very same pixels: nothing to copy
    check_no_alias(out, "out", img)
    res[...] = img
    return res


def _result(res: np.ndarray, out: np.ndarray | None, original: Any) -> np.ndarray:
    if out is not None:
        return out
    return res[:, :, 0] if np.ndim(original) == 2 else res


@jit
def _edges(pts: np.ndarray, i0: int, i1: int, i2: int) -> tuple[float, float, float, float, float, float]:
    """Triangle (i0, i1, i2) as its first vertex and two edge vectors, in float64."""
    x0 = np.float64(pts[i0, 0])
    y0 = np.float64(pts[i0, 1])
    return x0, y0, pts[i1, 0] - x0, pts[i1, 1] - y0, pts[i2, 0] - x0, pts[i2, 1] - y0


@jit
def _warp_kernel(image: np.ndarray, out: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray,
                 min_motion2: float, lut: np.ndarray, post: float, bias: float) -> int:
    """Inverse-map every moved destination triangle by scan lines; returns the pixels written."""
    h, w, nch = image.shape
    flat = image.reshape(-1)
    flat_out = out.reshape(-1)
    offs, fx, fy = scratch(w)
    written = 0
    for f in range(tris.shape[0]):
        i0 = tris[f, 0]
        i1 = tris[f, 1]
        i2 = tris[f, 2]
        # A triangle whose three vertices stay put maps every pixel onto itself: `out` already
        # holds the source there, so skipping it is exact and saves most of the frame.
        moved = False
        for i in (i0, i1, i2):
            mx = np.float64(dst[i, 0]) - src[i, 0]
            my = np.float64(dst[i, 1]) - src[i, 1]
            if mx * mx + my * my > min_motion2:
                moved = True
        if not moved:
            continue
        x0, y0, ex1, ey1, ex2, ey2 = _edges(dst, i0, i1, i2)
        det = ex1 * ey2 - ex2 * ey1
        if abs(det) < _MIN_DET:
            continue
        inv = 1.0 / det
        # Barycentrics as affine functions of the pixel: l_k(x, y) = a_k x + b_k y + c_k.
        a1 = ey2 * inv
        b1 = -ex2 * inv
        c1 = -(a1 * x0 + b1 * y0)
        a2 = -ey1 * inv
        b2 = ex1 * inv
        c2 = -(a2 * x0 + b2 * y0)
        a0 = -a1 - a2
        b0 = -b1 - b2
        c0 = 1.0 - c1 - c2
        # Destination pixel -> source position, composed once per triangle.
        s0x, s0y, d1x, d1y, d2x, d2y = _edges(src, i0, i1, i2)
        mxx = a1 * d1x + a2 * d2x
        mxy = b1 * d1x + b2 * d2x
        mxc = c1 * d1x + c2 * d2x + s0x
        myx = a1 * d1y + a2 * d2y
        myy = b1 * d1y + b2 * d2y
        myc = c1 * d1y + c2 * d2y + s0y
        ylo = min(y0, y0 + ey1, y0 + ey2)
        yhi = max(y0, y0 + ey1, y0 + ey2)
        ys = max(0, int(math.ceil(ylo - 1e-6)))
        ye = min(h - 1, int(math.floor(yhi + 1e-6)))
        for y in range(ys, ye + 1):
            # The row's span is where all three barycentrics are >= -eps: three half-lines in x.
            xl = 0.0
            xr = w - 1.0
            empty = False
            for a, k in ((a0, b0 * y + c0), (a1, b1 * y + c1), (a2, b2 * y + c2)):
                k += _BARY_EPS
                if a > 0.0:
                    xl = max(xl, -k / a)
                elif a < 0.0:
                    xr = min(xr, -k / a)
                elif k < 0.0:
                    empty = True
            if empty or xl > xr:
                continue
            xs = int(math.ceil(xl))
            xe = int(math.floor(xr))
            if xs > xe:
                continue
            rx = mxy * y + mxc
            ry = myy * y + myc
            if span_inside(mxx, rx, myx, ry, xs, xe, w, h):
                resample_span(flat, w * nch, nch, flat_out, (y * w + xs) * nch, xe - xs + 1, mxx * xs + rx, mxx,
                              myx * xs + ry, myx, lut, post, bias, offs, fx, fy)
            else:
                for x in range(xs, xe + 1):
                    sample_replicate(image, mxx * x + rx, myx * x + ry, out, y, x, 1.0, bias)
            written += xe - xs + 1
    return written


#: Points further out than this (px) are refused: a triangle's area would overflow float64 precision
#: long before anything useful happened there.
_MAX_COORD = 1e7


def _check_mesh(src_points: Any, dst_points: Any, triangles: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = as_f32(src_points, "src_points", (None, 2))
    dst = as_f32(dst_points, "dst_points", (src.shape[0], 2))
    for name, pts in (("src_points", src), ("dst_points", dst)):
        if pts.size and np.abs(pts).max() > _MAX_COORD:
            raise InputError(f"{name} must lie within ±{_MAX_COORD:g} px of the image, got {np.abs(pts).max():g}")
    tris = as_index(triangles, "triangles", (None, 3), src.shape[0])
    return src, dst, tris


def warp(image: Any, src_points: Any, dst_points: Any, triangles: Any, *, min_motion: float = 0.0,
         out: np.ndarray | None = None) -> np.ndarray:
    """Piecewise-affine warp: the content at ``src_points`` moves to ``dst_points``.

    Each output pixel inside a destination triangle takes the bilinear sample (border replicated) at
    its barycentric image in the source triangle. Pixels outside the mesh, and inside triangles whose
    three vertices moved by at most ``min_motion`` px, keep the source pixel; only moved triangles
    are rasterised, so cost scales with the moving area (a mouth), not the frame. Zero-area
    triangles are skipped; where destination triangles overlap (a folded mesh) the later one wins.

    Args:
        image: H×W or H×W×C (C ≤ 4), uint8 or float32 (other dtypes become float32).
        src_points, dst_points: (P, 2) x, y pixel positions; may lie outside the image.
        triangles: (F, 3) vertex indices into the point arrays (e.g. scipy Delaunay simplices).
        min_motion: vertices moving no more than this (px) count as still. 0 keeps output exact.
        out: optional output array shaped and typed like ``image`` (must not overlap it).

    Returns:
        The warped image, same shape and dtype as ``image`` (``out`` itself when given).
    """
    img = as_image(image)
    src, dst, tris = _check_mesh(src_points, dst_points, triangles)
    motion = as_scalar(min_motion, "min_motion", low=0.0)
    res = _prepare_output(img, out, image)
    _warp_into(img, res, src, dst, tris, motion)
    return _result(res, out, image)


def _warp_into(img: np.ndarray, res: np.ndarray, src: np.ndarray, dst: np.ndarray, tris: np.ndarray,
               min_motion: float) -> int:
    """Run the kernel on checked arrays (``res`` already holds the source); returns pixels rewritten."""
    bias = 0.5 if img.dtype == np.uint8 else 0.0  # the uint8 store truncates: +0.5 rounds
    lut, post = pixel_table(img.dtype, 1.0)
    return int(_warp_kernel(img, res, src, dst, tris, min_motion * min_motion, lut, post, bias))


def moved_bbox(src_points: Any, dst_points: Any, triangles: Any, shape: tuple[int, int], *,
               min_motion: float = 0.0) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of the destination pixels :func:`warp` may rewrite, or None."""
    src, dst, tris = _check_mesh(src_points, dst_points, triangles)
    motion = np.sqrt(((dst - src).astype(np.float64) ** 2).sum(axis=1)) > min_motion
    pts = dst[tris[motion[tris].any(axis=1)].ravel()]
    if pts.size == 0:
        return None
    h, w = shape
    x0 = max(0, int(np.ceil(pts[:, 0].min() - 1e-6)))
    y0 = max(0, int(np.ceil(pts[:, 1].min() - 1e-6)))
    x1 = min(w, int(np.floor(pts[:, 0].max() + 1e-6)) + 1)
    y1 = min(h, int(np.floor(pts[:, 1].max() + 1e-6)) + 1)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def border_anchors(h: int, w: int, n: int = 4) -> np.ndarray:
    """Points along the image border (corners included, ``n`` per side) to pin a mesh to the frame.

    Returns (4·(n-1), 2) float32 x, y positions at pixel centres ``0 … w-1`` / ``0 … h-1``. Add them
    to both the source and destination points so the frame edge never moves.
    """
    for name, v, least in (("h", h, 1), ("w", w, 1), ("n", n, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < least:
            raise InputError(f"{name} must be >= {least}, got {v}")
    t = np.linspace(0.0, 1.0, n)[:-1]  # each side owns its start corner
    xs, ys = (w - 1) * t, (h - 1) * t
    top = np.stack([xs, np.zeros_like(xs)], 1)
    right = np.stack([np.full_like(ys, w - 1), ys], 1)
    bottom = np.stack([(w - 1) - xs, np.full_like(xs, h - 1)], 1)
    left = np.stack([np.zeros_like(ys), (h - 1) - ys], 1)
    return np.concatenate([top, right, bottom, left]).astype(np.float32)


# ----------------------------------------------------------------------------------------------------
# Composite


@jit
def _gauss_blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (radius 3σ) with zeros beyond the patch, so its edge fades out too."""
    h, w = mask.shape
    r = int(math.ceil(3.0 * sigma))
    taps = np.empty(2 * r + 1, np.float32)
    total = 0.0
    for i in range(-r, r + 1):
        v = math.exp(-0.5 * (i / sigma) ** 2)
        taps[i + r] = v
        total += v
    for i in range(2 * r + 1):
        taps[i] /= total
    tmp = np.zeros((h, w), np.float32)
    for y in range(h):
        for x in range(w):
            acc = np.float32(0.0)
            for i in range(max(-r, -x), min(r, w - 1 - x) + 1):
                acc += taps[i + r] * mask[y, x + i]
            tmp[y, x] = acc
    res = np.zeros((h, w), np.float32)
    for y in range(h):
        for i in range(max(-r, -y), min(r, h - 1 - y) + 1):
            t = taps[i + r]
            for x in range(w):
                res[y, x] += t * tmp[y + i, x]
    return res


@jit
def _composite_kernel(out: np.ndarray, patch: np.ndarray, alpha: np.ndarray, ox: int, oy: int, bias: float) -> None:
    h, w, nch = out.shape
    ph, pw, _ = patch.shape
    for py in range(max(0, -oy), min(ph, h - oy)):
        y = py + oy
        for px in range(max(0, -ox), min(pw, w - ox)):
            a = alpha[py, px]
            if a <= 0.0:
                continue
            x = px + ox
            for ch in range(nch):
                base = np.float32(out[y, x, ch])
                out[y, x, ch] = base + a * (patch[py, px, ch] - base) + bias


def composite(image: Any, patch: Any, mask: Any, *, origin: Sequence[int] = (0, 0), feather: float = 0.0,
              out: np.ndarray | None = None) -> np.ndarray:
    """Alpha-blend ``patch`` onto ``image`` with its top-left corner at ``origin`` = (x, y).

    ``mask`` (patch-sized, float in [0, 1] or uint8 0-255) is the patch's opacity; ``feather`` > 0
    blurs it with a Gaussian of that sigma (px), zero beyond the patch, so seams fade out. Parts of the
    patch outside the image are ignored. Returns a new image (or ``out``) like ``image``; ``out=image``
    composites in place.
    """
    img = as_image(image)
    pat = as_image(patch, "patch")
    if pat.dtype != img.dtype or pat.shape[2] != img.shape[2]:
        raise InputError(f"patch must match the image's dtype and channels: image {img.dtype} × {img.shape[2]}, "
                         f"patch {pat.dtype} × {pat.shape[2]}")
    m = np.asarray(mask)
    alpha = as_f32(m, "mask", pat.shape[:2])
    if m.dtype == np.uint8:
        alpha *= np.float32(1.0 / 255.0)
    if alpha.size and (alpha.min() < 0.0 or alpha.max() > 1.0):
        raise InputError("mask must lie in [0, 1] (float) or 0-255 (uint8)")
    sigma = as_scalar(feather, "feather", low=0.0)
    ox, oy = origin
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in (ox, oy)):
        raise TypeError(f"origin must be two ints (x, y), got {origin!r}")
    res = _prepare_output(img, out, image, in_place=True)
    check_no_alias(res, "out", pat)
    if sigma > 0.0:
        alpha = _gauss_blur(alpha, sigma)
    _composite_kernel(res, pat, alpha, int(ox), int(oy), 0.5 if img.dtype == np.uint8 else 0.0)
    return _result(res, out, image)


# ----------------------------------------------------------------------------------------------------
# Mouth fill


@jit
def _smoothstep(e0: float, e1: float, v: float) -> float:
    if e1 <= e0:
        return 1.0 if v >= e0 else 0.0
    t = (v - e0) / (e1 - e0)
    t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
    return t * t * (3.0 - 2.0 * t)


@jit
def _fill_mouth_kernel(out: np.ndarray, poly: np.ndarray, cavity: np.ndarray, teeth: np.ndarray,
                       teeth_size: float, softness: float, bias: float) -> None:
    h, w, _ = out.shape
    nc = cavity.size
    n = poly.shape[0]
    xmin = poly[:, 0].min()
    xmax = poly[:, 0].max()
    ymin = poly[:, 1].min()
    ymax = poly[:, 1].max()
    cx = 0.5 * (xmin + xmax)
    half = max(0.5 * (xmax - xmin), 1e-6)
    band = teeth_size * (xmax - xmin)  # teeth length scales with mouth width, not with the opening
    xs = max(0, int(math.ceil(xmin)))
    xe = min(w - 1, int(math.floor(xmax)))
    ys = max(0, int(math.ceil(ymin)))
    ye = min(h - 1, int(math.floor(ymax)))
    for x in range(xs, xe + 1):
        # The upper lip at this column: the topmost crossing of the outline with the vertical line.
        top = np.inf
        for i in range(n):
            px, py = poly[i, 0], poly[i, 1]
            qx, qy = poly[(i + 1) % n, 0], poly[(i + 1) % n, 1]
            if (px <= x < qx) or (qx <= x < px):
                yc = py + (x - px) * (qy - py) / (qx - px)
                top = min(top, yc)
        if top == np.inf:
            continue
        u = (x - cx) / half
        corner_fade = max(0.0, 1.0 - u * u * u * u)  # teeth darken towards the mouth corners
        for y in range(ys, ye + 1):
            inside = False
            dist2 = np.inf
            for i in range(n):
                px, py = poly[i, 0], poly[i, 1]
                qx, qy = poly[(i + 1) % n, 0], poly[(i + 1) % n, 1]
                if (py > y) != (qy > y) and x < px + (y - py) * (qx - px) / (qy - py):
                    inside = not inside
                ex, ey = qx - px, qy - py
                len2 = ex * ex + ey * ey
                t = 0.0 if len2 <= 0.0 else ((x - px) * ex + (y - py) * ey) / len2
                t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
                dx, dy = x - (px + t * ex), y - (py + t * ey)
                dist2 = min(dist2, dx * dx + dy * dy)
            if not inside:
                continue
            # Feather inwards only: the lip line stays put and a closed mouth stays closed.
            cover = _smoothstep(0.0, softness, math.sqrt(dist2))
            if cover <= 0.0:
                continue
            tooth = (1.0 - _smoothstep(band - softness, band + softness, y - top)) * corner_fade
            for ch in range(nc):
                colour = cavity[ch] + tooth * (teeth[ch] - cavity[ch])
                base = np.float32(out[y, x, ch])
                out[y, x, ch] = base + cover * (colour - base) + bias


def _colour(value: Any, name: str, img: np.ndarray) -> np.ndarray:
    col = as_f32(value, name, (None,))
    nch = img.shape[2]
    if not (col.size == nch or (col.size == 3 and nch == 4)):
        raise InputError(f"{name} needs {nch} values (3 also allowed for RGBA), got {col.size}")
    if img.dtype == np.uint8 and (col.min() < 0 or col.max() > 255):
        raise InputError(f"{name} must be within 0-255 for a uint8 image, got {col.tolist()}")
    return col


def fill_mouth(image: Any, lips: Any, *, cavity_colour: Any = (48, 18, 22), teeth_colour: Any = (228, 222, 210),
               teeth_size: float = 0.12, softness: float = 1.5, out: np.ndarray | None = None) -> np.ndarray:
    """Paint an open mouth's interior: a dark cavity with a band of upper teeth, softly edged.

    Args:
        image: H×W×C uint8 or float32 (colours are in the image's own units).
        lips: (P, 2) inner-lip outline (x, y px), in order around the opening, either direction.
        cavity_colour, teeth_colour: C values (or 3 for RGBA: alpha is left as is).
        teeth_size: teeth band height below the upper lip, as a fraction of the mouth width.
        softness: width (px) of the inward feather at the lips and of the teeth's lower edge.
        out: optional output array like ``image``; ``out=image`` paints in place.

    Returns a new image (or ``out``). A closed mouth (outline thinner than ``softness``) stays
    almost untouched.
    """
    img = as_image(image)
    poly = as_f32(lips, "lips", (None, 2)).astype(np.float64)
    if poly.shape[0] < 3:
        raise InputError(f"lips needs at least 3 points, got {poly.shape[0]}")
    cavity = _colour(cavity_colour, "cavity_colour", img)
    teeth = _colour(teeth_colour, "teeth_colour", img)
    if cavity.size != teeth.size:
        raise InputError("cavity_colour and teeth_colour must have the same number of values")
    size = as_scalar(teeth_size, "teeth_size", low=0.0)
    soft = as_scalar(softness, "softness", low=0.0)
    res = _prepare_output(img, out, image, in_place=True)
    _fill_mouth_kernel(res, poly, cavity, teeth, size, soft, 0.5 if img.dtype == np.uint8 else 0.0)
    return _result(res, out, image)


__all__ = ["border_anchors", "composite", "fill_mouth", "moved_bbox", "warp"]
