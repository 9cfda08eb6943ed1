"""The one place for the numba compile flags every kernel uses.

Kernels are decorated with :data:`jit` and nothing else, so changing a flag here changes it everywhere.
Compilation stays lazy: a kernel compiles on its first call (or loads from the on-disk cache), never
at import.
"""

from __future__ import annotations

import functools

import numba

#: Keep compiled machine code in ``__pycache__`` so only the first run after an install pays for
#: compilation (about 15 s of CPU for all kernels and dtypes together). Numba checks only the
#: timestamp of the file that defines a cached function, so after editing a helper in another file
#: (e.g. ``_sample.py``) delete ``kernels/__pycache__/*.nb[ic]`` or callers keep the old inlined copy.
CACHE: bool = True

#: LLVM fast-math flags. Everything except ``nnan``/``ninf``: the wrappers already reject NaN and inf,
#: and leaving those two out keeps the in-kernel ``isfinite`` checks (One-Euro step) from being
#: optimised away. ``reassoc`` lets LLVM vectorise float reductions (blend-shapes, solve).
FASTMATH: set[str] = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: No kernel uses ``prange``. Edge apps run one stream per core and per-frame work is about a
#: millisecond or less, too little to amortise waking a thread pool; results also stay bit-identical
#: whatever the thread count.
PARALLEL: bool = False

#: True when ``NUMBA_DISABLE_JIT=1``: kernels then run as plain Python (slow; tests shrink sizes).
JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)

#: Options of every private kernel. ``error_model="numpy"`` drops the zero-division checks (kernels
#: guard their divisions themselves); ``nogil`` lets callers run kernels from threads.
JIT_OPTIONS: dict[str, object] = {
    "cache": CACHE,
    "fastmath": FASTMATH,
    "parallel": PARALLEL,
    "nogil": True,
    "error_model": "numpy",
    "boundscheck": False,
}

#: The decorator for every private kernel (``numba.extending.overload`` takes ``JIT_OPTIONS`` too).
jit = functools.partial(numba.njit, **JIT_OPTIONS)

__all__ = ["CACHE", "FASTMATH", "JIT_DISABLED", "JIT_OPTIONS", "PARALLEL", "jit"]
