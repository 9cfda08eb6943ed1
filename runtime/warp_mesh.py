"""The warp mesh for animating a photo: the 468-point face mesh, rings around the face outline and the
image border, triangulated once per photo.

The rings let the skin just outside the face (hair, ears, neck) follow part of the head and jaw motion,
and the border stays put, so the piecewise-affine warp never moves the rest of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.runtime.rig import FACE_OVAL

#: Rings outside the face outline: (distance as a fraction of the face radius along the ray from the
#: face centre, as a fraction of the free distance to the border, share of the head motion followed,
#: share of the jaw motion followed). The outer ring stays put, so the warp never touches the rest of
#: the frame.
RINGS = ((0.45, 0.4, 0.85, 0.5), (1.1, 0.75, 0.0, 0.0))


def _rays_to_border(c: np.ndarray, u: np.ndarray, w: int, h: int) -> np.ndarray:
    """Distances from c along each unit direction u (N, 2) to the image rectangle [0, w-1] × [0, h-1]."""
    hi = np.array([w - 1.0, h - 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(u > 1e-9, (hi - c) / u, np.where(u < -1e-9, -c / u, np.inf))  # per axis; inf: parallel
    return np.maximum(0.0, np.where(np.isinf(t).all(axis=1), 0.0, t.min(axis=1)))


def _zipper(inner: np.ndarray, outer: np.ndarray, angle: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangulate the band between two closed loops, both sorted by angle around a common centre."""
    def unwrapped(loop: np.ndarray) -> list[float]:
        a = angle[loop]
        return [*a.tolist(), float(a[0]) + 2 * np.pi]

    ai, ao = unwrapped(inner), unwrapped(outer)
    inner, outer = inner.tolist(), outer.tolist()
    n, m = len(inner), len(outer)
    i = j = 0
    tris = []
    while i < n or j < m:
        if j >= m or (i < n and ai[i + 1] <= ao[j + 1]):
            tris.append((inner[i], inner[(i + 1) % n], outer[j % m]))
            i += 1
        else:
            tris.append((inner[i % n], outer[(j + 1) % m], outer[j]))
            j += 1
    return tris


@dataclass(frozen=True, eq=False)
class WarpMesh:
    src: np.ndarray
    """(P, 2) float32 source points: 478 landmarks, then the rings, then the border."""
    triangles: np.ndarray
    """(F, 3) int64."""
    ring_slices: tuple[slice, ...]
    oval: np.ndarray
    """FACE_OVAL indices in ring order (ring k point i sits on the ray through oval[i])."""


def build_mesh(landmarks: np.ndarray, face_triangles: np.ndarray, width: int, height: int) -> WarpMesh:
    """Face mesh + rings + border for one photo (the topology is fixed; only positions depend on it)."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    oval = np.asarray(FACE_OVAL)
    centre = pts[oval].mean(0)
    centre = np.clip(centre, [1.0, 1.0], [width - 2.0, height - 2.0])
    rel = pts[oval] - centre
    radius = np.maximum(np.linalg.norm(rel, axis=1), 1e-3)
    unit = rel / radius[:, None]
    to_border = _rays_to_border(centre, unit, width, height)
    free = np.maximum(to_border - radius, 0.0)
    points = [pts]
    loops = [oval]
    slices = []
    start = len(pts)
    off_image = free <= 0
    for frac_r, frac_free, _, _ in RINGS:
        dist = np.where(off_image, frac_r * radius, np.minimum(frac_r * radius, frac_free * free))
        ring = pts[oval] + unit * np.maximum(dist, 0.5)[:, None]
        points.append(ring)
        loops.append(np.arange(start, start + len(oval)))
        slices.append(slice(start, start + len(oval)))
        start += len(oval)
    # where the face runs off the photo, its border points go out beyond the face (off-image points
    # are fine for the warp), so that the rings stay nested
    beyond = np.maximum(to_border, radius + 2.0 * RINGS[-1][0] * radius + 2.0)
    border_pts = centre + unit * np.where(free <= 0, beyond, to_border)[:, None]
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)
    border_pts = np.concatenate([border_pts, corners])
    points.append(border_pts)
    border = np.arange(start, start + len(border_pts))
    allpts = np.concatenate(points)
    angle = np.arctan2(allpts[:, 1] - centre[1], allpts[:, 0] - centre[0])

    def by_angle(loop: np.ndarray) -> np.ndarray:
        return loop[np.argsort(angle[loop], kind="stable")]

    rings = [by_angle(loop) for loop in loops] + [by_angle(border)]
    bands = [np.asarray(_zipper(inner, outer, angle), np.int64) for inner, outer in zip(rings[:-1], rings[1:])]
    tris = np.concatenate([np.asarray(face_triangles, np.int64).reshape(-1, 3), *bands])
    return WarpMesh(src=allpts.astype(np.float32), triangles=tris, ring_slices=tuple(slices), oval=oval)


__all__ = ["RINGS", "WarpMesh", "build_mesh"]
