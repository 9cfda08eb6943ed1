"""The cross-target benchmark behind ``talkies bench``: every model on every target and precision, side
by side, plus the end-to-end pipelines and their peers, in one run.

For each (model, target, precision) the bundle is looked up in the bundle folder (default
``$TALKIES_HOME/bundles``; the shipped lip-sync bundles too) and built with ``export_bundle`` when missing.
A build whose parity check fails is kept, apart, in ``<bundle dir>/.parity-failed/`` (never where the
runtime looks bundles up by name) and measured like the others: its row says "parity failed". A bundle of
the folder whose test vectors are not the ones its model gives now (new weights, a new reference) is
rebuilt; ``--rebuild failed|all`` exports the parity-failed ones, or all, again on request.

Each bundle × thread count is measured in a fresh child process (``python -m talkies.benchmarks.harness
--child JOB``), so the figures of one model never include another's memory or warm caches:

- load: creating the inference session from the bundle (model compile included);
- latency p50/p95 (wall) and CPU p50 (process time, all threads) per call after warm-up, cycling over the
  bundle's test vectors, which are the spec's real sample inputs; throughput = calls/s back to back;
- peak RSS: the child's own peak (VmHWM on Linux; ``ru_maxrss`` would carry the parent's peak over exec):
  interpreter + numpy + that backend + the model, and the model's share: that peak minus the child's RSS
  after importing the backend, before loading the model;
- parity: the test vectors replayed against the fp32 reference outputs they ship with, judged by the
  manifest's tolerance (the spec's task metrics included);
- task metric: face models on held-out real face crops against the fp32 reference (mean landmark px,
  blend-shape max abs error, detector box px); lip-sync bundles through the LipSync task on the real
  validation speech (``talkies.benchmarks.lipsync``, the same code path as its own benchmark).

Core ML rows off macOS give the size and the spec check and say "needs macOS"; a backend that is not
installed gives a "skipped" row with the reason. The pipeline rows (tracking frames/s, lip-sync real-time
factor and ms per streaming hop, ``animate`` real-time factor at 720p, kernels) and the peers (MediaPipe
FaceLandmarker and pylipsync in their own venvs, the loudness baseline, OpenCV/scikit-image) reuse the
scripts beside this one. Writes results.json, report.md, latency_vs_size.png, accuracy_vs_latency.png and
performance.md (the same tables as a README section).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.common import (PARITY_FAILED_DIR, current_rss_mb, fmt, inner_progress_off, load_average,
                                       machine_info, markdown_table, model_bytes, peak_rss_mb, time_calls)
from talkies.errors import InputError, TalkiesError
from talkies.io import write_text_atomic
from talkies.log import get_logger, make_progress

log = get_logger(__name__)

SCHEMA = "talkies-bench/1"
TARGETS = ("onnx", "openvino", "litert", "coreml")
PRECISIONS = ("fp32", "fp16", "int8")
PIPELINE_PARTS = ("int8", "tracking", "lipsync", "animate", "kernels")
TRACKING_PASSES = 5  # timed passes over the clip per tracker (the best is reported, as for MediaPipe)
INT8_ROUNDS, INT8_CALLS = 15, 20  # int8 speed-up: rounds of fp32 then int8 calls, one process
INT8_SPEEDUP_GOALS = {"face_landmarks": 1.3}  # DESIGN's goal, on at least one CPU backend
REBUILD = ("none", "failed", "all")
METRIC_SEED = 7  # held-out real inputs for the task metrics (test vectors use 0, calibration 1234)
CHILD_TIMEOUT_S = 300
#: The task metric shown in the table and plots per model: (key, label, lower is better).
HEADLINE = {
    "face_detector": ("detection_error_px", "detector box/keypoint error vs fp32 (px at 128)", True),
    "face_landmarks": ("mean_landmark_px", "mean landmark error vs fp32 (px at 256)", True),
    "face_blendshapes": ("max_score_error", "blend-shape max abs error vs fp32", True),
    "lipsync": ("coarse_accuracy", "lip-sync coarse accuracy (real speech)", False),
    "lipsync_stream": ("coarse_accuracy", "lip-sync coarse accuracy (real speech, streaming)", False),
}
LIPSYNC_FIGURES = ("coarse_accuracy", "closure_recall", "open_recall", "round_recall")


class Status(str, Enum):
    OK = "ok"
    PARITY_FAILED = "parity failed"
    NEEDS_MACOS = "needs macOS"
    SKIPPED = "skipped"
    UNSUPPORTED = "unsupported"
    BUILD_FAILED = "build failed"
    ERROR = "error"


@dataclass(kw_only=True)
class BenchConfig:
    models: tuple[str, ...] = ()
    """Empty: every registered model."""
    targets: tuple[str, ...] = TARGETS
    precisions: tuple[str, ...] = PRECISIONS
    threads: tuple[int, ...] = (1,)
    bundle_dir: Path | None = None
    out_dir: Path = Path("out")
    iterations: int = 20
    warmup: int = 3
    max_seconds: float = 2.0
    """Per measurement: the timed loop stops after this long (at least 3 calls)."""
    build: bool = True
    rebuild: str = "none"
    """Export again bundles found in the bundle folder: "failed" (the parity-failed ones, e.g. after the
    quantization changed), "all", or "none". Shipped bundles are never rebuilt."""
    pipeline: tuple[str, ...] = PIPELINE_PARTS
    peers: bool = True
    install_peers: bool = True
    metric_samples: int = 8
    animate_seconds: float = 10.0
    command: str = ""

    def __post_init__(self) -> None:
        from talkies.types import Precision, TargetName

        self.targets = tuple(TargetName.parse(t).value for t in self.targets)
        self.precisions = tuple(Precision.parse(p).value for p in self.precisions)
        if not self.threads or any(int(t) < 1 for t in self.threads):
            raise InputError(f"--threads takes positive integers, got {self.threads}")
        self.threads = tuple(int(t) for t in self.threads)
        if self.iterations < 1 or self.warmup < 0 or self.max_seconds <= 0:
            raise InputError("--iterations must be ≥ 1, --warmup ≥ 0 and the time budget > 0")
        if self.rebuild not in REBUILD:
            raise InputError(f"--rebuild takes one of {', '.join(REBUILD)}, got {self.rebuild!r}")
        if self.rebuild != "none" and not self.build:
            raise InputError("--rebuild needs building; drop --no-build")
        unknown = sorted(set(self.pipeline) - set(PIPELINE_PARTS))
        if unknown:
            raise InputError(f"unknown pipeline part(s) {unknown}; valid: {', '.join(PIPELINE_PARTS)}")
        if self.bundle_dir is None:
            from talkies.runtime.bundle import default_bundle_dir

            self.bundle_dir = default_bundle_dir()
        self.bundle_dir = Path(self.bundle_dir).expanduser()
        self.out_dir = Path(self.out_dir)


@dataclass
class Row:
    """One bundle × thread count. Figures stay None where they were not measured (and `reason` says why)."""

    model: str
    target: str
    precision: str
    threads: int
    status: str = Status.OK.value
    reason: str | None = None
    bundle: str | None = None
    built: bool = False
    build_s: float | None = None
    """Export time when this run built the bundle."""
    size_bytes: int | None = None
    load_ms: float | None = None
    latency: dict[str, float] | None = None
    peak_rss_mb: float | None = None
    rss_model_mb: float | None = None
    parity: dict[str, Any] | None = None
    task_metrics: dict[str, float] | None = None
    spec_check: str | None = None
    lipsync: dict[str, Any] | None = None

    @property
    def headline(self) -> float | None:
        key = HEADLINE.get(self.model, (None,))[0]
        return (self.task_metrics or {}).get(key) if key else None


@dataclass
class PipelineRow:
    """An end-to-end case or a peer: one figure with its unit (and the goal when there is one)."""

    case: str
    implementation: str
    value: float | None
    unit: str
    backend: str | None = None
    precision: str | None = None
    higher_is_better: bool = True
    goal: float | None = None
    status: str = Status.OK.value
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None or self.value is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal


# --- bundles -----------------------------------------------------------------------------------------


def _search(model: str, root: Path) -> list[Path]:
    dirs = [root]
    if model.startswith("lipsync"):
        from talkies.runtime.lipsync import shipped_bundle_dir

        dirs.append(shipped_bundle_dir())
    return dirs + [root / PARITY_FAILED_DIR]


def existing_bundle(model: str, target: str, precision: str, root: Path) -> Path | None:
    from talkies.runtime.bundle import locate_bundle

    source = None
    if model.startswith("lipsync"):  # bundles built from older weights are rebuilt, not measured
        from talkies.models.lipsync import weights_source

        source = weights_source()
    return locate_bundle(model, target, precision, _search(model, root), source=source)


def build_blocker(model: str) -> str | None:
    """Why `model` cannot be built here (None when it can)."""
    from talkies.export.spec import get_spec

    try:
        get_spec(model)
    except TalkiesError as exc:
        return str(exc)
    if model.startswith("lipsync"):
        from talkies.models.lipsync.model import default_weights_path

        if not default_weights_path().exists():
            return f"the lip-sync model is not trained yet ({default_weights_path()} is missing)"
    return None


def build_bundle(model: str, target: str, precision: str, root: Path) -> Path:
    """Export into `root/.parity-failed/NAME`; a bundle whose parity passed (or could not be measured here)
    then moves to `root/NAME`. Returns where it ended up."""
    from talkies.runtime.bundle import Bundle, bundle_name
    from talkies.targets.bundle_writer import export_bundle

    name = bundle_name(model, target, precision)
    staged = root / PARITY_FAILED_DIR / name
    with inner_progress_off():  # parity is recorded in the manifest, not enforced: a failure is a result here
        export_bundle(model, target, precision, staged, enforce_parity=False)
    with Bundle(staged) as bundle:
        failed = bundle.manifest.parity.passed is False
    if failed:
        return staged
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(staged, final)
    return final


# --- measurement in a child process ------------------------------------------------------------------


def child_main(job_path: str) -> int:
    """Measure one bundle (the job's JSON says which) and write the figures and outputs the job names."""
    from talkies.export.parity import stack_samples, unstack_samples
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import backend_available, open_session

    job = json.loads(Path(job_path).read_text())
    with Bundle(job["bundle"]) as bundle:
        inputs, _ = bundle.test_vectors()
        samples = unstack_samples(inputs)
        metric_samples: list[dict[str, np.ndarray]] = []
        if job.get("metric_inputs"):
            with np.load(job["metric_inputs"], allow_pickle=False) as z:
                metric_samples = unstack_samples({k: z[k] for k in z.files})
        reason = backend_available(bundle.manifest.target)  # imports the backend before the RSS baseline
        if reason is not None:
            raise SystemExit(f"backend unavailable: {reason}")
        rss_before = current_rss_mb()
        t0 = time.perf_counter()
        session = open_session(bundle.manifest, bundle.root, threads=int(job["threads"]))
        load_ms = 1000 * (time.perf_counter() - t0)
        stats = time_calls(lambda i: session.run(samples[i % len(samples)]), iterations=int(job["iterations"]),
                           warmup=int(job["warmup"]), max_seconds=float(job["max_seconds"]))
        outputs = {f"tv.{k}": v for k, v in stack_samples([session.run(s) for s in samples]).items()}
        if metric_samples:
            outputs.update({f"metric.{k}": v for k, v in
                            stack_samples([session.run(s) for s in metric_samples]).items()})
    np.savez(job["outputs"], **outputs)
    peak = peak_rss_mb()
    result = {"load_ms": load_ms, "latency": stats.as_dict(), "peak_rss_mb": peak,
              "rss_model_mb": max(0.0, peak - rss_before), "rss_before_mb": rss_before}
    Path(job["result"]).write_text(json.dumps(result))
    return 0


def run_child(bundle: Path, threads: int, config: BenchConfig, work: Path, metric_inputs: Path | None
              ) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(figures, outputs on the test vectors, outputs on the metric inputs) of one child measurement."""
    tag = f"{bundle.name}-t{threads}"
    job = {"bundle": str(bundle), "threads": threads, "iterations": config.iterations, "warmup": config.warmup,
           "max_seconds": config.max_seconds, "metric_inputs": str(metric_inputs) if metric_inputs else None,
           "outputs": str(work / f"{tag}.npz"), "result": str(work / f"{tag}.json")}
    job_path = work / f"{tag}.job.json"
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "TALKIES_PROGRESS": "0", "TALKIES_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, "-m", "talkies.benchmarks.harness", "--child", str(job_path)],
                          capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(lines[-1] if lines else f"the measuring process exited with {proc.returncode}")
    result = json.loads(Path(job["result"]).read_text())
    with np.load(job["outputs"], allow_pickle=False) as z:
        tv = {k[3:]: z[k] for k in z.files if k.startswith("tv.")}
        metric = {k[7:]: z[k] for k in z.files if k.startswith("metric.")}
    return result, tv, metric


# --- the bundle rows ---------------------------------------------------------------------------------


class _Phase:
    """One line of the run's progress display."""

    def __init__(self, progress, description: str, total: int):
        self.progress, self.description, self.total = progress, description, total
        self.task = progress.add_task(description, total=total)

    def step(self, what: str) -> None:
        self.progress.update(self.task, description=f"{self.description}: {what}")

    def advance(self) -> None:
        self.progress.advance(self.task)

    def done(self) -> None:
        self.progress.update(self.task, description=self.description, completed=self.total)


def _metric_inputs(model: str, n: int, work: Path, cache: dict) -> tuple[Path | None, dict[str, np.ndarray]]:
    """Held-out real inputs for a face model's task metric and the fp32 reference outputs on them."""
    if model.startswith("lipsync") or n <= 0:
        return None, {}
    if model not in cache:
        from talkies.export.module import reference_outputs
        from talkies.export.parity import stack_samples
        from talkies.export.spec import get_spec

        spec = get_spec(model)
        samples = spec.sample_inputs(n, METRIC_SEED)
        inputs = stack_samples([{t.name: np.asarray(s[t.name], np.float32) for t in spec.inputs} for s in samples])
        reference = stack_samples([reference_outputs(spec, s) for s in samples])
        path = work / f"{model}.metric_inputs.npz"
        np.savez(path, **inputs)
        cache[model] = (path, reference)
    return cache[model]


def _parity(manifest, outputs: dict[str, np.ndarray], reference: dict[str, np.ndarray], spec) -> dict[str, Any]:
    from talkies.export.parity import compare, violations

    parity = compare(outputs, reference, tolerance=manifest.parity.tolerance,
                     reference_name=manifest.parity.reference, metrics=spec.metrics if spec else None)
    out = asdict(parity)
    out["violations"] = violations(parity.max_abs, parity.rel, parity.metrics, parity.tolerance)
    return out


def _spec_or_none(model: str):
    from talkies.export.spec import get_spec

    try:
        return get_spec(model)
    except TalkiesError:
        return None


def _coreml_row(row: Row, path: Path) -> None:
    from talkies.targets.bundle_writer import verify_bundle

    row.status, row.reason = Status.NEEDS_MACOS.value, "needs macOS"
    try:
        report = verify_bundle(path)
        row.spec_check = "; ".join(n for n in report.notes if not n.startswith("not replayed")) or "checked"
    except TalkiesError as exc:
        row.status, row.reason = Status.ERROR.value, f"verification failed: {exc}"


def _lipsync_result(row: Row, path: Path, cache: dict) -> None:
    """Accuracy and speed through the LipSync task (once per bundle, 1 thread), as the lip-sync benchmark."""
    from talkies.benchmarks import lipsync as lipsync_bench

    if row.bundle not in cache:
        bundle = lipsync_bench.LipSyncBundle(row.model, row.target, row.precision, path)
        cache[row.bundle] = lipsync_bench.safe_bundle_row(bundle, threads=1)
    result = cache[row.bundle]
    row.lipsync = result
    if result.get("metrics"):
        row.task_metrics = {k: result["metrics"][k] for k in LIPSYNC_FIGURES}
    elif result.get("status") == "error":
        row.reason = (row.reason + "; " if row.reason else "") + f"LipSync task: {result['reason']}"


def plan(config: BenchConfig) -> list[tuple[str, str, str]]:
    from talkies.export.spec import model_names

    names = model_names()
    models = config.models or tuple(names)
    unknown = [m for m in models if m not in names]
    if unknown:
        raise InputError(f"unknown model(s) {unknown}; valid: {', '.join(names)}")
    return [(m, t, p) for m in models for t in config.targets for p in config.precisions]


def bundle_rows(config: BenchConfig, progress, work: Path) -> tuple[list[Row], float]:
    """Build what is missing, then measure every bundle (one Row per bundle × thread count); also returns
    the seconds spent building."""
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import backend_available

    cases = plan(config)
    located: dict[tuple[str, str, str], tuple[Path | None, Row | None, float | None]] = {}
    build = _Phase(progress, "building bundles", len(cases))
    t0 = time.perf_counter()
    for model, target, precision in cases:
        build.step(f"{model} {target} {precision}")
        located[(model, target, precision)] = _locate_or_build(model, target, precision, config, backend_available)
        build.advance()
    build.done()
    build_s = time.perf_counter() - t0

    rows: list[Row] = []
    metric_cache: dict = {}
    lipsync_cache: dict = {}
    measure = _Phase(progress, "measuring bundles", len(cases) * len(config.threads))
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
            if target == "coreml" and reason is not None:
                _coreml_row(row, path)
            elif reason is not None:
                row.status, row.reason = Status.SKIPPED.value, reason
            else:
                _measure_into(row, path, manifest, reference, spec, config, work, metric_cache, lipsync_cache)
            rows.append(row)
            measure.advance()
    measure.done()
    return rows, build_s


def _locate_or_build(model: str, target: str, precision: str, config: BenchConfig,
                     backend_available: Callable[[str], str | None]) -> tuple[Path | None, Row | None, float | None]:
    """(bundle, None, seconds spent building it now or None) or (None, a row saying why there is none, None)."""
    from talkies.errors import UnsupportedTargetError

    def problem(status: Status, reason: str) -> tuple[None, Row, None]:
        return None, Row(model, target, precision, config.threads[0], status=status.value, reason=reason), None

    path = existing_bundle(model, target, precision, config.bundle_dir)
    if path is not None and not _rebuild(path, config) and not _stale(path, model, config):
        return path, None, None
    reason = backend_available(target)
    if reason is not None and target != "coreml":
        return problem(Status.SKIPPED, reason)
    if not config.build:
        return problem(Status.SKIPPED, "no bundle, and building was turned off (--no-build)")
    blocker = build_blocker(model)
    if blocker is not None:
        return problem(Status.SKIPPED, blocker)
    try:
        from talkies.export.spec import get_spec
        from talkies.targets.base import get_target

        get_target(target).check_support(get_spec(model), precision)
        t0 = time.perf_counter()
        path = build_bundle(model, target, precision, config.bundle_dir)
        return path, None, time.perf_counter() - t0
    except UnsupportedTargetError as exc:
        return problem(Status.UNSUPPORTED, str(exc))
    except Exception as exc:  # a converter failing on a model is a result of the bench, not a crash
        log.warning("building %s %s %s failed: %s", model, target, precision, exc)
        return problem(Status.BUILD_FAILED, f"{type(exc).__name__}: {_first_line(exc)}")


def _rebuild(path: Path, config: BenchConfig) -> bool:
    """Whether an existing bundle is to be exported again on request (never one outside the bundle folder)."""
    failed = path.parent.name == PARITY_FAILED_DIR
    return _inside(path, config) and (config.rebuild == "all" or (config.rebuild == "failed" and failed))


def _inside(path: Path, config: BenchConfig) -> bool:
    return path.resolve().is_relative_to(config.bundle_dir.resolve())


def _stale(path: Path, model: str, config: BenchConfig) -> bool:
    """A bundle of ours built from another model than the one here now (new weights, new reference, new
    test inputs: its test vectors, deterministic in the model and seed, are not the ones it would ship
    today), or quantized with another recipe than today's default. Checked only where it could be rebuilt."""
    if not config.build or not _inside(path, config) or build_blocker(model) is not None:
        return False
    from talkies.runtime.bundle import TEST_VECTORS, Bundle, sha256_file
    from talkies.targets.bundle_writer import test_vectors, write_test_vectors

    with Bundle(path) as bundle:
        manifest = bundle.manifest
    shipped = next((f.sha256 for f in manifest.files if f.path == TEST_VECTORS), None)
    recorded = manifest.runtime_hints.get("quantization")
    if recorded is not None and not _same_recipe(recorded, _quantization_recipe(model, manifest.target,
                                                                                manifest.precision)):
        log.warning("%s was quantized with another recipe than today's (%s): rebuilding it", path, recorded)
        return True
    if model not in _EXPECTED_VECTORS:
        from talkies.export.spec import get_spec

        with tempfile.TemporaryDirectory(prefix="talkies-bench-vectors-") as tmp:
            target = Path(tmp) / TEST_VECTORS
            with inner_progress_off():
                write_test_vectors(target, *test_vectors(get_spec(model)))
            _EXPECTED_VECTORS[model] = sha256_file(target)
    if shipped == _EXPECTED_VECTORS[model]:
        return False
    log.warning("%s was built from another version of %s (its test vectors differ): rebuilding it", path, model)
    return True


def _quantization_recipe(model: str, target: str, precision: str) -> dict:
    """What an export of this bundle would record as its quantization today (the default config)."""
    from talkies.export.spec import get_spec
    from talkies.targets.base import get_target
    from talkies.types import Precision

    toolchain = get_target(target)
    return toolchain.quantization_config(get_spec(model), Precision(precision), toolchain.options()).describe()


#: Keys a target adds to the recorded quantization beside the config's own (Core ML: "weights only").
_TARGET_NOTES = frozenset({"scope"})


def _same_recipe(recorded: dict, today: dict) -> bool:
    """Every key either side records, but the targets' own notes: a field describe() leaves out at its
    default (ignored_scope, float_modules, onnx_quantizer) differs when only one side has it."""
    return all(recorded.get(k) == today.get(k) for k in {*recorded, *today} - _TARGET_NOTES)


#: sha256 of the test vectors each model's bundles would ship now, computed once per process.
_EXPECTED_VECTORS: dict[str, str] = {}


def _first_line(exc: BaseException, limit: int = 240) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[:limit] + "…"


def _measure_into(row: Row, path: Path, manifest, reference: dict[str, np.ndarray], spec, config: BenchConfig,
                  work: Path, metric_cache: dict, lipsync_cache: dict) -> None:
    try:
        metric_path, metric_ref = _metric_inputs(row.model, config.metric_samples, work, metric_cache)
        figures, outputs, metric_out = run_child(path, row.threads, config, work, metric_path)
    except Exception as exc:  # the backend crashing on this bundle: an error row, the run goes on
        row.status, row.reason = Status.ERROR.value, f"{type(exc).__name__}: {_first_line(exc)}"
        return
    row.load_ms = figures["load_ms"]
    row.latency = figures["latency"]
    row.peak_rss_mb, row.rss_model_mb = figures["peak_rss_mb"], figures["rss_model_mb"]
    row.parity = _parity(manifest, outputs, reference, spec)
    if row.parity["passed"] is False:
        row.status = Status.PARITY_FAILED.value
        row.reason = "; ".join(row.parity["violations"])
    if metric_out and spec is not None and spec.metrics is not None:
        row.task_metrics = {k: float(v) for k, v in spec.metrics(metric_out, metric_ref).items()}
    if row.model.startswith("lipsync"):
        with inner_progress_off():
            _lipsync_result(row, path, lipsync_cache)


# --- pipeline rows and peers -------------------------------------------------------------------------


def pipeline_rows(config: BenchConfig, rows: list[Row], progress, work: Path) -> tuple[list[PipelineRow], dict]:
    """End-to-end cases and peers; returns the rows and the lip-sync benchmark's report."""
    parts = [p for p in PIPELINE_PARTS if p in config.pipeline]
    phase = _Phase(progress, "pipelines and peers", len(parts))
    out: list[PipelineRow] = []
    lipsync_report: dict = {}
    for part in parts:
        phase.step(part)
        try:
            with inner_progress_off():
                if part == "int8":
                    out += int8_speedup_rows(rows)
                elif part == "tracking":
                    out += tracking_rows(config, work)
                elif part == "lipsync":
                    got, lipsync_report = lipsync_rows(config, rows)
                    out += got
                elif part == "animate":
                    out += animate_rows(config, work)
                else:
                    out += kernel_rows(config)
        except Exception as exc:  # one broken pipeline must not lose the rest of the report
            log.warning("pipeline %s failed: %s", part, exc)
            out.append(PipelineRow(part, f"talkies {part}", None, "", status=Status.ERROR.value,
                                   reason=f"{type(exc).__name__}: {_first_line(exc)}"))
        phase.advance()
    phase.done()
    return out, lipsync_report


def int8_speedup_rows(rows: list[Row]) -> list[PipelineRow]:
    """int8 against fp32 per model and backend, both sessions in this process (1 thread), timed in
    alternating rounds so both sample the same spells of a shared machine: the median of the per-round
    ratios of median call times. The bundle rows time each bundle at a different moment."""
    from talkies.export.parity import unstack_samples
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import open_session

    found = {(r.model, r.target, r.precision): r for r in rows
             if r.threads == 1 and r.bundle and r.latency is not None}
    out = []
    for (model, target, precision), int8 in found.items():
        fp32 = found.get((model, target, "fp32"))
        if precision != "int8" or fp32 is None:
            continue
        with Bundle(fp32.bundle) as a, Bundle(int8.bundle) as b:
            samples = unstack_samples(a.test_vectors()[0])
            sessions = [open_session(x.manifest, x.root, threads=1) for x in (a, b)]
            ratios = []
            for _ in range(INT8_ROUNDS):
                medians = [time_calls(lambda i, s=s: s.run(samples[i % len(samples)]), iterations=INT8_CALLS,
                                      warmup=2).p50_ms for s in sessions]
                ratios.append(medians[0] / medians[1])
        note = "" if int8.status == Status.OK.value else f"int8 bundle: {int8.status}"
        out.append(PipelineRow("int8 speed-up", f"{model} {target} int8 vs fp32", float(np.median(ratios)),
                               "× (fp32 time / int8 time)", backend=target, precision="int8",
                               goal=INT8_SPEEDUP_GOALS.get(model), reason=note or None,
                               details={"round_ratios": [round(r, 3) for r in ratios]}))
    return out


def tracking_rows(config: BenchConfig, work: Path) -> list[PipelineRow]:
    """FaceTracker (VIDEO mode, 1 thread) on a clip made from real photos, per backend/precision whose face
    bundles are there, the MediaPipe .tflite reference set, and MediaPipe's own FaceLandmarker."""
    from talkies.benchmarks import tracking
    from talkies.benchmarks.common import peer_python
    from talkies.models.mediapipe.assets import fetch_face_models, mediapipe_dir

    fetch_face_models()
    clip_dir = work / "tracking"
    clip_dir.mkdir(exist_ok=True)
    photos, clip, stamps = tracking.make_inputs(clip_dir)
    mp_out, mp_reason = None, "peers turned off (--skip-peers)"
    if config.peers:
        python, mp_reason = peer_python("mediapipe", "mediapipe==1.2.2", install=config.install_peers,
                                        candidates=[tracking.DEFAULT_MEDIAPIPE_PYTHON])
        if python is not None:
            mp_out = tracking.run_mediapipe(python, mediapipe_dir() / "face_landmarker.task", clip_dir,
                                            TRACKING_PASSES)
            mp_reason = "MediaPipe run failed (see the log)"
    unit = f"frames/s ({len(clip)} frames {clip.shape[2]}×{clip.shape[1]})"
    out = []
    sets = [s for s in tracking.model_sets(config.bundle_dir, config.precisions)
            if s[0].startswith("litert (") or s[0] in config.targets]
    for label, precision, load in sets:
        models = load()
        try:
            got = tracking.bench_models(label, precision, models, photos, clip, stamps, mp_out, TRACKING_PASSES)
        finally:
            models.close()
        video = got["video"]
        out.append(PipelineRow("tracking", f"talkies FaceTracker ({label})", video["fps_wall"], unit,
                               backend=label.split()[0], precision=precision,
                               details={"fps_cpu": video["fps_cpu"], "tracked_frames": video["tracked_frames"],
                                        "landmark_mean_px_vs_mediapipe": video.get("landmark_mean_px_vs_mediapipe"),
                                        "image_ms": got["photos"].get("grace_hopper", {}).get("ms")}))
    if mp_out is not None:  # MediaPipe again after talkies' runs: both sides sample the machine's slow spells
        again = tracking.run_mediapipe(python, mediapipe_dir() / "face_landmarker.task", clip_dir, TRACKING_PASSES)
        if again is not None:
            mp_out["video"]["passes"] += again["video"]["passes"]
        mp = tracking.mediapipe_row(mp_out)
        out.append(PipelineRow("tracking", f"{mp['backend']} (peer)", mp["video"]["fps_wall"], unit,
                               backend="mediapipe", precision=mp["precision"],
                               details={"fps_cpu": mp["video"]["fps_cpu"],
                                        "tracked_frames": mp["video"]["tracked_frames"]}))
    else:
        out.append(PipelineRow("tracking", "MediaPipe FaceLandmarker (peer)", None, unit, backend="mediapipe",
                               status=Status.SKIPPED.value, reason=mp_reason))
    return out


def lipsync_rows(config: BenchConfig, rows: list[Row]) -> tuple[list[PipelineRow], dict]:
    """Offline real-time factor and streaming ms per hop per lip-sync bundle (taken from the bundle rows'
    LipSync task runs, or run here for bundles the bundle rows did not cover), and the peers."""
    from talkies.benchmarks import lipsync as lipsync_bench

    results = [r.lipsync for r in rows if r.lipsync is not None and r.threads == 1]
    covered = {(r["model"], r["backend"], r["precision"]) for r in results}
    for bundle in lipsync_bench.find_bundles(config.bundle_dir, backends=config.targets,
                                             precisions=config.precisions):
        if (bundle.model, bundle.backend, bundle.precision) not in covered:
            results.append(lipsync_bench.safe_bundle_row(bundle, threads=1))
    if not results:
        results.append(lipsync_bench.no_bundle_row(config.bundle_dir))
    if config.peers:
        results += lipsync_bench.peer_rows(install=config.install_peers)
    else:
        results.append(lipsync_bench.loudness_row())
    data = lipsync_bench.validation_set()
    report = {"benchmark": "lipsync",
              "validation": {"data": str(lipsync_bench.evaluate.DEFAULT_DATA), "utterances": len(data),
                             "audio_s": round(sum(len(a) for _, a, _ in data) / lipsync_bench.SAMPLE_RATE, 2)},
              "rows": results, "goals": lipsync_bench.goals(results)}
    out = []
    for r in results:
        speed, metrics = r.get("speed") or {}, r.get("metrics") or {}
        details = {k: metrics.get(k) for k in LIPSYNC_FIGURES if metrics}
        if r.get("note"):
            details["note"] = r["note"]
        peer = r["model"] is None
        onnx_fp32 = (r["backend"], r["precision"]) == ("onnx", "fp32")
        if r["mode"] == "stream":
            out.append(PipelineRow("lip-sync streaming", r["implementation"], speed.get("ms_per_hop_p50"),
                                   "ms per 10 ms hop", backend=r["backend"], precision=r["precision"],
                                   higher_is_better=False,
                                   goal=lipsync_bench.GOAL_STREAM_MS_PER_HOP if onnx_fp32 else None,
                                   status=r["status"], reason=r["reason"],
                                   details={**details, "p95": speed.get("ms_per_hop_p95"),
                                            "cpu_p50": speed.get("cpu_ms_per_hop_p50")}))
        else:
            out.append(PipelineRow("lip-sync offline" + (" (peer)" if peer else ""), r["implementation"],
                                   speed.get("rtf"), "× real time (1 thread)", backend=r["backend"],
                                   precision=r["precision"], goal=lipsync_bench.GOAL_OFFLINE_RTF if onnx_fp32 else None,
                                   status=r["status"], reason=r["reason"],
                                   details={**details, "rtf_cpu": speed.get("rtf_cpu"),
                                            "model_rtf": speed.get("model_rtf")}))
    return out, report


def animate_rows(config: BenchConfig, work: Path) -> list[PipelineRow]:
    """`animate`: speech (a WAV) → 1280×720 25 fps MP4, end to end, 1 thread (benchmarks/animate.py)."""
    from talkies.benchmarks import animate
    from talkies.cli.animate_cmd import face_models
    from talkies.runtime.bundle import default_bundle_dir, locate_bundle
    from talkies.runtime.lipsync import shipped_bundle_dir

    models = face_models("auto", bundle_dir=config.bundle_dir, threads=1)
    animate_dir = work / "animate"
    animate_dir.mkdir(exist_ok=True)
    try:
        e2e = animate.end_to_end(animate_dir, config.animate_seconds, models)
    finally:
        models.close()
    mouth = ("lip-sync model (onnx fp32)"
             if locate_bundle("lipsync", "onnx", "fp32", [default_bundle_dir(), shipped_bundle_dir()])
             else "loudness fallback (no lip-sync bundle installed)")
    return [PipelineRow("animate 720p", "talkies animate (audio → MP4)", e2e["realtime_factor"], "× real time",
                        backend=models.source, goal=e2e["audio_s"] / e2e["goal_wall_s"],
                        details={**e2e, "mouth": mouth})]


def kernel_rows(config: BenchConfig) -> list[PipelineRow]:
    """The numba kernels against OpenCV / scikit-image / SciPy / NumPy (benchmarks/kernels.py, quick)."""
    from talkies.benchmarks import kernels

    got, _goals, _machine = kernels.run(quick=True)
    out = []
    for r in got:
        case = f"kernel {r.kernel}: {r.case}"
        out.append(PipelineRow(case, "talkies (numba)", 1000 * r.talkies.cpu_s, f"ms CPU per {r.unit}",
                               higher_is_better=False, details={"wall_ms": 1000 * r.talkies.wall_s}))
        if config.peers:
            for name, t in r.baselines.items():
                out.append(PipelineRow(case, f"{name} (peer)", 1000 * t.cpu_s, f"ms CPU per {r.unit}",
                                       higher_is_better=False, details={"wall_ms": 1000 * t.wall_s}))
    return out


# --- report ------------------------------------------------------------------------------------------


def _mb(n: float | None) -> str:
    return "–" if n is None else f"{n / 1e6:.2f}"


def _parity_cell(row: Row) -> str:
    p = row.parity
    if p is None:
        return {Status.NEEDS_MACOS.value: "not run (needs macOS)"}.get(row.status, "–")
    if p["passed"] is False:
        return "**FAILED**: " + "; ".join(p["violations"])
    extra = ", ".join(f"{k} {fmt(v)}" for k, v in p["metrics"].items())
    return f"pass: max abs {fmt(p['max_abs'])}, rel {fmt(p['rel'])}" + (f"; {extra}" if extra else "")


def _task_cell(row: Row) -> str:
    m = row.task_metrics
    if not m:
        return "–"
    if row.model.startswith("lipsync"):
        return " · ".join(f"{k.split('_')[0]} {m[k]:.3f}" for k in LIPSYNC_FIGURES)
    key, _label, _ = HEADLINE.get(row.model, (None, None, None))
    return ", ".join(f"{k} {fmt(v)}" for k, v in m.items() if k == key or row.model == "face_detector")


def _status_cell(row: Row) -> str:
    if row.status == Status.OK.value:
        return "ok"
    text = f"**{row.status}**"
    if row.reason and row.reason != row.status and row.status != Status.PARITY_FAILED.value:
        text += f": {row.reason}"
    if row.spec_check:  # the whole note is in results.json
        text += " (spec checked)" if "spec checked" in row.spec_check else f" ({row.spec_check})"
    return text


BUNDLE_HEADER = ["model", "target", "precision", "threads", "status", "size MB", "load ms", "p50 ms", "p95 ms",
                 "CPU p50 ms", "calls/s", "peak RSS MB (model)", "parity vs fp32 (test vectors)", "task metric"]


def bundle_table(rows: Sequence[Row]) -> str:
    """One line per measured row; rows with nothing measured and the same model, status and reason are
    merged into one line listing their targets and precisions."""
    lines: list[list[Any]] = []
    merged: dict[tuple[str, str, str | None], list[Any]] = {}
    for r in rows:
        lat = r.latency or {}
        if not lat and r.size_bytes is None:
            key = (r.model, r.status, r.reason)
            if key in merged:
                line = merged[key]
                line[1] = _join(line[1], r.target)
                line[2] = _join(line[2], r.precision)
                continue
            merged[key] = line = [r.model, r.target, r.precision, r.threads, _status_cell(r)] + ["–"] * 9
            lines.append(line)
            continue
        rss = "–" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f} ({r.rss_model_mb:.1f})"
        lines.append([r.model, r.target, r.precision, r.threads, _status_cell(r), _mb(r.size_bytes),
                      fmt(r.load_ms, ".1f"), fmt(lat.get("p50_ms"), ".3g"), fmt(lat.get("p95_ms"), ".3g"),
                      fmt(lat.get("cpu_p50_ms"), ".3g"), fmt(lat.get("throughput_per_s"), ".0f"), rss,
                      _parity_cell(r), _task_cell(r)])
    return markdown_table(BUNDLE_HEADER, lines)


def _join(listed: str, item: str) -> str:
    items = listed.split(", ")
    return listed if item in items else f"{listed}, {item}"


def pipeline_table(rows: Sequence[PipelineRow]) -> str:
    lines = []
    for r in rows:
        goal = "–" if r.goal is None else f"{'≥' if r.higher_is_better else '≤'} {fmt(r.goal, '.3g')}"
        met = {True: "yes", False: "**no**", None: "–"}[r.meets_goal]
        status = "ok" if r.status == Status.OK.value else f"**{r.status}**"
        reason = r.reason if r.reason != r.status else None
        note = reason or r.details.get("note") or r.details.get("mouth") or _tracking_note(r)
        if r.details.get("model_rtf"):
            note = (note + "; " if note else "") + f"the model alone {r.details['model_rtf']:.0f}×"
        lines.append([r.case, r.implementation, r.precision or "–", fmt(r.value, ".4g"), r.unit, goal, met,
                      status + (f": {note}" if note else "")])
    return markdown_table(["case", "implementation", "precision", "value", "unit", "goal", "met", "status / notes"],
                          lines)


def _tracking_note(row: PipelineRow) -> str:
    if row.case != "tracking" or row.value is None:
        return ""
    note = f"{fmt(row.details.get('fps_cpu'), '.0f')} frames/s by CPU time"
    px = row.details.get("landmark_mean_px_vs_mediapipe")
    return note + (f"; landmarks {px:.3f} px from MediaPipe's" if px is not None else "")


def kernel_table(rows: Sequence[PipelineRow]) -> str:
    """Kernels: talkies beside each peer on the same case, with the speed-up."""
    lines = []
    ours: dict[str, PipelineRow] = {}
    for r in rows:
        if r.implementation.startswith("talkies"):
            ours[r.case] = r
            lines.append([r.case.removeprefix("kernel "), f"{fmt(r.value, '.4g')} {r.unit}", "", "", ""])
        elif r.case in ours and r.value:
            mine = ours[r.case]
            lines.append(["", "", r.implementation.removesuffix(" (peer)"), f"{fmt(r.value, '.4g')} {r.unit}",
                          f"{r.value / mine.value:.1f}×" if mine.value else "–"])
    return markdown_table(["kernel: case", "talkies (numba)", "peer", "peer time", "talkies speed-up"], lines)


def report_markdown(results: dict[str, Any], rows: Sequence[Row], pipeline: Sequence[PipelineRow], *,
                    readme: bool = False) -> str:
    """report.md; with `readme`, the README's performance section (headings one level down, the plots named
    as files of the output folder rather than embedded)."""
    from talkies.benchmarks import lipsync as lipsync_bench

    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    cfg = results["config"]
    h1, h2 = ("## Performance", "###") if readme else ("# talkies bench", "##")
    parts = [
        h1, "",
        f"Command: `{results['command']}`  ",
        f"Run: {results['created']}, {results['timing']['total_s']:.0f} s "
        f"(building {results['timing']['build_s']:.0f} s).  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}; {versions}.  ",
        f"Load average (1/5/15 min) at start {m['load_average']}, at end {results['load_average_end']} "
        "(a shared machine: wall-clock figures are medians, and process-CPU medians are given beside them).",
        "",
        f"{h2} Bundles",
        "",
        f"Each bundle runs in a fresh process with {'/'.join(map(str, cfg['threads']))} inference thread(s): "
        f"{cfg['warmup']} warm-up calls, then up to {cfg['iterations']} timed calls ({cfg['max_seconds']} s "
        "budget) over the bundle's real test inputs. p50/p95: wall clock; CPU p50: process CPU time; "
        "calls/s: back to back. Peak RSS: the measuring process's peak (VmHWM: Python + numpy + that backend + "
        "the model); in brackets the model's share (peak minus the RSS after importing the backend). Parity: "
        "the shipped test vectors replayed against the fp32 reference, within the manifest's tolerance. Task "
        f"metric: face models on {cfg['metric_samples']} held-out real face crops against the fp32 reference; "
        "lip-sync through the LipSync task on the real validation speech (coarse · closure · open · round).",
        "",
        bundle_table(rows), "",
    ]
    kernels = [p for p in pipeline if p.case.startswith("kernel ")]
    others = [p for p in pipeline if not p.case.startswith("kernel ")]
    if others:
        parts += [f"{h2} Pipelines and peers", "", "One inference thread everywhere; wall-clock figures.", "",
                  pipeline_table(others), ""]
    if kernels:
        parts += [f"{h2} Kernels", "", "Numba kernels against their usual peers, 1 thread, median thread CPU time per "
                  "call (benchmarks/kernels.py, quick mode).", "", kernel_table(kernels), ""]
    if results.get("lipsync"):
        parts += [f"{h2} Lip-sync", "", lipsync_bench.markdown(results["lipsync"])]
    if readme:
        parts += [f"The same command writes the plots latency_vs_size.png and accuracy_vs_latency.png, all "
                  "figures (results.json) and this section (performance.md) into its -o folder.", ""]
    else:
        parts += ["## Plots", "", "![latency vs size](latency_vs_size.png)", "",
                  "![accuracy vs latency](accuracy_vs_latency.png)", ""]
    return "\n".join(parts)


# --- plots -------------------------------------------------------------------------------------------

_MARKERS = {"onnx": "o", "openvino": "s", "litert": "^", "coreml": "D"}
_COLOURS = {"fp32": "tab:blue", "fp16": "tab:orange", "int8": "tab:green"}


def _grid(n: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, max(1, n))
    rows = math.ceil(max(1, n) / cols)
    width = max(10.0, 5.2 * cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width, 4.2 * rows + 1.2), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:max(1, n)])


def _legend(fig, plt) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker=m, ls="", color="grey", label=t) for t, m in _MARKERS.items()]
    handles += [Line2D([], [], marker="o", ls="", color=c, label=p) for p, c in _COLOURS.items()]
    handles += [Line2D([], [], marker="x", ls="", color="red", mew=2, label="parity failed"),
                Line2D([], [], marker="*", ls="", color="black", label="peer")]
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=9)


def _log_axes(ax, *, y: bool = True) -> None:
    """Log scale with plain numbers (0.8, 1.5) rather than 8×10⁻¹ on the ticks."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):  # noqa: ANN001
            return f"{x:g}"

    ax.set_xscale("log")
    if y:
        ax.set_yscale("log")
    for axis in ((ax.xaxis, ax.yaxis) if y else (ax.xaxis,)):
        axis.set_major_formatter(Plain())
        axis.set_minor_formatter(Plain(minor_thresholds=(1.5, 0.6)))
    ax.tick_params(axis="both", which="both", labelsize=7)


def _not_measured(ax, rows: Sequence[Row], any_point: bool, xlabel: str) -> None:
    """Label the x axis, and say which bundles have no point and why (grouped by reason): under the axis
    label when the panel has points, in the middle of an empty one."""
    import textwrap

    groups: dict[str, list[str]] = {}
    for r in rows:
        why = r.reason if r.status in (Status.SKIPPED.value, Status.UNSUPPORTED.value) and r.reason else r.status
        groups.setdefault(why, []).append(f"{r.target} {r.precision}")
    lines = []
    for why, names in groups.items():
        names = sorted(set(names))
        what = "all targets and precisions" if len(names) >= 9 else ", ".join(names)
        lines.append(textwrap.shorten(f"{why}: {what}", 110, placeholder="…"))
    if any_point:
        note = "\n".join(textwrap.fill(f"not shown: {line}", 70) for line in lines[:3])
        ax.set_xlabel(xlabel + ("\n" + note if note else ""), fontsize=8)
        return
    ax.set_xlabel(xlabel, fontsize=8)
    text = "\n".join(textwrap.fill(line, 48) for line in lines[:4]) or "nothing measured"
    ax.text(0.5, 0.5, "no point\n" + text, transform=ax.transAxes, ha="center", va="center", fontsize=7,
            color="dimgrey")


def _finish(fig, title: str) -> None:
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.09, 1, 0.96))


def _point(ax, x: float, y: float, row: Row) -> None:
    ax.plot([x], [y], marker=_MARKERS.get(row.target, "o"), ls="", ms=8, color=_COLOURS.get(row.precision, "grey"))
    if row.status == Status.PARITY_FAILED.value:
        ax.plot([x], [y], marker="x", ls="", ms=9, color="red", mew=2)
    ax.annotate(f"{row.target} {row.precision}", (x, y), fontsize=6, xytext=(5, -3), textcoords="offset points",
                color="dimgrey")


def plot_latency_vs_size(rows: Sequence[Row], path: Path) -> Path:
    models = sorted({r.model for r in rows})
    plt, fig, axes = _grid(len(models))
    for ax, model in zip(axes, models):
        pts = [r for r in rows if r.model == model and r.latency and r.size_bytes and r.threads == min(
            x.threads for x in rows)]
        for r in pts:
            _point(ax, r.size_bytes / 1e6, r.latency["p50_ms"], r)
        _log_axes(ax)
        ax.set_title(model)
        ax.set_ylabel("latency p50 (ms, log)")
        ax.grid(True, which="both", alpha=0.3)
        _not_measured(ax, [r for r in rows if r.model == model and not r.latency], bool(pts), "model size (MB, log)")
    _legend(fig, plt)
    _finish(fig, "Latency (p50 of one call) vs model size, per target and precision")
    return _save(fig, plt, path)


def plot_accuracy_vs_latency(rows: Sequence[Row], lipsync_report: dict, path: Path) -> Path:
    """Face models: the task error vs the call's latency. Lip-sync: coarse accuracy vs compute per second of
    audio through the LipSync task (comparable with the peers, which run whole clips)."""
    models = sorted({r.model for r in rows})
    plt, fig, axes = _grid(len(models))
    for ax, model in zip(axes, models):
        key, label, lower = HEADLINE.get(model, (None, model, True))
        lip = model.startswith("lipsync")
        pts = []
        for r in rows:
            if r.model != model or r.headline is None or r.threads != min(x.threads for x in rows):
                continue
            if lip:
                speed = (r.lipsync or {}).get("speed") or {}
                x = speed.get("ms_per_audio_s")
            else:
                x = (r.latency or {}).get("p50_ms")
            if x:
                pts.append((x, r.headline, r))
        floor = 1e-7
        for x, y, r in pts:
            _point(ax, x, max(y, floor) if lower else y, r)
        peers = 0
        if lip:
            for peer in (lipsync_report or {}).get("rows", []):
                if peer["model"] is None and peer.get("metrics") and peer.get("speed"):
                    peers += 1
                    ax.plot([peer["speed"]["ms_per_audio_s"]], [peer["metrics"]["coarse_accuracy"]], "k*", ms=11)
                    ax.annotate(peer["implementation"].replace(" (peer)", ""),
                                (peer["speed"]["ms_per_audio_s"], peer["metrics"]["coarse_accuracy"]),
                                fontsize=7, xytext=(4, 4), textcoords="offset points")
            from talkies.benchmarks.lipsync import GOALS

            ax.axhline(GOALS["coarse_accuracy"], color="grey", ls="--", lw=0.8)
            ax.text(0.99, GOALS["coarse_accuracy"], "goal", transform=ax.get_yaxis_transform(), fontsize=7,
                    ha="right", va="bottom", color="grey")
            ax.set_ylim(0, 1)
            _log_axes(ax, y=False)
            xlabel = "compute per second of audio, LipSync task (ms, log)"
        else:
            _log_axes(ax)
            xlabel = "latency p50 (ms, log)"
        ax.set_title(model)
        ax.set_ylabel(f"{label}" + (" (log)" if lower else ""), fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        _not_measured(ax, [r for r in rows if r.model == model and r.headline is None], bool(pts) or peers > 0,
                      xlabel)
    _legend(fig, plt)
    _finish(fig, "Task accuracy vs speed per target and precision (errors vs fp32: lower is better; "
                 "an error of 0 is drawn at 1e-7)")
    return _save(fig, plt, path)


def _save(fig, plt, path: Path) -> Path:
    from talkies.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


# --- results.json ------------------------------------------------------------------------------------

_OPT_NUM = (float, int, type(None))
ROW_KEYS = {"model": str, "target": str, "precision": str, "threads": int, "status": str, "reason": (str, type(None)),
            "bundle": (str, type(None)), "built": bool, "build_s": _OPT_NUM, "size_bytes": (int, type(None)),
            "load_ms": _OPT_NUM, "latency": (dict, type(None)), "peak_rss_mb": _OPT_NUM, "rss_model_mb": _OPT_NUM,
            "parity": (dict, type(None)), "task_metrics": (dict, type(None)), "spec_check": (str, type(None)),
            "lipsync": (dict, type(None))}
LATENCY_KEYS = ("p50_ms", "p95_ms", "mean_ms", "min_ms", "cpu_p50_ms", "iterations", "warmup", "total_s",
                "throughput_per_s")
PIPELINE_KEYS = {"case": str, "implementation": str, "value": _OPT_NUM, "unit": str,
                 "backend": (str, type(None)), "precision": (str, type(None)), "higher_is_better": bool,
                 "goal": _OPT_NUM, "meets_goal": (bool, type(None)), "status": str,
                 "reason": (str, type(None)), "details": dict}
MACHINE_KEYS = ("cpu", "cores", "os", "python", "versions", "load_average")
VERSION_KEYS = ("talkies", "numpy", "numba", "onnxruntime", "openvino", "ai-edge-litert")


def check_results(data: dict[str, Any]) -> list[str]:
    """Problems with a results.json (empty when it follows the schema): the keys, their types, and the
    rules tying them (a measured row has latency and parity; a failed-parity row says which limit)."""
    problems: list[str] = []

    def need(obj: dict, key: str, types, where: str) -> None:
        if key not in obj:
            problems.append(f"{where}: missing {key!r}")
        elif not isinstance(obj[key], types) or (types is int and isinstance(obj[key], bool)):
            problems.append(f"{where}.{key}: {type(obj[key]).__name__} is not {types}")

    if data.get("schema") != SCHEMA:
        problems.append(f"schema is {data.get('schema')!r}, not {SCHEMA!r}")
    for key, types in (("created", str), ("command", str), ("config", dict), ("machine", dict), ("rows", list),
                       ("pipeline", list), ("timing", dict)):
        need(data, key, types, "results")
    for key in MACHINE_KEYS:
        if key not in data.get("machine", {}):
            problems.append(f"machine: missing {key!r}")
    for key in VERSION_KEYS:
        if key not in data.get("machine", {}).get("versions", {}):
            problems.append(f"machine.versions: missing {key!r}")
    statuses = {s.value for s in Status}
    for i, row in enumerate(data.get("rows", [])):
        where = f"rows[{i}]"
        for key, types in ROW_KEYS.items():
            need(row, key, types, where)
        if row.get("status") not in statuses:
            problems.append(f"{where}.status: {row.get('status')!r} is not one of {sorted(statuses)}")
        if row.get("status") in (Status.OK.value, Status.PARITY_FAILED.value):
            for key in LATENCY_KEYS:
                if not isinstance((row.get("latency") or {}).get(key), (int, float)):
                    problems.append(f"{where}.latency: missing {key!r}")
            if not isinstance(row.get("parity"), dict) or row["parity"].get("measured") is not True:
                problems.append(f"{where}: a measured row needs a measured parity")
            elif (row["parity"]["passed"] is False) != (row["status"] == Status.PARITY_FAILED.value):
                problems.append(f"{where}: status {row['status']!r} disagrees with parity.passed")
            for key in ("size_bytes", "load_ms", "peak_rss_mb"):
                if row.get(key) is None:
                    problems.append(f"{where}: a measured row needs {key}")
        elif row.get("status") != Status.NEEDS_MACOS.value and not row.get("reason"):
            problems.append(f"{where}: a {row.get('status')!r} row needs a reason")
    for i, row in enumerate(data.get("pipeline", [])):
        for key, types in PIPELINE_KEYS.items():
            need(row, key, types, f"pipeline[{i}]")
    return problems


def _row_dict(row: Row) -> dict[str, Any]:
    return asdict(row)


def _pipeline_dict(row: PipelineRow) -> dict[str, Any]:
    return {**asdict(row), "meets_goal": row.meets_goal}


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to None, paths to strings."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class BenchResult:
    results: dict[str, Any]
    rows: list[Row]
    pipeline: list[PipelineRow]
    files: dict[str, Path]


def run_bench(config: BenchConfig) -> BenchResult:
    """Build, measure, write results.json, report.md and the two plots into config.out_dir."""
    from talkies.io import check_writable

    out_dir = check_writable(config.out_dir, is_dir=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    config.bundle_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="talkies-bench-") as tmp, make_progress(transient=False) as progress:
        work = Path(tmp)
        rows, build_s = bundle_rows(config, progress, work)
        pipeline, lipsync_report = (pipeline_rows(config, rows, progress, work) if config.pipeline else ([], {}))
    total = time.time() - started
    results = {
        "schema": SCHEMA, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": config.command or "talkies bench", "config": _clean(asdict(config)), "machine": machine,
        "load_average_end": load_average(),
        "method": {"latency": "wall-clock p50/p95 per call after warm-up, fresh process per bundle",
                   "cpu": "process CPU time per call (all threads)",
                   "peak_rss": "peak RSS (VmHWM; ru_maxrss off Linux) of the measuring child process; "
                               "rss_model_mb = peak minus RSS after importing the backend",
                   "parity": "bundle test vectors replayed against the fp32 reference outputs they ship with",
                   "task_metrics": "face: held-out real crops vs the fp32 reference; lip-sync: LipSync task on "
                                   "the real validation speech"},
        "rows": [_row_dict(r) for r in rows], "pipeline": [_pipeline_dict(p) for p in pipeline],
        "lipsync": lipsync_report or None, "timing": {"total_s": round(total, 1), "build_s": round(build_s, 1)},
    }
    results = _clean(results)
    problems = check_results(results)
    if problems:  # a bug of the harness: the report would be unreadable by the tools that consume it
        raise RuntimeError("results.json breaks its schema: " + "; ".join(problems[:5]))
    files = {"results": out_dir / "results.json", "report": out_dir / "report.md",
             "performance": out_dir / "performance.md",
             "latency_vs_size": out_dir / "latency_vs_size.png",
             "accuracy_vs_latency": out_dir / "accuracy_vs_latency.png"}
    write_text_atomic(files["results"], json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    plot_latency_vs_size(rows, files["latency_vs_size"])
    plot_accuracy_vs_latency(rows, lipsync_report, files["accuracy_vs_latency"])
    write_text_atomic(files["report"], report_markdown(results, rows, pipeline))
    write_text_atomic(files["performance"], report_markdown(results, rows, pipeline, readme=True))
    return BenchResult(results, rows, pipeline, files)


def main(argv: list[str] | None = None) -> int:
    """``python -m talkies.benchmarks.harness --child JOB`` measures one bundle; anything else is
    ``talkies bench``'s arguments."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"] and len(argv) == 2:
        return child_main(argv[1])
    from talkies.cli import main as cli_main

    return cli_main(["bench", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
