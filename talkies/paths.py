"""Where talkies keeps its cache ($TALKIES_HOME, default ~/.cache/talkies)."""

from __future__ import annotations

import os
from pathlib import Path


def talkies_home() -> Path:
    return Path(os.environ.get("TALKIES_HOME") or Path.home() / ".cache" / "talkies").expanduser()


#: The checkout's top-level folders that become ``talkies.<folder>`` (setup.py maps the same list; it
#: cannot import the package it builds).
SUBPACKAGES = ("export", "runtime", "kernels", "quantization", "targets", "benchmarks", "tests", "models")


def repo_root() -> Path:
    """The source checkout (editable install), where committed weights and bundles live."""
    return Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The project's shared validation data (`shared/data` beside the checkout; $TALKIES_SHARED_DATA
    overrides). Real speech there is for validation only, never for training."""
    override = os.environ.get("TALKIES_SHARED_DATA")
    if override:
        return Path(override)
    for candidate in (repo_root().parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return repo_root().parent / "shared" / "data"
