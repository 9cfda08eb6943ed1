"""BlazeFace decoding and weighted NMS against hand-computed cases, then the detector on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.face import constants as C
from talkies.runtime.face.detector import (FaceDetector, decode_boxes, decode_scores, iou, letterbox_roi,
                                           ssd_anchors, weighted_nms)
from talkies.tests.helpers.faces import MEDIAPIPE, PHOTOS, mediapipe_models
from talkies.tests.helpers.media import photo


def test_anchors_follow_the_ssd_layout():
    a = ssd_anchors()
    assert a.shape == (896, 2)
    # Stride 8: a 16×16 grid, 2 anchors per cell (aspect 1 + interpolated), row by row.
    np.testing.assert_allclose(a[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(a[32], [0.5 / 16, 1.5 / 16])
    # Strides 16, 16, 16 share one 8×8 grid: 3 layers × 2 = 6 anchors per cell.
    np.testing.assert_allclose(a[512:518], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(a[518], [1.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(a[-1], [7.5 / 8, 7.5 / 8])


def test_decode_box_and_keypoints_by_hand():
    raw = np.zeros((896, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 32.0, 64.0]  # x, y, w, h offsets in input pixels (scale 128)
    raw[0, 4:6] = [6.4, 12.8]  # keypoint 0
    raw[0, 14:16] = [-12.8, 0.0]  # keypoint 5
    boxes, kps = decode_boxes(raw)
    ax = ay = 0.5 / 16
    cx, cy, w, h = ax + 0.1, ay - 0.05, 0.25, 0.5
    np.testing.assert_allclose(boxes[0], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], atol=1e-6)
    np.testing.assert_allclose(kps[0, 0], [ax + 0.05, ay + 0.1], atol=1e-6)
    np.testing.assert_allclose(kps[0, 5], [ax - 0.1, ay], atol=1e-6)
    np.testing.assert_allclose(kps[0, 1:5], [[ax, ay]] * 4, atol=1e-6)
    # A zero regressor is an anchor-centred box of size 0.
    np.testing.assert_allclose(boxes[600], np.tile(ssd_anchors()[600], 2), atol=1e-6)


def test_scores_are_sigmoids_clipped_at_100():
    s = decode_scores(np.array([[0.0], [2.0], [150.0], [100.0], [-150.0], [-100.0]]))
    np.testing.assert_allclose(s[:2], [0.5, 1 / (1 + np.exp(-2.0))], rtol=1e-6)
    assert s[2] == s[3] and s[4] == s[5]
    assert np.all(np.isfinite(s)) and s.dtype == np.float32


def test_iou_by_hand():
    box = np.array([0, 0, 10, 10], np.float32)
    np.testing.assert_allclose(iou(box, [[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10], [2, 2, 4, 4]]),
                               [50 / 150, 0.0, 1.0, 4 / 100], rtol=1e-6)


def test_weighted_nms_blends_each_cluster_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 2.9]], np.float32)
    kps = np.zeros((4, 6, 2), np.float32)
    kps[0], kps[1], kps[2], kps[3] = 1.0, 2.0, 5.0, 7.0
    scores = np.array([0.9, 0.6, 0.8, 0.7], np.float32)
    out = weighted_nms(boxes, kps, scores, iou_threshold=0.3)
    assert [round(s, 6) for _, _, s in out] == [0.9, 0.8, 0.7]
    box, kp, _ = out[0]  # A (0.9) and B (0.6, IoU 0.82) blend; D (IoU 0.29) stays out
    np.testing.assert_allclose(box, [(0 * 0.9 + 1 * 0.6) / 1.5, 0, (10 * 0.9 + 11 * 0.6) / 1.5, 10], rtol=1e-6)
    np.testing.assert_allclose(kp, (1.0 * 0.9 + 2.0 * 0.6) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(out[1][0], boxes[2])
    np.testing.assert_allclose(out[2][0], boxes[3])
    assert len(weighted_nms(boxes, kps, scores, max_detections=1)) == 1
    assert weighted_nms(boxes[:0], kps[:0], scores[:0]) == []


class _FakeSession:
    """Replays fixed raw outputs (so postprocessing is tested without a model)."""

    def __init__(self, raw_boxes: np.ndarray, raw_scores: np.ndarray):
        self.input_names, self.output_names = ["image"], ["regressors", "classificators"]
        self.outputs = {"regressors": raw_boxes[None], "classificators": raw_scores[None]}
        self.seen: list[np.ndarray] = []

    def run(self, feeds):
        self.seen.append(feeds["image"])
        return self.outputs


def test_detector_maps_a_cluster_back_to_image_pixels():
    a = ssd_anchors()
    cell = [i for i in range(512, 896) if np.allclose(a[i], [4.5 / 8, 4.5 / 8])]
    assert len(cell) == 6
    raw = np.zeros((896, 16), np.float32)
    raw[cell, 2:4] = 25.6  # 0.2 of the input: a 25.6 px box
    raw[cell[1], 0] = 2.0  # one member shifted right by 2 input pixels
    raw[cell, 4:] = np.tile([12.8, 0.0], 6)  # every keypoint 0.1 right of the centre
    logits = np.full((896, 1), -10.0, np.float32)
    logits[cell] = 3.0
    logits[cell[1]] = 1.0
    session = _FakeSession(raw, logits)
    image = np.full((128, 256, 3), 200, np.uint8)  # wide: letterboxed into a 256 px square, 2 px per input px
    dets = FaceDetector(session).detect(image)
    assert len(dets) == 1
    w_hi, w_lo = 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(-1.0))
    shift = 2.0 * w_lo / (5 * w_hi + w_lo)  # the blended centre moves by the weighted share of 2 px
    cx, cy = (72.0 + shift) * 2, 72.0 * 2 - 64  # input px → image px: x·2, y·2 − 64 (the top padding)
    np.testing.assert_allclose(dets[0].box, [cx - 25.6, cy - 25.6, cx + 25.6, cy + 25.6], atol=1e-3)
    np.testing.assert_allclose(dets[0].keypoints, [[(72.0 + 12.8) * 2, cy]] * 6, atol=1e-3)  # not shifted
    assert dets[0].score == pytest.approx(w_hi, rel=1e-6)
    tensor = session.seen[0]
    assert tensor.shape == (1, 128, 128, 3)
    np.testing.assert_allclose(tensor[0, 64, 64], 200 / 255 * 2 - 1, atol=1e-5)
    np.testing.assert_allclose(tensor[0, 5, 64], -1.0)  # zero padding above the image: bottom of [-1, 1]


def test_letterbox_roi_covers_the_long_side():
    roi = letterbox_roi(600, 512)
    assert (roi.cx, roi.cy, roi.size, roi.rotation) == (256.0, 300.0, 600.0, 0.0)


@pytest.mark.parametrize("name", PHOTOS)
def test_detector_finds_the_face_on_real_photos(name):
    dets = FaceDetector(mediapipe_models().detector).detect(photo(name))
    assert len(dets) == 1 and dets[0].score > 0.8
    ref = MEDIAPIPE[name]["landmarks"]
    eyes = np.array([ref[468], ref[473]])  # iris centres (MediaPipe) ≈ the detector's eye keypoints
    size = dets[0].width
    assert np.linalg.norm(dets[0].keypoints[:2] - eyes, axis=1).max() < 0.08 * size
    x0, y0, x1, y1 = dets[0].box
    nose = ref[1]
    assert x0 < nose[0] < x1 and y0 < nose[1] < y1


def test_detector_finds_nothing_without_a_face():
    import skimage.data

    detector = FaceDetector(mediapipe_models().detector)
    assert detector.detect(np.zeros((240, 320, 3), np.uint8)) == []
    assert detector.detect(np.ascontiguousarray(skimage.data.coffee())) == []
    assert C.NUM_ANCHORS == len(ssd_anchors())
