"""Plain-NumPy references shared by the kernel tests (checked against scipy in test_kernels_reference.py).

``small``/``SETTINGS`` shrink sizes and example counts under ``NUMBA_DISABLE_JIT=1``, where kernels run as
(slow) plain Python.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings

from talkies.kernels.config import JIT_DISABLED

#: Hypothesis profile for kernel tests: few examples without the JIT, no deadline (first calls compile).
SETTINGS = settings(max_examples=6 if JIT_DISABLED else 30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def small(full: int, reduced: int) -> int:
    """A problem size: ``full`` normally, ``reduced`` when kernels run as plain Python."""
    return reduced if JIT_DISABLED else full


def bilinear_ref(image: np.ndarray, x: np.ndarray, y: np.ndarray, border: float | None = None) -> np.ndarray:
    """Bilinear samples of an H×W×C image at (x, y) arrays, float64 result (..., C).

    ``border=None`` replicates edge pixels; a number makes out-of-image taps read that value.
    """
    img = image.astype(np.float64)
    h, w = img.shape[:2]
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    x0 = np.floor(x)
    y0 = np.floor(y)
    ax = (x - x0)[..., None]
    ay = (y - y0)[..., None]
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)

    def tap(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        if border is None:
            return img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        inside = ((xx >= 0) & (xx < w) & (yy >= 0) & (yy < h))[..., None]
        return np.where(inside, img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], border)

    top = tap(y0, x0) * (1 - ax) + tap(y0, x0 + 1) * ax
    bot = tap(y0 + 1, x0) * (1 - ax) + tap(y0 + 1, x0 + 1) * ax
    return top * (1 - ay) + bot * ay


def to_dtype(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round-half-up to uint8 as the kernels do, or cast to float32."""
    if np.dtype(dtype) == np.uint8:
        return np.floor(values + 0.5).clip(0, 255).astype(np.uint8)
    return values.astype(np.float32)


def random_image(rng: np.random.Generator, h: int, w: int, c: int, dtype: type = np.uint8) -> np.ndarray:
    if dtype == np.uint8:
        return rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    return rng.random((h, w, c), dtype=np.float32)


def yuv_forward_ref(kr: float, kb: float) -> np.ndarray:
    """The 3×3 matrix taking RGB (0-1) to Y (0-1) and Cb, Cr (±0.5), written from the standard's definition."""
    kg = 1.0 - kr - kb
    return np.array([[kr, kg, kb],
                     [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
                     [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))]])


def _code_scale(full_range: bool) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) of 8-bit code values per unit of Y, Cb, Cr."""
    if full_range:
        return np.array([255.0, 255.0, 255.0]), np.array([0.0, 128.0, 128.0])
    return np.array([219.0, 224.0, 224.0]), np.array([16.0, 128.0, 128.0])


def yuv420_to_rgb_ref(y: np.ndarray, u: np.ndarray, v: np.ndarray, box: tuple[int, int, int, int], kr: float,
                      kb: float, full_range: bool) -> np.ndarray:
    """RGB uint8 of a region of 4:2:0 planes, each chroma sample repeated over its 2×2 block."""
    x0, y0, x1, y1 = box
    rows, cols = np.mgrid[y0:y1, x0:x1]
    codes = np.stack([y[rows, cols], u[rows // 2, cols // 2], v[rows // 2, cols // 2]], -1).astype(np.float64)
    scale, offset = _code_scale(full_range)
    ycc = (codes - offset) / scale
    rgb = ycc @ np.linalg.inv(yuv_forward_ref(kr, kb)).T * 255.0
    return to_dtype(rgb, np.uint8)


def rgb_into_yuv420_ref(rgb: np.ndarray, before: np.ndarray | None, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                        origin: tuple[int, int], kr: float, kb: float, full_range: bool) -> None:
    """In place: luma of every pixel that differs from `before` (all when None), and the mean chroma of
    the four pixels of every 2×2 block holding such a pixel."""
    x0, y0 = origin
    h, w = rgb.shape[:2]
    scale, offset = _code_scale(full_range)
    ycc = rgb.astype(np.float64) / 255.0 @ yuv_forward_ref(kr, kb).T
    changed = np.ones((h, w), bool) if before is None else (rgb != before).any(axis=2)
    luma = to_dtype(ycc[..., 0] * scale[0] + offset[0], np.uint8)
    y[y0:y0 + h, x0:x0 + w][changed] = luma[changed]
    blocks = changed.reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))
    chroma = ycc[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3)) * scale[1:] + offset[1:]
    chroma = to_dtype(chroma, np.uint8)
    for plane, k in ((u, 0), (v, 1)):
        plane[y0 // 2:(y0 + h) // 2, x0 // 2:(x0 + w) // 2][blocks] = chroma[..., k][blocks]
