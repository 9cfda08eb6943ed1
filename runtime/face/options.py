"""FaceTracker's options: the running mode, the rest-pose calibration and FaceTrackerOptions."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from talkies.errors import InputError
from talkies.kernels import filters as one_euro
from talkies.runtime.blendshapes import ARKIT_NAMES, NUM_BLENDSHAPES
from talkies.runtime.face.results import FaceTrackerResult
from talkies.types import Backend, Precision, _Choice


class RunningMode(_Choice):
    IMAGE = "image"
    """Independent photos: detect() runs the detector on every call."""
    VIDEO = "video"
    """Decoded video frames with increasing timestamps: detect_for_video() tracks faces."""
    LIVE_STREAM = "live_stream"
    """A live feed: detect_async() returns at once; results arrive through result_callback."""


@dataclass(frozen=True)
class Calibration:
    """Rest-pose offsets: a neutral face's weights are subtracted and the rest of the range rescaled,
    w' = clip((w − rest) / (1 − rest), 0, 1), so a relaxed face reads 0 (the blend-shape model reads
    jawOpen, mouthFunnel, mouthPucker ≈ 0.05–0.15 at rest)."""

    rest: np.ndarray
    """(52,) float32 weights of the neutral face, canonical Blendshape order."""

    MAX_REST = 0.8  # a channel that rests higher than this is left mostly alone

    def __post_init__(self) -> None:
        rest = np.asarray(self.rest, np.float32).reshape(-1)
        if rest.shape != (NUM_BLENDSHAPES,) or not np.isfinite(rest).all():
            raise InputError(f"a calibration needs {NUM_BLENDSHAPES} finite rest weights, got shape {rest.shape}")
        object.__setattr__(self, "rest", np.clip(rest, 0.0, self.MAX_REST))

    @classmethod
    def from_weights(cls, weights: np.ndarray) -> "Calibration":
        """The median of (N, 52) weights of a face at rest."""
        weights = np.asarray(weights, np.float32).reshape(-1, NUM_BLENDSHAPES)
        if not len(weights):
            raise InputError("calibration needs at least one frame with a face")
        return cls(np.median(weights, axis=0))

    def apply(self, weights: np.ndarray) -> np.ndarray:
        weights = np.asarray(weights, np.float32)
        return np.clip((weights - self.rest) / (1.0 - self.rest), 0.0, 1.0).astype(np.float32)

    def as_dict(self) -> dict[str, float]:
        return {name: round(float(v), 6) for name, v in zip(ARKIT_NAMES, self.rest)}


ResultCallback = Callable[[FaceTrackerResult, np.ndarray, int], None]


@dataclass(kw_only=True)
class FaceTrackerOptions:
    running_mode: RunningMode = RunningMode.IMAGE
    num_faces: int = 1
    """Most faces to track at once."""
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    """Below this face-presence score a face counts as lost (and a detection as no face)."""
    backend: Backend = Backend.ONNX
    precision: Precision = Precision.FP32
    bundle_dir: str | os.PathLike | None = None
    """Where the face bundles are (default $TALKIES_HOME/bundles)."""
    threads: int | None = None
    """Threads per model (default: $TALKIES_THREADS or 1)."""
    smoothing: bool = True
    """One-Euro smoothing in VIDEO / LIVE_STREAM modes: of the landmarks (MediaPipe's parameters, in
    face sizes per second) and, separately, of the weights. The weights come from the unsmoothed
    landmarks: smoothing landmarks one coordinate at a time lags them unevenly during fast head motion,
    which distorts the face's shape and so the weights."""
    smoothing_min_cutoff: float = one_euro.MIN_CUTOFF
    smoothing_beta: float = one_euro.BETA
    smoothing_derivate_cutoff: float = one_euro.D_CUTOFF
    weight_smoothing_min_cutoff: float = 1.0
    weight_smoothing_beta: float = 10.0
    weight_smoothing_derivate_cutoff: float = 5.0
    """The weights' One-Euro follows fast changes (beta 10, derivative cutoff 5 Hz): on the shared real
    videos a blink lasts 1-6 frames, and the former beta 0.5 with a 1 Hz derivative cutoff kept a median 73%
    of its peak (34% at worst); these keep 96% (90%) and still halve a still face's weight noise (README,
    Face tracking; benchmarks/blink_smoothing.py)."""
    calibration: Calibration | None = None
    """Rest-pose offsets applied to every face without its own (see FaceTracker.calibrate)."""
    result_callback: ResultCallback | None = None
    """LIVE_STREAM only: called as callback(result, frame, timestamp_ms) from the tracker's thread."""
    redetect_interval: int = 10
    """While fewer than num_faces faces are tracked, run the detector every this many frames."""
    lost_face_memory_s: float = 2.0
    """How long a lost face's id is kept for the same face coming back."""
    output_face_blendshapes: bool = True
    """Run the blend-shape model; False leaves every weight at 0, for callers that need only landmarks
    and pose (the dubber), and saves the model's run on every frame."""

    def __post_init__(self) -> None:
        for name, kind in (("running_mode", RunningMode), ("backend", Backend), ("precision", Precision)):
            try:
                setattr(self, name, kind.parse(getattr(self, name)))
            except InputError as exc:
                raise InputError(f"{name}: {exc}") from None
        if isinstance(self.num_faces, bool) or not isinstance(self.num_faces, int) or self.num_faces < 1:
            raise InputError(f"num_faces must be a positive integer, got {self.num_faces!r}")
        for name in ("min_detection_confidence", "min_presence_confidence"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("smoothing_min_cutoff", "smoothing_derivate_cutoff", "weight_smoothing_min_cutoff",
                     "weight_smoothing_derivate_cutoff"):
            if not float(getattr(self, name)) > 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("smoothing_beta", "weight_smoothing_beta"):
            if not float(getattr(self, name)) >= 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.redetect_interval < 1:
            raise InputError(f"redetect_interval must be >= 1, got {self.redetect_interval!r}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be >= 1, got {self.threads!r}")
        if self.calibration is not None and not isinstance(self.calibration, Calibration):
            self.calibration = Calibration(np.asarray(self.calibration))
        live = self.running_mode is RunningMode.LIVE_STREAM
        if live and self.result_callback is None:
            raise InputError("running_mode LIVE_STREAM needs a result_callback(result, frame, timestamp_ms)")
        if not live and self.result_callback is not None:
            raise InputError("result_callback is only used in LIVE_STREAM mode; remove it or change the mode")


__all__ = ["Calibration", "FaceTrackerOptions", "ResultCallback", "RunningMode"]
