"""pytest-benchmark suite over the cases of ``talkies bench`` (benchmarks/harness/), 1 thread:

- one inference of every bundle already in $TALKIES_HOME/bundles (and the shipped lip-sync bundles), per
  model × target × precision whose backend runs here, on the bundle's real test inputs;
- the LipSync task per lip-sync bundle: a whole validation utterance offline, one 10 ms streaming push;
- FaceTracker per backend with fp32 face bundles: one VIDEO frame of the clip made from real photos;
- the loudness-only lip-sync baseline on the same utterance.

Run: ``make bench`` (``pytest benchmarks --benchmark-only``). Bundles are never built here (``talkies bench``
builds them); cases without a bundle are skipped with the reason. Timings are reported, never asserted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")
os.environ.setdefault("TALKIES_THREADS", "1")

from talkies.benchmarks import lipsync as lipsync_bench  # noqa: E402
from talkies.benchmarks.common import PORTABLE_BACKENDS, inner_progress_off, model_bytes  # noqa: E402
from talkies.benchmarks.harness.bundles import existing_bundle  # noqa: E402
from talkies.benchmarks.harness.config import PRECISIONS, TARGETS  # noqa: E402
from talkies.benchmarks.harness.rows import HEADLINE  # noqa: E402
from talkies.runtime.bundle import default_bundle_dir  # noqa: E402
from talkies.runtime.session import backend_available  # noqa: E402

MODELS = tuple(HEADLINE)
CASES = [(m, t, p) for m in MODELS for t in TARGETS if t in PORTABLE_BACKENDS for p in PRECISIONS]


@pytest.fixture(scope="module", autouse=True)
def quiet_progress() -> Iterator[None]:
    with inner_progress_off():
        yield


def _bundle_or_skip(model: str, target: str, precision: str):
    reason = backend_available(target)
    if reason is not None:
        pytest.skip(reason)
    path = existing_bundle(model, target, precision, default_bundle_dir())
    if path is None:
        pytest.skip(f"no {model}-{target}-{precision} bundle; `talkies bench` builds it")
    return path


@pytest.mark.parametrize(("model", "target", "precision"), CASES)
def test_bundle_inference(benchmark: Any, model: str, target: str, precision: str) -> None:
    from talkies.export.parity import unstack_samples
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import open_session

    path = _bundle_or_skip(model, target, precision)
    with Bundle(path) as bundle:
        samples = unstack_samples(bundle.test_vectors()[0])
        session = open_session(bundle.manifest, bundle.root, threads=1)
        benchmark.group = f"{model} (one call)"
        benchmark.extra_info.update(size_bytes=model_bytes(bundle.manifest),
                                    parity_passed=bundle.manifest.parity.passed)
        counter = iter(range(10**9))
        benchmark(lambda: session.run(samples[next(counter) % len(samples)]))


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    """The longest validation utterance (7.1 s of real speech)."""
    return max((audio for _, audio, _ in lipsync_bench.validation_set()), key=len)


def _lipsync_bundles() -> list[Any]:
    try:
        return lipsync_bench.find_bundles(None, backends=PORTABLE_BACKENDS)
    except Exception:  # pragma: no cover - lip-sync runtime missing
        return []


@pytest.mark.parametrize("bundle", [b for b in _lipsync_bundles() if not b.streaming] or [None],
                         ids=lambda b: f"{b.backend}-{b.precision}" if b else "none")
def test_lipsync_offline(benchmark: Any, bundle, utterance: np.ndarray) -> None:
    from talkies.runtime.lipsync import LipSync, LipSyncOptions

    if bundle is None:
        pytest.skip(lipsync_bench.no_bundle_reason(None))
    options = LipSyncOptions(backend=bundle.backend, precision=bundle.precision, bundle_dir=bundle.path.parent,
                             threads=1)
    with LipSync(options) as task:
        benchmark.group = "lip-sync offline (7.1 s utterance)"
        benchmark.extra_info["audio_s"] = len(utterance) / 16000
        benchmark(task.process, utterance)


@pytest.mark.parametrize("bundle", [b for b in _lipsync_bundles() if b.streaming] or [None],
                         ids=lambda b: f"{b.backend}-{b.precision}" if b else "none")
def test_lipsync_stream_hop(benchmark: Any, bundle, utterance: np.ndarray) -> None:
    from talkies.runtime.lipsync import LipSync, LipSyncOptions, RunningMode

    if bundle is None:
        pytest.skip(lipsync_bench.no_bundle_reason(None))
    options = LipSyncOptions(running_mode=RunningMode.AUDIO_STREAM, backend=bundle.backend,
                             precision=bundle.precision, bundle_dir=bundle.path.parent, threads=1)
    hops = [utterance[i:i + 160] for i in range(0, len(utterance) - 160, 160)]
    counter = iter(range(10**9))
    with LipSync(options) as task:
        benchmark.group = "lip-sync streaming (one 10 ms push)"
        benchmark(lambda: task.push(hops[next(counter) % len(hops)]))


def test_loudness_baseline(benchmark: Any, utterance: np.ndarray) -> None:
    benchmark.group = "lip-sync offline (7.1 s utterance)"
    benchmark(lipsync_bench.evaluate.loudness_baseline, utterance)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[np.ndarray, np.ndarray]:
    from talkies.benchmarks import tracking

    _, frames, stamps = tracking.make_inputs(tmp_path_factory.mktemp("clip"))
    return frames, stamps


@pytest.mark.parametrize("backend", ["mediapipe-tflite", *PORTABLE_BACKENDS])
def test_tracking_frame(benchmark: Any, backend: str, clip) -> None:
    from talkies.runtime.face import FaceTracker, FaceTrackerOptions, RunningMode
    from talkies.runtime.face.sessions import FaceModels, missing_bundles

    if backend == "mediapipe-tflite":
        models = FaceModels.from_mediapipe(threads=1)
    else:
        if backend_available(backend) is not None or missing_bundles(None, backend, "fp32"):
            pytest.skip(f"no fp32 {backend} face bundles (or backend) here")
        models = FaceModels.from_bundles(None, backend, "fp32", threads=1)
    frames, stamps = clip
    counter = iter(range(10**9))
    try:
        with FaceTracker(FaceTrackerOptions(running_mode=RunningMode.VIDEO), models=models) as tracker:
            def step() -> None:
                i = next(counter)
                if i % len(frames) == 0:
                    tracker.reset()
                k = i % len(frames)
                tracker.detect_for_video(frames[k], int(stamps[k]) + 10_000 * (i // len(frames)))

            benchmark.group = "tracking (one VIDEO frame)"
            benchmark(step)
    finally:
        models.close()
