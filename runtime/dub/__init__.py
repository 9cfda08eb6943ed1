"""Dubbing: re-lip-sync a real talking video to new speech (the VideoDubber task, in runtime.dub.dubber).

Names load on first use, so the CLI can read the `Fit` choices without importing the kernels.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Fit": "frames", "SourceFrames": "frames", "MouthRetarget": "mouth", "VideoDubber": "dubber",
            "VideoDubberOptions": "dubber", "VideoDubberResult": "dubber"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'talkies.runtime.dub' has no attribute {name!r}")
    return getattr(importlib.import_module(f"talkies.runtime.dub.{_EXPORTS[name]}"), name)
