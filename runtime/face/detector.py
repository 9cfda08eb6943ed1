"""BlazeFace short-range face detector: SSD anchors, box/keypoint decoding, weighted NMS.

The numbers are MediaPipe's (DESIGN.md, `talkies.runtime.face.constants`): a 128×128 letterboxed
input in [-1, 1], 896 anchors with a fixed size of 1, raw boxes x, y, w, h and 6 keypoints scaled by
128, sigmoid scores clipped at ±100, a minimum score of 0.5, then weighted NMS at IoU 0.3 that blends
the boxes and keypoints of each cluster by score. Results come back in image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from talkies.runtime.face import constants as C
from talkies.runtime.face.sessions import output_names
from talkies.runtime.face.roi import Roi, apply_matrix, crop
from talkies.runtime.session import InferenceSession

KEYPOINT_NAMES = ("left_eye", "right_eye", "nose_tip", "mouth", "left_ear_tragion", "right_ear_tragion")
"""The detector's 6 keypoints. "left"/"right" are from the viewer's side, as MediaPipe names them."""


@dataclass(frozen=True)
class FaceDetection:
    """One detected face in image pixels."""

    box: np.ndarray
    """(4,) float32 xmin, ymin, xmax, ymax."""
    keypoints: np.ndarray
    """(6, 2) float32 x, y of KEYPOINT_NAMES."""
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    def rescaled(self, scale: tuple[float, float]) -> FaceDetection:
        """The same face in the pixels of an image `scale` (x, y) times larger."""
        xy = np.array(scale, np.float32)
        return FaceDetection(self.box * np.tile(xy, 2), self.keypoints * xy, self.score)

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def center(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2], np.float32)


@lru_cache(maxsize=1)
def ssd_anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1] (x, y); every anchor has width = height = 1 (fixed size).

    MediaPipe's SsdAnchorsCalculator: layers that share a stride are generated together; each layer
    contributes one anchor per aspect ratio (1.0) plus one interpolated anchor, per grid cell.
    """
    strides = C.ANCHOR_STRIDES
    per_aspect = len(C.ANCHOR_ASPECT_RATIOS) + (1 if C.ANCHOR_INTERPOLATED_SCALE_ASPECT_RATIO > 0 else 0)
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
        per_cell = (last - layer) * per_aspect
        side = int(np.ceil(C.DETECTOR_INPUT_SIZE / strides[layer]))
        ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        grid = np.stack([(xs + C.ANCHOR_OFFSET_X) / side, (ys + C.ANCHOR_OFFSET_Y) / side], axis=-1)
        centres.append(np.repeat(grid.reshape(-1, 2), per_cell, axis=0))
        layer = last
    anchors = np.concatenate(centres).astype(np.float32)
    assert len(anchors) == C.NUM_ANCHORS, len(anchors)
    return anchors


def decode_boxes(raw: np.ndarray, anchors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw regressors (N, 16) → boxes (N, 4) xmin, ymin, xmax, ymax and keypoints (N, 6, 2), both in
    [0, 1] of the 128×128 input. Anchors have a fixed size of 1, so offsets scale by 1/128 only."""
    anchors = ssd_anchors() if anchors is None else anchors
    raw = np.asarray(raw, np.float32).reshape(len(anchors), -1)
    scale = np.float32(C.DETECTOR_BOX_SCALE)
    centre = raw[:, 0:2] / scale + anchors
    size = raw[:, 2:4] / scale
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    n_kp = C.DETECTOR_NUM_KEYPOINTS
    keypoints = raw[:, 4:4 + 2 * n_kp].reshape(-1, n_kp, 2) / scale + anchors[:, None, :]
    return boxes.astype(np.float32), keypoints.astype(np.float32)


def decode_scores(raw: np.ndarray, clip: float = C.DETECTOR_SCORE_CLIP) -> np.ndarray:
    """Raw classificator logits (N, 1) → sigmoid scores (N,), logits clipped to ±clip first."""
    logits = np.clip(np.asarray(raw, np.float64).reshape(-1), -clip, clip)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xmin, ymin, xmax, ymax box with each of `boxes` (0 if disjoint)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    w = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    h = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(inter > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, *,
                 iou_threshold: float = C.DETECTOR_NMS_IOU, max_detections: int | None = None
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-max suppression.

    Take the best remaining detection; every remaining detection with IoU > `iou_threshold` against it
    (itself included) forms its cluster; the output keeps the best score and the score-weighted mean of
    the cluster's boxes and keypoints. Returns (box, keypoints, score) best first.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    remaining = order
    out: list[tuple[np.ndarray, np.ndarray, float]] = []
    while remaining.size and (max_detections is None or len(out) < max_detections):
        best = remaining[0]
        overlap = iou(boxes[best], boxes[remaining])
        cluster = remaining[overlap > iou_threshold]
        if cluster.size == 0:  # a degenerate (zero-area) box overlaps nothing, not even itself
            cluster = remaining[:1]
        w = scores[cluster].astype(np.float64)
        total = w.sum()
        box = (boxes[cluster] * w[:, None]).sum(0) / total
        kps = (keypoints[cluster] * w[:, None, None]).sum(0) / total
        out.append((box.astype(np.float32), kps.astype(np.float32), float(scores[best])))
        remaining = remaining[~np.isin(remaining, cluster)]
    return out


def letterbox_roi(height: int, width: int) -> Roi:
    """The square, unrotated ROI that letterboxes the whole image (MediaPipe's keep_aspect_ratio)."""
    side = float(max(width, height))
    return Roi(cx=width / 2.0, cy=height / 2.0, size=side, rotation=0.0)


class FaceDetector:
    """Runs the detector model on RGB uint8 images and returns FaceDetections in image pixels."""

    def __init__(self, session: InferenceSession, *, min_score: float = C.DETECTOR_MIN_SCORE,
                 iou_threshold: float = C.DETECTOR_NMS_IOU, max_faces: int | None = None):
        self.session = session
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.max_faces = max_faces
        self._input = session.input_names[0]
        self._outputs = output_names(session, "face_detector")

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The [1, 128, 128, 3] tensor in [-1, 1] (zero-padded letterbox) and the tensor→image matrix."""
        roi = letterbox_roi(*image.shape[:2])
        tensor, matrix = crop(image, roi, C.DETECTOR_INPUT_SIZE, value_range=C.DETECTOR_INPUT_RANGE,
                              border="zero")
        return tensor[None], matrix

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        tensor, matrix = self.preprocess(image)
        result = self.session.run({self._input: tensor})
        raw_boxes, raw_scores = (result[name] for name in self._outputs)
        return self.postprocess(raw_boxes, raw_scores, matrix)

    def postprocess(self, raw_boxes: np.ndarray, raw_scores: np.ndarray, matrix: np.ndarray
                    ) -> list[FaceDetection]:
        """Decode, threshold, NMS, then map from the 128×128 tensor to image pixels with `matrix`."""
        scores = decode_scores(raw_scores)
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        boxes, keypoints = decode_boxes(raw_boxes)
        boxes, keypoints, scores = boxes[keep], keypoints[keep], scores[keep]
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, keypoints, scores = boxes[valid], keypoints[valid], scores[valid]
        size = float(C.DETECTOR_INPUT_SIZE)
        out = []
        for box, kps, score in weighted_nms(boxes, keypoints, scores, iou_threshold=self.iou_threshold,
                                            max_detections=self.max_faces):
            corners = apply_matrix(matrix, box.reshape(2, 2) * size)  # rotation is 0: corners stay ordered
            out.append(FaceDetection(box=corners.reshape(4), keypoints=apply_matrix(matrix, kps * size),
                                     score=score))
        return out
