"""`talkies doctor`: what `--backend auto` picks on this machine for each model family, and why."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import bundle_dir_option


@cli.command("doctor")
@bundle_dir_option()
@click.option("--refresh", is_flag=True, help="Measure again even when the cached figures still apply.")
def doctor_command(bundle_dir: Path | None, refresh: bool) -> None:
    """The backends --backend auto picks on this machine, and the figures behind them."""
    from talkies.paths import talkies_home
    from talkies.runtime import autoselect

    key = autoselect.machine_key()
    click.echo("machine: " + ", ".join(f"{k} {v}" for k, v in key.items()))
    click.echo(f"cache: {talkies_home() / autoselect.CACHE_FILE}")
    for family in autoselect.FAMILIES:
        if refresh:
            autoselect.measure(family, bundle_dir, refresh=True)
        for line in autoselect.describe(autoselect.select(family, bundle_dir=bundle_dir)):
            click.echo(line)
