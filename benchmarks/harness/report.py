"""report.md and performance.md (the README's performance section): the bundle, pipeline and kernel
tables in markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from talkies.benchmarks.common import fmt, markdown_table
from talkies.benchmarks.harness.rows import HEADLINE, LIPSYNC_FIGURES, PipelineRow, Row, Status, is_lipsync


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
    if is_lipsync(row.model):
        cell = " · ".join(f"{k.split('_')[0]} {m[k]:.3f}" for k in LIPSYNC_FIGURES)
        if "timit_coarse_accuracy" in m:
            cell += "; TIMIT " + " · ".join(f"{k.split('_')[0]} {m['timit_' + k]:.3f}" for k in LIPSYNC_FIGURES)
        return cell
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
        "lip-sync through the LipSync task on the real validation speech, LibriVox then TIMIT "
        "(coarse · closure · open · round).",
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
