"""Where talkies keeps its cache ($TALKIES_HOME, default ~/.cache/talkies)."""

from __future__ import annotations

import os
from pathlib import Path


def talkies_home() -> Path:
    return Path(os.environ.get("TALKIES_HOME") or Path.home() / ".cache" / "talkies").expanduser()


def repo_root() -> Path:
    """The source checkout (editable install), where committed weights and bundles live."""
    return Path(__file__).resolve().parent.parent
