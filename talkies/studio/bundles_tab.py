"""Bundles: pick a model, a target and a precision, export (:func:`talkies.targets.bundle_writer.export_bundle`,
what `talkies export` runs), show the manifest, file sizes and parity (:class:`talkies.Bundle`), and run a
short benchmark of that bundle (the `talkies bench` harness: one model, one target, one precision)."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from talkies.studio import jobs
from talkies.types import Precision, TargetName


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _num(value) -> str:
    return "—" if value is None else f"{value:.3g}"


def describe(path: Path) -> tuple[str, str, str]:
    """(parity line, sizes table, manifest JSON) of a bundle, read through :class:`Bundle`."""
    from talkies.runtime.bundle import Bundle

    with Bundle(path) as bundle:
        m = bundle.manifest
    p = m.parity
    if p.measured:
        verdict = "passed" if p.passed else "FAILED"
        parity = (f"**parity {verdict}** vs {p.reference}: max_abs {_num(p.max_abs)}, rel {_num(p.rel)}"
                  + "".join(f", {k} {v:.3g}" for k, v in sorted(p.metrics.items()))
                  + (" (tolerance " + ", ".join(f"{k} ≤ {v:g}" for k, v in sorted(p.tolerance.items())) + ")"
                     if p.tolerance else ""))
    else:
        parity = f"**parity not measured** ({p.note})"
    rows = ["| file | role | size |", "|---|---|---:|"]
    rows += [f"| {f.path} | {f.role} | {_size(f.size)} |" for f in m.files]
    model_bytes = sum(f.size for f in m.files if f.role != "test_vectors")
    rows.append(f"| **total (without test vectors)** | | **{_size(model_bytes)}** |")
    return parity, "\n".join(rows), json.dumps(json.loads(m.to_json()), indent=2)


BENCH_COLUMNS = ("model", "target", "precision", "threads", "status", "size MB", "load ms", "p50 ms", "p95 ms",
                 "calls/s", "peak RSS MB (model)")


def compact(table: str, columns: tuple[str, ...] = BENCH_COLUMNS) -> str:
    """The `talkies bench` markdown table cut to the columns that fit the page (the full report is a download)."""
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    if len(lines) < 2:
        return table
    keep = [i for i, name in enumerate(lines[0]) if name in columns]
    return "\n".join("| " + " | ".join(row[i] if i < len(row) else "" for i in keep) + " |" for row in lines)


def export(model, target, precision, allow_failure, request=None, progress=None):
    from talkies.runtime.bundle import bundle_name
    from talkies.targets.bundle_writer import export_bundle

    with jobs.job("bundle", progress=progress, request=request) as job:
        name = bundle_name(jobs.need(model, "model"), jobs.need(target, "target"), jobs.need(precision, "precision"))
        job.stage(0.1, f"exporting {name} (compile, test vectors, parity)")
        root = job.path("bundles")
        path = export_bundle(model, target, precision, root / name, enforce_parity=not allow_failure)
        job.stage(0.95, "reading the manifest")
        parity, sizes, manifest = describe(path)
        return parity, sizes, manifest, str(path)


def bench(model, target, precision, bundle, request=None, progress=None):
    from talkies.benchmarks.harness.config import BenchConfig
    from talkies.benchmarks.harness.report import bundle_table
    from talkies.benchmarks.harness.run import run_bench

    with jobs.job("bench", progress=progress, request=request) as job:
        root = Path(bundle).parent if bundle else job.path("bundles")
        job.stage(0.1, f"benchmarking {model} {target} {precision}" + ("" if bundle else " (exporting first)"))
        config = BenchConfig(models=(model,), targets=(target,), precisions=(precision,), threads=(1,),
                             bundle_dir=root, out_dir=job.path("bench"), iterations=20, warmup=3, max_seconds=1.0,
                             pipeline=(), peers=False, install_peers=False, command="talkies studio")
        result = run_bench(config)
        return compact(bundle_table(result.rows)), str(result.files["latency_vs_size"]), [
            str(result.files["results"]), str(result.files["report"])]


def build(heavy: dict) -> None:
    from talkies.export.registry import model_names

    names = model_names()
    bundle = gr.State(None)
    with gr.Row():
        model = gr.Dropdown(names, value="face_detector" if "face_detector" in names else names[0], label="Model",
                            elem_id="bundle-model")
        target = gr.Dropdown([t.value for t in TargetName], value="onnx", label="Target", elem_id="bundle-target")
        precision = gr.Dropdown([p.value for p in Precision], value="fp32", label="Precision",
                                elem_id="bundle-precision")
        allow = gr.Checkbox(value=False, label="Write it even if parity fails")
    with gr.Row():
        go = gr.Button("Export", variant="primary", elem_id="bundle-export")
        run_bench = gr.Button("Benchmark", elem_id="bundle-bench")
        stop = gr.Button("Cancel", variant="stop")
    with gr.Row():
        with gr.Column():
            parity = gr.Markdown(elem_id="bundle-parity")
            sizes = gr.Markdown(elem_id="bundle-sizes")
        manifest = gr.Code(label="manifest.json", language="json", interactive=False, max_lines=18,
                           elem_id="bundle-manifest")
    table = gr.Markdown(elem_id="bundle-bench-table")
    with gr.Row():
        plot = gr.Image(label="Latency vs size", interactive=False, height=300)
        reports = gr.File(label="Benchmark results (results.json, report.md)", file_count="multiple",
                          interactive=False)

    def _export(model, target, precision, allow, request: gr.Request, progress=gr.Progress()):
        return export(model, target, precision, allow, request, progress)

    def _bench(model, target, precision, bundle, request: gr.Request, progress=gr.Progress()):
        matches = bundle and Path(bundle).name == f"{model}-{target}-{precision}"
        return bench(model, target, precision, bundle if matches else None, request, progress)

    exported = go.click(_export, [model, target, precision, allow], [parity, sizes, manifest, bundle], **heavy)
    benched = run_bench.click(_bench, [model, target, precision, bundle], [table, plot, reports], **heavy)
    stop.click(jobs.cancel_handler, None, parity, cancels=[exported, benched])
