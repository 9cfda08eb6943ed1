"""`--backend auto`: per model family, the fastest installed and verified bundle within the family's
accuracy budget, chosen from a short measurement on this machine, made once and cached in $TALKIES_HOME
with the machine and versions it was made on (redone when they, or the installed bundles, change).

- **Accuracy** comes from each bundle's manifest: the parity it measured against the fp32 reference on its
  held-out test vectors when it was exported (face landmarks: mean error ≤ 1 px; lip-sync: ≤ 1% of
  frames with another viseme). The original MediaPipe .tflite files are the face reference itself.
- **Speed** is the median latency of the family's models on their test vectors, 1 thread, measured here.

`talkies doctor` shows the choice and the figures behind it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from talkies import __version__
from talkies.errors import TalkiesError
from talkies.io import write_text_atomic
from talkies.log import get_logger
from talkies.paths import talkies_home
from talkies.runtime.bundle import Bundle, default_bundle_dir, locate_bundle, search_path
from talkies.types import Backend, Precision

log = get_logger(__name__)

CACHE_FILE = "autoselect.json"
MEDIAPIPE = "mediapipe"  # the original .tflite face models in LiteRT: no bundle, the reference
FAMILIES: dict[str, tuple[str, ...]] = {
    "face": ("face_detector", "face_landmarks", "face_blendshapes"),
    "lipsync": ("lipsync",),
}
# (manifest metric, the most it may be) per family: the accuracy budget against fp32.
BUDGETS: dict[str, tuple[str, float]] = {"face": ("mean_landmark_px", 1.0), "lipsync": ("viseme_disagreement", 0.01)}
TIMED_CALLS = 15
PORTABLE = tuple(b for b in Backend if b is not Backend.COREML)


@dataclass
class Candidate:
    backend: str
    precision: str
    latency_ms: float | None = None
    error: float | None = None
    """The budget metric from the manifests (worst over the family's models); None: the reference."""
    eligible: bool = True
    note: str = ""

    @property
    def name(self) -> str:
        return self.backend if self.backend == MEDIAPIPE else f"{self.backend}-{self.precision}"


@dataclass
class Selection:
    family: str
    backend: str
    precision: str
    candidates: list[Candidate]
    measured: str
    """When the figures were measured (ISO time)."""


def machine_key() -> dict[str, str]:
    """What a measurement depends on: the processor, its cores, and the versions of what runs the models."""
    versions = {}
    for dist in ("numpy", "onnxruntime", "openvino", "ai-edge-litert"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return {"talkies": __version__, "python": platform.python_version(), "machine": platform.machine(),
            "cpu": _cpu_model(), "cores": str(os.cpu_count()), **versions}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _roots(family: str, bundle_dir) -> list[Path]:
    """Where the family's bundles are taken from: face bundles from one folder (the given one, else
    $TALKIES_HOME/bundles), lip-sync bundles along the whole search path (the package ships some)."""
    if family == "face":
        return [Path(bundle_dir).expanduser() if bundle_dir else default_bundle_dir()]
    return search_path(bundle_dir)


def _installed(family: str, bundle_dir) -> dict[tuple[str, str], list[Path]]:
    """(backend, precision) → the family's bundles, for every pair with all of them installed."""
    found = {}
    roots = _roots(family, bundle_dir)
    for backend in PORTABLE:
        for precision in Precision:
            paths = [locate_bundle(m, backend.value, precision.value, roots) for m in FAMILIES[family]]
            if all(paths):
                found[(backend.value, precision.value)] = paths
    return found


def _fingerprint(installed: dict[tuple[str, str], list[Path]], mediapipe: bool) -> str:
    """Changes when a bundle is added, removed or rebuilt (its manifest changes)."""
    digest = hashlib.sha256(str(mediapipe).encode())
    for key in sorted(installed):
        for path in installed[key]:
            manifest = path / "manifest.json" if path.is_dir() else path
            digest.update(f"{key}:{path}:{manifest.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _mediapipe_cached() -> bool:
    from talkies.runtime.face.model_files import cached_paths

    return cached_paths() is not None


def _time_sessions(sessions_and_inputs) -> float:
    """Median ms of one call of every model in turn (a frame's worth), after a warm-up."""
    def once() -> None:
        for session, feeds in sessions_and_inputs:
            session.run(feeds)

    once()
    times = []
    for _ in range(TIMED_CALLS):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _measure_bundles(family: str, backend: str, precision: str, paths: list[Path]) -> Candidate:
    from talkies.runtime.session import backend_available, session_for

    candidate = Candidate(backend, precision)
    reason = backend_available(backend)
    if reason is not None:
        candidate.eligible, candidate.note = False, reason
        return candidate
    metric, limit = BUDGETS[family]
    bundles = []
    try:
        runs = []
        for path in paths:
            bundle = Bundle(path)  # verifies every file's sha256
            bundles.append(bundle)
            error = bundle.manifest.parity.metrics.get(metric)
            if error is not None:
                candidate.error = max(candidate.error or 0.0, float(error))
            if bundle.manifest.parity.passed is False:
                candidate.eligible, candidate.note = False, "failed parity at export"
            inputs, _ = bundle.test_vectors()
            runs.append((session_for(bundle, threads=1), {k: np.ascontiguousarray(v[0]) for k, v in inputs.items()}))
        candidate.latency_ms = _time_sessions(runs)
    except TalkiesError as exc:
        candidate.eligible, candidate.note = False, str(exc)
    finally:
        for bundle in bundles:
            bundle.close()
    if precision != Precision.FP32.value and candidate.error is None:
        candidate.eligible, candidate.note = False, f"its manifest has no {metric}"
    elif candidate.error is not None and precision != Precision.FP32.value and candidate.error > limit:
        candidate.eligible, candidate.note = False, f"{metric} {candidate.error:.3g} > {limit:g}"
    return candidate


def _measure_mediapipe() -> Candidate:
    from talkies.runtime.face.sessions import FaceModels

    candidate = Candidate(MEDIAPIPE, Precision.FP32.value, error=0.0)
    models = FaceModels.from_mediapipe(threads=1)
    try:
        runs = []
        for session in (models.detector, models.landmarks, models.blendshapes):
            feeds = {t.name: np.zeros(t.shape, np.float32) for t in session.inputs}
            runs.append((session, feeds))
        candidate.latency_ms = _time_sessions(runs)
    finally:
        models.close()
    return candidate


def _pick(candidates: list[Candidate], backend: str | None, precision: str | None) -> Candidate | None:
    pool = [c for c in candidates if c.eligible and c.latency_ms is not None
            and (backend is None or c.backend == backend) and (precision is None or c.precision == precision)]
    return min(pool, key=lambda c: c.latency_ms) if pool else None


def _load_cache() -> dict:
    path = talkies_home() / CACHE_FILE
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def measure(family: str, bundle_dir=None, *, refresh: bool = False) -> tuple[list[Candidate], str]:
    """The family's candidates with their figures, from the cache when it was made on this machine, with
    these versions and these installed bundles; measured (and cached) otherwise."""
    if family not in FAMILIES:
        raise TalkiesError(f"unknown model family {family!r}; families: {', '.join(FAMILIES)}")
    installed = _installed(family, bundle_dir)
    mediapipe = family == "face" and _mediapipe_cached()
    key = {"machine": machine_key(), "bundles": _fingerprint(installed, mediapipe)}
    cache = _load_cache()
    entry = cache.get(family, {})
    if not refresh and entry.get("key") == key:
        return [Candidate(**c) for c in entry["candidates"]], entry["measured"]
    log.info("measuring the installed %s bundles on this machine (once)", family)
    candidates = [_measure_bundles(family, b, p, paths) for (b, p), paths in sorted(installed.items())]
    if mediapipe:
        candidates.append(_measure_mediapipe())
    measured = time.strftime("%Y-%m-%dT%H:%M:%S")
    cache[family] = {"key": key, "candidates": [asdict(c) for c in candidates], "measured": measured}
    write_text_atomic(talkies_home() / CACHE_FILE, json.dumps(cache, indent=1) + "\n")
    return candidates, measured


def select(family: str, backend: str = "auto", precision: str = "auto", bundle_dir=None) -> Selection:
    """The bundle to use: explicit choices win; "auto" takes the fastest eligible candidate. With no
    bundle installed at all, the family's default (onnx fp32, which the CLI builds or ships) is returned."""
    explicit_backend = None if backend == "auto" else backend
    explicit_precision = None if precision == "auto" else Precision.parse(precision).value
    if explicit_backend is not None and explicit_precision is not None:
        return Selection(family, explicit_backend, explicit_precision, [], "")
    candidates, measured = measure(family, bundle_dir)
    best = _pick(candidates, explicit_backend, explicit_precision)
    if best is None:
        fallback_backend = explicit_backend or Backend.ONNX.value
        if fallback_backend == MEDIAPIPE:
            return Selection(family, MEDIAPIPE, Precision.FP32.value, candidates, measured)
        return Selection(family, fallback_backend, explicit_precision or Precision.FP32.value, candidates, measured)
    return Selection(family, best.backend, best.precision, candidates, measured)


def describe(selection: Selection) -> list[str]:
    """Lines for `talkies doctor`: every candidate's figures and the choice."""
    metric, limit = BUDGETS[selection.family]
    lines = [f"{selection.family}: {selection.backend}"
             + ("" if selection.backend == MEDIAPIPE else f" {selection.precision}")
             + f"   (budget: {metric} <= {limit:g}; measured {selection.measured or 'never'})"]
    for c in sorted(selection.candidates, key=lambda c: (c.latency_ms is None, c.latency_ms or 0.0)):
        latency = "—" if c.latency_ms is None else f"{c.latency_ms:.2f} ms"
        error = "reference" if c.error is None and c.precision == "fp32" else (
            "—" if c.error is None else f"{metric} {c.error:.3g}")
        mark = "*" if (c.backend, c.precision) == (selection.backend, selection.precision) else " "
        lines.append(f"  {mark} {c.name:<18} {latency:>10}   {error:<28} {'ok' if c.eligible else c.note}")
    return lines


__all__ = ["BUDGETS", "Candidate", "FAMILIES", "MEDIAPIPE", "Selection", "describe", "machine_key", "measure",
           "select"]
