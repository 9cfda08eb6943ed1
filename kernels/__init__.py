"""talkies.kernels: numba kernels with small typed wrappers (numpy and numba only).

Importing defines the kernels without compiling them: each compiles on first call, or loads from
numba's on-disk cache (see :mod:`talkies.kernels.config` for the flags).

- :mod:`~talkies.kernels.blendshapes`: ``base + Σ w·Δ`` (dense or sparse deltas, one frame or a clip).
- :mod:`~talkies.kernels.solve`: per-frame bounded least squares for blend-shape weights.
- :mod:`~talkies.kernels.warp`: piecewise-affine mesh warp, feathered composite, mouth fill.
- :mod:`~talkies.kernels.crop`: rotated ROI crop + resize + normalise for model inputs.
- :mod:`~talkies.kernels.filters`: One-Euro filtering, offline and streaming.
"""

from .blendshapes import BlendshapeRig, SparseDeltas, blend
from .crop import Border, crop, roi_matrix, transform_points
from .filters import OneEuroFilter, one_euro
from .solve import BoundedSolver, solve_bounded
from .warp import border_anchors, composite, fill_mouth, moved_bbox, warp

__all__ = [
    "BlendshapeRig",
    "Border",
    "BoundedSolver",
    "OneEuroFilter",
    "SparseDeltas",
    "blend",
    "border_anchors",
    "composite",
    "crop",
    "fill_mouth",
    "moved_bbox",
    "one_euro",
    "roi_matrix",
    "solve_bounded",
    "transform_points",
    "warp",
]
