"""ModelSpecs of the MediaPipe face models, rebuilt from their .tflite files as torch modules
(`talkies.models.mediapipe.tflite_import`). The original .tflite (run in ai-edge-litert) is the parity
reference; real face crops are the test vectors and calibration data. Why the tolerances, metrics and
int8 float scopes are what they are: models/mediapipe/MODEL_CARD.md.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from talkies.export.spec import Feeds, ModelFamily, ModelSpec, QuantizationDefaults, TensorSpec, Tolerance
from talkies.types import Precision

FACE_REFERENCE = "original TFLite (ai-edge-litert)"
MEDIAPIPE_LICENCE = "Apache-2.0 (MediaPipe face models, Google LLC)"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def detector_metrics(outputs: Feeds, reference: Feeds) -> dict[str, float]:
    """top_score_error: |Δ| of the best anchor's sigmoid score (the face's confidence), worst sample;
    detection_error_px: mean |Δ| of the 16 box/keypoint values (px at 128) over the anchors the reference
    detects (score ≥ 0.5, else its best anchor) — what weighted NMS blends into the face box and ROI;
    max_score_error: max |Δ sigmoid score| over all 896 anchors (reported, not bounded: an anchor far
    below the 0.5 threshold moving from 0.1 to 0.3 changes no detection)."""
    score = _sigmoid(outputs["classificators"]).reshape(-1, 896)
    ref_score = _sigmoid(reference["classificators"]).reshape(-1, 896)
    regs = np.asarray(outputs["regressors"], np.float64).reshape(-1, 896, 16)
    ref_regs = np.asarray(reference["regressors"], np.float64).reshape(-1, 896, 16)
    errors = []
    for i in range(len(ref_score)):
        hit = ref_score[i] >= 0.5
        if not hit.any():
            hit = ref_score[i] == ref_score[i].max()
        errors.append(np.abs(regs[i, hit] - ref_regs[i, hit]).mean())
    return {"top_score_error": float(np.max(np.abs(score.max(axis=1) - ref_score.max(axis=1)))),
            "detection_error_px": float(np.mean(errors)),
            "max_score_error": float(np.max(np.abs(score - ref_score)))}


def landmark_metrics(outputs: Feeds, reference: Feeds) -> dict[str, float]:
    """mean_landmark_px / max_landmark_px: 2-D distance between landmarks in 256 px crop pixels;
    face_flag_error: |Δ| of the face-presence probability (sigmoid of the flag logit)."""
    points = np.asarray(outputs["landmarks"], np.float64).reshape(-1, 478, 3)[..., :2]
    ref_points = np.asarray(reference["landmarks"], np.float64).reshape(-1, 478, 3)[..., :2]
    distance = np.linalg.norm(points - ref_points, axis=-1)
    flag = np.abs(_sigmoid(outputs["face_flag"]) - _sigmoid(reference["face_flag"]))
    return {"mean_landmark_px": float(distance.mean()), "max_landmark_px": float(distance.max()),
            "face_flag_error": float(flag.max())}


def blendshape_metrics(outputs: Feeds, reference: Feeds) -> dict[str, float]:
    """max_score_error: max |Δ| over the 52 scores; mean_score_error: its mean."""
    diff = np.abs(np.asarray(outputs["scores"], np.float64) - np.asarray(reference["scores"], np.float64))
    return {"max_score_error": float(diff.max()), "mean_score_error": float(diff.mean())}


def _blendshape_labels() -> tuple[str, ...]:
    from talkies.runtime.blendshapes import ARKIT_NAMES

    return ("_neutral", *(n for n in ARKIT_NAMES if n != "tongueOut"))


def _face_spec(name: str, *, description: str, tolerances: dict[Precision, Tolerance], metrics,
               labels: tuple[str, ...] = (), preprocessing: dict | None = None,
               postprocessing: dict | None = None,
               quantization: QuantizationDefaults = QuantizationDefaults()) -> ModelSpec:
    from talkies.models.mediapipe import assets, faces
    from talkies.runtime.face.model_files import face_model_path
    from talkies.models.mediapipe.tflite_import import import_tflite, io_details

    path = face_model_path(name)  # AssetError naming `talkies models fetch` when not cached
    io = io_details(path)

    def build():
        return import_tflite(face_model_path(name))

    def reference(feeds: Feeds) -> Feeds:
        values = faces.reference_runner(name).run(*(feeds[t.name] for t in io.inputs))
        return {t.name: np.asarray(v, np.float32) for t, v in zip(io.outputs, values)}

    return ModelSpec(
        name=name, family=ModelFamily.FACE, description=description,
        inputs=tuple(TensorSpec(t.name, tuple(t.shape), t.dtype) for t in io.inputs),
        outputs=tuple(TensorSpec(t.name, tuple(t.shape), t.dtype) for t in io.outputs),
        build=build, sample_inputs=partial(_crops, name), tolerances=tolerances, reference=reference,
        reference_name=FACE_REFERENCE, metrics=metrics, labels=labels, preprocessing=preprocessing or {},
        postprocessing=postprocessing or {}, licence=MEDIAPIPE_LICENCE,
        source=assets.MODEL_ASSETS[name].source, n_test_vectors=4, n_calibration=32, quantization=quantization)


def _crops(name: str, n: int, seed: int) -> list[Feeds]:
    from talkies.models.mediapipe.faces import face_crops

    return face_crops(name, n, seed)


_FLOAT = {Precision.FP32: Tolerance(rel=1e-4), Precision.FP16: Tolerance(rel=1e-2)}


def face_detector() -> ModelSpec:
    from talkies.runtime.face import constants as C

    return _face_spec(
        "face_detector", description="MediaPipe short-range face detector (BlazeFace, 128x128, 896 SSD anchors)",
        tolerances={**_FLOAT, Precision.INT8: Tolerance(metrics={"top_score_error": 0.05,
                                                                 "detection_error_px": 2.0})},
        metrics=detector_metrics,
        preprocessing={"layout": "NHWC", "size": [C.DETECTOR_INPUT_SIZE] * 2, "range": list(C.DETECTOR_INPUT_RANGE),
                       "fit": "letterbox"},
        postprocessing={"anchors": {"num_layers": C.ANCHOR_NUM_LAYERS, "min_scale": C.ANCHOR_MIN_SCALE,
                                    "max_scale": C.ANCHOR_MAX_SCALE, "offset": [C.ANCHOR_OFFSET_X, C.ANCHOR_OFFSET_Y],
                                    "strides": list(C.ANCHOR_STRIDES), "aspect_ratios": list(C.ANCHOR_ASPECT_RATIOS),
                                    "interpolated_scale_aspect_ratio": C.ANCHOR_INTERPOLATED_SCALE_ASPECT_RATIO,
                                    "fixed_anchor_size": True, "count": C.NUM_ANCHORS},
                        "box_scale": C.DETECTOR_BOX_SCALE, "box_format": "x_center, y_center, w, h, 6 keypoints x,y",
                        "score": "sigmoid", "score_clip": C.DETECTOR_SCORE_CLIP, "min_score": C.DETECTOR_MIN_SCORE,
                        "nms": {"kind": "weighted", "iou": C.DETECTOR_NMS_IOU},
                        "roi": {"rotation_keypoints": list(C.ROI_ROTATION_KEYPOINTS), "scale": C.ROI_SCALE}})


# int8 scopes: what stays float, chosen by per-layer searches (MODEL_CARD.md, "int8"). The patterns name
# exporter nodes (ONNX / OpenVINO) or converter ops (LiteRT), so a change of exporter must redo the search.
LANDMARK_FLOAT_NODES = (r"node_Conv_\d+", r"node_add(_\d+)?", r"node_conv2d_(1|4|7|10)")
# LiteRT: (op type, TFLiteModule layer, layer indices) of the ops kept float, 58 of the 138.
_LITERT_FLOAT_LAYERS = (
    ("CONV_2D", "Padded", (1, 3, 6, 9, 12, 15, 18, 21, 24, 35, 99, 105, 117, 148, 154, 161, 173, 185, 192, 198,
                           204, 210, 213)),
    ("DEPTHWISE_CONV_2D", "Padded", (11, 17, 37, 69, 75, 119, 126, 150, 157, 163, 175, 188, 194, 200, 206, 212)),
    ("ADD", "Binary", (7, 13, 19, 25, 33, 39, 51, 103, 109, 115, 152, 171, 177, 183, 190, 196, 202, 208, 214)),
)
LANDMARK_LITERT_FLOAT_OPS = (r"(?!(CONV_2D|DEPTHWISE_CONV_2D|ADD) ).*", *(
    rf"{op} [^;]*\.{layer}_({'|'.join(map(str, ids))})[/;].*" for op, layer, ids in _LITERT_FLOAT_LAYERS))
LANDMARK_QUANTIZATION = QuantizationDefaults(
    common={"ignored_scope": LANDMARK_FLOAT_NODES},
    per_target={"coreml": {"ignored_scope": ()},  # weights only: no scope to keep
                "onnx": {"onnx_quantizer": "nncf"},  # ORT's quantize_static has no bias correction
                "litert": {"litert_quantizer": "ai_edge_quantizer", "ignored_scope": LANDMARK_LITERT_FLOAT_OPS,
                           "calibration_size": 64}})

BLENDSHAPE_FLOAT_NODES = (r"node_(mean|sub|mul|sum|sqrt|div|view|neg|add|rsqrt|Sqrt|cat|relu)(_\d+)?",
                          "node_conv2d", "node_conv2d_1", "node_conv2d_2", "node_conv2d_6", "node_conv2d_11")
BLENDSHAPE_QUANTIZATION = QuantizationDefaults(common={"ignored_scope": BLENDSHAPE_FLOAT_NODES},
                                               per_target={"coreml": {"ignored_scope": ()}})


def face_landmarks() -> ModelSpec:
    from talkies.runtime.face import constants as C

    return _face_spec(
        "face_landmarks", description="MediaPipe face landmarks (478 points incl. irises, 256x256 crop)",
        tolerances={**_FLOAT, Precision.INT8: Tolerance(metrics={"mean_landmark_px": 1.5})},
        metrics=landmark_metrics, quantization=LANDMARK_QUANTIZATION,
        preprocessing={"layout": "NHWC", "size": [C.LANDMARK_INPUT_SIZE] * 2, "range": list(C.LANDMARK_INPUT_RANGE),
                       "crop": {"rotation_keypoints": list(C.ROI_ROTATION_KEYPOINTS), "scale": C.ROI_SCALE}},
        postprocessing={"landmarks": {"count": C.NUM_LANDMARKS, "layout": "x, y, z", "units": "crop pixels"},
                        "face_flag": "logit (sigmoid → face presence)"})


def face_blendshapes() -> ModelSpec:
    from talkies.runtime.face import constants as C

    return _face_spec(
        "face_blendshapes", description="MediaPipe blend-shape scores (52: _neutral + 51 ARKit) from 146 landmarks",
        tolerances={**_FLOAT, Precision.INT8: Tolerance(max_abs=0.05)},
        metrics=blendshape_metrics, labels=_blendshape_labels(), quantization=BLENDSHAPE_QUANTIZATION,
        preprocessing={"landmark_subset": list(C.BLENDSHAPE_LANDMARK_SUBSET), "coordinates": "x, y in pixels",
                       "scale_invariant": True},
        postprocessing={"scores": "probabilities in [0, 1]", "tongueOut": "not produced"})
