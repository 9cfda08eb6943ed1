"""Canonical names: the 52 ARKit blend-shapes (alphabetical, ASCII) and the 15 OVR visemes."""

from __future__ import annotations

from enum import IntEnum

ARKIT_NAMES: tuple[str, ...] = tuple(sorted((
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft",
    "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)))

Blendshape = IntEnum("Blendshape", [(name, i) for i, name in enumerate(ARKIT_NAMES)])
Blendshape.__doc__ = "The 52 ARKit blend-shapes in canonical (ASCII-sorted) order; value = column index."

NUM_BLENDSHAPES = len(ARKIT_NAMES)

VISEME_NAMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR",
                                 "aa", "E", "ih", "oh", "ou")
Viseme = IntEnum("Viseme", [(name, i) for i, name in enumerate(VISEME_NAMES)])
Viseme.__doc__ = "The 15 OVR visemes (Oculus/MPEG-4 set) in their standard order; value = column index."

NUM_VISEMES = len(VISEME_NAMES)


def indices(names: list[str] | tuple[str, ...]) -> list[int]:
    """Column indices of ARKit `names` in the canonical order."""
    return [Blendshape[n].value for n in names]
