"""The plain-NumPy references of talkies.tests.helpers.kernels, checked against scipy; plus config tests."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from talkies.kernels import config
from talkies.tests.helpers.kernels import bilinear_ref, to_dtype


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
