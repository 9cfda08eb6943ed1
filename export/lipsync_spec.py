"""ModelSpecs of the lip-sync network: `lipsync` (offline windows) and `lipsync_stream` (one 10 ms hop
plus per-layer caches). Test vectors and int8 calibration use synthesized, augmented espeak-ng speech
(never the real validation recordings)."""

from __future__ import annotations

import numpy as np

from talkies.export.spec import Feeds, ModelFamily, ModelSpec, QuantizationDefaults, TensorSpec, Tolerance
from talkies.runtime.bundle import shipped_lipsync_weights, weights_source
from talkies.types import Precision

# Output frames per offline call: 16 s. The 66 frames of context and lookahead cost 4% on top (8% at 8 s),
# and ONNX Runtime's time per frame also falls a little with longer calls: 1339x real time at 16 s against
# 1261x at 8 s for the model alone (scratch, 1 thread, same run). A short clip pays for a whole window.
WINDOW_FRAMES = 1600
CONTEXT_FRAMES = 60  # ≥ RECEPTIVE_FIELD_LEFT (9600 samples) in whole hops (tested)
LOOKAHEAD_FRAMES = 6  # ≥ LOOKAHEAD_SAMPLES (960) in whole hops (tested)
HOP = 160
WINDOW_SAMPLES = (CONTEXT_FRAMES + WINDOW_FRAMES + LOOKAHEAD_FRAMES) * HOP
LICENCE = ("Apache-2.0 (talkies lip-sync model, trained on speech synthesized with espeak-ng, Festival and flite, "
           "and on the recordings shipped with Festival's Russian voice msu_ru_nsh)")


# int8 keeps the audio front end, the first layer and the residual sums float, with percentile ranges
# (OpenVINO and ONNX Runtime: NNCF's min-max): why, and the figures, in models/lipsync/MODEL_CARD.md
# (Architecture). Each target's recipe is the one whose offline bundle flips the fewest test-vector visemes.
RESIDUAL_SUMS = (r"node_add_\d+",)
QUANTIZATION = QuantizationDefaults(
    common={"float_modules": ("frontend", "inp"), "ignored_scope": RESIDUAL_SUMS, "calibration_method": "percentile"},
    # PT2E leaves adds float by itself and has no percentile; Core ML int8 is weights only. Run N's weights:
    # LiteRT flips 0.94% with 64 calibration windows, 0.66% with 256, 0.44% with 512
    per_target={"litert": {"ignored_scope": (), "calibration_method": "histogram", "calibration_size": 512},
                # NNCF on these weights: min-max ranges flip fewer test-vector visemes than percentiles
                # (offline 0.51% vs 0.63%; streaming weights max error 0.022 vs 0.032; model card)
                "openvino": {"calibration_method": "minmax"},
                # run N's weights: ORT's quantizer 0.94% (percentile), NNCF percentile 0.50%, NNCF min-max 0.35%
                "onnx": {"onnx_quantizer": "nncf", "calibration_method": "minmax"},
                "coreml": {"float_modules": (), "ignored_scope": (), "calibration_method": "minmax"}})


TIE_MARGIN = 0.05  # a reference frame whose top two visemes are closer than this has no clear decision


def _source() -> str:
    """The shipped weights' source tag, read when the spec is built (training may have replaced them)."""
    return weights_source(shipped_lipsync_weights())


def viseme_metrics(outputs: Feeds, reference: Feeds) -> dict[str, float]:
    """viseme_disagreement: share of the reference's clear frames (top viseme ahead of the next by at least
    TIE_MARGIN) whose argmax viseme differs; max_weight_error: max |Δ| of the ARKit mouth weights."""
    vis = np.asarray(outputs["visemes"]).reshape(-1, 15)
    ref = np.asarray(reference["visemes"]).reshape(-1, 15)
    top2 = np.sort(ref, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] >= TIE_MARGIN
    flips = vis.argmax(1) != ref.argmax(1)
    weights = np.abs(np.asarray(outputs["blendshapes"], np.float64) - np.asarray(reference["blendshapes"]))
    return {"viseme_disagreement": float(np.mean(flips[clear])) if clear.any() else 0.0,
            "max_weight_error": float(weights.max())}


TOLERANCES = {
    Precision.FP32: Tolerance(rel=1e-4),
    Precision.FP16: Tolerance(rel=1e-2),
    Precision.INT8: Tolerance(metrics={"viseme_disagreement": 0.15, "max_weight_error": 0.35}),
}


def _speech(n_samples: int, seed: int) -> np.ndarray:
    """At least `n_samples` of augmented synthetic speech (float32), deterministic in `seed`."""
    from talkies.models.lipsync.augment import augment
    from talkies.models.lipsync.data import build_corpus

    pcm, _ = build_corpus(max(4, n_samples // 24000 + 1), seed=100_000 + seed)
    audio = pcm.astype(np.float32) / 32768.0
    while len(audio) < n_samples:
        audio = np.concatenate([audio, audio])
    rng = np.random.default_rng(seed)
    return augment(audio[:n_samples], rng)


def window_inputs(n: int, seed: int) -> list[Feeds]:
    audio = _speech(n * WINDOW_SAMPLES // 2 + WINDOW_SAMPLES, seed)
    step = WINDOW_SAMPLES // 2
    return [{"audio": audio[i * step:i * step + WINDOW_SAMPLES][None].copy()} for i in range(n)]


def _build_offline():
    from talkies.models.lipsync.model import load_model

    return load_model()


def _build_stream():
    from talkies.models.lipsync.model import load_model
    from talkies.models.lipsync.streaming import LipSyncStreamNet

    return LipSyncStreamNet(load_model()).eval()


def stream_inputs(n: int, seed: int) -> list[Feeds]:
    """Hops of real(istic) speech with the caches the stream model holds at that point."""
    import torch

    from talkies.models.lipsync.streaming import AUDIO_HISTORY

    module = _build_stream()
    names = [name for name, _ in module.cache_shapes()]
    audio = np.concatenate([np.zeros(AUDIO_HISTORY, np.float32), _speech((n * 7 + 70) * HOP, seed)])
    caches = [torch.from_numpy(c) for c in module.initial_caches()]
    feeds: list[Feeds] = []
    with torch.no_grad():
        for h in range(n * 7 + 70):
            window = torch.from_numpy(audio[h * HOP:h * HOP + AUDIO_HISTORY + HOP][None].copy())
            if h >= 70 and (h - 70) % 7 == 0:
                feeds.append({"audio": window.numpy(), **{k: c.numpy().copy() for k, c in zip(names, caches)}})
            caches = list(module(window, *caches)[2:])
    return feeds[:n]


def _n_visemes_and_weights() -> tuple[int, int]:
    from talkies.runtime.visemes import ARKIT_MOUTH, VISEMES

    return len(VISEMES), len(ARKIT_MOUTH)


def _labels() -> tuple[str, ...]:
    from talkies.runtime.visemes import ARKIT_MOUTH, VISEMES

    return (*VISEMES, *ARKIT_MOUTH)


def lipsync_spec() -> ModelSpec:
    n_vis, n_w = _n_visemes_and_weights()
    return ModelSpec(
        name="lipsync", family=ModelFamily.LIPSYNC,
        description="audio (16 kHz mono PCM window) → 15 OVR viseme probabilities + ARKit mouth weights at 100 fps",
        inputs=(TensorSpec("audio", (1, WINDOW_SAMPLES)),),
        outputs=(TensorSpec("visemes", (1, WINDOW_SAMPLES // HOP, n_vis)),
                 TensorSpec("blendshapes", (1, WINDOW_SAMPLES // HOP, n_w))),
        build=_build_offline, sample_inputs=window_inputs, tolerances=TOLERANCES, metrics=viseme_metrics,
        labels=_labels(),
        preprocessing={"sample_rate": 16000, "channels": 1, "range": [-1.0, 1.0], "hop": HOP,
                       "context_frames": CONTEXT_FRAMES, "window_frames": WINDOW_FRAMES,
                       "lookahead_frames": LOOKAHEAD_FRAMES},
        postprocessing={"fps": 100, "keep_frames": [CONTEXT_FRAMES, CONTEXT_FRAMES + WINDOW_FRAMES]},
        licence=LICENCE, source=_source(), n_test_vectors=2, n_calibration=24, quantization=QUANTIZATION)


def lipsync_stream_spec() -> ModelSpec:
    from talkies.models.lipsync.model import LipSyncNet
    from talkies.models.lipsync.streaming import PREFIX_SAMPLES, WINDOW_SAMPLES as STREAM_WINDOW, LipSyncStreamNet

    n_vis, n_w = _n_visemes_and_weights()
    stream = LipSyncStreamNet(LipSyncNet())
    caches, delay = stream.cache_shapes(), stream.delay_frames
    return ModelSpec(
        name="lipsync_stream", family=ModelFamily.LIPSYNC,
        description="streaming lip-sync: the last 20 ms (one new 10 ms hop) + per-layer caches → one frame (delayed) + new caches",
        inputs=(TensorSpec("audio", (1, STREAM_WINDOW)), *(TensorSpec(n, s) for n, s in caches)),
        outputs=(TensorSpec("visemes", (1, 1, n_vis)), TensorSpec("blendshapes", (1, 1, n_w)),
                 *(TensorSpec(f"new_{n}", s) for n, s in caches)),
        build=_build_stream, sample_inputs=stream_inputs, tolerances=TOLERANCES, metrics=viseme_metrics,
        labels=_labels(),
        preprocessing={"sample_rate": 16000, "hop": HOP, "prefix_samples": PREFIX_SAMPLES,
                       "prime_hops": CONTEXT_FRAMES},
        postprocessing={"fps": 100, "delay_frames": delay},
        # 256 single hops, not 64: fewer int8 viseme flips (MODEL_CARD.md, Validation on real speech)
        licence=LICENCE, source=_source(), n_test_vectors=12, n_calibration=256, quantization=QUANTIZATION)
