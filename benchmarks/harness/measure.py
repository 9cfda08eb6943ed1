"""The bundle rows: build what is missing, then measure every bundle × thread count (speed and memory in a
child process, then parity and task metrics here)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from talkies.benchmarks.common import inner_progress_off, model_bytes
from talkies.benchmarks.harness.accuracy import lipsync_task_result, metric_inputs, parity_result
from talkies.benchmarks.harness.bundles import locate_or_build
from talkies.benchmarks.harness.child import run_child
from talkies.benchmarks.harness.config import BenchConfig, plan
from talkies.benchmarks.harness.progress import Phase
from talkies.benchmarks.harness.rows import Row, Status, failure_reason, is_lipsync
from talkies.errors import TalkiesError
from talkies.types import TargetName


def bundle_rows(config: BenchConfig, progress, work: Path) -> tuple[list[Row], float]:
    """Build what is missing, then measure every bundle (one Row per bundle × thread count); also returns
    the seconds spent building."""
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import backend_available

    cases = plan(config)
    located: dict[tuple[str, str, str], tuple[Path | None, Row | None, float | None]] = {}
    build = Phase(progress, "building bundles", len(cases))
    t0 = time.perf_counter()
    for model, target, precision in cases:
        build.step(f"{model} {target} {precision}")
        located[(model, target, precision)] = locate_or_build(model, target, precision, config, backend_available)
        build.advance()
    build.done()
    build_s = time.perf_counter() - t0

    rows: list[Row] = []
    metric_cache: dict = {}
    lipsync_cache: dict = {}
    measure = Phase(progress, "measuring bundles", len(cases) * len(config.threads))
    for (model, target, precision), (path, problem, built) in located.items():
        if problem is not None:
            rows.append(problem)
            measure.advance()
            continue
        assert path is not None
        with Bundle(path) as bundle:
            manifest = bundle.manifest
            reference = bundle.test_vectors()[1]
        size = model_bytes(manifest)
        spec = _spec_or_none(model)
        for threads in config.threads:
            measure.step(f"{model} {target} {precision} ({threads} thread{'s' if threads > 1 else ''})")
            row = Row(model, target, precision, threads, bundle=str(path), size_bytes=size, built=built is not None,
                      build_s=built)
            reason = backend_available(target)
            if target == TargetName.COREML and reason is not None:
                _coreml_row(row, path)
            elif reason is not None:
                row.status, row.reason = Status.SKIPPED.value, reason
            else:
                _measure_into(row, path, manifest, reference, spec, config, work, metric_cache, lipsync_cache)
            rows.append(row)
            measure.advance()
    measure.done()
    return rows, build_s


def _measure_into(row: Row, path: Path, manifest, reference: dict[str, np.ndarray], spec, config: BenchConfig,
                  work: Path, metric_cache: dict, lipsync_cache: dict) -> None:
    """Fill `row` with the child's figures, then parity and the task metric from the child's outputs."""
    try:
        metric_path, metric_ref = metric_inputs(row.model, config.metric_samples, work, metric_cache)
        figures, outputs, metric_out = run_child(path, row.threads, config, work, metric_path)
    except Exception as exc:  # the backend crashing on this bundle: an error row, the run goes on
        row.status, row.reason = Status.ERROR.value, failure_reason(exc)
        return
    row.load_ms = figures["load_ms"]
    row.latency = figures["latency"]
    row.peak_rss_mb, row.rss_model_mb = figures["peak_rss_mb"], figures["rss_model_mb"]
    row.parity = parity_result(manifest, outputs, reference, spec)
    if row.parity["passed"] is False:
        row.status = Status.PARITY_FAILED.value
        row.reason = "; ".join(row.parity["violations"])
    if metric_out and spec is not None and spec.metrics is not None:
        row.task_metrics = {k: float(v) for k, v in spec.metrics(metric_out, metric_ref).items()}
    if is_lipsync(row.model):
        with inner_progress_off():
            lipsync_task_result(row, path, lipsync_cache)


def _spec_or_none(model: str):
    """The model's spec, or None where it cannot be loaded here."""
    from talkies.export.registry import get_spec

    try:
        return get_spec(model)
    except TalkiesError:
        return None


def _coreml_row(row: Row, path: Path) -> None:
    """Off macOS a Core ML bundle cannot run: its row gives the size and the spec check."""
    from talkies.targets.bundle_writer import verify_bundle

    row.status, row.reason = Status.NEEDS_MACOS.value, "needs macOS"
    try:
        report = verify_bundle(path)
        row.spec_check = "; ".join(n for n in report.notes if not n.startswith("not replayed")) or "checked"
    except TalkiesError as exc:
        row.status, row.reason = Status.ERROR.value, f"verification failed: {exc}"
