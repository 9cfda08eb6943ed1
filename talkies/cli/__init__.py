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

# Command modules. A command's module (and what it imports) loads only when that command runs: the
# table gives each command's module and one-line help, so `talkies --help` imports none of them.
COMMAND_MODULES = ["models_cmd", "export_cmd", "bundle_cmd", "lipsync_cmd", "track_cmd", "animate_cmd", "bench_cmd",
                   "model_cmd", "dub_cmd", "doctor_cmd", "batch_cmd", "studio_cmd"]
COMMANDS: dict[str, tuple[str, str]] = {
    "animate": ("animate_cmd", "Make a talking-photo video: PHOTO speaks --audio FILE or --text \"...\"."),
    "batch": ("batch_cmd", "Run a CSV or JSONL file of jobs (animate, dub, lipsync, track) on a pool or Ray."),
    "bench": ("bench_cmd", "Benchmark MODELS on each target and precision."),
    "bundle": ("bundle_cmd", "Verify, pack and inspect exported bundles."),
    "doctor": ("doctor_cmd", "The backends --backend auto picks on this machine, and the figures behind them."),
    "dub": ("dub_cmd", "Re-lip-sync a talking VIDEO to new speech (--audio or --text)."),
    "evaluate": ("model_cmd", "Score a model family on real validation speech."),
    "export": ("export_cmd", "Export MODEL to bundles: compile, quantize, measure parity."),
    "faces": ("track_cmd", "List the faces of a photo: box, size and detector score."),
    "lipsync": ("lipsync_cmd", "Lip-sync AUDIO (any file PyAV reads) into curves."),
    "models": ("models_cmd", "Registered models, their licence and source; `models fetch` downloads them."),
    "reenact": ("animate_cmd", "Drive PHOTO with the face in a --driver video."),
    "studio": ("studio_cmd", "Start the local web app (Gradio) for everything talkies does."),
    "track": ("track_cmd", "Track the faces of a photo or video into curves."),
    "train": ("model_cmd", "Train a model family here, on the CPU."),
    "voices": ("animate_cmd", "List the text-to-speech voices of every engine."),
}


class LazyGroup(click.Group):
    """Imports a command's module on first use; help lists the table without importing anything."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        if any(m not in {mod for mod, _ in COMMANDS.values()} for m in COMMAND_MODULES):
            _register_commands()  # a module without a table entry: find its commands by importing it
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands:
            if name in COMMANDS:
                importlib.import_module(f"talkies.cli.{COMMANDS[name][0]}")
            else:
                _register_commands()
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1] if name in COMMANDS else (self.get_command(ctx, name).get_short_help_str()))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=argv, prog_name="talkies", standalone_mode=False)
    except TalkiesError as exc:
        click.echo("talkies: error: " + " ".join(str(exc).split("\n")), err=True)  # one line, always
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
