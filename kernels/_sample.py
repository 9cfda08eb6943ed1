"""Bilinear sampling helpers shared by the warp and crop kernels (njit, private).

Each writes ``bilinear(pixels) · scale + offset`` into an output pixel: warp uses scale 1 and offset
0.5 (the uint8 store truncates, so that rounds), crop uses them to normalise to a model's input range.
The fast path (:func:`resample_span`) handles whole scan-line spans whose taps are all inside the
image; the per-pixel samplers handle borders.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from .config import JIT_OPTIONS, jit

#: Keep fast-path source positions this far inside the last pixel, so float rounding along a span
#: can never reach a tap beyond the image.
_MARGIN = 1e-3


@jit
def span_inside(mxx: float, rx: float, myx: float, ry: float, xs: int, xe: int, w: int, h: int) -> bool:
    """Whether all source positions (mxx·x + rx, myx·x + ry), x in [xs, xe], have 4 taps inside.

    They are affine in x, so the span's two ends bound them all.
    """
    sxa = mxx * xs + rx
    sxb = mxx * xe + rx
    sya = myx * xs + ry
    syb = myx * xe + ry
    return (min(sxa, sxb) >= 0.0 and max(sxa, sxb) <= w - 1 - _MARGIN
            and min(sya, syb) >= 0.0 and max(sya, syb) <= h - 1 - _MARGIN)


@jit
def _axis_range(a: float, b: float, hi: float, xs: int, xe: int) -> tuple[int, int]:
    """The x in [xs, xe] with 0 <= a·x + b <= hi (possibly empty: first > last)."""
    if a == 0.0:
        return (xs, xe) if 0.0 <= b <= hi else (xs, xs - 1)
    lo_x, hi_x = -b / a, (hi - b) / a
    if a < 0.0:
        lo_x, hi_x = hi_x, lo_x
    # clamped into [xs - 1, xe + 1] before int(): a near-zero `a` (a denormal rotation) makes them ±inf
    first = max(xs, int(math.ceil(min(max(lo_x, xs - 1.0), xe + 1.0))))
    last = min(xe, int(math.floor(max(min(hi_x, xe + 1.0), xs - 1.0))))
    return first, last


@jit
def inside_range(mxx: float, rx: float, myx: float, ry: float, xs: int, xe: int, w: int, h: int) -> tuple[int, int]:
    """The longest run [first, last] of x in [xs, xe] whose source positions have 4 taps inside (as
    :func:`span_inside` checks them; first > last when there is none). A row that crosses the image's
    edge (a face near the frame border) then resamples its inside part on the fast path and only the
    rest pixel by pixel."""
    fx, lx = _axis_range(mxx, rx, w - 1 - _MARGIN, xs, xe)
    fy, ly = _axis_range(myx, ry, h - 1 - _MARGIN, xs, xe)
    first, last = max(fx, fy), min(lx, ly)
    # The bounds came from divisions: step inwards until the exact check agrees (a step or two at most).
    for _ in range(4):
        if first > last or span_inside(mxx, rx, myx, ry, first, last, w, h):
            return first, last
        first += 1
        last -= 1
    return xs, xs - 1


@jit
def scratch(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-span work arrays for :func:`resample_span` (tap offsets, x and y fractions)."""
    return np.empty(width, np.uint64), np.empty(width, np.float32), np.empty(width, np.float32)


@functools.lru_cache(maxsize=32)
def _table(dtype: str, scale: float) -> tuple[np.ndarray, float]:
    if np.dtype(dtype) == np.uint8:
        return np.arange(256, dtype=np.float32) * np.float32(scale), 1.0
    return np.zeros(1, np.float32), scale


def pixel_table(dtype: np.dtype, scale: float) -> tuple[np.ndarray, float]:
    """(lut, post) for :func:`resample_span`: output = (Σ w·fetch(pixel)) · post + offset.

    For uint8 the table holds ``v · scale`` for every byte value v: one L1 load replaces an int-to-float
    conversion per tap (the conversions were the bottleneck: about 1.5× faster), and post is 1. Float
    images read pixels as they are and scale afterwards. Tables are cached (kernels never write them).
    """
    return _table(np.dtype(dtype).str, float(scale))


def fetch(flat: np.ndarray, lut: np.ndarray, i: int) -> np.float32:
    """Pixel value flat[i] as float32, through ``lut`` for uint8 (see :func:`pixel_table`)."""
    return lut[flat[i]] if flat.dtype == np.uint8 else np.float32(flat[i])


@overload(fetch, jit_options=JIT_OPTIONS)
def _fetch_jit(flat, lut, i):  # type: ignore[no-untyped-def]  # numba wants the impl's exact signature
    # Compiled code picks the branch by dtype at typing time (plain Python runs `fetch` itself).
    if flat.dtype == types.uint8:
        return lambda flat, lut, i: lut[flat[i]]
    return lambda flat, lut, i: np.float32(flat[i])


@jit(inline="always")  # numba-level inlining: LLVM gives up inside big loops
def _tap_weights(ax: np.float32, ay: np.float32, scale: np.float32) -> tuple[float, float, float, float]:
    """The four bilinear tap weights (top-left, top-right, bottom-left, bottom-right), times scale."""
    w11 = ax * ay * scale
    w10 = ay * scale - w11
    w01 = ax * scale - w11
    return scale - ax * scale - w10, w01, w10, w11


def load_u64(flat: np.ndarray, i: int) -> np.uint64:
    """The 8 bytes of a uint8 array from index i as one little-endian word (zero past the end)."""
    return np.uint64(int.from_bytes(flat[i:i + 8].tobytes().ljust(8, b"\0"), "little"))


@intrinsic
def _load_u64_unaligned(typingctx, arr, idx):  # type: ignore[no-untyped-def]
    """One unaligned 64-bit load from a uint8 array: two pixels' bytes in one memory access."""
    sig = types.uint64(arr, idx)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        ptr = builder.bitcast(builder.gep(data, [args[1]]), context.get_value_type(types.uint64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen


@overload(load_u64, jit_options=JIT_OPTIONS)
def _load_u64_jit(flat, i):  # type: ignore[no-untyped-def]
    if flat.dtype == types.uint8:
        return lambda flat, i: _load_u64_unaligned(flat, i)
    return lambda flat, i: np.uint64(0)  # never called: word_loads() is False for these


def prefetch(flat: np.ndarray, i: int) -> None:
    """Ask the CPU to start loading flat[i]'s cache line (compiled code; plain Python does nothing)."""


@intrinsic
def _prefetch_line(typingctx, arr, idx):  # type: ignore[no-untyped-def]
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        from llvmlite import ir
        from numba.core import cgutils

        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        ptr = builder.gep(data, [args[1]])
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # a read, kept in every cache level, of data
        return context.get_dummy_value()

    return sig, codegen


@overload(prefetch, jit_options=JIT_OPTIONS)
def _prefetch_jit(flat, i):  # type: ignore[no-untyped-def]
    return lambda flat, i: _prefetch_line(flat, i)


def word_loads(flat: np.ndarray) -> bool:
    """Whether pixels can be read as 64-bit words (uint8 data on a little-endian machine)."""
    return bool(flat.dtype == np.uint8 and _LITTLE)


@overload(word_loads, jit_options=JIT_OPTIONS)
def _word_loads_jit(flat):  # type: ignore[no-untyped-def]
    yes = flat.dtype == types.uint8 and _LITTLE  # a compile-time constant: the other branch folds away
    return lambda flat: yes


_LITTLE = sys.byteorder == "little"
_U8 = np.uint64(8)
_BYTE = np.uint64(0xFF)


@jit(inline="always")  # numba-level inlining: LLVM gives up inside big loops
def _rgb_from_words(flat: np.ndarray, lut: np.ndarray, b: np.uint64, c: np.uint64, w00: float, w01: float,
                    w10: float, w11: float, flat_out: np.ndarray, o: np.uint64, offset: np.float32) -> None:
    """RGB taps from two word loads (top row at b, bottom row at c): 2 memory reads instead of 12."""
    top = load_u64(flat, b)
    bot = load_u64(flat, c)
    for k in range(3):
        near = np.uint64(8 * k)  # byte k: left pixel's channel k; byte k+3: right pixel's
        far = np.uint64(8 * k + 24)
        flat_out[o + np.uint64(k)] = (w00 * lut[(top >> near) & _BYTE] + w01 * lut[(top >> far) & _BYTE]
                                      + w10 * lut[(bot >> near) & _BYTE] + w11 * lut[(bot >> far) & _BYTE]
                                      + offset)


@jit(inline="always")  # numba-level inlining: LLVM gives up inside big loops
def _taps(flat: np.ndarray, lut: np.ndarray, b: np.uint64, c: np.uint64, nch: int, w00: float, w01: float,
          w10: float, w11: float, flat_out: np.ndarray, o: np.uint64, offset: np.float32) -> None:
    step = np.uint64(nch)
    for k in range(nch):
        ch = np.uint64(k)
        flat_out[o + ch] = (w00 * fetch(flat, lut, b + ch) + w01 * fetch(flat, lut, b + step + ch)
                            + w10 * fetch(flat, lut, c + ch) + w11 * fetch(flat, lut, c + step + ch) + offset)


@jit
def resample_span(flat: np.ndarray, stride: int, nch: int, flat_out: np.ndarray, start: int, n: int, sx0: float,
                  dsx: float, sy0: float, dsy: float, lut: np.ndarray, post: float, offset: float,
                  offs: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> None:
    """Write n output pixels from ``flat_out[start]`` on, sampled at (sx0 + i·dsx, sy0 + i·dsy).

    ``flat``/``flat_out`` are 1-D views of H×W×C images, ``stride`` = W·C; every source position must
    have its four taps inside (see :func:`span_inside`). ``lut``/``post`` come from
    :func:`pixel_table`; ``offs``, ``fx``, ``fy`` are :func:`scratch` of at least n. Two passes: tap
    offsets and fractions first (LLVM vectorises it, float-to-int conversions included), then the
    gathers with unsigned offsets (no negative-index fix-ups); uint8 RGB reads each row's two taps
    with one 64-bit load (about 1.2× faster again).
    """
    for i in range(n):
        sx = sx0 + i * dsx
        sy = sy0 + i * dsy
        x0 = int(sx)  # truncation is floor here: sx, sy >= 0
        y0 = int(sy)
        fx[i] = np.float32(sx - x0)
        fy[i] = np.float32(sy - y0)
        offs[i] = np.uint64(y0 * stride + x0 * nch)
    post32 = np.float32(post)
    offset32 = np.float32(offset)
    row = np.uint64(stride)
    o = np.uint64(start)
    # The furthest top-left tap: x0 and y0 are monotonic along the span, so the ends bound them
    # (tracking a running max in the loop above would stop it vectorising).
    x_far = int(max(sx0, sx0 + (n - 1) * dsx))
    y_far = int(max(sy0, sy0 + (n - 1) * dsy))
    last = np.uint64(y_far * stride + x_far * nch)
    # One loop per case, chosen once per span: a branch inside the pixel loop costs ~20%.
    if nch == 3 and word_loads(flat) and last + row + _U8 <= np.uint64(flat.size):
        for i in range(n):  # every bottom-row word stays inside the buffer
            b = offs[i]
            w00, w01, w10, w11 = _tap_weights(fx[i], fy[i], post32)
            _rgb_from_words(flat, lut, b, b + row, w00, w01, w10, w11, flat_out, o + np.uint64(3 * i), offset32)
    elif nch == 3:  # a constant channel count lets LLVM unroll the channel loop
        _gather_taps(flat, lut, offs, fx, fy, n, row, 3, post32, flat_out, o, offset32)
    else:
        _gather_taps(flat, lut, offs, fx, fy, n, row, nch, post32, flat_out, o, offset32)


@jit
def _gather_taps(flat: np.ndarray, lut: np.ndarray, offs: np.ndarray, fx: np.ndarray, fy: np.ndarray, n: int,
                 row: np.uint64, nch: int, post32: np.float32, flat_out: np.ndarray, o: np.uint64,
                 offset32: np.float32) -> None:
    step = np.uint64(nch)
    for i in range(n):
        b = offs[i]
        w00, w01, w10, w11 = _tap_weights(fx[i], fy[i], post32)
        _taps(flat, lut, b, b + row, nch, w00, w01, w10, w11, flat_out, o, offset32)
        o += step


@jit
def sample_replicate(image: np.ndarray, sx: float, sy: float, out: np.ndarray, y: int, x: int, scale: float,
                     offset: float) -> None:
    """Bilinear sample at (sx, sy) with the border replicated, into out[y, x, :]."""
    h, w, nch = image.shape
    fx = math.floor(sx)
    fy = math.floor(sy)
    ax = np.float32(sx - fx)
    ay = np.float32(sy - fy)
    x0 = min(max(int(fx), 0), w - 1)
    x1 = min(max(int(fx) + 1, 0), w - 1)
    y0 = min(max(int(fy), 0), h - 1)
    y1 = min(max(int(fy) + 1, 0), h - 1)
    for ch in range(nch):
        p00 = np.float32(image[y0, x0, ch])
        p10 = np.float32(image[y1, x0, ch])
        top = p00 + ax * (np.float32(image[y0, x1, ch]) - p00)
        bot = p10 + ax * (np.float32(image[y1, x1, ch]) - p10)
        out[y, x, ch] = (top + ay * (bot - top)) * np.float32(scale) + np.float32(offset)


@jit
def sample_constant(image: np.ndarray, sx: float, sy: float, border: float, out: np.ndarray, y: int, x: int,
                    scale: float, offset: float) -> None:
    """Bilinear sample where taps outside the image read ``border`` (cv2.BORDER_CONSTANT)."""
    h, w, nch = image.shape
    fx = math.floor(sx)
    fy = math.floor(sy)
    ax = np.float32(sx - fx)
    ay = np.float32(sy - fy)
    x0 = int(fx)
    y0 = int(fy)
    for ch in range(nch):
        acc = np.float32(0.0)
        for dy in range(2):
            wy = ay if dy else np.float32(1.0) - ay
            yy = y0 + dy
            for dx in range(2):
                wx = ax if dx else np.float32(1.0) - ax
                xx = x0 + dx
                p = np.float32(image[yy, xx, ch]) if 0 <= xx < w and 0 <= yy < h else np.float32(border)
                acc += wx * wy * p
        out[y, x, ch] = acc * np.float32(scale) + np.float32(offset)
