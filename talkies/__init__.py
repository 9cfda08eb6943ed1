"""talkies: edge inference toolkit for talking faces.

The public API, imported on first use so that ``import talkies`` stays light:

    import talkies
    with talkies.LipSync() as task:
        motion = task.process_file("speech.wav")      # FaceMotion: visemes + 52 ARKit weights
    talkies.write_curves(motion, "speech.csv", "livelink")
    talkies.animate_text("photo.jpg", "Hello there.", "hello.mp4")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name → the module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["FaceMotion"], "talkies.runtime.motion"),
    **dict.fromkeys(["FaceTracker", "FaceTrackerOptions", "FaceTrackerResult"], "talkies.runtime.face"),
    **dict.fromkeys(["LipSync", "LipSyncOptions", "LipSyncResult"], "talkies.runtime.lipsync"),
    **dict.fromkeys(["PhotoAnimator", "PhotoAnimatorOptions", "AnimationResult"], "talkies.runtime.animator"),
    **dict.fromkeys(["animate_audio", "animate_text", "reenact"], "talkies.runtime.talking_photo"),
    **dict.fromkeys(["VideoDubber", "VideoDubberOptions", "VideoDubberResult"], "talkies.runtime.dub"),
    **dict.fromkeys(["Bundle"], "talkies.runtime.bundle"),
    **dict.fromkeys(["write_curves"], "talkies.runtime.formats"),
    **dict.fromkeys(["Blendshape", "Viseme"], "talkies.runtime.blendshapes"),
    **dict.fromkeys(["TalkiesError", "InputError", "NoFaceError", "BundleError", "UnsupportedTargetError",
                     "ParityError"], "talkies.errors"),
    **dict.fromkeys(["Backend", "Precision", "TargetName"], "talkies.types"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'talkies' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
