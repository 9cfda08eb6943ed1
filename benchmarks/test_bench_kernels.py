"""pytest-benchmark suite for the kernels and their peers (the scenarios of ``benchmarks/kernels.py``).

Run: ``pytest benchmarks/test_bench_kernels.py`` (add ``--benchmark-group-by=group`` for side-by-side
tables). Timings are reported, never asserted; the only checks are that each call runs. The peers need
``opencv-python-headless``, scikit-image and scipy; missing ones are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from talkies.benchmarks import kernels as kb

pytest.importorskip("pytest_benchmark")

#: Peers that need an optional package, by name prefix.
_NEEDS = {"cv2": "cv2", "scikit-image": "skimage", "scipy": "scipy"}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    limiter = kb.single_thread()
    yield
    if limiter is not None:
        limiter.unregister()


@pytest.fixture(scope="module")
def scenarios() -> dict[str, kb.Scenario]:
    return {}


@pytest.mark.parametrize(("kernel", "impl"), [(k, i) for k, impls in kb.CASES.items() for i in impls])
def test_kernel(benchmark: Any, scenarios: dict[str, kb.Scenario], kernel: str, impl: str) -> None:
    for prefix, module in _NEEDS.items():
        if impl.startswith(prefix):
            pytest.importorskip(module)
    if kernel == "warp":
        pytest.importorskip("cv2")
        pytest.importorskip("skimage")
    if kernel == "crop":
        pytest.importorskip("cv2")
    if kernel not in scenarios:  # built once per module: frames, rigs and maps take a moment
        scenarios[kernel] = kb.scenario(kernel)
    sc = scenarios[kernel]
    benchmark.group = kernel
    benchmark.extra_info["units_per_call"] = sc.per_call.get(impl, 1)
    fn = sc.calls[impl]
    if impl in sc.slow:
        benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    else:
        benchmark(fn)
