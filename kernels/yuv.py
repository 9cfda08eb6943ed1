"""YUV 4:2:0 ↔ RGB for one region of a decoded video frame.

A video edited only where it changes (a dubbed mouth, a watermark) need not convert whole frames: the
region is read out to RGB, edited there, and written back into the decoder's own planes, and every
other pixel reaches the encoder untouched. At 720p that saves two full-frame conversions per frame.

Planes are 8-bit: Y (H×W) and U, V (⌈H/2⌉×⌈W/2⌉), each chroma sample shared by a 2×2 block of pixels.
Reading repeats a block's chroma over its four pixels (nearest); writing averages the block's four
pixels. The matrix is named by its standard (``bt601``, ``bt709``, ``bt2020``, ``smpte240m``), in
limited (16-235/240) or full (0-255) range, as FFmpeg tags it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from talkies.errors import InputError

from ._validate import check_out
from .config import jit

#: (Kr, Kb) luma weights of each standard's matrix; Kg = 1 - Kr - Kb.
STANDARDS: dict[str, tuple[float, float]] = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
    "smpte240m": (0.212, 0.087),
}


def yuv_matrix(standard: str = "bt601", *, full_range: bool = False) -> np.ndarray:
    """The (8,) float64 constants the kernels take: Kr, Kg, Kb, luma offset, luma and chroma scale
    (8-bit code values per unit of RGB 0-255), and the two chroma divisors 2(1-Kb), 2(1-Kr)."""
    if standard not in STANDARDS:
        raise InputError(f"unknown YUV standard {standard!r}; use one of {', '.join(STANDARDS)}")
    kr, kb = STANDARDS[standard]
    y_off, y_scale, c_scale = (0.0, 1.0, 1.0) if full_range else (16.0, 219.0 / 255.0, 224.0 / 255.0)
    return np.array([kr, 1.0 - kr - kb, kb, y_off, y_scale, c_scale, 2.0 * (1.0 - kb), 2.0 * (1.0 - kr)], np.float64)


@jit
def _clamp_u8(v: float) -> np.uint8:
    """A value already offset by +0.5, truncated into 0-255 (round half up)."""
    return np.uint8(0 if v < 0.0 else (255 if v >= 255.0 else int(v)))


#: Fixed-point scale of the to-RGB tables: integer arithmetic with a clamp by min/max has no data-dependent
#: branch (a float version ran 6× slower on noisy frames); the tables' rounding stays below 1/20000 level.
_FIX = 65536.0


@jit
def _to_rgb_kernel(yp: np.ndarray, up: np.ndarray, vp: np.ndarray, x0: int, y0: int, out: np.ndarray,
                   m: np.ndarray) -> None:
    kr, kg, kb, y_off, y_scale, c_scale, db, dr = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    h, w, _ = out.shape
    # Per code value: luma (+0.5, to round), and each chroma's share of R, G and B (G = luma - gr·cr - gb·cb).
    lum = np.empty(256, np.int32)
    r_v = np.empty(256, np.int32)
    g_v = np.empty(256, np.int32)
    g_u = np.empty(256, np.int32)
    b_u = np.empty(256, np.int32)
    for code in range(256):
        c = (code - 128.0) / c_scale
        lum[code] = int(math.floor(((code - y_off) / y_scale + 0.5) * _FIX))
        r_v[code] = int(math.floor(dr * c * _FIX))
        g_v[code] = int(math.floor(-dr * kr / kg * c * _FIX))
        g_u[code] = int(math.floor(-db * kb / kg * c * _FIX))
        b_u[code] = int(math.floor(db * c * _FIX))
    for r in range(h):
        py = y0 + r
        yrow = yp[py]
        urow = up[py >> 1]
        vrow = vp[py >> 1]
        orow = out[r]
        for bc in range(0, w, 2):  # a 2×2 block's chroma serves both pixels of this row
            cu = urow[(x0 + bc) >> 1]
            cv = vrow[(x0 + bc) >> 1]
            rc = r_v[cv]
            gc = g_v[cv] + g_u[cu]
            b_c = b_u[cu]
            for c in range(bc, bc + 2):
                base = lum[yrow[x0 + c]]
                orow[c, 0] = min(max((base + rc) >> 16, 0), 255)
                orow[c, 1] = min(max((base + gc) >> 16, 0), 255)
                orow[c, 2] = min(max((base + b_c) >> 16, 0), 255)


@jit
def _from_rgb_kernel(rgb: np.ndarray, before: np.ndarray, check: bool, yp: np.ndarray, up: np.ndarray,
                     vp: np.ndarray, x0: int, y0: int, m: np.ndarray) -> int:
    kr, kg, kb, y_off, y_scale, c_scale, db, dr = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    h, w, _ = rgb.shape
    blocks = 0
    for br in range(0, h, 2):
        for bc in range(0, w, 2):
            if check:
                same = True
                for r in range(br, br + 2):
                    for c in range(bc, bc + 2):
                        for ch in range(3):
                            if rgb[r, c, ch] != before[r, c, ch]:
                                same = False
                if same:
                    continue  # the block's four pixels and its chroma stay exactly as decoded
            su = 0.0
            sv = 0.0
            for r in range(br, br + 2):
                for c in range(bc, bc + 2):
                    red = np.float64(rgb[r, c, 0])
                    green = np.float64(rgb[r, c, 1])
                    blue = np.float64(rgb[r, c, 2])
                    lum = kr * red + kg * green + kb * blue
                    su += (blue - lum) / db
                    sv += (red - lum) / dr
                    if check and rgb[r, c, 0] == before[r, c, 0] and rgb[r, c, 1] == before[r, c, 1] \
                            and rgb[r, c, 2] == before[r, c, 2]:
                        continue  # an unchanged pixel keeps its own luma, bit for bit
                    yp[y0 + r, x0 + c] = _clamp_u8(y_off + y_scale * lum + 0.5)
            up[(y0 + br) >> 1, (x0 + bc) >> 1] = _clamp_u8(128.5 + c_scale * 0.25 * su)
            vp[(y0 + br) >> 1, (x0 + bc) >> 1] = _clamp_u8(128.5 + c_scale * 0.25 * sv)
            blocks += 1
    return blocks


def _planes(y: Any, u: Any, v: Any, *, writeable: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, p in (("y", y), ("u", u), ("v", v)):
        if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.ndim != 2:
            raise TypeError(f"{name} must be a 2-D uint8 numpy array (an 8-bit plane), got "
                            f"{getattr(p, 'dtype', type(p).__name__)} with shape {np.shape(p)}")
        if writeable and not p.flags.writeable:
            raise InputError(f"{name} must be writeable: the region is written back into it")
    h, w = y.shape
    want = ((h + 1) // 2, (w + 1) // 2)
    if u.shape != want or v.shape != want:
        raise InputError(f"u and v must have shape {want} for a {h}×{w} luma plane (4:2:0), got {u.shape}, {v.shape}")
    return y, u, v


def _region(x0: int, y0: int, width: int, height: int, plane: np.ndarray) -> tuple[int, int]:
    for name, value in (("x0", x0), ("y0", y0), ("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    h, w = plane.shape
    if x0 % 2 or y0 % 2 or width % 2 or height % 2:
        raise InputError(f"a 4:2:0 region must start and end on even pixels (whole 2×2 chroma blocks), got "
                         f"x0={x0}, y0={y0}, {width}×{height}")
    if x0 < 0 or y0 < 0 or width < 0 or height < 0 or x0 + width > w or y0 + height > h:
        raise InputError(f"region {width}×{height} at ({x0}, {y0}) does not fit in the {w}×{h} frame")
    return int(x0), int(y0)


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, box: Sequence[int], *, matrix: np.ndarray,
                  out: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8 (y1-y0, x1-x0, 3) of the region ``box`` = (x0, y0, x1, y1) (even, exclusive ends) of
    4:2:0 planes, converted with ``matrix`` (:func:`yuv_matrix`); ``out``: an optional buffer."""
    y, u, v = _planes(y, u, v, writeable=False)
    if len(box) != 4:
        raise InputError(f"box must be (x0, y0, x1, y1), got {box!r}")
    x0, y0, x1, y1 = box
    x0, y0 = _region(x0, y0, x1 - x0, y1 - y0, y)
    m = _matrix(matrix)
    shape = (int(y1) - y0, int(x1) - x0, 3)
    if out is None:
        out = np.empty(shape, np.uint8)
    else:
        check_out(out, "out", shape, np.uint8)
    _to_rgb_kernel(y, u, v, x0, y0, out, m)
    return out


def rgb_into_yuv420(rgb: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, origin: Sequence[int], *,
                    matrix: np.ndarray, unchanged: np.ndarray | None = None) -> int:
    """Write an edited RGB uint8 region back into 4:2:0 planes, in place, with its top-left pixel at
    ``origin`` = (x0, y0) (even); returns the 2×2 blocks written.

    With ``unchanged`` (the region as :func:`yuv420_to_rgb` read it, before the edit), only what the
    edit touched is written: a pixel equal to it keeps its luma and a block of four such pixels keeps its
    chroma, bit for bit, so a region read out and written back unedited leaves the planes as decoded.
    """
    y, u, v = _planes(y, u, v, writeable=True)
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise TypeError(f"rgb must be an H×W×3 uint8 array, got {getattr(rgb, 'dtype', type(rgb).__name__)} "
                        f"with shape {np.shape(rgb)}")
    if len(origin) != 2:
        raise InputError(f"origin must be (x0, y0), got {origin!r}")
    x0, y0 = _region(origin[0], origin[1], rgb.shape[1], rgb.shape[0], y)
    rgb = np.ascontiguousarray(rgb)
    check = unchanged is not None
    if check:
        if not isinstance(unchanged, np.ndarray) or unchanged.dtype != np.uint8 or unchanged.shape != rgb.shape:
            raise InputError(f"unchanged must be a uint8 array shaped like rgb {rgb.shape}, got "
                             f"{getattr(unchanged, 'dtype', type(unchanged).__name__)} {np.shape(unchanged)}")
        before = np.ascontiguousarray(unchanged)
    else:
        before = rgb
    return int(_from_rgb_kernel(rgb, before, check, y, u, v, x0, y0, _matrix(matrix)))


def _matrix(matrix: Any) -> np.ndarray:
    m = np.ascontiguousarray(matrix, np.float64)
    if m.shape != (8,) or not np.isfinite(m).all() or m[1] <= 0 or m[4] <= 0 or m[5] <= 0 or m[6] <= 0 or m[7] <= 0:
        raise InputError("matrix must be the 8 constants from yuv_matrix()")
    return m


__all__ = ["STANDARDS", "rgb_into_yuv420", "yuv420_to_rgb", "yuv_matrix"]
