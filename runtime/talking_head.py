"""The talking head's geometry: the rig's neutral face (478 vertices: MediaPipe's canonical mesh and the
irises) in glTF space, vertex colours for skin, lips and eyes, and the rig's shapes as morph-target deltas
for all 52 ARKit names (zeros where the rig has no shape)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from talkies.runtime.blendshapes import ARKIT_NAMES

SKIN = (0.86, 0.67, 0.56)
LIPS = (0.72, 0.36, 0.36)
EYES = (0.18, 0.12, 0.10)
#: Rig units (outer eye corners one apart) to metres: MediaPipe's canonical face is in centimetres.
METRES_PER_RIG_UNIT = 0.0889


@dataclass(frozen=True, eq=False)
class HeadGeometry:
    positions: np.ndarray  # (478, 3) metres, +y up, +z to the viewer
    normals: np.ndarray  # (478, 3)
    colors: np.ndarray  # (478, 3) linear RGB
    triangles: np.ndarray  # (F, 3), the mouth opening left open
    deltas: np.ndarray  # (52, 478, 3) metres, canonical ARKit order


def _normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
    face = np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]])
    out = np.zeros_like(pos)
    for k in range(3):
        np.add.at(out, tris[:, k], face)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(length > 1e-12, out / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    return out


@lru_cache(maxsize=1)
def head_geometry() -> HeadGeometry:
    from talkies.runtime.rig import (EYES as EYE_REGIONS, LIPS_LOWER_INNER, LIPS_LOWER_OUTER, LIPS_UPPER_INNER,
                                     LIPS_UPPER_OUTER, FaceRig)

    rig = FaceRig.load()
    flip = np.array([1.0, -1.0, -1.0]) * METRES_PER_RIG_UNIT
    pos = (rig.reference.astype(np.float64) * flip).astype(np.float32)
    upper, lower = set(LIPS_UPPER_INNER[1:-1]), set(LIPS_LOWER_INNER[1:-1])
    # the canonical mesh closes the mouth; the triangles between the inner lips go, so it can open
    tris = np.array([t for t in rig.triangles if not (set(t) & upper and set(t) & lower)], np.int32)
    # flip the winding with the axis flip (two axes flipped: orientation kept, but the mesh faced -z)
    if np.mean(_normals(pos, tris)[:, 2]) < 0:
        tris = tris[:, ::-1].copy()
    colors = np.tile(np.array(SKIN, np.float32), (len(pos), 1))
    colors[list(LIPS_UPPER_OUTER + LIPS_LOWER_OUTER + LIPS_UPPER_INNER + LIPS_LOWER_INNER)] = LIPS
    for eye in EYE_REGIONS.values():
        colors[list(eye["upper"] + eye["lower"] + eye["corners"] + eye["iris"])] = EYES
    deltas = np.stack([rig.delta(name) * flip for name in ARKIT_NAMES]).astype(np.float32)
    return HeadGeometry(pos, _normals(pos.astype(np.float64), tris).astype(np.float32), colors,
                        np.ascontiguousarray(tris), deltas)
