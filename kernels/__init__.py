"""talkies.kernels: numba kernels with small typed wrappers (numpy and numba only).

Importing defines nothing heavy: each module loads on first use of one of its names, and each kernel
compiles on its first call, or loads from numba's on-disk cache (see :mod:`talkies.kernels.config`).

- :mod:`~talkies.kernels.blendshapes`: ``base + Σ w·Δ`` (dense or sparse deltas, one frame or a clip).
- :mod:`~talkies.kernels.solve`: per-frame bounded least squares for blend-shape weights.
- :mod:`~talkies.kernels.warp`: piecewise-affine mesh warp, feathered composite, mouth fill.
- :mod:`~talkies.kernels.crop`: rotated ROI crop + resize + normalise for model inputs.
- :mod:`~talkies.kernels.filters`: One-Euro filtering, offline and streaming.
- :mod:`~talkies.kernels.yuv`: a region of a YUV 4:2:0 video frame to RGB and back.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# Exported name → its module; a module (and numba with it) loads on first use of one of its names.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["BlendshapeRig", "SparseDeltas", "blend"], "blendshapes"),
    **dict.fromkeys(["Border", "crop", "roi_matrix", "transform_points"], "crop"),
    **dict.fromkeys(["OneEuroFilter", "one_euro"], "filters"),
    **dict.fromkeys(["BoundedSolver", "solve_bounded"], "solve"),
    **dict.fromkeys(["border_anchors", "composite", "fill_mouth", "moved_bbox", "warp"], "warp"),
    **dict.fromkeys(["rgb_into_yuv420", "yuv420_to_rgb", "yuv_matrix"], "yuv"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'talkies.kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"talkies.kernels.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package (`kernels.warp` = the module); the names the
    package exports (`warp`, `crop`: functions) keep meaning the function, as they always have."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
