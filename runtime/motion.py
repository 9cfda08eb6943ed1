"""FaceMotion: the one stream type every motion source produces and every sink consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from talkies.errors import InputError
from talkies.runtime.blendshapes import NUM_BLENDSHAPES, NUM_VISEMES

POSE_COLUMNS = ("yaw", "pitch", "roll", "tx", "ty", "tz")
"""head_pose columns: rotation in radians (yaw about +y, pitch about +x, roll about +z), translation in
the units of the reference mesh (cm for MediaPipe's canonical face)."""


@dataclass
class FaceMotion:
    timestamps: np.ndarray
    """(T,) seconds, non-decreasing."""
    weights: np.ndarray
    """(T, 52) float32 ARKit weights in canonical `Blendshape` order, each in [0, 1]."""
    head_pose: np.ndarray | None = None
    """(T, 6) float32 yaw, pitch, roll, tx, ty, tz (see POSE_COLUMNS); zeros when unknown."""
    visemes: np.ndarray | None = None
    """(T, 15) float32 OVR viseme probabilities, when the source is speech."""
    fps: float | None = None
    face_id: int = 0
    tracked: np.ndarray | None = None
    """(T,) bool: False where the face was lost and the values are held."""
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.timestamps = np.asarray(self.timestamps, dtype=np.float64).reshape(-1)
        n = len(self.timestamps)
        self.weights = np.asarray(self.weights, dtype=np.float32)
        if self.weights.shape != (n, NUM_BLENDSHAPES):
            raise InputError(f"FaceMotion weights must be ({n}, {NUM_BLENDSHAPES}), got {self.weights.shape}")
        self.head_pose = (np.zeros((n, 6), np.float32) if self.head_pose is None
                          else np.asarray(self.head_pose, dtype=np.float32))
        if self.head_pose.shape != (n, 6):
            raise InputError(f"FaceMotion head_pose must be ({n}, 6), got {self.head_pose.shape}")
        if self.visemes is not None:
            self.visemes = np.asarray(self.visemes, dtype=np.float32)
            if self.visemes.shape != (n, NUM_VISEMES):
                raise InputError(f"FaceMotion visemes must be ({n}, {NUM_VISEMES}), got {self.visemes.shape}")
        self.tracked = (np.ones(n, bool) if self.tracked is None else np.asarray(self.tracked, bool))
        if n > 1 and np.any(np.diff(self.timestamps) < 0):
            raise InputError("FaceMotion timestamps must be non-decreasing")

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def duration(self) -> float:
        if not len(self):
            return 0.0
        step = 1.0 / self.fps if self.fps else 0.0
        return float(self.timestamps[-1] + step)

    def sample(self, times: np.ndarray) -> "FaceMotion":
        """Linearly resample weights, pose and visemes at `times` (e.g. video frame times)."""
        times = np.asarray(times, dtype=np.float64)

        def interp(values: np.ndarray) -> np.ndarray:
            if len(self) == 1:
                return np.repeat(values[:1], len(times), axis=0)
            cols = [np.interp(times, self.timestamps, values[:, j]) for j in range(values.shape[1])]
            return np.stack(cols, axis=1).astype(np.float32)

        return FaceMotion(times, interp(self.weights), interp(self.head_pose),
                          None if self.visemes is None else interp(self.visemes),
                          fps=None, face_id=self.face_id, extras=dict(self.extras))
