"""Which face of a photo to animate: every face's landmarks in `talkies faces` order, and the choice of
one by index (or the largest), refused when it is too small to animate well.
"""

from __future__ import annotations

import numpy as np

from talkies.errors import InputError, NoFaceError
from talkies.runtime.face.sessions import FaceModels
from talkies.runtime.face.options import FaceTrackerOptions
from talkies.runtime.face.tracker import FaceTracker

#: Smallest face (landmark box height, source pixels) that can be animated.
MIN_FACE_SIZE = 64


def face_height(landmarks: np.ndarray) -> float:
    xy = np.asarray(landmarks)[:, :2]
    return float(xy[:, 1].max() - xy[:, 1].min())


def select_face(faces: list[np.ndarray], index: int | None, *, min_size: int = MIN_FACE_SIZE,
                source: str = "the photo") -> np.ndarray:
    """The landmarks of face `index` (None: the largest), checked for size."""
    if not faces:
        raise NoFaceError(f"no face found in {source}; give a photo with a visible, roughly frontal face")
    if index is None:
        chosen = max(faces, key=face_height)
    elif index >= len(faces):
        raise InputError(f"face {index}: {source} has {len(faces)} face(s), numbered 0-{len(faces) - 1} "
                         "(see `talkies faces PHOTO`)")
    else:
        chosen = faces[index]
    size = face_height(chosen)
    if size < min_size:
        raise InputError(f"the face in {source} is only {size:.0f} px tall; talkies needs at least {min_size} px "
                         "to animate it: use a larger or closer photo")
    return np.asarray(chosen, np.float32)


def detect_faces(image: np.ndarray, models=None) -> list[np.ndarray]:
    """478-landmark sets of every face in a photo, in `talkies faces` (detector) order."""
    models = models or FaceModels.from_mediapipe()
    with FaceTracker(FaceTrackerOptions(num_faces=16), models=models) as tracker:
        result = tracker.detect(image)
    return [f.landmarks for f in sorted(result.faces, key=lambda f: f.face_id)]


__all__ = ["MIN_FACE_SIZE", "detect_faces", "face_height", "select_face"]
