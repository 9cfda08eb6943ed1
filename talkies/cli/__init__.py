"""The `talkies` command line. Each command group lives in its own module and registers on `cli`."""

from __future__ import annotations

import importlib
import signal
import sys
import threading

import click

from talkies import __version__
from talkies.errors import TalkiesError
from talkies.log import configure_logging

# Command modules, imported lazily at start-up so each can pull heavy SDKs only when run.
COMMAND_MODULES = ["models_cmd", "export_cmd", "bundle_cmd", "lipsync_cmd", "track_cmd", "animate_cmd", "bench_cmd",
                   "model_cmd", "dub_cmd"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="talkies")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """talkies: edge inference toolkit for talking faces."""
    configure_logging(verbose)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"talkies.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"talkies.cli.{name}":
                raise


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so every `finally` (temporary files, half-built bundles) runs.
    A BaseException: no `except Exception` on the way may swallow it."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point: TalkiesError → exit code 2 and one line on stderr; tracebacks only for bugs. SIGINT
    and SIGTERM both unwind, so no temporary output is left behind."""
    _register_commands()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=argv, prog_name="talkies", standalone_mode=False)
    except TalkiesError as exc:
        click.echo(f"talkies: error: {exc}", err=True)
        return 2
    except Terminated:
        click.echo("talkies: terminated", err=True)
        return 128 + signal.SIGTERM
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("talkies: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
