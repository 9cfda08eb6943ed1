"""The dubbed mouth's geometry: a tracked face's landmarks with its jaw and mouth re-shaped to new weights.

Per frame, the face is taken into the rig frame by a similarity fit on the landmarks that barely move
(runtime.rig.STABLE). There it is compared with the person's own closed-mouth face (the median of the
clip's least-open frames): a bounded least-squares fit of the rig's jaw and mouth shapes explains the
difference. The mouth region is then rebuilt from that neutral, the source's own non-speech shapes
(smiles, frowns, dimples) and the new speech weights, so nothing of the old speech is left, and blended
into the untouched face by a per-vertex mask that fades out where the speech shapes stop moving the
mesh (no seam at the mouth's edge).
"""

from __future__ import annotations

import numpy as np

from talkies.kernels.solve import BoundedSolver
from talkies.runtime.blendshapes import Blendshape
from talkies.runtime.face.pose import fit_similarity
from talkies.runtime.animator import lip_gap
from talkies.runtime.rig import STABLE, FaceRig
from talkies.runtime.visemes import ARKIT_MOUTH

#: The shapes the new speech drives: LipSync's mouth set, less the smiles (an expression the source keeps).
SPEECH_SHAPES = tuple(n for n in ARKIT_MOUTH if not n.startswith("mouthSmile"))
#: Share of the neutral's least-open frames that make the closed-mouth reference.
NEUTRAL_PERCENTILE = 10.0
NEUTRAL_SAMPLES = 300  # frames looked at for it, evenly spaced (bounded work on long clips)
#: A vertex moved by at least this share of the largest speech motion is fully rebuilt; less, partly.
MASK_FULL = 0.2
FIT_L2 = 1e-3


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def rig_pose(points: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, rotation, translation) with image points ≈ scale · R · rig points + t, fitted on STABLE."""
    stable = list(STABLE)
    return fit_similarity(reference[stable], np.asarray(points, np.float64)[stable])


class MouthRetarget:
    """Image landmarks of one tracked face → the same face saying other speech (see module docstring)."""

    def __init__(self, rig: FaceRig, landmarks: np.ndarray, tracked: np.ndarray):
        self.rig = rig
        self.reference = rig.reference.astype(np.float64)
        names = [n for n in rig.names if n.startswith(("jaw", "mouth"))]
        self.columns = np.array([Blendshape[n].value for n in names])
        self.speech = np.array([n in SPEECH_SHAPES for n in names])
        dense = np.stack([rig.delta(n) for n in names]).astype(np.float64)  # (K, 478, 3)
        amount = np.abs(dense[self.speech]).max(axis=(0, 2))
        self.mask = _smoothstep(amount / (MASK_FULL * amount.max()))
        self._region = np.flatnonzero(amount > 0)
        self._dense = dense.reshape(len(names), -1)
        basis = dense[:, self._region].reshape(len(names), -1).T
        self.solver = BoundedSolver(basis, l2=FIT_L2)
        self.neutral = self._neutral(np.asarray(landmarks), np.asarray(tracked, bool))
        self._last = None

    def _to_rig(self, points: np.ndarray) -> tuple[np.ndarray, tuple[float, np.ndarray, np.ndarray]]:
        pose = rig_pose(points, self.reference)
        scale, rot, trans = pose
        return ((np.asarray(points, np.float64) - trans) @ rot) / scale, pose

    def _neutral(self, landmarks: np.ndarray, tracked: np.ndarray) -> np.ndarray:
        frames = np.flatnonzero(tracked) if tracked.any() else np.arange(len(landmarks))
        frames = frames[np.unique(np.linspace(0, len(frames) - 1, min(NEUTRAL_SAMPLES, len(frames))).astype(int))]
        faces = np.stack([self._to_rig(landmarks[i])[0] for i in frames])
        gaps = np.array([lip_gap(f) for f in faces])
        closed = gaps <= np.percentile(gaps, NEUTRAL_PERCENTILE)
        return np.median(faces[closed], axis=0)

    def scale(self, points: np.ndarray) -> float:
        """Pixels per rig unit (per outer-eye-corner distance) of a face."""
        return float(rig_pose(points, self.reference)[0])

    def fit(self, points: np.ndarray) -> np.ndarray:
        """The source's own jaw and mouth weights (52, canonical order) as the rig explains them."""
        vertices, _ = self._to_rig(points)
        w = self._solve(vertices)
        out = np.zeros(52, np.float32)
        out[self.columns] = w
        return out

    def _solve(self, vertices: np.ndarray) -> np.ndarray:
        target = (vertices - self.neutral)[self._region].ravel()
        self._last = self.solver.solve(target, x0=self._last)
        return self._last

    def retarget(self, points: np.ndarray, weights: np.ndarray, strength: float = 1.0
                 ) -> tuple[np.ndarray, float]:
        """(478, 3) image landmarks of `points` with the speech shapes set to `weights` (52, canonical),
        moved `strength` (0–1) of the way; and the face's scale (px per rig unit)."""
        vertices, (scale, rot, trans) = self._to_rig(points)
        w = self._solve(vertices).astype(np.float64)
        w[self.speech] = np.asarray(weights, np.float64)[self.columns[self.speech]]
        rebuilt = self.neutral + (w @ self._dense).reshape(-1, 3)
        mask = (strength * self.mask)[:, None]
        target = vertices + mask * (rebuilt - vertices)
        out = scale * target @ rot.T + trans
        # vertices outside the mask come back exactly, so their triangles stay still in the warp
        still = mask[:, 0] == 0
        out[still] = points[still]
        return out.astype(np.float32), float(scale)


__all__ = ["MouthRetarget", "SPEECH_SHAPES", "rig_pose"]
