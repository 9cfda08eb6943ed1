"""The face crops of models/mediapipe/faces.py (int8 calibration data and bundle parity vectors) agree
with the runtime's face code, which they do not use for the pieces that differ numerically (see that
module's docstring):

- ROI of a photo's face: faces.py decodes the detector's top-scoring anchor; the runtime blends the
  overlapping anchors (weighted NMS). Centre within CENTRE_TOL x side, side within SIZE_TOL, rotation
  within ROTATION_TOL radians (measured: 0.014, 0.031 and 0.097 at most, on astronaut).
- Crop pixels for the same ROI: faces.py samples crop pixel centres with PIL (uint8 out), the runtime
  samples at MediaPipe's points, (side/N - 1)/2 image pixels away. Mean |difference| within
  LANDMARK_CROP_TOL / LETTERBOX_CROP_TOL (measured 0.013 / 0.045), where the letterbox shrinks the photo
  4.7x; moved onto the same sample points, every pixel within PIL's rounding to uint8 (1/255).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from talkies.runtime.face import constants as C
from talkies.runtime.face.detector import FaceDetector, letterbox_roi
from talkies.runtime.face.roi import Roi, crop, roi_from_detection
from talkies.tests.helpers.faces import PHOTOS, mediapipe_models, needs_jit

pytest.importorskip("ai_edge_litert.interpreter")
faces = pytest.importorskip("talkies.models.mediapipe.faces")

CENTRE_TOL = 0.03
SIZE_TOL = 0.05
ROTATION_TOL = 0.15
LANDMARK_CROP_TOL = 0.025
LETTERBOX_CROP_TOL = 0.06
ROUNDING_TOL = 1 / 255 + 1e-4


def _photo_rois(name: str) -> tuple[Roi, Roi]:
    image = faces.sample_photo(name)
    ours = faces.face_roi(faces.detect_face(image))
    detection = FaceDetector(mediapipe_models().detector).detect(image)[0]
    return ours, roi_from_detection(detection.box, detection.keypoints)


def _on_runtime_points(roi: Roi, out_size: int) -> Roi:
    """The ROI whose runtime crop samples where faces.warp samples `roi`: half a crop pixel along the
    ROI's axes later, half an image pixel earlier."""
    k = roi.size / out_size
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    return Roi(roi.cx + (c - s) * k / 2 - 0.5, roi.cy + (s + c) * k / 2 - 0.5, roi.size, roi.rotation)


@pytest.mark.parametrize("name", PHOTOS)
def test_face_rois_agree(name):
    ours, runtime = _photo_rois(name)
    assert math.hypot(ours.cx - runtime.cx, ours.cy - runtime.cy) <= CENTRE_TOL * runtime.size
    assert abs(ours.size / runtime.size - 1) <= SIZE_TOL
    assert abs(ours.rotation - runtime.rotation) <= ROTATION_TOL


@needs_jit
@pytest.mark.parametrize("name", PHOTOS)
def test_crop_pixels_agree(name):
    image = faces.sample_photo(name)
    face, _ = _photo_rois(name)
    turned = faces.Augment.draw(np.random.default_rng(1)).apply(face)  # rotated, scaled and shifted
    cases = [(face, C.LANDMARK_INPUT_SIZE, "replicate", LANDMARK_CROP_TOL),
             (turned, C.LANDMARK_INPUT_SIZE, "replicate", LANDMARK_CROP_TOL),
             (letterbox_roi(*image.shape[:2]), C.DETECTOR_INPUT_SIZE, "zero", LETTERBOX_CROP_TOL)]
    for roi, size, border, tol in cases:
        ours = faces.warp(image, roi, size)
        assert np.abs(ours - crop(image, roi, size, border=border)[0]).mean() <= tol, (roi, size)
        moved = crop(image, _on_runtime_points(roi, size), size, border=border)[0]
        assert np.abs(ours - moved).max() <= ROUNDING_TOL, (roi, size)
