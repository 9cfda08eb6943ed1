"""`talkies studio`: the local web app (:mod:`talkies.studio`) over the same Python API."""

from __future__ import annotations

import click

from talkies.cli import cli
from talkies.log import get_logger

log = get_logger(__name__)

LOCAL = "127.0.0.1"


@cli.command("studio")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port [default: a free one].")
@click.option("--host", default=LOCAL, show_default=True,
              help="Address to listen on. Anything but 127.0.0.1 opens the studio to the network: a warning, and "
                   "uploads limited in size and type.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
def studio_command(port: int | None, host: str, no_browser: bool) -> None:
    """A local web app for everything talkies does: talking photos, dubbing, lip-sync curves, face
    tracking and bundles. Ctrl-C stops it."""
    from talkies.errors import require
    from talkies.studio.common import HOSTED_MAX_UPLOAD_MB, UPLOAD_TYPES

    require("gradio", "studio")
    if host not in (LOCAL, "localhost", "::1"):
        kinds = sorted({s for types in UPLOAD_TYPES.values() for s in types})
        click.echo(f"talkies studio: warning: listening on {host}, so anyone who can reach this machine can use "
                   f"the studio and run jobs on it; uploads are limited to {HOSTED_MAX_UPLOAD_MB} MB and "
                   f"{', '.join(kinds)}", err=True)
    from talkies.studio.app import launch, serve_forever

    app, url = launch(host=host, port=port, open_browser=not no_browser, block=False)
    click.echo(f"talkies studio: {url} (Ctrl-C stops it)")
    serve_forever(app)
