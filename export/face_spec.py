"""The built-in ModelSpecs.

The MediaPipe face models are rebuilt from their .tflite files as torch modules
(`talkies.models.mediapipe.tflite_import`); the original .tflite (run in ai-edge-litert) is the parity
reference, and real face crops are the test vectors and calibration data.

Tolerances (against the original TFLite):
- fp32: rel ≤ 1e-4 on every output; fp16: rel ≤ 1e-2.
- int8 landmarks: mean landmark error ≤ 1.5 px at the 256 px crop (2-D, over all 478 points).
- int8 blend-shapes: max abs ≤ 0.05 on the 52 scores.
- int8 detector: the face's confidence (best anchor's sigmoid score) within 0.05, and mean error ≤ 2 px
  (at the 128 px input; the ROI is expanded 1.5× around it) over the box and keypoint values of the
  anchors the reference detects (score ≥ 0.5; its best anchor when none is), which weighted NMS blends
  into the face box. The max score error over all 896 anchors is reported but not bounded.

Other model families register from their own modules: add the module path to SPEC_MODULES (a module
that is not there yet is skipped, so the registry never breaks on a work in progress).
"""

from __future__ import annotations

import importlib
from functools import partial

import numpy as np

from talkies.export.spec import Feeds, ModelFamily, ModelSpec, TensorSpec, Tolerance, register
from talkies.quantization.config import set_model_defaults
from talkies.types import Precision

#: Modules that register further specs with @register (e.g. the lip-sync model).
SPEC_MODULES: tuple[str, ...] = ("talkies.export.lipsync_spec",)

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
               postprocessing: dict | None = None) -> ModelSpec:
    from talkies.models.mediapipe import assets, faces
    from talkies.models.mediapipe.tflite_import import import_tflite, io_details

    path = assets.face_model_path(name)  # AssetError naming `talkies models fetch` when not cached
    io = io_details(path)

    def build():
        return import_tflite(assets.face_model_path(name))

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
        source=assets.MODEL_ASSETS[name].source, n_test_vectors=4, n_calibration=32)


def _crops(name: str, n: int, seed: int) -> list[Feeds]:
    from talkies.models.mediapipe.faces import face_crops

    return face_crops(name, n, seed)


_FLOAT = {Precision.FP32: Tolerance(rel=1e-4), Precision.FP16: Tolerance(rel=1e-2)}


@register("face_detector", ModelFamily.FACE)
def face_detector() -> ModelSpec:
    from talkies.models.mediapipe import constants as C

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


# The landmark model, all int8, is 1.92 px off on OpenVINO (goal 1.5 px), and barely faster than fp32:
# oneDNN's int8 depthwise convolutions are slower than its fp32 ones (88 vs 55 us at 128x128). Kept float:
# every depthwise convolution (the exporter names them node_Conv_N; the 1x1 and strided ones are
# node_conv2d_N); every residual add, which also lets OpenVINO fuse add + PReLU into the float-output
# convolution before it (an int8 add needs a requantized sum: the 64x64 expansions took as long as fp32);
# the 128x128 stage's four 16->8 projections (conv2d_1/4/7/10: with 8 output channels int8 gains nothing
# and the separate input quantize costs ~70 us each); and the output layers (float_outputs, which keeps
# the 1434-output layer's weights float: the bundle grows from 2.0 to ~4 MiB). Chosen on OpenVINO by
# per-layer profiles and a per-group search (mean px against fp32 on the 4 test vectors / 16 held-out
# crops, int8 and fp32 timed in alternating rounds in one process): 0.90 / 0.77 px and about 1.34x on a
# loaded machine, where the previous scope (adds of the 64x64 and smaller stages in int8) was 1.35 /
# 1.42 px and 1.2x. All adds float with the projections int8 was as fast at 1.20 / 1.22 px; the
# 1434-output layer in int8 gained ~5% for +0.5 px.
LANDMARK_FLOAT_NODES = (r"node_Conv_\d+", r"node_add(_\d+)?", r"node_conv2d_(1|4|7|10)")
set_model_defaults("face_landmarks", ignored_scope=LANDMARK_FLOAT_NODES)
set_model_defaults("face_landmarks", target="coreml", ignored_scope=())
# ONNX Runtime's quantize_static has no bias correction: 2.33 px with this scope as ORT runs it (3.46 px
# with its graph optimisations off, the QDQ graph run literally). NNCF's ONNX backend (fast bias
# correction, as on OpenVINO) gives 1.11 px, and runs at 0.7x fp32 instead of 0.4x: the layers that feed
# float ops (adds, PRelus) run dequantized in ORT either way.
set_model_defaults("face_landmarks", target="onnx", onnx_quantizer="nncf")
# LiteRT: a TFLite int8 convolution must write int8, so every pre-PReLU output and the residual stream
# carry one int8 range each (channel ranges differ up to 77x): all int8 is 3.7-4.2 px (PT2E or
# ai-edge-quantizer), and no scope by op type, bias correction or cross-layer equalization went below
# 2.5 px. So the scope is chosen op by op, on ai-edge-quantizer (it can keep any one TFLite op float):
# each conv/depthwise/add ranked by the error it alone adds, then taken in that order, 8 at a time,
# while the mean error on 16 held-out crops (seed 999; never the test vectors) stays <= 0.9 px. 80 of
# 138 ops are int8: 0.80 px on the test vectors, 0.85 px on 32 fresh crops (seed 777), about 1.1x fp32.
# The ops are named by the TFLiteModule layer they come from (`Padded_N` / `Binary_N` in the converter's
# tensor names); everything but convolutions and adds stays float, and so do the output layers.
_LITERT_FLOAT_LAYERS = (
    ("CONV_2D", "Padded", (1, 3, 6, 9, 12, 15, 18, 21, 24, 35, 99, 105, 117, 148, 154, 161, 173, 185, 192, 198,
                           204, 210, 213)),
    ("DEPTHWISE_CONV_2D", "Padded", (11, 17, 37, 69, 75, 119, 126, 150, 157, 163, 175, 188, 194, 200, 206, 212)),
    ("ADD", "Binary", (7, 13, 19, 25, 33, 39, 51, 103, 109, 115, 152, 171, 177, 183, 190, 196, 202, 208, 214)),
)
LANDMARK_LITERT_FLOAT_OPS = (r"(?!(CONV_2D|DEPTHWISE_CONV_2D|ADD) ).*", *(
    rf"{op} [^;]*\.{layer}_({'|'.join(map(str, ids))})[/;].*" for op, layer, ids in _LITERT_FLOAT_LAYERS))
set_model_defaults("face_landmarks", target="litert", litert_quantizer="ai_edge_quantizer",
                   ignored_scope=LANDMARK_LITERT_FLOAT_OPS, calibration_size=64)

# The blend-shape model (an MLP-Mixer on landmark coordinates) loses up to 0.12-0.27 of a score when all
# of it is int8: its input normalisation, layer norms and residual adds carry a wide range in one int8
# scale. A per-layer search (OpenVINO, quantizing all but one group at a time, on 36 held-out crops) kept
# float: every op but the convolutions, the two input embeddings (conv2d, conv2d_1) and the first two
# token-mixing up-projections (conv2d_2, conv2d_6): max score error 0.12 → 0.02 on the test vectors
# (0.27 → 0.04 held out); the LiteRT PT2E bundle also needed the third token-mixing down-projection
# (conv2d_11) float (0.050 → 0.029). With all of these float the test-vector error is 0.03 on OpenVINO,
# ORT and LiteRT (was 0.12-0.16), and 72% of the weights stay int8. Core ML int8 (weights only) has no
# ignored scope and needs none.
BLENDSHAPE_FLOAT_NODES = (r"node_(mean|sub|mul|sum|sqrt|div|view|neg|add|rsqrt|Sqrt|cat|relu)(_\d+)?",
                          "node_conv2d", "node_conv2d_1", "node_conv2d_2", "node_conv2d_6", "node_conv2d_11")
set_model_defaults("face_blendshapes", ignored_scope=BLENDSHAPE_FLOAT_NODES)
set_model_defaults("face_blendshapes", target="coreml", ignored_scope=())


@register("face_landmarks", ModelFamily.FACE)
def face_landmarks() -> ModelSpec:
    from talkies.models.mediapipe import constants as C

    return _face_spec(
        "face_landmarks", description="MediaPipe face landmarks (478 points incl. irises, 256x256 crop)",
        tolerances={**_FLOAT, Precision.INT8: Tolerance(metrics={"mean_landmark_px": 1.5})},
        metrics=landmark_metrics,
        preprocessing={"layout": "NHWC", "size": [C.LANDMARK_INPUT_SIZE] * 2, "range": list(C.LANDMARK_INPUT_RANGE),
                       "crop": {"rotation_keypoints": list(C.ROI_ROTATION_KEYPOINTS), "scale": C.ROI_SCALE}},
        postprocessing={"landmarks": {"count": C.NUM_LANDMARKS, "layout": "x, y, z", "units": "crop pixels"},
                        "face_flag": "logit (sigmoid → face presence)"})


@register("face_blendshapes", ModelFamily.FACE)
def face_blendshapes() -> ModelSpec:
    from talkies.models.mediapipe import constants as C

    return _face_spec(
        "face_blendshapes", description="MediaPipe blend-shape scores (52: _neutral + 51 ARKit) from 146 landmarks",
        tolerances={**_FLOAT, Precision.INT8: Tolerance(max_abs=0.05)},
        metrics=blendshape_metrics, labels=_blendshape_labels(),
        preprocessing={"landmark_subset": list(C.BLENDSHAPE_LANDMARK_SUBSET), "coordinates": "x, y in pixels",
                       "scale_invariant": True},
        postprocessing={"scores": "probabilities in [0, 1]", "tongueOut": "not produced"})


def _load_extra_modules() -> None:
    for module in SPEC_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


_load_extra_modules()
