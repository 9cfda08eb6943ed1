"""Input checks shared by the public kernel wrappers (numpy only, no compilation).

Every wrapper turns user input into C-contiguous float32 (or uint8 for images) before a kernel sees
it: wrong kinds of object raise ``TypeError``, wrong shapes and non-finite values raise
:class:`talkies.errors.InputError` with a message that says how to fix the call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from talkies.errors import InputError

from .config import jit

#: Image dtypes a kernel runs natively; anything else real-valued is converted to float32.
IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))


def _numeric(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as an ndarray of a real numeric dtype, or raise TypeError."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None
    if arr.dtype == np.bool_ or arr.dtype.kind not in "uif":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise InputError when ``arr`` holds NaN or inf (integers are always finite)."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InputError(f"{name} contains NaN or inf; clean or mask the input first")


def as_f32(value: Any, name: str, shape: Sequence[int | None] | None = None, *, ndim: int | None = None,
           finite: bool = True) -> np.ndarray:
    """Convert to a C-contiguous float32 array, checking shape (None = any size) and finiteness."""
    arr = _numeric(value, name)
    if shape is not None:
        check_shape(arr, name, shape)
    elif ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if finite:
        check_finite(arr, name)
    return arr


def as_f32_unchecked(value: Any, name: str) -> np.ndarray:
    """float32 C-contiguous without the finiteness pass, for per-frame wrappers whose kernel checks
    finiteness itself; an array that already fits passes through untouched (no numpy calls)."""
    if type(value) is np.ndarray and value.dtype == np.float32 and value.flags.c_contiguous:
        return value
    return as_f32(value, name, finite=False)


def as_index(value: Any, name: str, shape: Sequence[int | None], upper: int) -> np.ndarray:
    """Convert to C-contiguous int64 indices in ``[0, upper)``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    check_shape(arr, name, shape)
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        raise InputError(f"{name} holds indices outside [0, {upper}); got range [{arr.min()}, {arr.max()}]")
    return arr


def check_shape(arr: np.ndarray, name: str, shape: Sequence[int | None]) -> None:
    """Raise InputError unless ``arr.shape`` matches ``shape`` (None matches any size)."""
    ok = arr.ndim == len(shape) and all(want is None or got == want for got, want in zip(arr.shape, shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"{name} must have shape {want}, got {arr.shape}")


def as_image(value: Any, name: str = "image") -> np.ndarray:
    """Return an H×W×C C-contiguous uint8 or float32 image (a 2-D input gains a channel axis).

    uint8 stays uint8 (kernels round results back to uint8); every other real dtype becomes float32.
    """
    arr = _numeric(value, name)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1 or not 1 <= arr.shape[2] <= 4:
        raise InputError(f"{name} must be H×W or H×W×C with 1 to 4 channels, got shape {np.shape(value)}")
    dtype = np.uint8 if arr.dtype == np.uint8 else np.float32
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr, name)
    return arr


def check_out(out: Any, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """Check a caller-provided output buffer: ndarray of exactly ``shape``/``dtype``, C-contiguous."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(out).__name__}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise InputError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise InputError(f"{name} must be a writeable C-contiguous array; pass np.ascontiguousarray(...)")
    return out


def check_no_alias(out: np.ndarray, name: str, *inputs: np.ndarray) -> None:
    """Kernels read inputs while writing ``out``: overlapping memory would corrupt the result."""
    for arr in inputs:
        if np.may_share_memory(out, arr):  # bounds test: cheap enough for per-frame calls
            raise InputError(f"{name} must not share memory with the inputs; pass a separate buffer")


def as_scalar(value: Any, name: str, *, low: float | None = None, high: float | None = None,
              low_open: bool = False) -> float:
    """A finite real scalar within bounds; ``low_open`` makes the lower bound strict."""
    if type(value) is not float and type(value) is not int:  # fast path first: called per frame
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {v}")
    if low is not None and (v <= low if low_open else v < low):
        raise InputError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and v > high:
        raise InputError(f"{name} must be <= {high}, got {v}")
    return v


def as_f64(value: Any, name: str, shape: Sequence[int | None]) -> np.ndarray:
    """Finite float64 array of ``shape``: for small geometric inputs (centres, matrices) where
    float32 would cost precision for nothing."""
    arr = _numeric(value, name)
    check_shape(arr, name, shape)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    check_finite(arr, name)
    return arr


def as_pair(value: Any, name: str, *, positive: bool = False) -> tuple[float, float]:
    """A pair of finite reals such as (x, y) or (width, height), kept in float64."""
    if type(value) in (tuple, list) and len(value) == 2 and all(type(v) in (int, float) for v in value):
        a, b = float(value[0]), float(value[1])  # per-frame fast path: no numpy round trip
        if not (math.isfinite(a) and math.isfinite(b)):
            raise InputError(f"{name} contains NaN or inf; clean or mask the input first")
    else:
        arr = as_f64(value, name, (2,))
        a, b = float(arr[0]), float(arr[1])
    if positive and (a <= 0 or b <= 0):
        raise InputError(f"{name} must be positive, got ({a}, {b})")
    return a, b


@jit
def all_finite(values: np.ndarray) -> bool:
    """In-kernel finiteness check of a 1-D array: per-frame wrappers skip the separate numpy pass."""
    for v in values:
        if not np.isfinite(v):
            return False
    return True
