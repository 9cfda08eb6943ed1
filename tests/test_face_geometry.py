"""ROI maths, the ROI crop against a NumPy reference, and the head-pose fit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from talkies.runtime.face import pose as P
from talkies.runtime.face.roi import (Roi, crop, normalize_radians, roi_from_detection, roi_from_landmarks,
                                      rotation_from_points)


def reference_crop(image: np.ndarray, roi: Roi, n: int, value_range=(0.0, 1.0), border="replicate") -> np.ndarray:
    """MediaPipe's ImageToTensor in NumPy: crop pixel (u, v) samples the image bilinearly at
    centre + R·((u/n − ½)·side, (v/n − ½)·side); taps outside the image replicate the edge or read 0."""
    h, w = image.shape[:2]
    v, u = np.mgrid[0:n, 0:n].astype(np.float64)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    lx, ly = (u / n - 0.5) * roi.size, (v / n - 0.5) * roi.size
    xs, ys = roi.cx + c * lx - s * ly, roi.cy + s * lx + c * ly
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    img = image.astype(np.float64)

    def tap(yy, xx):
        vals = img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        if border == "zero":
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            vals = np.where(inside[..., None], vals, 0.0)
        return vals

    out = (tap(y0, x0) * (1 - fx) * (1 - fy) + tap(y0, x0 + 1) * fx * (1 - fy)
           + tap(y0 + 1, x0) * (1 - fx) * fy + tap(y0 + 1, x0 + 1) * fx * fy)
    lo, hi = value_range
    return out / 255.0 * (hi - lo) + lo


@pytest.mark.parametrize("roi,border", [
    (Roi(120.3, 90.7, 150.0, 0.4), "replicate"),  # inside
    (Roi(20.0, 15.0, 140.0, -0.7), "replicate"),  # over the top-left corner
    (Roi(300.0, 200.0, 90.0, 2.5), "replicate"),  # entirely outside: all edge pixels
    (Roi(160.0, 60.0, 400.0, 0.0), "zero"),  # letterbox-like, zero border
])
def test_crop_matches_numpy_reference(roi, border):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (180, 240, 3), dtype=np.uint8)
    out, matrix = crop(image, roi, 64, value_range=(-1.0, 1.0), border=border)
    ref = reference_crop(image, roi, 64, (-1.0, 1.0), border)
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=2e-4)
    np.testing.assert_allclose(matrix, roi.matrix(64), atol=1e-9)


def test_roi_matrix_maps_crop_to_image():
    roi = Roi(100.0, 50.0, 80.0, math.pi / 2)  # a quarter turn clockwise on screen
    m = roi.matrix(256)
    np.testing.assert_allclose(m @ [128, 128, 1], [100, 50])  # crop centre → ROI centre
    np.testing.assert_allclose(m @ [0, 0, 1], [140, 10])  # crop top-left → a corner turned by 90°
    np.testing.assert_allclose(m @ [256, 128, 1], [100, 90])  # crop's +x points down the image
    np.testing.assert_allclose(roi.box(), [60, 10, 140, 90])


def test_roi_from_detection_levels_the_eyes_and_expands_1_5x():
    box = np.array([100, 200, 200, 260], np.float32)  # 100 × 60: the long side sets the square
    level = np.array([[130, 220], [170, 220]] + [[0, 0]] * 4, np.float32)
    roi = roi_from_detection(box, level)
    assert (roi.cx, roi.cy, roi.size) == (150, 230, 150) and roi.rotation == 0.0
    tilted = level.copy()
    tilted[1] = [170, 260]  # the right eye 40 px lower: the head rolls 45° clockwise on screen
    assert roi_from_detection(box, tilted).rotation == pytest.approx(math.pi / 4)
    # The crop of a rotated ROI sees the eyes level again.
    m = roi_from_detection(box, tilted).matrix(1)
    eyes_in_crop = np.linalg.solve(m[:, :2], (tilted[:2] - m[:, 2]).T).T
    assert eyes_in_crop[0, 1] == pytest.approx(eyes_in_crop[1, 1], abs=1e-9)


def test_roi_from_landmarks_uses_their_box_and_eye_corners():
    pts = np.zeros((478, 3), np.float32)
    pts[:, 0] = np.linspace(10, 110, 478)
    pts[:, 1] = np.linspace(20, 60, 478)
    pts[33, :2], pts[263, :2] = (30, 40), (90, 40)
    roi = roi_from_landmarks(pts)
    assert (roi.cx, roi.cy, roi.size, roi.rotation) == (60, 40, 150, 0.0)


def test_rotation_helpers():
    assert rotation_from_points(np.array([0, 0]), np.array([1, -1])) == pytest.approx(-math.pi / 4)
    assert normalize_radians(3 * math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(-0.5) == -0.5


# --- head pose --------------------------------------------------------------------------------


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(40, 3))
    rot = P.matrix_from_euler(0.3, -0.2, 0.1)
    dst = 2.5 * src @ rot.T + [1.0, -2.0, 3.0]
    s, r, t = P.fit_similarity(src, dst, rng.uniform(0.5, 1.0, 40))
    assert s == pytest.approx(2.5)
    np.testing.assert_allclose(r, rot, atol=1e-9)
    np.testing.assert_allclose(t, [1.0, -2.0, 3.0], atol=1e-9)
    # A mirrored target still gives a proper rotation.
    _, r_m, _ = P.fit_similarity(src, src * [-1, 1, 1])
    assert np.linalg.det(r_m) == pytest.approx(1.0)


@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (0.4, -0.25, 0.15), (-0.6, 0.3, -0.3)])
def test_euler_round_trip(angles):
    np.testing.assert_allclose(P.euler_from_matrix(P.matrix_from_euler(*angles)), angles, atol=1e-12)


def project_face(rot: np.ndarray, t: np.ndarray, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """Landmarks (image px) of the canonical face posed by rot, t (cm) and seen through MediaPipe's 63°
    perspective camera: x, y projected, z the depth relative to the face's mean, scaled like x."""
    h, w = size
    pts = P.face_reference().vertices.astype(np.float64) @ rot.T + t
    depth = -pts[:, 2]
    h_near = 2 * math.tan(math.radians(P.VERTICAL_FOV_DEGREES) / 2)
    w_near = w * h_near / h
    x, y = pts[:, 0] / depth, pts[:, 1] / depth
    z = (depth - depth.mean()) / depth.mean()
    return np.stack([(x / w_near + 0.5) * w, (0.5 - y / h_near) * h, z / w_near * w], axis=1)


@pytest.mark.parametrize("yaw,pitch,roll", [(0.0, 0.0, 0.0), (0.35, 0.0, 0.0), (0.0, 0.3, 0.0), (0.0, 0.0, -0.4),
                                            (-0.3, -0.2, 0.25)])
@pytest.mark.parametrize("t", [(0.0, 0.0, -45.0), (8.0, -5.0, -60.0)])
def test_pose_of_a_synthetic_face(yaw, pitch, roll, t):
    """The canonical face posed with a known rotation and position, seen through the camera, gives
    them back (to MediaPipe's own precision: its depth comes from two fixed-point iterations)."""
    rot = P.matrix_from_euler(yaw, pitch, roll)
    pose = P.estimate_pose(project_face(rot, np.array(t)), (480, 640))
    np.testing.assert_allclose([pose.yaw, pose.pitch, pose.roll], [yaw, pitch, roll], atol=math.radians(0.5))
    np.testing.assert_allclose(pose.translation, t, atol=0.02 * abs(t[2]))
    np.testing.assert_allclose(pose.transform[:3, :3], rot, atol=0.01)
    focal = 240 / math.tan(math.radians(P.VERTICAL_FOV_DEGREES) / 2)
    assert pose.scale == pytest.approx(focal / -t[2], rel=0.02)
    assert pose.as_array().shape == (6,)


def test_pose_sign_conventions():
    """Positive yaw turns the nose to the image's right, positive pitch down, positive roll anticlockwise."""
    nose, t = 1, np.array([0.0, 0.0, -45.0])
    front = project_face(np.eye(3), t)
    assert project_face(P.matrix_from_euler(0.3, 0, 0), t)[nose, 0] > front[nose, 0]  # nose moves right
    assert project_face(P.matrix_from_euler(0, 0.3, 0), t)[nose, 1] > front[nose, 1]  # nose moves down (y down)
    assert P.estimate_pose(project_face(P.matrix_from_euler(0, 0, 0.2), t), (480, 640)).roll > 0


def test_shipped_canonical_face_matches_mediapipe_geometry():
    from talkies.errors import AssetError
    from talkies.runtime.face.geometry import canonical_face_mesh

    try:
        mesh = canonical_face_mesh()
    except AssetError:
        pytest.skip("MediaPipe geometry metadata not cached")
    ref = P.face_reference()
    np.testing.assert_array_equal(ref.vertices, mesh.vertices)
    np.testing.assert_array_equal(ref.ids, mesh.procrustes_ids)
    np.testing.assert_array_equal(ref.weights, mesh.procrustes_weights)
    assert ref.vertices.shape == (468, 3) and len(ref.ids) == 33
    assert Path(P.REFERENCE_FILE).stat().st_size < 20_000
