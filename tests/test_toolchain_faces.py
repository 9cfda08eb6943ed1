"""The real MediaPipe face models through the toolchain: fp32 bundles for onnx, openvino and litert match
the original TFLite within rel 1e-4 on real face crops. The full 12-bundles-per-model export (fp16,
int8, Core ML) belongs to `talkies bench` (benchmarks/harness/), not to every test run."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.errors import AssetError
from talkies.export.face_spec import blendshape_metrics, detector_metrics, landmark_metrics
from talkies.export.registry import get_spec
from talkies.tests.helpers.toolchain import exported_fp32
from talkies.types import Precision

FACE_MODELS = ("face_detector", "face_landmarks", "face_blendshapes")


def face_spec(name: str):
    try:
        return get_spec(name)
    except AssetError as exc:
        pytest.skip(f"face models not cached ({exc})")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["onnx", "openvino", "litert"])
@pytest.mark.parametrize("name", FACE_MODELS)
def test_face_model_fp32_parity_against_tflite(tmp_path, name, target):
    spec = face_spec(name)
    m = exported_fp32(spec, target, tmp_path, "original TFLite (ai-edge-litert)")
    assert [t.name for t in m.outputs] == [t.name for t in spec.outputs] or target == "litert"
    assert {t.name for t in m.outputs} == {t.name for t in spec.outputs}


@pytest.mark.slow
def test_litert_int8_landmarks_keep_the_chosen_ops_float_and_pass_parity(tmp_path):
    """The LiteRT int8 landmark bundle goes through ai-edge-quantizer with the per-op scope of
    export/face_spec.py: its patterns still name the converter's ops (80 of the 138 convolutions and adds
    int8), the I/O is float, and the bundle meets the 1.5 px parity tolerance."""
    from talkies.export.face_spec import LANDMARK_LITERT_FLOAT_OPS
    from talkies.runtime.bundle import Bundle
    from talkies.targets.bundle_writer import export_bundle
    from talkies.targets.litert import _int8_ops

    spec = face_spec("face_landmarks")
    with Bundle(export_bundle(spec, "litert", "int8", tmp_path / "b")) as bundle:
        m = bundle.manifest
        counts = _int8_ops(bundle.root / m.model_file)
    assert m.parity.passed and m.parity.metrics["mean_landmark_px"] <= 1.5
    assert counts == {"ADD": 15, "CONV_2D": 47, "DEPTHWISE_CONV_2D": 18}
    assert all(t.dtype == "float32" for t in [*m.inputs, *m.outputs])
    recipe = m.runtime_hints["quantization"]
    assert recipe["litert_quantizer"] == "ai_edge_quantizer" and recipe["ignored_scope"] == list(LANDMARK_LITERT_FLOAT_OPS)


def test_face_specs_describe_the_models():
    det, lm, bs = (face_spec(n) for n in FACE_MODELS)
    assert [t.shape for t in det.inputs] == [(1, 128, 128, 3)]
    assert {t.name: t.shape for t in det.outputs} == {"regressors": (1, 896, 16), "classificators": (1, 896, 1)}
    assert [t.name for t in lm.outputs] == ["landmarks", "face_flag", "tongue"]
    assert [t.shape for t in bs.inputs] == [(1, 146, 2)]
    assert len(bs.labels) == 52 and bs.labels[0] == "_neutral" and "tongueOut" not in bs.labels
    assert lm.tolerances[Precision.INT8].metrics == {"mean_landmark_px": 1.5}
    assert bs.tolerances[Precision.INT8].max_abs == 0.05
    for spec in (det, lm, bs):
        assert spec.tolerances[Precision.FP32].rel == 1e-4 and spec.tolerances[Precision.FP16].rel == 1e-2
        assert "Apache-2.0" in spec.licence


def test_face_test_vectors_are_real_faces():
    det = face_spec("face_detector")
    sample = det.test_inputs()[0]
    out = det.reference(sample)
    scores = 1 / (1 + np.exp(-np.clip(out["classificators"].astype(np.float64), -100, 100)))
    assert scores.max() > 0.5  # the reference detector finds the face in the first (un-augmented) crop
    assert det.calibration_inputs(2)[0]["image"].shape == (1, 128, 128, 3)


# --- metrics (no model needed) -------------------------------------------------------------------


def test_landmark_metric_is_2d_pixel_distance():
    ref = {"landmarks": np.zeros((2, 1, 1, 1, 1434), np.float32), "face_flag": np.zeros((2, 1, 1, 1, 1))}
    out = {k: v.copy() for k, v in ref.items()}
    out["landmarks"].reshape(2, 478, 3)[..., 0] += 3.0  # x off by 3 px
    out["landmarks"].reshape(2, 478, 3)[..., 1] += 4.0  # y off by 4 px
    out["landmarks"].reshape(2, 478, 3)[..., 2] += 100.0  # z is not part of the 2-D error
    m = landmark_metrics(out, ref)
    assert m["mean_landmark_px"] == pytest.approx(5.0) and m["max_landmark_px"] == pytest.approx(5.0)
    assert m["face_flag_error"] == 0.0


def test_detector_metrics_look_at_detected_anchors():
    regs = np.zeros((1, 1, 896, 16), np.float32)
    cls = np.full((1, 1, 896, 1), -10.0, np.float32)
    cls[0, 0, 5] = 5.0  # one confident anchor
    ref = {"regressors": regs, "classificators": cls}
    out = {"regressors": regs.copy(), "classificators": cls.copy()}
    out["regressors"][0, 0, 5] += 2.0  # that anchor's box and keypoints off by 2 px
    out["regressors"][0, 0, 7] += 50.0  # an undetected anchor does not count
    m = detector_metrics(out, ref)
    assert m["detection_error_px"] == pytest.approx(2.0) and m["max_score_error"] == 0.0
    out["classificators"][0, 0, 9] = 0.0  # an anchor rising from ~0 to 0.5: max error, not the face's score
    m = detector_metrics(out, ref)
    assert m["max_score_error"] == pytest.approx(0.5, abs=1e-4) and m["top_score_error"] == 0.0


def test_blendshape_metrics():
    ref = {"scores": np.linspace(0, 1, 52, dtype=np.float32)[None]}
    out = {"scores": ref["scores"] + 0.01}
    assert blendshape_metrics(out, ref)["max_score_error"] == pytest.approx(0.01, abs=1e-6)
