"""Plain-NumPy references shared by the kernel tests, checked here against scipy; plus config tests.

The other ``test_kernels_*`` modules import these helpers. ``small``/``SETTINGS`` shrink sizes and
example counts under ``NUMBA_DISABLE_JIT=1``, where kernels run as (slow) plain Python.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from scipy import ndimage

from talkies.kernels import config
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


# ----------------------------------------------------------------------------------------------------
# The references themselves, against scipy.


@pytest.mark.parametrize("border", [None, 7.0])
def test_bilinear_ref_matches_scipy_map_coordinates(border: float | None) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((9, 13, 2))
    x = rng.uniform(-3, 15, 200)
    y = rng.uniform(-3, 11, 200)
    mode, cval = ("nearest", 0.0) if border is None else ("grid-constant", border)
    want = np.stack([ndimage.map_coordinates(img[:, :, c], [y, x], order=1, mode=mode, cval=cval)
                     for c in range(2)], axis=-1)
    np.testing.assert_allclose(bilinear_ref(img, x, y, border), want, atol=1e-12)


def test_to_dtype_rounds_half_up() -> None:
    got = to_dtype(np.array([0.49, 0.5, 254.5, 255.0]), np.uint8)
    np.testing.assert_array_equal(got, [0, 1, 255, 255])


# ----------------------------------------------------------------------------------------------------
# Config: one place for the flags, and importing compiles nothing.


def test_config_flags_are_the_documented_ones() -> None:
    assert config.CACHE is True
    assert config.PARALLEL is False
    assert "nnan" not in config.FASTMATH and "ninf" not in config.FASTMATH
    assert config.jit.keywords["cache"] is True


def test_importing_kernels_compiles_nothing() -> None:
    # A fresh interpreter: a kernel compiled (or loaded from cache) at import would list a signature.
    code = (
        "import numba, talkies.kernels as k\n"
        "from talkies.kernels import blendshapes, crop, filters, solve, warp, _sample\n"
        "mods = (blendshapes, crop, filters, solve, warp, _sample)\n"
        "jitted = [f for m in mods for f in vars(m).values() if isinstance(f, numba.core.registry.CPUDispatcher)]\n"
        "assert jitted, 'no kernels found'\n"
        "print(sum(len(f.signatures) for f in jitted))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         env={"NUMBA_DISABLE_JIT": "0", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0"
