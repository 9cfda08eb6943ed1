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


def _fresh(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         env={"NUMBA_DISABLE_JIT": "0", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_importing_kernels_compiles_nothing() -> None:
    # A fresh interpreter: filters, blend-shapes and solve do not even import numba until a kernel runs
    # (warp and crop do, for their sampling intrinsics), and no kernel is compiled or loaded at import.
    assert _fresh("import sys\nfrom talkies.kernels import blendshapes, filters, solve\n"
                  "print('numba' in sys.modules)") == "False"
    code = (
        "import numba, talkies.kernels as k\n"
        "from talkies.kernels import blendshapes, filters, solve, _sample\n"
        "from talkies.kernels import crop as crop_fn, warp as warp_fn\n"
        "import importlib; mods = [importlib.import_module(f'talkies.kernels.{m}') for m in "
        "('blendshapes', 'crop', 'filters', 'solve', 'warp', '_sample')]\n"
        "from talkies.kernels.config import Kernel\n"
        "lazy = [f for m in mods for f in vars(m).values() if isinstance(f, Kernel)]\n"
        "assert lazy and all(f.dispatcher is None for f in lazy), 'a kernel was made at import'\n"
        "print(callable(crop_fn) and callable(warp_fn))\n"
    )
    assert _fresh(code) == "True"


def test_a_first_call_makes_every_kernel_a_dispatcher() -> None:
    # Kernels call each other by module-global name: once numba loads, those names are dispatchers.
    code = (
        "import numpy as np, numba\n"
        "from talkies.kernels import filters\n"
        "f = filters.OneEuroFilter(); f.step(np.zeros(3, np.float32), 0.0)\n"
        "print(isinstance(filters._step, numba.core.registry.CPUDispatcher), len(filters._step.signatures))\n"
    )
    assert _fresh(code) == "True 1"


def test_small_work_runs_interpreted_and_agrees_with_the_kernel() -> None:
    """config.run interprets a kernel on little work (no numba start); it agrees with the compiled one."""
    code = (
        "import sys, numpy as np\n"
        "from talkies.kernels import filters\n"
        "x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)\n"
        "t = np.arange(50) / 100\n"
        "a = filters.OneEuroFilter(beta=1.0).step_many(x, t)\n"
        "print('numba' in sys.modules)\n"
        "b = filters.one_euro(x, t, beta=1.0)\n"
        "print(float(np.abs(a - b).max()) < 1e-5)\n"
    )
    assert _fresh(code).split() == ["False", "True"]
