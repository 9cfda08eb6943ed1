"""The talkies command line, run in-process."""

from __future__ import annotations

from talkies.cli import main


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])
