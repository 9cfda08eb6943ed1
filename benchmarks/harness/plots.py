"""The two plots: latency against model size, and task accuracy against speed, one panel per model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from talkies.benchmarks.harness.rows import HEADLINE, Row, Status, is_lipsync
from talkies.types import Precision, TargetName

_MARKERS = {TargetName.ONNX.value: "o", TargetName.OPENVINO.value: "s", TargetName.LITERT.value: "^",
            TargetName.COREML.value: "D"}
_COLOURS = {Precision.FP32.value: "tab:blue", Precision.FP16.value: "tab:orange", Precision.INT8.value: "tab:green"}


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
        lip = is_lipsync(model)
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
