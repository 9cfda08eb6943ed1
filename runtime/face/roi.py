"""Regions of interest for the landmark model, and the crop that feeds a model from one.

A `Roi` is a square in image pixels (centre, side, rotation in radians; positive turns clockwise on
screen, since image y points down). The crop of a ROI into an N×N tensor follows MediaPipe's
ImageToTensor convention: crop pixel (u, v) samples the image at

    centre + R(rotation) · ((u / N − 0.5) · side, (v / N − 0.5) · side)

and the same 2×3 matrix maps the model's output coordinates (in crop pixels) back to the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from talkies.kernels import crop as crop_kernel
from talkies.kernels.config import jit
from talkies.runtime.face import constants as C

#: Landmarks whose line sets the ROI rotation when tracking (outer corners of the two eyes).
LANDMARK_ROTATION_POINTS = (33, 263)


@dataclass(frozen=True)
class Roi:
    cx: float
    cy: float
    size: float
    """Side of the square, in image pixels."""
    rotation: float = 0.0
    """Radians; positive turns the crop clockwise on screen (image y points down)."""

    def matrix(self, out_size: int) -> np.ndarray:
        """2×3 float64 affine from crop pixels (out_size × out_size) to image pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        k = self.size / out_size
        a = np.array([[c * k, -s * k], [s * k, c * k]])
        half = np.array([self.size / 2, self.size / 2])
        t = np.array([self.cx, self.cy]) - np.array([[c, -s], [s, c]]) @ half
        return np.concatenate([a, t[:, None]], axis=1)

    def corners(self) -> np.ndarray:
        """(4, 2) image-pixel corners: top-left, top-right, bottom-right, bottom-left of the crop."""
        unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
        m = self.matrix(1)
        return (unit @ m[:, :2].T + m[:, 2]).astype(np.float32)

    def box(self) -> np.ndarray:
        """Axis-aligned bounding box (xmin, ymin, xmax, ymax) of the rotated square."""
        pts = self.corners()
        return np.concatenate([pts.min(0), pts.max(0)]).astype(np.float32)


def normalize_radians(angle: float) -> float:
    """Wrap to [-pi, pi) as MediaPipe's NormalizeRadians does."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rotation_from_points(start: np.ndarray, end: np.ndarray, target: float = 0.0) -> float:
    """The ROI rotation that makes the line start→end horizontal (MediaPipe's DetectionsToRects)."""
    return normalize_radians(target - math.atan2(-(float(end[1]) - float(start[1])),
                                                 float(end[0]) - float(start[0])))


def square_roi(box: np.ndarray, rotation: float, scale: float = C.ROI_SCALE) -> Roi:
    """A square ROI centred on `box` (xmin, ymin, xmax, ymax), its side the long side × `scale`."""
    box = np.asarray(box, np.float64)
    side = max(box[2] - box[0], box[3] - box[1]) * scale
    return Roi(cx=float(box[0] + box[2]) / 2, cy=float(box[1] + box[3]) / 2, size=float(side),
               rotation=float(rotation))


def roi_from_detection(box: np.ndarray, keypoints: np.ndarray, scale: float = C.ROI_SCALE) -> Roi:
    """The landmark ROI of a detection: rotated so the eyes (keypoints 0 and 1) are level, 1.5× box."""
    i, j = C.ROI_ROTATION_KEYPOINTS
    return square_roi(box, rotation_from_points(keypoints[i], keypoints[j]), scale)


def roi_from_landmarks(landmarks: np.ndarray, scale: float = C.ROI_SCALE, *, box: np.ndarray | None = None) -> Roi:
    """The ROI for the next frame from this frame's landmarks (VIDEO / LIVE_STREAM tracking): the
    landmarks' bounding box, rotated so the outer eye corners are level, expanded 1.5× and squared.
    `box`: the landmarks' landmark_box() when the caller has it already."""
    landmarks = np.asarray(landmarks)
    if box is None:
        box = landmark_box(landmarks)
    i, j = LANDMARK_ROTATION_POINTS
    return square_roi(box, rotation_from_points(landmarks[i, :2], landmarks[j, :2]), scale)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """(xmin, ymin, xmax, ymax) of (N, 2+) points, in their own dtype (float32 or float64)."""
    points = np.asarray(landmarks)
    if points.dtype != np.float32:
        points = points.astype(np.float64)
    box = np.empty(4, points.dtype)
    _box_kernel(points, box)
    return box


@jit
def _box_kernel(points: np.ndarray, box: np.ndarray) -> None:
    x0 = x1 = points[0, 0]
    y0 = y1 = points[0, 1]
    for i in range(1, points.shape[0]):
        x, y = points[i, 0], points[i, 1]
        x0 = min(x0, x)
        x1 = max(x1, x)
        y0 = min(y0, y)
        y1 = max(y1, y)
    box[0], box[1], box[2], box[3] = x0, y0, x1, y1


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 2×3 affine matrix (float32 out)."""
    points = np.asarray(points, np.float64)
    return (points @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]).astype(np.float32)


def crop(image: np.ndarray, roi: Roi, out_size: int, *, value_range: tuple[float, float] = (0.0, 1.0),
         border: str = "replicate", out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Crop `roi` out of an RGB uint8 image into an out_size² float32 tensor scaled to `value_range`.

    `border` is "replicate" (taps outside the image read the nearest edge pixel, as MediaPipe's
    landmark crop does) or "zero" (pixel value 0, i.e. the bottom of `value_range`, as its detector
    letterbox does). Returns (crop, matrix) with matrix = roi.matrix(out_size), crop → image pixels.
    `out`: an optional (out_size, out_size, 3) float32 C-contiguous array to write the crop into.
    """
    if border not in ("replicate", "zero"):
        raise ValueError(f"border must be 'replicate' or 'zero', got {border!r}")
    # The kernel puts crop pixel u's centre at u + 1/2 of the ROI grid; MediaPipe samples at u. Moving
    # the centre back by half a crop pixel along the ROI's axes makes the two identical.
    half = roi.size / out_size / 2
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    cx, cy = roi.cx - (c - s) * half, roi.cy - (s + c) * half
    out, matrix = crop_kernel(image, (cx, cy), (roi.size, roi.size), rotation=roi.rotation,
                              out_size=(out_size, out_size), value_range=value_range,
                              border_mode="replicate" if border == "replicate" else "constant", border=0.0,
                              out=out)
    return out, matrix
