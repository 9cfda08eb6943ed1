"""The 478-point face landmark model: crop a ROI to 256×256 in [0, 1], run, map back to the image.

The model outputs x, y, z in crop pixels (0–256) and a face-presence logit. x and y go back to image
pixels through the crop's own 2×3 matrix; z (depth, smaller is nearer the camera) is scaled like x, so
it is in image pixels too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.models.mediapipe import constants as C
from talkies.runtime.face.models import output_names
from talkies.runtime.face.roi import Roi, apply_matrix, crop
from talkies.runtime.session import InferenceSession


@dataclass(frozen=True)
class LandmarkResult:
    landmarks: np.ndarray
    """(478, 3) float32: x, y in image pixels, z in pixels at the same scale as x."""
    presence: float
    """Face presence probability (sigmoid of the model's face flag)."""
    roi: Roi


class LandmarkModel:
    def __init__(self, session: InferenceSession):
        self.session = session
        self._input = session.input_names[0]
        self._landmarks, self._flag = output_names(session, "face_landmarks")[:2]
        self.size = C.LANDMARK_INPUT_SIZE

    def preprocess(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, np.ndarray]:
        """The [1, 256, 256, 3] tensor in [0, 1] (edge pixels replicated) and the crop→image matrix."""
        tensor, matrix = crop(image, roi, self.size, value_range=C.LANDMARK_INPUT_RANGE, border="replicate")
        return tensor[None], matrix

    def run(self, image: np.ndarray, roi: Roi) -> LandmarkResult:
        tensor, matrix = self.preprocess(image, roi)
        out = self.session.run({self._input: tensor})
        return self.postprocess(out[self._landmarks], out[self._flag], roi, matrix)

    def postprocess(self, raw: np.ndarray, flag: np.ndarray, roi: Roi, matrix: np.ndarray) -> LandmarkResult:
        raw = np.asarray(raw, np.float32).reshape(C.NUM_LANDMARKS, 3)
        landmarks = np.empty_like(raw)
        landmarks[:, :2] = apply_matrix(matrix, raw[:, :2])
        landmarks[:, 2] = raw[:, 2] * np.float32(roi.size / self.size)
        logit = float(np.asarray(flag, np.float32).reshape(-1)[0])
        presence = float(1.0 / (1.0 + np.exp(-np.clip(logit, -80.0, 80.0))))
        return LandmarkResult(landmarks=landmarks, presence=presence, roi=roi)
