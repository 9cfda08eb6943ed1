"""Measuring one bundle in a fresh child process (``python -m talkies.benchmarks.harness --child JOB``),
so that no figure includes another model's memory or warm caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.common import current_rss_mb, peak_rss_mb, time_calls
from talkies.benchmarks.harness.config import BenchConfig

CHILD_TIMEOUT_S = 300


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
