"""The 478-point face landmark model: crop a ROI to 256×256 in [0, 1], run, map back to the image.

The model outputs x, y, z in crop pixels (0–256) and a face-presence logit. x and y go back to image
pixels through the crop's own 2×3 matrix; z (depth, smaller is nearer the camera) is scaled like x, so
it is in image pixels too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from talkies.kernels.config import jit
from talkies.runtime.face import constants as C
from talkies.runtime.face.sessions import output_names
from talkies.runtime.face.roi import Roi, crop
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

    def preprocess(self, image: np.ndarray, roi: Roi, out: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The [1, 256, 256, 3] tensor in [0, 1] (edge pixels replicated) and the crop→image matrix.
        `out`: an optional float32 [1, 256, 256, 3] array to crop into (returned as the tensor)."""
        tensor, matrix = crop(image, roi, self.size, value_range=C.LANDMARK_INPUT_RANGE, border="replicate",
                              out=None if out is None else out[0])
        return (tensor[None] if out is None else out), matrix

    def run(self, image: np.ndarray, roi: Roi) -> LandmarkResult:
        # The crop goes straight into the session's input memory where the backend offers it.
        buffer = self.session.input_buffer(self._input)
        if buffer is not None and buffer.shape != (1, self.size, self.size, 3):
            buffer = None
        tensor, matrix = self.preprocess(image, roi, buffer)
        out = self.session.run({self._input: tensor})
        return self.postprocess(out[self._landmarks], out[self._flag], roi, matrix)

    def postprocess(self, raw: np.ndarray, flag: np.ndarray, roi: Roi, matrix: np.ndarray) -> LandmarkResult:
        raw = np.asarray(raw, np.float32).reshape(C.NUM_LANDMARKS, 3)
        landmarks = np.empty_like(raw)
        _to_image(raw, np.asarray(matrix, np.float64), roi.size / self.size, landmarks)
        logit = min(max(float(np.asarray(flag).reshape(-1)[0]), -80.0), 80.0)
        presence = 1.0 / (1.0 + math.exp(-logit))
        return LandmarkResult(landmarks=landmarks, presence=presence, roi=roi)


@jit
def _to_image(raw: np.ndarray, m: np.ndarray, z_scale: float, out: np.ndarray) -> None:
    """x, y through the 2×3 crop→image matrix (float64, as roi.apply_matrix), z times z_scale (float32)."""
    zs = np.float32(z_scale)
    for i in range(raw.shape[0]):
        x = np.float64(raw[i, 0])
        y = np.float64(raw[i, 1])
        out[i, 0] = np.float32(x * m[0, 0] + y * m[0, 1] + m[0, 2])
        out[i, 1] = np.float32(x * m[1, 0] + y * m[1, 1] + m[1, 2])
        out[i, 2] = raw[i, 2] * zs
