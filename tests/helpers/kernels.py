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
