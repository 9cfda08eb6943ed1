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
from talkies.kernels.config import jit

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
    from talkies.runtime.face.geometry import canonical_face_mesh

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
    reproduces MediaPipe's facial transformation matrix. The three fits run in one compiled kernel
    (:func:`fit_similarity` is the same fit in numpy).
    """
    ref = reference or face_reference()
    height, width = image_size
    lm = np.asarray(landmarks)
    if lm.dtype != np.float32:
        lm = lm.astype(np.float64)
    lm = np.ascontiguousarray(lm[:, :3])
    h_near = 2.0 * near * math.tan(math.radians(vertical_fov_degrees) / 2.0)
    w_near = width * h_near / height
    transform = np.eye(4)
    _pose_kernel(lm, float(width), float(height), w_near, h_near, float(near), ref.vertices, ref.ids, ref.weights,
                 transform)
    rot, t = transform[:3, :3], transform[:3, 3]
    focal = (height / 2.0) / math.tan(math.radians(vertical_fov_degrees) / 2.0)
    yaw, pitch, roll = euler_from_matrix(rot)
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, translation=t.astype(np.float32),
                    scale=float(focal / max(-t[2], 1e-6)), transform=transform.astype(np.float32))


@jit
def _svd3(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD of a 3×3 float64 matrix by one-sided Jacobi rotations: (u, s, vt), s descending, u and v
    orthogonal. (numba's np.linalg needs SciPy's LAPACK, which the runtime does not depend on.)"""
    a = m.copy()
    v = np.eye(3)
    for _ in range(40):
        off = 0.0
        for p, q in ((0, 1), (0, 2), (1, 2)):
            alpha = a[0, p] * a[0, p] + a[1, p] * a[1, p] + a[2, p] * a[2, p]
            beta = a[0, q] * a[0, q] + a[1, q] * a[1, q] + a[2, q] * a[2, q]
            gamma = a[0, p] * a[0, q] + a[1, p] * a[1, q] + a[2, p] * a[2, q]
            norm = math.sqrt(alpha * beta)
            if gamma == 0.0 or norm == 0.0:
                continue
            off = max(off, abs(gamma) / norm)
            zeta = (beta - alpha) / (2.0 * gamma)
            t = (1.0 if zeta >= 0.0 else -1.0) / (abs(zeta) + math.sqrt(1.0 + zeta * zeta))
            c = 1.0 / math.sqrt(1.0 + t * t)
            sn = c * t
            for i in range(3):
                ap, aq = a[i, p], a[i, q]
                a[i, p] = c * ap - sn * aq
                a[i, q] = sn * ap + c * aq
                vp, vq = v[i, p], v[i, q]
                v[i, p] = c * vp - sn * vq
                v[i, q] = sn * vp + c * vq
        if off < 1e-15:
            break
    s = np.empty(3)
    for k in range(3):
        s[k] = math.sqrt(a[0, k] * a[0, k] + a[1, k] * a[1, k] + a[2, k] * a[2, k])
    order = np.argsort(-s)
    u = np.zeros((3, 3))
    vt = np.empty((3, 3))
    sv = np.empty(3)
    for j in range(3):
        k = order[j]
        sv[j] = s[k]
        for i in range(3):
            vt[j, i] = v[i, k]
            if s[k] > 1e-300:
                u[i, j] = a[i, k] / s[k]
    if not sv[2] > 1e-300 * max(sv[0], 1.0):  # rank-deficient: complete u with a unit normal
        u[0, 2] = u[1, 0] * u[2, 1] - u[2, 0] * u[1, 1]
        u[1, 2] = u[2, 0] * u[0, 1] - u[0, 0] * u[2, 1]
        u[2, 2] = u[0, 0] * u[1, 1] - u[1, 0] * u[0, 1]
    return u, sv, vt


@jit
def _det3(m: np.ndarray) -> float:
    return (m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
            + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]))


@jit
def _fit_kernel(src: np.ndarray, dst: np.ndarray, w: np.ndarray, out: np.ndarray) -> float:
    """fit_similarity(src, dst, w) with w summing to 1: writes [R | t] into out[:3, :4], returns s."""
    k = src.shape[0]
    mu_s = np.zeros(3)
    mu_d = np.zeros(3)
    for i in range(k):
        for j in range(3):
            mu_s[j] += w[i] * src[i, j]
            mu_d[j] += w[i] * dst[i, j]
    cov = np.zeros((3, 3))
    var_s = 0.0
    for i in range(k):
        for r in range(3):
            br = (dst[i, r] - mu_d[r]) * w[i]
            for c in range(3):
                cov[r, c] += br * (src[i, c] - mu_s[c])
        for c in range(3):
            d = src[i, c] - mu_s[c]
            var_s += w[i] * d * d
    u, sv, vt = _svd3(cov)
    sign = -1.0 if _det3(u) * _det3(vt) < 0.0 else 1.0
    for r in range(3):
        for c in range(3):
            out[r, c] = u[r, 0] * vt[0, c] + u[r, 1] * vt[1, c] + sign * u[r, 2] * vt[2, c]
    scale = (sv[0] + sv[1] + sign * sv[2]) / var_s if var_s > 0.0 else 1.0
    for r in range(3):
        out[r, 3] = mu_d[r] - scale * (out[r, 0] * mu_s[0] + out[r, 1] * mu_s[1] + out[r, 2] * mu_s[2])
    return scale


@jit
def _pose_kernel(lm: np.ndarray, width: float, height: float, w_near: float, h_near: float, near: float,
                 vertices: np.ndarray, ids: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:
    """estimate_pose's three fits: [R | t] of the final fit into out[:3, :4]."""
    n = lm.shape[0]
    depth_offset = 0.0
    for i in range(n):
        depth_offset += np.float64(lm[i, 2]) / width * w_near
    depth_offset /= n
    k = ids.shape[0]
    src = np.empty((k, 3))
    w = np.empty(k)
    total = 0.0
    for i in range(k):
        total += np.float64(weights[i])
    x = np.empty(k)
    y = np.empty(k)
    z = np.empty(k)
    for i in range(k):
        for j in range(3):
            src[i, j] = vertices[ids[i], j]
        w[i] = np.float64(weights[i]) / total
        p = ids[i]
        x[i] = np.float64(lm[p, 0]) / width * w_near - w_near / 2.0  # near-plane units, y up
        y[i] = (1.0 - np.float64(lm[p, 1]) / height) * h_near - h_near / 2.0
        z[i] = np.float64(lm[p, 2]) / width * w_near
    dst = np.empty((k, 3))
    for i in range(k):
        dst[i, 0] = x[i]
        dst[i, 1] = y[i]
        dst[i, 2] = -z[i]
    first = _fit_kernel(src, dst, w, out)
    scale = first
    for step in range(2):  # unproject with the first scale, refit; then with first × second
        for i in range(k):
            depth = (z[i] - depth_offset + near) / scale
            dst[i, 0] = x[i] * depth / near
            dst[i, 1] = y[i] * depth / near
            dst[i, 2] = -depth
        second = _fit_kernel(src, dst, w, out)
        if step == 0:
            scale = first * second
