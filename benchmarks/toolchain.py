"""Toolchain benchmark: every (model, backend, precision) side by side — export time, size, parity against
the original model, and 1-thread inference latency (median).

Run: ``python -m talkies.benchmarks.toolchain [--json OUT] [--bundles DIR] [--models a,b] [--targets ...]``.

Bundles already in ``--bundles DIR`` (as ``talkies export ... -o DIR`` writes them) are measured as they
are; missing ones are exported there first (parity recorded, not enforced, so an int8 model that misses
its tolerance is still timed and shown as failed). Latency is measured on the bundle's first test vector,
on one inference thread, after a warm-up, through the runtime's InferenceSession (the same adapter an
app uses); the process CPU time is kept beside the wall time since the machine may be shared. Core ML
only converts here (it runs on macOS), so it is left out of the latency table by default.

Prints a markdown table; ``--json`` writes the rows and the machine facts.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TALKIES_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from talkies.benchmarks.common import inner_progress_off, machine_info, time_calls  # noqa: E402
from talkies.io import write_text_atomic  # noqa: E402
from talkies.log import make_progress  # noqa: E402

FACE_MODELS = ("face_detector", "face_landmarks", "face_blendshapes")
TARGETS = ("onnx", "openvino", "litert")
PRECISIONS = ("fp32", "fp16", "int8")
INT8_SPEEDUP_GOAL = 1.3


@dataclass
class Row:
    model: str
    target: str
    precision: str
    size_bytes: int | None = None
    export_s: float | None = None
    rel: float | None = None
    max_abs: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    passed: bool | None = None
    p50_ms: float | None = None
    cpu_p50_ms: float | None = None
    iterations: int = 0
    speedup_vs_fp32: float | None = None
    error: str = ""


def _bundle(model: str, target: str, precision: str, root: Path) -> tuple[Path, float | None]:
    """The bundle in root, exported there first when missing (returns the export time then)."""
    from talkies.runtime.bundle import bundle_name
    from talkies.targets.bundle_writer import export_bundle

    path = root / bundle_name(model, target, precision)
    if (path / "manifest.json").is_file():
        return path, None
    start = time.perf_counter()
    with inner_progress_off():
        export_bundle(model, target, precision, path, enforce_parity=False)
    return path, time.perf_counter() - start


def measure(model: str, target: str, precision: str, root: Path, *, iterations: int, max_seconds: float) -> Row:
    from talkies.errors import TalkiesError
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import backend_available, open_session

    row = Row(model, target, precision)
    try:
        path, row.export_s = _bundle(model, target, precision, root)
    except TalkiesError as exc:
        row.error = str(exc)
        return row
    with Bundle(path) as bundle:
        m = bundle.manifest
        row.size_bytes = sum(f.size for f in m.files if f.role != "test_vectors")
        row.rel, row.max_abs, row.metrics, row.passed = m.parity.rel, m.parity.max_abs, m.parity.metrics, m.parity.passed
        reason = backend_available(target)
        if reason is not None:
            row.error = f"not timed: {reason}"
            return row
        inputs, _ = bundle.test_vectors()
        feeds = {name: value[0] for name, value in inputs.items()}
        session = open_session(m, bundle.root, threads=1)
        stats = time_calls(lambda _i: session.run(feeds), iterations=iterations, warmup=5, max_seconds=max_seconds)
    row.p50_ms, row.cpu_p50_ms, row.iterations = stats.p50_ms, stats.cpu_p50_ms, stats.iterations
    return row


def add_speedups(rows: list[Row]) -> None:
    fp32 = {(r.model, r.target): r.p50_ms for r in rows if r.precision == "fp32" and r.p50_ms}
    for r in rows:
        base = fp32.get((r.model, r.target))
        if base and r.p50_ms:
            r.speedup_vs_fp32 = base / r.p50_ms


def _f(value: float | None, fmt: str = ".3g") -> str:
    return "—" if value is None else format(value, fmt)


def _export_cell(r: Row) -> str:
    if r.export_s is not None:
        return f"{r.export_s:.1f} s"
    return "cached" if r.size_bytes is not None else "—"


def markdown(rows: list[Row]) -> str:
    lines = ["| model | backend | precision | size | export | rel | metrics | parity | p50 ms (1 thread) | "
             "CPU p50 ms | vs fp32 |", "|---|---|---|---:|---:|---:|---|---|---:|---:|---:|"]
    for r in rows:
        parity = {True: "pass", False: "FAIL", None: "not measured"}[r.passed]
        metrics = ", ".join(f"{k} {v:.3g}" for k, v in sorted(r.metrics.items())) or "—"
        size = "—" if r.size_bytes is None else f"{r.size_bytes / 1024:.0f} KiB"
        lines.append(f"| {r.model} | {r.target} | {r.precision} | {size} | "
                     f"{_export_cell(r)} | "
                     f"{_f(r.rel)} | {metrics} | {parity}{(' — ' + r.error) if r.error else ''} | "
                     f"{_f(r.p50_ms, '.3f')} | {_f(r.cpu_p50_ms, '.3f')} | "
                     f"{'—' if r.speedup_vs_fp32 is None else f'{r.speedup_vs_fp32:.2f}×'} |")
    return "\n".join(lines)


def int8_summary(rows: list[Row]) -> list[str]:
    out = []
    for model in dict.fromkeys(r.model for r in rows):
        best = max((r for r in rows if r.model == model and r.precision == "int8" and r.speedup_vs_fp32),
                   key=lambda r: r.speedup_vs_fp32, default=None)
        if best:
            verdict = "meets" if best.speedup_vs_fp32 >= INT8_SPEEDUP_GOAL else "misses"
            out.append(f"{model}: best int8 speed-up {best.speedup_vs_fp32:.2f}× on {best.target} "
                       f"({verdict} the {INT8_SPEEDUP_GOAL}× goal)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.benchmarks.toolchain", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(FACE_MODELS))
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--bundles", type=Path, default=None,
                        help="Directory of bundles to measure (missing ones are exported into it).")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=3.0, help="Cap on timed calls per row.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    pairs = [(m, t, p) for m in args.models.split(",") for t in args.targets.split(",")
             for p in args.precisions.split(",")]
    with tempfile.TemporaryDirectory(prefix="talkies-bench-toolchain-") as tmp:
        root = args.bundles or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        rows = []
        with make_progress(transient=True) as progress:
            task = progress.add_task("toolchain benchmark", total=len(pairs))
            for model, target, precision in pairs:
                progress.update(task, description=f"{model} {target} {precision}")
                rows.append(measure(model, target, precision, root, iterations=args.iterations,
                                    max_seconds=args.max_seconds))
                progress.advance(task)
    add_speedups(rows)
    print(markdown(rows))
    for line in int8_summary(rows):
        print(f"- {line}")
    if args.json:
        report = {"benchmark": "toolchain", "threads": 1, "machine": machine_info(),
                  "rows": [asdict(r) for r in rows], "int8_summary": int8_summary(rows)}
        write_text_atomic(args.json, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
