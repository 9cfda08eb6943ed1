"""`talkies bundle verify|pack|inspect PATH`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from talkies.cli import cli
from talkies.cli.options import output_option, threads_option


@cli.group()
def bundle() -> None:
    """Verify, pack and inspect exported bundles."""


@bundle.command()
@click.argument("path", type=click.Path(path_type=Path))
@threads_option(help="Inference threads for replaying the test vectors.")
def verify(path: Path, threads: int) -> None:
    """Check the schema and every file's sha256, then replay the test vectors within tolerance."""
    from talkies.targets.bundle_writer import verify_bundle

    report = verify_bundle(path, threads=threads)
    parity = report.parity
    line = f"{path}: ok — {report.name} {report.target} {report.precision}, {report.files_checked} files verified"
    if parity is not None:
        line += f", replayed: max_abs {parity.max_abs:.3g}, rel {parity.rel:.3g}"
        if parity.metrics:
            line += " (" + ", ".join(f"{k} {v:.3g}" for k, v in sorted(parity.metrics.items())) + ")"
    click.echo(line)
    for note in report.notes:
        click.echo(f"  note: {note}")


@bundle.command()
@click.argument("path", type=click.Path(path_type=Path))
@output_option("Zip to write (default: PATH.zip beside the directory).", required=False)
def pack(path: Path, output: Path | None) -> None:
    """Zip a bundle directory: stored entries, 4-byte aligned data (mmap-able in an app)."""
    from talkies.targets.bundle_writer import pack_bundle

    click.echo(str(pack_bundle(path, output)))


@bundle.command()
@click.argument("path", type=click.Path(path_type=Path))
def inspect(path: Path) -> None:
    """Show a bundle's manifest."""
    from talkies.runtime.bundle import Bundle

    with Bundle(path) as opened:
        m = opened.manifest
    console = Console()
    table = Table(title=f"{m.name} — {m.target} {m.precision}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    p = m.parity
    rows = [
        ("description", m.description), ("model file", m.model_file),
        ("inputs", "\n".join(_tensor(t) for t in m.inputs)), ("outputs", "\n".join(_tensor(t) for t in m.outputs)),
        ("parity", f"vs {p.reference}: " + (f"max_abs {p.max_abs:.3g}, rel {p.rel:.3g}, passed {p.passed}"
                                             if p.measured else f"not measured ({p.note})")),
        ("metrics", ", ".join(f"{k} {v:.3g}" for k, v in sorted(p.metrics.items())) or "—"),
        ("tolerance", ", ".join(f"{k} ≤ {v:g}" for k, v in sorted(p.tolerance.items())) or "—"),
        ("labels", ", ".join(m.labels) or "—"),
        ("preprocessing", json.dumps(m.preprocessing, sort_keys=True) if m.preprocessing else "—"),
        ("postprocessing", json.dumps(m.postprocessing, sort_keys=True) if m.postprocessing else "—"),
        ("runtime hints", json.dumps(m.runtime_hints, sort_keys=True) if m.runtime_hints else "—"),
        ("files", "\n".join(f"{f.path} ({f.role}, {f.size} B, sha256 {f.sha256[:12]}…)" for f in m.files)),
        ("licence", m.licence or "—"), ("source", m.source or "—"),
        ("toolkit", f"talkies {m.toolkit_version}, schema {m.schema_version}"),
    ]
    for field, value in rows:
        table.add_row(field, value)
    console.print(table)


def _tensor(t) -> str:
    quant = f", scale {t.scale:.4g}, zero point {t.zero_point}" if t.scale is not None else ""
    return f"{t.name} {t.dtype}{list(t.shape)}{quant}"
