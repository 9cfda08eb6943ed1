"""Start-up: `talkies --help` imports no command module and no numpy; the command table agrees with the
commands the modules define; a short lip-sync never loads numba (issue 24). Timings are in benchmarks/."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click

from talkies import cli as cli_package


def _fresh(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return res.stdout.strip()


def test_help_imports_no_command_and_no_numpy():
    code = ("import sys, contextlib, io\n"
            "from talkies.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('talkies.cli.') or m in ('numpy', 'rich')))")
    assert _fresh(code) == "[]"


def test_the_command_table_names_every_command_and_its_module():
    for module in cli_package.COMMAND_MODULES:
        importlib.import_module(f"talkies.cli.{module}")
    defined = {name: cmd.callback.__module__.rsplit(".", 1)[-1] if cmd.callback else None
               for name, cmd in cli_package.cli.commands.items()}
    for name, cmd in cli_package.cli.commands.items():
        if isinstance(cmd, click.Group):
            defined[name] = next(iter(cmd.commands.values())).callback.__module__.rsplit(".", 1)[-1]
    assert {n: m for n, (m, _) in cli_package.COMMANDS.items()} == defined


def test_a_short_lipsync_never_loads_numba(tmp_path):
    from talkies.tests.helpers.media import speech, write_wav

    sp = speech("Bob made a map.")
    wav = write_wav(tmp_path / "s.wav", sp.float32(), sp.sample_rate)
    code = ("import sys\n"
            "from talkies.cli import main\n"
            f"assert main(['lipsync', {str(wav)!r}, '-o', {str(tmp_path / 'v.json')!r}]) == 0\n"
            "print('numba' in sys.modules)")
    assert _fresh(code) == "False"
    assert (tmp_path / "v.json").stat().st_size > 100
