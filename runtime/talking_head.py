"""The talking head's geometry in glTF space (metres, +y up, +z to the viewer), 478 vertices (MediaPipe's face
mesh and the irises) with the rig's shapes as morph-target deltas for all 52 ARKit names (zeros where the rig
has no shape). Two heads share one layout:

- :func:`head_geometry`: the rig's neutral face (MediaPipe's canonical mesh), vertex colours for skin, lips
  and eyes;
- :func:`photo_head`: one face of a photo, as the photo animator sees it: the rig fitted to the face's
  landmarks (its pose taken out, so it faces +z), the shapes retargeted to that face (eye shapes scaled to
  its eye opening), and the photo, cropped to the face, as the texture; each vertex's UV is where its
  landmark lies in the photo.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from talkies.errors import InputError
from talkies.runtime.blendshapes import ARKIT_NAMES

if TYPE_CHECKING:
    from talkies.runtime.motion import FaceMotion
    from talkies.runtime.rig import FaceRig, FittedFace

SKIN = (0.86, 0.67, 0.56)
LIPS = (0.72, 0.36, 0.36)
EYES = (0.18, 0.12, 0.10)
#: Rig units (outer eye corners one apart) to metres: MediaPipe's canonical face is in centimetres.
METRES_PER_RIG_UNIT = 0.0889
#: The rig frame (y down, z away from the camera) to glTF's (y up, z to the viewer), in metres.
RIG_TO_GLTF = np.array([1.0, -1.0, -1.0]) * METRES_PER_RIG_UNIT
#: The photo texture: the face's landmark box grown by this fraction of its size on each side (so linear
#: filtering at the outline samples the face, not the crop edge), its sides resampled to powers of two in this range.
TEXTURE_MARGIN = 0.06
TEXTURE_MIN_SIDE, TEXTURE_MAX_SIDE = 64, 1024
TEXTURE_QUALITY = 90


@dataclass(frozen=True, eq=False)
class HeadGeometry:
    positions: np.ndarray  # (478, 3) metres, +y up, +z to the viewer
    normals: np.ndarray  # (478, 3)
    colors: np.ndarray | None  # (478, 3) linear RGB; None on a textured head
    triangles: np.ndarray  # (F, 3), the mouth opening left open
    deltas: np.ndarray  # (52, 478, 3) metres, canonical ARKit order
    uvs: np.ndarray | None = None  # (478, 2) texture coordinates, glTF's origin (top left)
    texture: bytes | None = None  # the encoded image the UVs point into
    texture_mime: str = "image/jpeg"


def _normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
    face = np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]])
    out = np.zeros_like(pos)
    for k in range(3):
        np.add.at(out, tris[:, k], face)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(length > 1e-12, out / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    return out


def _open_mouth_triangles(rig: FaceRig, pos: np.ndarray) -> np.ndarray:
    """The rig's triangles without those between the inner lips (the canonical mesh closes the mouth, so it
    could not open), wound to face +z (the axis flip into glTF space turns the rig's winding away)."""
    from talkies.runtime.rig import LIPS_LOWER_INNER, LIPS_UPPER_INNER

    upper, lower = set(LIPS_UPPER_INNER[1:-1]), set(LIPS_LOWER_INNER[1:-1])
    tris = np.array([t for t in rig.triangles if not (set(t) & upper and set(t) & lower)], np.int32)
    if np.mean(_normals(pos.astype(np.float64), tris)[:, 2]) < 0:
        tris = tris[:, ::-1]
    return np.ascontiguousarray(tris)


@lru_cache(maxsize=1)
def head_geometry() -> HeadGeometry:
    from talkies.runtime.rig import (EYES as EYE_REGIONS, LIPS_LOWER_INNER, LIPS_LOWER_OUTER, LIPS_UPPER_INNER,
                                     LIPS_UPPER_OUTER, FaceRig)

    rig = FaceRig.load()
    pos = (rig.reference.astype(np.float64) * RIG_TO_GLTF).astype(np.float32)
    tris = _open_mouth_triangles(rig, pos)
    colors = np.tile(np.array(SKIN, np.float32), (len(pos), 1))
    colors[list(LIPS_UPPER_OUTER + LIPS_LOWER_OUTER + LIPS_UPPER_INNER + LIPS_LOWER_INNER)] = LIPS
    for eye in EYE_REGIONS.values():
        colors[list(eye["upper"] + eye["lower"] + eye["corners"] + eye["iris"])] = EYES
    deltas = np.stack([rig.delta(name) * RIG_TO_GLTF for name in ARKIT_NAMES]).astype(np.float32)
    return HeadGeometry(pos, _normals(pos.astype(np.float64), tris).astype(np.float32), colors, tris, deltas)


def photo_head(image: np.ndarray, face: FittedFace | np.ndarray, *, rig: FaceRig | None = None) -> HeadGeometry:
    """The head of one face of a photo: `image` (RGB uint8 H×W×3) and that face, either fitted
    (:class:`~talkies.runtime.rig.FittedFace`, as the photo animator holds it) or its 478 landmarks
    (x, y in the image's pixels, z in the same scale)."""
    from PIL import Image

    from talkies.runtime.rig import FaceRig

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 2:
        raise InputError(f"the head's photo must be RGB uint8 H×W×3, got {image.dtype} {image.shape}")
    fitted = face if not isinstance(face, np.ndarray) else (rig or FaceRig.load()).fit(face)
    h, w = image.shape[:2]
    xy = fitted.landmarks[:, :2].astype(np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    if np.any(hi <= 0) or lo[0] >= w or lo[1] >= h:
        raise InputError(f"the face's landmarks lie outside the {w}×{h} photo")
    grow = TEXTURE_MARGIN * (hi - lo)
    x0, y0 = (int(v) for v in np.clip(np.floor(lo - grow), 0, None))
    x1, y1 = int(min(w, np.ceil(hi[0] + grow[0]))), int(min(h, np.ceil(hi[1] + grow[1])))
    crop = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    # Power-of-two sides: WebGL 1 viewers mipmap only those (the UVs are normalised, so the stretch is free).
    size = tuple(int(np.clip(2 ** round(np.log2(side)), TEXTURE_MIN_SIDE, TEXTURE_MAX_SIDE)) for side in crop.size)
    if size != crop.size:
        crop = crop.resize(size, Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    crop.save(encoded, "JPEG", quality=TEXTURE_QUALITY, optimize=True)
    # A landmark outside the photo (a face cut by the frame) takes the nearest edge pixel's colour.
    uvs = np.clip((xy - [x0, y0]) / [x1 - x0, y1 - y0], 0.0, 1.0).astype(np.float32)
    pos = (fitted.neutral.astype(np.float64) * RIG_TO_GLTF).astype(np.float32)
    tris = _open_mouth_triangles(fitted.rig, pos)
    # The shapes as the animator applies them to this face (retargeted), in ARKit order.
    sparse = fitted.blend.deltas
    deltas = np.zeros((len(ARKIT_NAMES), len(pos), 3), np.float32)
    for k, name in enumerate(fitted.rig.names):
        sl = slice(sparse.indptr[k], sparse.indptr[k + 1])
        deltas[ARKIT_NAMES.index(name), sparse.indices[sl]] = sparse.values[sl] * RIG_TO_GLTF
    return HeadGeometry(pos, _normals(pos.astype(np.float64), tris).astype(np.float32), None, tris, deltas,
                        uvs=uvs, texture=encoded.getvalue())


def tracked_head(image: np.ndarray, motion: FaceMotion) -> HeadGeometry:
    """The head of a face that ``track_image`` found on a photo, from its single-frame motion (the landmarks
    and image size in its extras, in the file's own pixels) and the photo's pixels as decoded (which a very
    large photo has fewer of)."""
    extras = motion.extras or {}
    if "landmarks" not in extras or "image_size" not in extras:
        raise InputError("a photo's head needs the face's landmarks: track the photo with track_image")
    lm = np.asarray(extras["landmarks"], np.float64).reshape(-1, 478, 3)[0].copy()
    h, w = extras["image_size"]
    sx, sy = image.shape[1] / w, image.shape[0] / h
    lm[:, 0] *= sx
    lm[:, 1] *= sy
    lm[:, 2] *= (sx + sy) / 2
    return photo_head(image, lm)


def with_photo_heads(photo, motions: list[FaceMotion], kwargs: dict) -> list[dict]:
    """The curve-writer kwargs per face tracked on `photo` (a path or pixels): where they ask for the talking
    head (``with_head=True``), that face's own head (:func:`tracked_head`) instead of the canonical one."""
    if kwargs.get("with_head") is not True:
        return [kwargs] * len(motions)
    from talkies.runtime.face.tracker import as_image

    image = as_image(photo)
    return [{**kwargs, "with_head": tracked_head(image, m)} for m in motions]


__all__ = ["HeadGeometry", "METRES_PER_RIG_UNIT", "RIG_TO_GLTF", "head_geometry", "photo_head", "tracked_head",
           "with_photo_heads"]
