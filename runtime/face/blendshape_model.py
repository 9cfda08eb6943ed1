"""MediaPipe's blend-shape model: x, y of 146 landmarks (image pixels) → 52 scores → ARKit weights.

The model's 52 outputs are `_neutral` then 51 ARKit names in alphabetical order; it has no tongueOut.
`to_arkit` maps them explicitly into the canonical `Blendshape` order, with tongueOut = 0 (listed in
UNSUPPORTED so writers and users can tell "zero" from "not measured").
"""

from __future__ import annotations

import numpy as np

from talkies.runtime.face import constants as C
from talkies.runtime.blendshapes import ARKIT_NAMES, NUM_BLENDSHAPES, Blendshape
from talkies.runtime.face.sessions import output_names
from talkies.runtime.session import InferenceSession

UNSUPPORTED: tuple[str, ...] = ("tongueOut",)
"""ARKit shapes the model does not measure (always 0 in its output)."""

MODEL_LABELS: tuple[str, ...] = ("_neutral", *sorted(n for n in ARKIT_NAMES if n not in UNSUPPORTED))
"""The model's 52 output labels, in output order."""

#: For each model output (except _neutral), its canonical ARKit column.
_MODEL_TO_ARKIT = np.array([Blendshape[name].value for name in MODEL_LABELS[1:]], np.int64)
_SUBSET = np.array(C.BLENDSHAPE_LANDMARK_SUBSET, np.int64)


def to_arkit(scores: np.ndarray) -> np.ndarray:
    """The model's 52 scores → 52 canonical ARKit weights in [0, 1] (tongueOut 0)."""
    scores = np.asarray(scores, np.float32).reshape(-1)
    if scores.size != C.NUM_BLENDSHAPE_SCORES:
        raise ValueError(f"expected {C.NUM_BLENDSHAPE_SCORES} blend-shape scores, got {scores.size}")
    weights = np.zeros(NUM_BLENDSHAPES, np.float32)
    weights[_MODEL_TO_ARKIT] = np.clip(scores[1:], 0.0, 1.0)
    return weights


def model_input(landmarks: np.ndarray) -> np.ndarray:
    """The [1, 146, 2] input: x, y (image pixels) of the landmark subset, in the model's order."""
    return np.ascontiguousarray(np.asarray(landmarks, np.float32)[_SUBSET, :2][None])


class BlendshapeModel:
    def __init__(self, session: InferenceSession):
        self.session = session
        self._input = session.input_names[0]
        self._scores = output_names(session, "face_blendshapes")[0]

    def scores(self, landmarks: np.ndarray) -> np.ndarray:
        """The model's raw 52 scores (MODEL_LABELS order) for 478 landmarks in image pixels."""
        buffer = self.session.input_buffer(self._input)
        if buffer is not None and buffer.shape == (1, len(_SUBSET), 2):
            buffer[0] = np.asarray(landmarks)[_SUBSET, :2]  # straight into the session's input memory
            feed = buffer
        else:
            feed = model_input(landmarks)
        out = self.session.run({self._input: feed})
        return np.asarray(out[self._scores], np.float32).reshape(-1)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        """52 canonical ARKit weights for 478 landmarks in image pixels."""
        return to_arkit(self.scores(landmarks))
