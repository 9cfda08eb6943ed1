"""`talkies export MODEL --target ... --precision ... -o DIR`: one bundle per (target, precision) pair,
a progress bar over the pairs and a parity table at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from talkies.cli import cli
from talkies.cli.options import output_option, precisions_option, targets_option, threads_option
from talkies.errors import ParityError, TalkiesError, UnsupportedTargetError
from talkies.types import Precision, TargetName


@dataclass
class Row:
    target: str
    precision: str
    status: str  # ok | failed | skipped
    size: int | None = None
    max_abs: float | None = None
    rel: float | None = None
    metrics: str = ""
    passed: str = ""
    seconds: float | None = None
    path: str = ""


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _row_from_bundle(target: str, precision: str, path: Path, seconds: float) -> Row:
    from talkies.runtime.bundle import Bundle

    with Bundle(path) as bundle:
        m = bundle.manifest
    parity = m.parity
    passed = ("yes" if parity.passed else "NO") if parity.measured else f"not measured ({parity.note.split(';')[0]})"
    return Row(target, precision, "ok" if parity.passed is not False else "failed",
               size=sum(f.size for f in m.files if f.role != "test_vectors"), max_abs=parity.max_abs, rel=parity.rel,
               metrics=", ".join(f"{k} {v:.3g}" for k, v in sorted(parity.metrics.items())), passed=passed,
               seconds=seconds, path=str(path))


def print_table(model: str, rows: list[Row], console: Console) -> None:
    table = Table(title=f"talkies export {model}")
    for column in ("target", "precision", "size", "max_abs", "rel", "metrics", "passed", "time"):
        table.add_column(column, overflow="fold", justify="right" if column in ("size", "max_abs", "rel", "time") else "left")
    for r in rows:
        table.add_row(r.target, r.precision, _size(r.size), _fmt(r.max_abs), _fmt(r.rel), r.metrics, r.passed,
                      "—" if r.seconds is None else f"{r.seconds:.1f} s")
    console.print(table)


@cli.command("export")
@click.argument("model")
@targets_option(TargetName, help="onnx, openvino, litert, coreml, a comma-separated list, or all.")
@precisions_option()
@click.option("--recipe", default=None, help="A named recipe (e.g. android-litert-int8) instead of --target/--precision.")
@output_option("Output directory; each bundle goes to OUTPUT/MODEL-TARGET-PRECISION/.", folder=True)
@threads_option(help="Inference threads for the parity run.")
@click.option("--allow-parity-failure", is_flag=True,
              help="Write bundles that miss the parity tolerance (recorded as passed: false) instead of failing.")
def export_command(model: str, target: list[TargetName], precision: list[Precision], recipe: str | None,
                   output: Path, threads: int, allow_parity_failure: bool) -> None:
    """Export MODEL to bundles: compile, quantize, measure parity against the reference, write manifests."""
    from talkies.io import check_writable
    from talkies.targets.bundle_writer import ensure_writable_dir

    options = None
    if recipe is not None:
        from talkies.targets.recipes import get_recipe

        chosen = get_recipe(recipe)
        targets, precisions, options = [chosen.target], [chosen.precision], chosen.options()
    else:
        targets, precisions = target, precision
    check_writable(output, is_dir=True)  # before any work

    from talkies.export.registry import get_spec
    from talkies.log import make_progress
    from talkies.runtime.bundle import bundle_name
    from talkies.targets.bundle_writer import export_bundle, plan_exports

    spec = get_spec(model)
    ensure_writable_dir(output)  # creates OUT: only once the request is known to be valid
    plan = plan_exports(spec, [t.value for t in targets], precisions)
    single = len(targets) == 1 and len(precisions) == 1
    if single and plan.skipped:
        _, _, reason = plan.skipped[0]
        raise UnsupportedTargetError(f"{spec.name} {targets[0]} {precisions[0]}: {reason}")

    rows: list[Row] = []
    failures: list[str] = []
    with make_progress(transient=False) as progress:
        bar = progress.add_task(f"exporting {spec.name}", total=len(plan.todo))
        for tgt, prec in plan.todo:
            progress.update(bar, description=f"{spec.name}: {tgt.name} {prec}")
            dest = output / bundle_name(spec.name, tgt.name.value, prec.value)
            start = time.perf_counter()
            try:
                path = export_bundle(spec, tgt, prec, dest, options, threads=threads,
                                     enforce_parity=not allow_parity_failure)
            except TalkiesError as exc:
                if single:
                    raise
                failures.append(f"{tgt.name} {prec}: {exc}")
                rows.append(Row(tgt.name.value, prec.value, "failed", passed="FAILED (below)",
                                seconds=time.perf_counter() - start))
            else:
                rows.append(_row_from_bundle(tgt.name.value, prec.value, path, time.perf_counter() - start))
            progress.advance(bar)
    rows += [Row(t, p, "skipped", passed="skipped (below)") for t, p, _ in plan.skipped]
    console = Console()
    if not console.is_terminal:
        console.width = 200  # a log file or pipe: don't wrap the table at 80 columns
    print_table(spec.name, rows, console)
    for t, p, reason in plan.skipped:
        console.print(f"skipped {t} {p}: {reason}", highlight=False, soft_wrap=True)
    for failure in failures:
        console.print(f"failed {failure}", highlight=False, soft_wrap=True)
    written = [r for r in rows if r.path]
    console.print(f"{len(written)} bundle(s) in {output}", highlight=False)
    if failures:
        kind = ParityError if all("parity" in f for f in failures) else TalkiesError
        raise kind(f"{len(failures)} of {len(plan.todo)} export(s) failed: " + " | ".join(failures))
