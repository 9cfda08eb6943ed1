"""The one place for the numba compile flags every kernel uses, and the lazy kernel they make.

Kernels are decorated with :data:`jit` and nothing else, so changing a flag here changes it everywhere.
Nothing is compiled, and numba is not even imported, until a kernel is first called: then numba loads,
and the kernel compiles or loads from the on-disk cache. Loading numba's CPU target costs about half a
second, so a command that runs a kernel on a little data (a 1-second clip's smoothing) may run it as
plain Python instead (:func:`run`): the same function, interpreted, with no numba at all.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

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

#: True when ``NUMBA_DISABLE_JIT=1``: kernels then run as plain Python (slow; tests shrink sizes). Read
#: as numba reads it, without importing numba.
JIT_DISABLED: bool = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0")

#: Below this many inner-loop iterations (e.g. frames × values) :func:`run` interprets a kernel rather
#: than loading numba: about 50 ms of Python against about 500 ms for numba's start.
INTERPRET_MAX_WORK = 20_000

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

class Kernel:
    """A numba kernel made on its first call. Kernels call each other by module-global name, so when numba
    loads, every kernel defined so far gets its dispatcher and each module's name is pointed at it
    (numba, compiling a caller, must see dispatchers, not this wrapper)."""

    _all: list[Kernel] = []
    _lock = threading.Lock()
    _local = threading.local()

    def __init__(self, py_func: Callable, options: dict[str, Any]) -> None:
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self.options = options
        self.dispatcher: Any = None
        Kernel._all.append(self)

    def __call__(self, *args: Any) -> Any:
        if self.dispatcher is None and getattr(Kernel._local, "interpret", False):
            return self.py_func(*args)
        if self.dispatcher is None:
            _load_all()
        return self.dispatcher(*args)


def _load_all() -> None:
    import numba

    with Kernel._lock:
        for kernel in Kernel._all:
            if kernel.dispatcher is None:
                kernel.dispatcher = numba.njit(**kernel.options)(kernel.py_func)
        for name, module in list(sys.modules.items()):
            if name.startswith("talkies.") and module is not None:
                for attr, value in list(vars(module).items()):
                    if isinstance(value, Kernel):
                        setattr(module, attr, value.dispatcher)


def _lazy_njit(func: Callable | None = None, **options: Any) -> Any:
    if func is None:
        return lambda f: Kernel(f, options)
    return Kernel(func, options)


def run(kernel: Callable, *args: Any, work: int) -> Any:
    """Call `kernel`; with little `work` while numba is not loaded yet, run it as plain Python instead of
    paying for numba's start. The two paths agree to float rounding (the kernels use fast-math), not to
    the bit: a small input gives the same bytes in every fresh process, not always beside other work."""
    if isinstance(kernel, Kernel) and kernel.dispatcher is None and work <= INTERPRET_MAX_WORK:
        Kernel._local.interpret = True
        try:
            return kernel.py_func(*args)
        finally:
            Kernel._local.interpret = False
    return kernel(*args)


#: The decorator for every private kernel (``numba.extending.overload`` takes ``JIT_OPTIONS`` too).
jit = functools.partial(_lazy_njit, **JIT_OPTIONS)

__all__ = ["CACHE", "FASTMATH", "INTERPRET_MAX_WORK", "JIT_DISABLED", "JIT_OPTIONS", "Kernel", "PARALLEL", "jit",
           "run"]
