"""Synthetic inputs for the kernel benchmarks: a 720p frame with a face-sized landmark mesh, a rig of
sparse blend-shape deltas, weight tracks and coordinate maps (seeded, so every run measures the same work)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.kernels import border_anchors, warp

FRAME_H, FRAME_W = 720, 1280
N_LANDMARKS = 478
N_SHAPES = 52



@dataclass
class FaceFrame:
    """A 720p RGB frame with a 478-point face mesh (+ border anchors) and a mouth-opening deformation."""

    image: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    triangles: np.ndarray
    centre: tuple[float, float]
    axes: tuple[float, float]


def synthetic_frame(h: int = FRAME_H, w: int = FRAME_W, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus texture noise: content does not change kernel speed, but a
    flat image would hide bilinear-sampling mistakes in the consistency checks."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xs / w, ys / h, 0.5 + 0.5 * np.sin(xs / 37.0 + ys / 53.0)], axis=-1) * 200
    return (base + rng.uniform(0, 55, (h, w, 3))).astype(np.uint8)


def face_frame(h: int = FRAME_H, w: int = FRAME_W, n: int = N_LANDMARKS, seed: int = 0) -> FaceFrame:
    """A face-sized ellipse (~30% of the frame) filled with n jittered sunflower points, Delaunay
    triangulated with 16 border anchors; the jaw drops ~28 px and the upper lip lifts ~6 px."""
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    cx, cy = w / 2, h / 2 + 10
    a, b = 0.2 * w, 0.475 * h  # π·a·b ≈ 0.30 · w·h
    k = np.arange(n) + 0.5
    r = np.sqrt(k / n)
    theta = k * np.pi * (3 - np.sqrt(5))
    spacing = np.sqrt(np.pi * a * b / n)
    face = np.stack([cx + a * r * np.cos(theta), cy + b * r * np.sin(theta)], 1)
    face += rng.normal(scale=0.15 * spacing, size=face.shape)
    src = np.concatenate([face, border_anchors(h, w, 5)]).astype(np.float32)
    triangles = Delaunay(src).simplices.astype(np.int64)
    # Mouth opening: a smooth, compactly supported displacement field, zero away from the mouth.
    mx, my = cx, cy + 0.55 * b
    dst = src.astype(np.float64).copy()
    lower = ((src[:, 0] - mx) / (0.9 * a)) ** 2 + ((src[:, 1] - my) / (0.5 * b)) ** 2
    upper = ((src[:, 0] - mx) / (0.45 * a)) ** 2 + ((src[:, 1] - my) / (0.15 * b)) ** 2
    below = src[:, 1] >= my
    dst[:, 1] += np.where(below & (lower < 1), 28.0 * (1 - lower) ** 2, 0.0)
    dst[:, 1] -= np.where(~below & (upper < 1), 6.0 * (1 - upper) ** 2, 0.0)
    dst[n:] = src[n:]  # anchors stay
    return FaceFrame(synthetic_frame(h, w, seed), src, dst.astype(np.float32), triangles, (cx, cy), (a, b))


@dataclass
class Rig:
    """ARKit-sized rig: 52 localised, smooth shapes on the face mesh (3-D deltas, ~20% of vertices each)."""

    base: np.ndarray
    deltas: np.ndarray

    @property
    def basis(self) -> np.ndarray:
        """(1434, 52): column k is shape k's flattened delta, as the solver wants it."""
        return np.ascontiguousarray(self.deltas.reshape(self.deltas.shape[0], -1).T)


def face_rig(frame: FaceFrame, seed: int = 1) -> Rig:
    rng = np.random.default_rng(seed)
    pts = frame.src[:N_LANDMARKS].astype(np.float64)
    a, b = frame.axes
    base = np.column_stack([pts, 40.0 * np.sqrt(np.clip(1 - ((pts[:, 0] - frame.centre[0]) / a) ** 2
                                                        - ((pts[:, 1] - frame.centre[1]) / b) ** 2, 0, 1))])
    deltas = np.zeros((N_SHAPES, N_LANDMARKS, 3))
    for k in range(N_SHAPES):
        centre = pts[rng.integers(N_LANDMARKS)]
        if k % 2:  # left/right pairs: mirror the previous shape's centre, as ARKit's shapes are
            centre = np.array([2 * frame.centre[0] - prev[0], prev[1]])
        prev = centre
        radius = rng.uniform(0.25, 0.5) * a
        d2 = ((pts - centre) ** 2).sum(1) / radius**2
        fall = np.where(d2 < 1, (1 - d2) ** 2, 0.0)
        deltas[k] = fall[:, None] * rng.normal(scale=10.0, size=3)
    return Rig(base.astype(np.float32), deltas.astype(np.float32))


def weight_track(frames: int, seed: int = 2) -> np.ndarray:
    """(frames, 52) smooth weights in [0, 1], many resting at 0 (as real ARKit curves do)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 30.0
    phase = rng.uniform(0, 2 * np.pi, N_SHAPES)
    freq = rng.uniform(0.2, 2.0, N_SHAPES)
    return np.clip(0.6 * np.sin(2 * np.pi * freq * t + phase) + rng.uniform(-0.3, 0.3, N_SHAPES), 0, 1)


def coordinate_maps(frame: FaceFrame) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps for exactly the talkies warp: warping an image of its own pixel coordinates
    gives each output pixel's source position (bilinear interpolation of an affine field is exact)."""
    ys, xs = np.mgrid[0:frame.image.shape[0], 0:frame.image.shape[1]].astype(np.float32)
    maps = warp(np.stack([xs, ys], -1), frame.src, frame.dst, frame.triangles)
    return np.ascontiguousarray(maps[:, :, 0]), np.ascontiguousarray(maps[:, :, 1])
