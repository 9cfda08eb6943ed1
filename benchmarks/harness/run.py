"""One ``talkies bench`` run: build and measure the bundles, run the pipelines, then write results.json,
report.md, performance.md and the two plots."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkies.benchmarks.common import machine_info
from talkies.benchmarks.harness.config import BenchConfig
from talkies.benchmarks.harness.measure import bundle_rows
from talkies.benchmarks.harness.pipelines import pipeline_rows
from talkies.benchmarks.harness.plots import plot_accuracy_vs_latency, plot_latency_vs_size
from talkies.benchmarks.harness.report import report_markdown
from talkies.benchmarks.harness.results import results_json
from talkies.benchmarks.harness.rows import PipelineRow, Row
from talkies.io import write_text_atomic
from talkies.log import make_progress


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
    results = results_json(config, machine, rows, pipeline, lipsync_report, total_s=time.time() - started,
                           build_s=build_s)
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
