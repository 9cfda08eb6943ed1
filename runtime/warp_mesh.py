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


def _ray_to_border(c: np.ndarray, u: np.ndarray, w: int, h: int) -> float:
    """Distance from c along unit direction u to the image rectangle [0, w-1] × [0, h-1]."""
    ts = []
    for comp, lo, hi in ((0, 0.0, w - 1.0), (1, 0.0, h - 1.0)):
        if u[comp] > 1e-9:
            ts.append((hi - c[comp]) / u[comp])
        elif u[comp] < -1e-9:
            ts.append((lo - c[comp]) / u[comp])
    return max(0.0, min(ts)) if ts else 0.0


def _zipper(inner: list[int], outer: list[int], angle: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangulate the band between two closed loops, both sorted by angle around a common centre."""
    def unwrapped(loop: list[int]) -> np.ndarray:
        a = angle[loop].copy()
        return np.concatenate([a, [a[0] + 2 * np.pi]])

    ai, ao = unwrapped(inner), unwrapped(outer)
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
    free = np.array([_ray_to_border(centre, u, width, height) for u in unit]) - radius
    free = np.maximum(free, 0.0)
    points = [pts]
    loops = [list(oval)]
    slices = []
    start = len(pts)
    off_image = free <= 0
    for frac_r, frac_free, _, _ in RINGS:
        dist = np.where(off_image, frac_r * radius, np.minimum(frac_r * radius, frac_free * free))
        ring = pts[oval] + unit * np.maximum(dist, 0.5)[:, None]
        points.append(ring)
        loops.append(list(range(start, start + len(oval))))
        slices.append(slice(start, start + len(oval)))
        start += len(oval)
    # where the face runs off the photo, its border points go out beyond the face (off-image points
    # are fine for the warp), so that the rings stay nested
    border_pts = np.array([centre + unit[i] * max(_ray_to_border(centre, unit[i], width, height),
                                                  radius[i] + 2.0 * RINGS[-1][0] * radius[i] + 2.0)
                           if free[i] <= 0 else centre + unit[i] * _ray_to_border(centre, unit[i], width, height)
                           for i in range(len(oval))])
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float64)
    border_pts = np.concatenate([border_pts, corners])
    points.append(border_pts)
    border = list(range(start, start + len(border_pts)))
    allpts = np.concatenate(points)
    angle = np.arctan2(allpts[:, 1] - centre[1], allpts[:, 0] - centre[0])

    def by_angle(loop: list[int]) -> list[int]:
        return sorted(loop, key=lambda k: angle[k])

    tris = [tuple(t) for t in np.asarray(face_triangles)]
    rings = [by_angle(loop) for loop in loops] + [by_angle(border)]
    for inner, outer in zip(rings[:-1], rings[1:]):
        tris += _zipper(inner, outer, angle)
    return WarpMesh(src=allpts.astype(np.float32), triangles=np.asarray(tris, np.int64),
                    ring_slices=tuple(slices), oval=oval)


__all__ = ["RINGS", "WarpMesh", "build_mesh"]
