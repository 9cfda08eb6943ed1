"""FaceTracker's results: one TrackedFace per face, gathered per frame in a FaceTrackerResult."""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
from dataclasses import dataclass

import numpy as np

from talkies.runtime.blendshapes import ARKIT_NAMES, Blendshape
from talkies.runtime.face.blendshape_model import UNSUPPORTED
from talkies.runtime.motion import FaceMotion


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame."""

    face_id: int
    landmarks: np.ndarray
    """(478, 3) float32: x, y in image pixels, z (depth, smaller is nearer) in pixels at x's scale."""
    weights: np.ndarray
    """(52,) float32 ARKit weights in canonical Blendshape order, calibrated when a calibration is set."""
    raw_weights: np.ndarray
    """(52,) float32 weights before calibration (smoothed when smoothing is on)."""
    head_pose: np.ndarray
    """(6,) float32 yaw, pitch, roll (radians), tx, ty, tz (cm, camera space); see runtime.face.pose."""
    transform: np.ndarray
    """(4, 4) float32 canonical face → camera space (cm)."""
    box: np.ndarray
    """(4,) float32 xmin, ymin, xmax, ymax of the landmarks, image pixels."""
    presence: float
    """Face presence probability from the landmark model."""
    tracked: bool
    """True when followed from the previous frame's landmarks, False when (re)found by the detector."""

    def blendshapes(self) -> dict[str, float]:
        """ARKit name → weight (tongueOut is always 0: see UNSUPPORTED)."""
        return {name: float(v) for name, v in zip(ARKIT_NAMES, self.weights)}

    def weight(self, name: str) -> float:
        return float(self.weights[Blendshape[name].value])


@dataclass(frozen=True)
class FaceTrackerResult:
    """The faces of one frame, ordered by face_id."""

    faces: tuple[TrackedFace, ...]
    timestamp_ms: int | None
    image_size: tuple[int, int]
    """(height, width) of the frame."""
    lost: tuple[int, ...] = ()
    """Ids of faces tracked in the previous frame and lost in this one."""

    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self) -> Iterator[TrackedFace]:
        return iter(self.faces)

    def __getitem__(self, index: int) -> TrackedFace:
        return self.faces[index]

    def face(self, face_id: int) -> TrackedFace | None:
        return next((f for f in self.faces if f.face_id == face_id), None)

    def rescaled(self, scale: tuple[float, float]) -> FaceTrackerResult:
        """The same faces in the pixels of an image `scale` (x, y) times larger: a photo shrunk on load
        reports its faces where they are in the file."""
        sx, sy = scale
        xyz = np.array([sx, sy, sx], np.float32)
        faces = tuple(dataclasses.replace(f, landmarks=f.landmarks * xyz,
                                          box=f.box * np.array([sx, sy, sx, sy], np.float32)) for f in self.faces)
        h, w = self.image_size
        return dataclasses.replace(self, faces=faces, image_size=(round(h * sy), round(w * sx)))

    def motions(self, fps: float = 30.0) -> list[FaceMotion]:
        """One single-frame FaceMotion per face (a photo's curves), landmarks in its extras."""
        return [FaceMotion(np.zeros(1), face.weights[None], face.head_pose[None], fps=fps, face_id=face.face_id,
                           extras={"landmarks": face.landmarks[None], "image_size": list(self.image_size),
                                   "unsupported": list(UNSUPPORTED), "calibration": None})
                for face in self.faces]


__all__ = ["FaceTrackerResult", "TrackedFace"]
