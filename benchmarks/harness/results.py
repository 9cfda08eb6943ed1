"""results.json: what it holds (the schema, checked before it is written) and how a run's rows become it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.common import load_average
from talkies.benchmarks.harness.config import BenchConfig
from talkies.benchmarks.harness.rows import PipelineRow, Row, Status

SCHEMA = "talkies-bench/1"
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



def results_json(config: BenchConfig, machine: dict[str, Any], rows: list[Row], pipeline: list[PipelineRow],
                 lipsync_report: dict, *, total_s: float, build_s: float) -> dict[str, Any]:
    """The run as results.json holds it, JSON-ready; RuntimeError if that breaks the schema."""
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
                                   "the real validation speech (LibriVox; timit_*: TIMIT)"},
        "rows": [_row_dict(r) for r in rows], "pipeline": [_pipeline_dict(p) for p in pipeline],
        "lipsync": lipsync_report or None, "timing": {"total_s": round(total_s, 1), "build_s": round(build_s, 1)},
    }
    results = _clean(results)
    problems = check_results(results)
    if problems:  # a bug of the harness: the report would be unreadable by the tools that consume it
        raise RuntimeError("results.json breaks its schema: " + "; ".join(problems[:5]))
    return results
