"""The ARKit blend-shape rig on MediaPipe's 478-landmark face topology, at run time: load, fit, pose.

The rig lives in ``models/rig/arkit_rig.npz`` (plain arrays, no pickle): a neutral reference face (the
468 vertices of MediaPipe's canonical face plus 10 iris points), the mesh triangles, and one sparse
delta per ARKit shape. Coordinates are *face-normalised*: the origin is midway between the outer eye
corners (landmarks 33 and 263), one unit is the distance between them, x points to the image right,
y down and z away from the camera (the axes of MediaPipe's image landmarks). The shapes are authored
procedurally from the landmark regions below by ``python -m talkies.models.rig.authoring build``
(models/rig/authoring.py: needs scipy and the cached MediaPipe geometry; the runtime needs neither).

 :meth:`FaceRig.fit` fits the rig to one face's landmarks: a 3-D similarity (rigid pose
and scale) plus per-vertex identity offsets, so that zero weights give back the photo's landmarks
exactly; eye shapes are rescaled to that face's eye opening.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.kernels.blendshapes import BlendshapeRig, SparseDeltas
from talkies.runtime.blendshapes import Blendshape

RIG_VERSION = 1
RIG_FILE = Path(__file__).resolve().parent.parent / "models" / "rig" / "arkit_rig.npz"
NUM_LANDMARKS = 478

# --------------------------------------------------------------------------------------------------
# Landmark regions of MediaPipe's face mesh (public index numbers; "left"/"right" are the subject's,
# so the subject's left is on the image right, +x).
# --------------------------------------------------------------------------------------------------
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_CORNERS = {"right": (61, 78), "left": (291, 308)}
#: The inner-lip outline in order around the opening (upper inner lip, then the lower one back).
INNER_LIP_LOOP = LIPS_UPPER_INNER + LIPS_LOWER_INNER[-2:0:-1]
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
#: The lower jaw line (jaw angle to jaw angle through the chin), a run of FACE_OVAL.
JAW_LINE = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288)
#: Oval points near the jaw hinge and above it: never moved by the jaw.
JAW_FIXED = (132, 93, 234, 127, 361, 323, 454, 356)
EYES = {
    "right": {"corners": (33, 133), "upper": (246, 161, 160, 159, 158, 157, 173),
              "lower": (7, 163, 144, 145, 153, 154, 155), "upper1": (247, 30, 29, 27, 28, 56, 190),
              "upper2": (113, 225, 224, 223, 222, 221, 189),
              "lower1": (130, 25, 110, 24, 23, 22, 26, 112, 243),
              "lower2": (226, 31, 228, 229, 230, 231, 232, 233, 244),
              "iris": (468, 469, 470, 471, 472)},
    "left": {"corners": (263, 362), "upper": (466, 388, 387, 386, 385, 384, 398),
             "lower": (249, 390, 373, 374, 380, 381, 382), "upper1": (467, 260, 259, 257, 258, 286, 414),
             "upper2": (342, 445, 444, 443, 442, 441, 413),
             "lower1": (359, 255, 339, 254, 253, 252, 256, 341, 463),
             "lower2": (446, 261, 448, 449, 450, 451, 452, 453, 464),
             "iris": (473, 474, 475, 476, 477)},
}
BROWS = {
    "right": {"upper": (156, 70, 63, 105, 66, 107, 55, 193), "lower": (35, 124, 46, 53, 52, 65)},
    "left": {"upper": (383, 300, 293, 334, 296, 336, 285, 417), "lower": (265, 353, 276, 283, 282, 295)},
}
NOSE = (1, 2, 4, 5, 6, 168, 195, 197, 98, 327, 64, 294, 129, 358, 97, 326, 99, 328, 240, 460)
NOSE_ALA = {"right": (64, 98, 129, 49, 102), "left": (294, 327, 358, 279, 331)}

#: Landmarks that barely move with expressions: the rigid pose is fitted on these.
STABLE = (6, 168, 197, 195, 5, 4, 1, 33, 133, 263, 362, 10, 151, 9, 8, 234, 454, 127, 356, 93, 323,
          21, 251, 54, 284, 103, 332, 109, 338, 67, 297, 162, 389)

#: Which side the ARKit "Left" names move: the subject's left (image right, +x), as in ARKit and in
#: MediaPipe's blend-shape model (its eyeBlinkLeft rises when the eye on the image right closes;
#: checked in tests/test_rig.py).
ARKIT_LEFT_IS = "left"


# --------------------------------------------------------------------------------------------------
# Run time: load, fit, evaluate
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FaceRig:
    """The rig data: neutral reference, mesh triangles and one sparse delta per shape."""

    reference: np.ndarray
    """(478, 3) float32 neutral face in face-normalised units."""
    names: tuple[str, ...]
    """ARKit names of the shapes, in the order of ``deltas``."""
    deltas: SparseDeltas
    """Sparse (478 × 3) deltas, one row block per shape."""
    triangles: np.ndarray
    """(F, 3) int32 triangles over the 468 mesh vertices (the mouth and eyes are covered)."""

    @property
    def columns(self) -> np.ndarray:
        """Column of each rig shape in the canonical 52-weight vector."""
        return np.asarray([Blendshape[n].value for n in self.names], np.int64)

    def delta(self, name: str) -> np.ndarray:
        """The dense (478, 3) delta of one shape (zeros when the rig does not have it)."""
        out = np.zeros((NUM_LANDMARKS, 3), np.float32)
        if name in self.names:
            k = self.names.index(name)
            sl = slice(self.deltas.indptr[k], self.deltas.indptr[k + 1])
            out[self.deltas.indices[sl]] = self.deltas.values[sl]
        return out

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> FaceRig:
        return _load(str(path or RIG_FILE))

    def save(self, path: str | os.PathLike) -> Path:
        from talkies.io import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, version=np.int64(RIG_VERSION), reference=self.reference,
                                    names=np.asarray(self.names, dtype="U32"), indptr=self.deltas.indptr,
                                    indices=self.deltas.indices, values=self.deltas.values,
                                    triangles=self.triangles)
        return Path(path)

    def fit(self, landmarks: np.ndarray) -> FittedFace:
        """Fit the rig to one face's 478 landmarks (x, y in image pixels, z in the same scale)."""
        pts = np.asarray(landmarks, np.float64)
        if pts.shape != (NUM_LANDMARKS, 3) or not np.isfinite(pts).all():
            raise InputError(f"rig fit needs 478 finite x, y, z landmarks, got shape {pts.shape}")
        from talkies.runtime.face.pose import fit_similarity

        stable = list(STABLE)
        scale, rot, trans = fit_similarity(self.reference[stable], pts[stable])
        # identity offsets: the face itself, taken back into the rig frame
        neutral = ((pts - trans) @ rot) / scale
        deltas = _retarget(self, neutral.astype(np.float32))
        return FittedFace(rig=self, scale=scale, rotation=rot, translation=trans,
                          neutral=neutral.astype(np.float32), landmarks=pts.astype(np.float32),
                          blend=BlendshapeRig(neutral.astype(np.float32), deltas))


@lru_cache(maxsize=4)
def _load(path: str) -> FaceRig:
    try:
        with np.load(path, allow_pickle=False) as z:
            version = int(z["version"])
            if version != RIG_VERSION:
                raise InputError(f"{path}: rig version {version}, expected {RIG_VERSION}; rebuild it with "
                                 "`python -m talkies.models.rig.authoring build`")
            deltas = SparseDeltas(z["indptr"], z["indices"], z["values"], NUM_LANDMARKS)
            return FaceRig(reference=z["reference"].astype(np.float32), names=tuple(str(n) for n in z["names"]),
                           deltas=deltas, triangles=z["triangles"].astype(np.int32))
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read the face rig {path}: {exc}") from exc


_FLIP = np.diag([1.0, -1.0, -1.0])  # camera frame (x right, y up, z to the viewer) <-> rig frame


def head_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """A head rotation in the rig frame, from Euler angles in the tracker's convention
    (runtime.face.pose: R = Ry(yaw)·Rx(pitch)·Rz(roll) in camera space; positive yaw turns the face to
    the image right, positive pitch tilts it down, positive roll turns it counter-clockwise)."""
    from talkies.runtime.face.pose import matrix_from_euler

    return _FLIP @ matrix_from_euler(yaw, pitch, roll) @ _FLIP


#: Head rotations pivot here (rig units): about the top of the neck, behind the face.
HEAD_PIVOT = np.array([0.0, 1.1, 1.1])
#: MediaPipe's canonical face is in centimetres; its eye corners are this far apart.
CM_PER_UNIT = 8.89


@dataclass(frozen=True, eq=False)
class FittedFace:
    """The rig fitted to one face: rig frame → image pixels, with that face as the neutral."""

    rig: FaceRig
    scale: float
    """Pixels per rig unit (per outer-eye-corner distance)."""
    rotation: np.ndarray
    translation: np.ndarray
    neutral: np.ndarray
    """(478, 3) the face's landmarks in the rig frame (reference + identity offsets)."""
    landmarks: np.ndarray
    """(478, 3) the landmarks it was fitted to (image pixels)."""
    blend: BlendshapeRig

    def weights_for_rig(self, weights52: np.ndarray) -> np.ndarray:
        """Select the rig's shapes out of canonical 52-weight rows."""
        return np.ascontiguousarray(np.asarray(weights52, np.float32)[..., self.rig.columns])

    def deform(self, weights52: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """(478, 3) rig-frame vertices for one frame of 52 weights."""
        return self.blend.apply(self.weights_for_rig(weights52), out=out)

    def pose_transform(self, pose: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) mapping rig-frame points to image pixels (x, y, z): ``p = V @ A.T + b``, head pose included.

        ``pose`` is (yaw, pitch, roll, tx, ty, tz) in radians and centimetres (FaceMotion.head_pose, the
        tracker's camera-space conventions), applied as a motion of the head relative to the photo.
        """
        a = self.scale * self.rotation
        b = self.translation.copy()
        if pose is not None and np.any(pose):
            yaw, pitch, roll, tx, ty, tz = (float(v) for v in pose)
            rh = head_rotation(yaw, pitch, roll)
            shift = HEAD_PIVOT - rh @ HEAD_PIVOT + _FLIP @ np.array([tx, ty, tz]) / CM_PER_UNIT
            b = b + a @ shift
            a = a @ rh
        return a, b

    def project(self, vertices: np.ndarray, pose: np.ndarray | None = None) -> np.ndarray:
        """Image (x, y, z) of rig-frame vertices under an optional head pose."""
        a, b = self.pose_transform(pose)
        return (np.asarray(vertices, np.float64) @ a.T + b).astype(np.float32)

    def landmarks_for(self, weights52: np.ndarray, pose: np.ndarray | None = None) -> np.ndarray:
        """(478, 3) image landmarks of the face showing `weights52` under head `pose`."""
        return self.project(self.deform(weights52), pose)


def eye_gap(points: np.ndarray, eye: dict) -> np.ndarray:
    """Vertical opening (lower lid minus upper lid) under each upper-lid vertex."""
    lower = [eye["corners"][0], *eye["lower"], eye["corners"][1]]
    lx, ly = points[lower, 0], points[lower, 1]
    order = np.argsort(lx)
    ux = points[list(eye["upper"]), 0]
    return np.interp(ux, lx[order], ly[order]) - points[list(eye["upper"]), 1]


def _retarget(rig: FaceRig, neutral: np.ndarray) -> SparseDeltas:
    """The rig's deltas adapted to one face: eye shapes scale with that face's eye opening."""
    values = rig.deltas.values.copy()
    for side, eye in EYES.items():
        ref_gap = eye_gap(rig.reference, eye).mean()
        gap = eye_gap(neutral, eye).mean()
        ratio = float(np.clip(gap / ref_gap, 0.3, 2.5)) if ref_gap > 1e-6 else 1.0
        arkit_side = "Left" if side == ARKIT_LEFT_IS else "Right"
        for shape in ("eyeBlink", "eyeSquint", "eyeWide", "eyeLookUp", "eyeLookDown"):
            name = shape + arkit_side
            if name in rig.names:
                k = rig.names.index(name)
                values[rig.deltas.indptr[k]:rig.deltas.indptr[k + 1]] *= ratio
    return SparseDeltas(rig.deltas.indptr, rig.deltas.indices, values, NUM_LANDMARKS)


def polygon_mask(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Points (x, y) inside a closed polygon (even-odd rule)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), bool)
    n = len(poly)
    for i in range(n):
        (px, py), (qx, qy) = poly[i], poly[(i + 1) % n]
        crosses = (py > y) != (qy > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = px + (y - py) * (qx - px) / (qy - py)
        inside ^= crosses & (x < xc)
    return inside


__all__ = ["FaceRig", "FittedFace", "RIG_FILE", "eye_gap", "head_rotation", "polygon_mask"]
