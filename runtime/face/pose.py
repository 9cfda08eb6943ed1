"""Head pose from 3-D landmarks: a weighted rigid similarity fit (Umeyama) to MediaPipe's canonical face.

The reference is MediaPipe's canonical face mesh (468 vertices in cm; x right, y up, z towards the
viewer) and its Procrustes landmark basis (33 weighted landmarks), decoded from
`geometry_pipeline_metadata_landmarks.binarypb` and shipped as `models/face/canonical_face.npz` so the
runtime needs no MediaPipe asset.

Landmarks (x, y in image pixels, y down; z in pixels, smaller is nearer) are unprojected through a
perspective camera with MediaPipe's default 63° vertical field of view into metric camera space
(x right, y up, z towards the viewer, cm), exactly as MediaPipe's geometry pipeline does, and the mesh is
fitted to them: q ≈ s·R·p + t. R is the head rotation and t the head position in cm, so the transform
equals MediaPipe's facial transformation matrix.

Euler angles: R = Ry(yaw) · Rx(pitch) · Rz(roll), in radians. Positive yaw turns the face towards the
image's right (the subject's left), positive pitch tilts it down, positive roll turns it
counter-clockwise on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from talkies.errors import AssetError

#: MediaPipe's default perspective camera (geometry pipeline): vertical field of view in degrees.
VERTICAL_FOV_DEGREES = 63.0
REFERENCE_FILE = Path(__file__).resolve().parents[2] / "models" / "face" / "canonical_face.npz"


@dataclass(frozen=True)
class FaceReference:
    vertices: np.ndarray
    """(468, 3) float32 canonical face, cm."""
    ids: np.ndarray
    """(K,) int landmark indices used by the fit."""
    weights: np.ndarray
    """(K,) float32 weights of those landmarks."""


@lru_cache(maxsize=1)
def face_reference(path: str | Path | None = None) -> FaceReference:
    path = Path(path) if path is not None else REFERENCE_FILE
    if not path.is_file():
        raise AssetError(f"the canonical face {path} is missing; reinstall talkies")
    with np.load(path, allow_pickle=False) as data:
        return FaceReference(vertices=data["vertices"].astype(np.float32), ids=data["ids"].astype(np.int64),
                             weights=data["weights"].astype(np.float32))


def write_reference(path: str | Path, geometry_file: str | Path | None = None) -> Path:
    """Regenerate the shipped canonical face from MediaPipe's geometry metadata (a maintainer step)."""
    from talkies.io import atomic_path
    from talkies.models.mediapipe.geometry import canonical_face_mesh

    mesh = canonical_face_mesh(geometry_file)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, vertices=mesh.vertices.astype(np.float32), ids=mesh.procrustes_ids.astype(np.int32),
                     weights=mesh.procrustes_weights.astype(np.float32))
    return Path(path)


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float
    translation: np.ndarray
    """(3,) cm in camera space (x right, y up, z towards the viewer: a visible face has tz < 0)."""
    scale: float
    """Image pixels per cm at the head's depth."""
    transform: np.ndarray
    """(4, 4) float32 rigid transform canonical face (cm) → camera space (cm)."""

    def as_array(self) -> np.ndarray:
        """(6,) yaw, pitch, roll, tx, ty, tz (FaceMotion.head_pose's columns)."""
        return np.array([self.yaw, self.pitch, self.roll, *self.translation], np.float32)


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
                   ) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted Umeyama: (s, R, t) minimising Σ wᵢ‖s·R·srcᵢ + t − dstᵢ‖², R a proper rotation."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, sv, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1.0
    rot = (u * d) @ vt
    var_s = float(w @ (a * a).sum(1))
    scale = float((sv * d).sum() / var_s) if var_s > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


def euler_from_matrix(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) with R = Ry(yaw)·Rx(pitch)·Rz(roll)."""
    pitch = math.asin(float(np.clip(-rot[1, 2], -1.0, 1.0)))
    yaw = math.atan2(float(rot[0, 2]), float(rot[2, 2]))
    roll = math.atan2(float(rot[1, 0]), float(rot[1, 1]))
    return yaw, pitch, roll


def matrix_from_euler(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def estimate_pose(landmarks: np.ndarray, image_size: tuple[int, int], *,
                  reference: FaceReference | None = None,
                  vertical_fov_degrees: float = VERTICAL_FOV_DEGREES, near: float = 1.0) -> HeadPose:
    """Head pose of 478 (or 468) landmarks in an image of `image_size` = (height, width) pixels.

    MediaPipe's geometry pipeline (screen → metric space): the landmarks go onto the near plane of a
    perspective camera; a first weighted fit to the canonical face gives the scale that sets their depth,
    a second refines it, and the landmarks unprojected with that depth are fitted once more. The result
    reproduces MediaPipe's facial transformation matrix.
    """
    ref = reference or face_reference()
    height, width = image_size
    lm = np.asarray(landmarks, np.float64)[:, :3]
    h_near = 2.0 * near * math.tan(math.radians(vertical_fov_degrees) / 2.0)
    w_near = width * h_near / height
    x = lm[:, 0] / width * w_near - w_near / 2.0  # near-plane units, y up
    y = (1.0 - lm[:, 1] / height) * h_near - h_near / 2.0
    z = lm[:, 2] / width * w_near
    depth_offset = float(z.mean())
    src = ref.vertices[ref.ids].astype(np.float64)

    def fit(points: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return fit_similarity(src, points[ref.ids], ref.weights)

    def unproject(scale: float) -> np.ndarray:
        depth = (z - depth_offset + near) / scale
        return np.stack([x * depth / near, y * depth / near, -depth], axis=1)

    first = fit(np.stack([x, y, -z], axis=1))[0]
    second = fit(unproject(first))[0]
    metric = unproject(first * second)  # cm, camera space: x right, y up, z towards the viewer
    _, rot, t = fit(metric)
    focal = (height / 2.0) / math.tan(math.radians(vertical_fov_degrees) / 2.0)
    transform = np.eye(4)
    transform[:3, :3] = rot
    transform[:3, 3] = t
    yaw, pitch, roll = euler_from_matrix(rot)
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, translation=t.astype(np.float32),
                    scale=float(focal / max(-t[2], 1e-6)), transform=transform.astype(np.float32))
