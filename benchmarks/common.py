"""Measurement helpers shared by the benchmark scripts (harness, lip-sync, tracking, animate).

- Timing: :func:`time_calls` (warm-up, then per-call wall and process-CPU times, p50/p95, throughput)
  and :func:`median_ms` (median wall and CPU ms of repeats). On a shared machine the CPU clock is the
  steadier one, so both are kept.
- Memory: :func:`peak_rss_mb` (this process's peak RSS, VmHWM) and :func:`current_rss_mb`. The harness runs
  each measurement in a fresh child process and has the child report both, so a row's peak RSS is that
  of one interpreter holding one model.
- Machine facts: :func:`machine_info` (CPU model, cores, OS, Python, package versions, load average).
- Peers in their own throwaway venvs (MediaPipe pins protobuf below 5, pylipsync pins numpy below 2.4):
  :func:`peer_python` finds or creates one, :func:`run_peer` runs a script in it with a clean environment.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from talkies.log import get_logger
from talkies.types import Backend

log = get_logger(__name__)

#: Packages whose versions every benchmark report records.
PACKAGES = ("talkies", "numpy", "numba", "onnxruntime", "openvino", "ai-edge-litert", "coremltools", "torch")
#: Environment variables that would leak this venv into a peer's interpreter.
_LEAKY_ENV = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
#: The backends that run on any OS (Core ML runs on macOS only).
PORTABLE_BACKENDS = tuple(b.value for b in Backend if b is not Backend.COREML)
#: One thread for the numeric libraries of a peer, as for talkies.
ONE_THREAD_ENV = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                   "NUMBA_NUM_THREADS")}


# --- statistics and timing ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass
class LatencyStats:
    """Per-call times in ms after warm-up. ``cpu_p50_ms`` is process CPU time (all threads)."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    min_ms: float
    cpu_p50_ms: float
    iterations: int
    warmup: int
    total_s: float

    @property
    def throughput_per_s(self) -> float:
        """Calls per second over the timed loop (back to back, one caller)."""
        return self.iterations / self.total_s if self.total_s > 0 else math.nan

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "throughput_per_s": self.throughput_per_s}


def time_calls(fn: Callable[[int], Any], *, iterations: int, warmup: int = 3, max_seconds: float | None = None,
               min_iterations: int = 3) -> LatencyStats:
    """Call ``fn(i)`` ``warmup`` times, then up to ``iterations`` times (stopping once ``max_seconds`` of
    timed calls have passed, but not before ``min_iterations``), timing each call."""
    for i in range(warmup):
        fn(i)
    wall: list[float] = []
    cpu: list[float] = []
    start = time.perf_counter()
    for i in range(iterations):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(warmup + i)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        if max_seconds is not None and len(wall) >= min_iterations and time.perf_counter() - start >= max_seconds:
            break
    ms = [1000 * w for w in wall]
    return LatencyStats(p50_ms=statistics.median(ms), p95_ms=percentile(ms, 95), mean_ms=statistics.fmean(ms),
                        min_ms=min(ms), cpu_p50_ms=1000 * statistics.median(cpu), iterations=len(ms),
                        warmup=warmup, total_s=sum(wall))


def median_ms(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median wall and process-CPU milliseconds of ``repeats`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall": 1000 * statistics.median(wall), "cpu": 1000 * statistics.median(cpu)}


# --- memory ------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB: VmHWM from /proc/self/status on Linux, else
    ``getrusage(RUSAGE_SELF).ru_maxrss``. (On Linux ``ru_maxrss`` survives exec: a child started from a
    large parent reports the parent's peak, so it cannot measure a child on its own.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB (the peak where /proc is not there)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


# --- machine -----------------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, sysctl on macOS), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine_info(packages: Iterable[str] = PACKAGES) -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version(), "versions": package_versions(packages),
            "load_average": load_average()}


# --- peers in their own venvs ------------------------------------------------------------------------


def peer_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would leak its venv into another interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env.update(extra)
    return env


def peer_python(name: str, requirement: str, *, candidates: Sequence[str | os.PathLike] = (),
                root: Path | None = None, install: bool = False, timeout_s: float = 600) -> tuple[str | None, str]:
    """An interpreter with ``requirement`` installed, in a venv of its own: the first of ``candidates``
    that exists, else ``root/name`` (created with ``pip install requirement`` when ``install``).
    Returns (python, how it was found) or (None, the reason there is none)."""
    venv = (root or _peers_root()) / name
    pythons = [Path(c) for c in candidates] + [venv / "bin" / "python"]
    for python in pythons:
        if python.is_file():
            return str(python), f"venv {python.parent.parent}"
    if not install:
        return None, (f"no {name} venv ({', '.join(str(p) for p in pythons)}); create one with "
                      f"`python -m venv {venv} && {venv}/bin/pip install {requirement}`")
    log.warning("installing %s into its own venv %s (once)", requirement, venv)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True,
                       timeout=timeout_s)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement], check=True,
                       capture_output=True, text=True, env=peer_env(), timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        last = str(detail).strip().splitlines()[-1:] or [type(exc).__name__]
        return None, f"could not install {requirement} into {venv}: {last[0]}"
    return str(venv / "bin" / "python"), f"venv {venv} (installed now)"


def _peers_root() -> Path:
    from talkies.paths import talkies_home

    return talkies_home() / "peers"


def run_peer(python: str, script: str, args: Sequence[str], work: Path, *, timeout_s: float = 600,
             one_thread: bool = True) -> tuple[bool, str]:
    """Run ``script`` (source text) with another interpreter in ``work``; (ok, stderr's last line)."""
    path = work / "peer_side.py"
    path.write_text(script)
    env = peer_env(GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2", **(ONE_THREAD_ENV if one_thread else {}))
    try:
        proc = subprocess.run([python, str(path), *map(str, args)], capture_output=True, text=True, env=env,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout_s:.0f} s"
    last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return proc.returncode == 0, last


# --- bundles -----------------------------------------------------------------------------------------

#: Where the harness keeps bundles it built that failed parity (never where the runtime looks them up).
PARITY_FAILED_DIR = ".parity-failed"


def model_bytes(manifest: Any) -> int:
    """Bytes of a bundle's model and weight files (test vectors left out)."""
    return sum(f.size for f in manifest.files if f.role in ("model", "weights"))


@contextlib.contextmanager
def inner_progress_off() -> Iterator[None]:
    """Silence the progress bars of the code under test (TALKIES_PROGRESS=0) while a benchmark's own bar
    shows; a bar refreshing during a timed call would also cost time."""
    before = os.environ.get("TALKIES_PROGRESS")
    os.environ["TALKIES_PROGRESS"] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TALKIES_PROGRESS", None)
        else:
            os.environ["TALKIES_PROGRESS"] = before


# --- formatting --------------------------------------------------------------------------------------


def fmt(value: Any, spec: str = ".3g", missing: str = "–") -> str:
    """A number for a table cell; ``missing`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


__all__ = ["LatencyStats", "ONE_THREAD_ENV", "PACKAGES", "PARITY_FAILED_DIR", "PORTABLE_BACKENDS", "cpu_model",
           "current_rss_mb", "fmt", "inner_progress_off", "load_average", "machine_info", "markdown_table",
           "median_ms", "model_bytes", "package_versions", "peak_rss_mb", "peer_env", "peer_python", "percentile",
           "run_peer", "time_calls"]


def emit_report(report: dict[str, Any], json_path: str | os.PathLike | None) -> None:
    """Print a benchmark's figures as JSON, and write them to `json_path` (atomically) when given."""
    import json

    from talkies.io import write_text_atomic

    text = json.dumps(report, indent=2)
    print(text)
    if json_path:
        write_text_atomic(json_path, text + "\n")
