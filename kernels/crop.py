"""Rotated, scaled crop of a region of interest to a model's input tensor (replaces cv2.warpAffine).

The ROI is a ``size`` = (w, h) box centred on ``center`` = (cx, cy) and rotated by ``rotation``
radians (the box's x axis points along (cos r, sin r) in image pixels, y down: MediaPipe's
convention). It is resampled bilinearly to ``out_size`` = (ow, oh) and normalised to ``value_range``.
Pixel centres sit at integer coordinates in both images, as in OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import as_f32, as_f64, as_image, as_pair, as_scalar, check_out
from ._sample import inside_range, pixel_table, prefetch, resample_span, sample_constant, sample_replicate, scratch
from .config import jit


def roi_matrix(center: Sequence[float], size: Sequence[float], rotation: float,
               out_size: Sequence[int]) -> np.ndarray:
    """The 2×3 float64 affine matrix taking crop pixels (u, v) to image pixels (x, y).

    Crop pixel (u, v) covers [u-½, u+½]; the crop's outer edges (u = -½ and ow-½) land on the ROI box's
    edges. Use :func:`transform_points` to take landmarks found in the crop back to the image.
    """
    cx, cy = as_pair(center, "center")
    bw, bh = as_pair(size, "size", positive=True)
    ow, oh = _out_size(out_size)
    r = as_scalar(rotation, "rotation")
    c, s = math.cos(r), math.sin(r)
    sx, sy = bw / ow, bh / oh
    # Box-local offset of crop pixel (u, v): ((u+½)·sx - w/2, (v+½)·sy - h/2), then rotate and shift.
    lx, ly = 0.5 * sx - 0.5 * bw, 0.5 * sy - 0.5 * bh
    return np.array([[c * sx, -s * sy, cx + c * lx - s * ly],
                     [s * sx, c * sy, cy + s * lx + c * ly]], np.float64)


def transform_points(points: Any, matrix: Any) -> np.ndarray:
    """Apply a 2×3 affine ``matrix`` to (N, 2+) points; extra columns (e.g. z) are copied as is."""
    pts = as_f32(points, "points", (None, None))
    if pts.shape[1] < 2:
        raise InputError(f"points must have at least 2 columns (x, y), got shape {pts.shape}")
    m = as_f64(matrix, "matrix", (2, 3))
    res = pts.copy()
    res[:, :2] = pts[:, :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
    return res


def _out_size(out_size: Sequence[int]) -> tuple[int, int]:
    if len(out_size) != 2 or not all(type(v) is int or (isinstance(v, np.integer) and not isinstance(v, bool))
                                     for v in out_size):
        raise TypeError(f"out_size must be two ints (width, height), got {out_size!r}")
    ow, oh = int(out_size[0]), int(out_size[1])
    if ow < 1 or oh < 1:
        raise InputError(f"out_size must be positive, got {(ow, oh)}")
    return ow, oh


@jit
def _crop_kernel(image: np.ndarray, m: np.ndarray, out: np.ndarray, lut: np.ndarray, post: float, scale: float,
                 offset: float, border: float, replicate: bool) -> None:
    h, w, nch = image.shape
    oh, ow, _ = out.shape
    flat = image.reshape(-1)
    flat_out = out.reshape(-1)
    offs, fx, fy = scratch(ow)
    for v in range(oh):
        rx = m[0, 1] * v + m[0, 2]
        ry = m[1, 1] * v + m[1, 2]
        if v + AHEAD < oh:
            ahead = v + AHEAD
            _prefetch_row(flat, w, h, nch, m[0, 0], m[0, 1] * ahead + m[0, 2], m[1, 0], m[1, 1] * ahead + m[1, 2], ow)
        # Rows reaching past the image edge (a face near the frame border: every frame of a close-up)
        # resample their inside run on the fast path and only the pixels beyond it one by one.
        first, last = inside_range(m[0, 0], rx, m[1, 0], ry, 0, ow - 1, w, h)
        if first > last:
            _edge_pixels(image, m[0, 0], rx, m[1, 0], ry, out, v, 0, ow, scale, offset, border, replicate)
            continue
        resample_span(flat, w * nch, nch, flat_out, (v * ow + first) * nch, last - first + 1, m[0, 0] * first + rx,
                      m[0, 0], m[1, 0] * first + ry, m[1, 0], lut, post, offset, offs, fx, fy)
        _edge_pixels(image, m[0, 0], rx, m[1, 0], ry, out, v, 0, first, scale, offset, border, replicate)
        _edge_pixels(image, m[0, 0], rx, m[1, 0], ry, out, v, last + 1, ow, scale, offset, border, replicate)


#: Rows ahead whose source pixels are prefetched. A crop reads its rows' pixels from a frame that is
#: usually cold (just decoded, or one of many): each source row is a short stream (a few dozen cache
#: lines) that the hardware prefetcher picks up too late, and the waits doubled the crop's time.
AHEAD = 2


@jit
def _prefetch_row(flat: np.ndarray, w: int, h: int, nch: int, mxx: float, rx: float, myx: float, ry: float,
                  ow: int) -> None:
    """Prefetch the cache lines the taps of one crop row read (both tap rows)."""
    stride = w * nch
    # One prefetch per ~48 bytes of source along the row: every 64-byte line, whatever the scale.
    step = max(1, int(48.0 / (nch * max(abs(mxx), abs(myx), 1e-3))))
    for u in range(0, ow, step):
        sx = mxx * u + rx
        sy = myx * u + ry
        if 0.0 <= sx < w - 1 and 0.0 <= sy < h - 1:
            i = int(sy) * stride + int(sx) * nch
            prefetch(flat, i)
            prefetch(flat, i + stride)


@jit
def _edge_pixels(image: np.ndarray, mxx: float, rx: float, myx: float, ry: float, out: np.ndarray, v: int, u0: int,
                 u1: int, scale: float, offset: float, border: float, replicate: bool) -> None:
    """Pixels u0 <= u < u1 of crop row v, one by one, with taps outside the image (replicate or constant)."""
    for u in range(u0, u1):
        if replicate:
            sample_replicate(image, mxx * u + rx, myx * u + ry, out, v, u, scale, offset)
        else:
            sample_constant(image, mxx * u + rx, myx * u + ry, border, out, v, u, scale, offset)


class Border(str, Enum):
    """What bilinear taps outside the image read."""

    CONSTANT = "constant"  # the ``border`` value (cv2.BORDER_CONSTANT; MediaPipe's detector letterbox)
    REPLICATE = "replicate"  # the nearest edge pixel (cv2.BORDER_REPLICATE; MediaPipe's landmark crop)


def crop(image: Any, center: Sequence[float], size: Sequence[float], *, rotation: float = 0.0,
         out_size: Sequence[int] = (256, 256), value_range: Sequence[float] = (0.0, 1.0),
         border_mode: Border | str = Border.CONSTANT, border: float = 0.0,
         out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Crop a rotated ROI, resize it bilinearly and normalise it for a model input.

    Args:
        image: H×W×C (or H×W) uint8 (0-255) or float32 (0-1).
        center: ROI centre (cx, cy) in image pixels.
        size: ROI (width, height) in image pixels.
        rotation: ROI rotation in radians (MediaPipe's convention, see the module docstring).
        out_size: (width, height) of the crop, e.g. (256, 256) for the landmark model.
        value_range: (lo, hi): full-scale input (255 for uint8, 1.0 for float) maps to hi, 0 to lo;
            (0, 1) for MediaPipe's landmark model, (-1, 1) for its detector.
        border_mode: "constant" (taps outside the image read ``border``) or "replicate" (the nearest
            edge pixel).
        border: value (in input units) of pixels outside the image in "constant" mode; 0 gives ``lo``.
        out: optional (oh, ow, C) float32 C-contiguous buffer, e.g. ``batch[0]`` of an NHWC tensor.

    Returns:
        (crop, matrix): the (oh, ow, C) float32 crop and the 2×3 float64 matrix mapping crop pixels to
        image pixels (see :func:`roi_matrix`, :func:`transform_points`).
    """
    img = as_image(image)
    m = roi_matrix(center, size, rotation, out_size)
    ow, oh = int(out_size[0]), int(out_size[1])  # checked by roi_matrix
    lo, hi = as_pair(value_range, "value_range")
    fill = as_scalar(border, "border")
    try:
        mode = Border(border_mode)
    except ValueError:
        raise InputError(f"border_mode must be 'constant' or 'replicate', got {border_mode!r}") from None
    shape = (oh, ow, img.shape[2])
    if out is None:
        out = np.empty(shape, np.float32)
    else:
        check_out(out, "out", shape, np.float32)
    scale = (hi - lo) / (255.0 if img.dtype == np.uint8 else 1.0)
    lut, post = pixel_table(img.dtype, scale)
    _crop_kernel(img, m, out, lut, post, scale, lo, fill, mode is Border.REPLICATE)
    return out, m


__all__ = ["Border", "crop", "roi_matrix", "transform_points"]
