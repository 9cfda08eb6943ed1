"""The LipSync task (MediaPipe style): audio → 15 OVR viseme probabilities and 52 ARKit weights at
100 frames/s, as a FaceMotion.

Two running modes share one post-processing path:
- AUDIO_CLIPS: a whole file or array, decoded as a stream and run in the bundle's fixed windows (16 s in
  the shipped one; bounded memory).
- AUDIO_STREAM: push 16 kHz chunks (10–100 ms); the streaming model runs once per 10 ms hop with
  per-layer caches. Frame i (time 10·i ms) is returned once audio up to 10·i + `latency_ms` has been
  pushed: a fixed latency of 60 ms (the network's lookahead, from the bundle's ``delay_frames``).

Both modes see the same zero-audio history before the first sample, so they agree to float precision.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from talkies.errors import BundleError, InputError
from talkies.kernels.filters import OneEuroFilter
from talkies.log import get_logger, make_progress
from talkies.runtime import media
from talkies.runtime.blendshapes import NUM_BLENDSHAPES, NUM_VISEMES, VISEME_NAMES, Blendshape
from talkies.runtime.bundle import Bundle, default_bundle_dir, export_command, locate_bundle, search_path, \
    shipped_lipsync_weights, weights_source
from talkies.runtime.motion import FaceMotion
from talkies.runtime.session import InferenceSession, default_threads, session_for
from talkies.types import Backend, Precision

log = get_logger(__name__)

SAMPLE_RATE = 16000
HOP = 160
FPS = 100
SILENCE_RMS = 1e-4  # frames quieter than this (digital silence) are forced to `sil`

EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"mouthSmileLeft": 0.45, "mouthSmileRight": 0.45, "cheekSquintLeft": 0.25, "cheekSquintRight": 0.25,
              "eyeSquintLeft": 0.15, "eyeSquintRight": 0.15},
    "sad": {"mouthFrownLeft": 0.45, "mouthFrownRight": 0.45, "browInnerUp": 0.5, "browDownLeft": 0.1,
            "browDownRight": 0.1, "mouthShrugLower": 0.2},
    "surprised": {"browInnerUp": 0.6, "browOuterUpLeft": 0.5, "browOuterUpRight": 0.5, "eyeWideLeft": 0.4,
                  "eyeWideRight": 0.4, "jawOpen": 0.08},
}


class RunningMode(str, Enum):
    AUDIO_CLIPS = "audio_clips"
    AUDIO_STREAM = "audio_stream"


@dataclass(kw_only=True)
class LipSyncOptions:
    running_mode: RunningMode = RunningMode.AUDIO_CLIPS
    backend: Backend | str = Backend.ONNX
    precision: Precision | str = Precision.FP32
    bundle_dir: str | os.PathLike | None = None
    """Extra folder searched first for `lipsync-<backend>-<precision>` bundles."""
    intensity: float = 1.0
    """Scales the mouth motion: 0 = still, 1 = as predicted, 2 = exaggerated."""
    expression: str = "neutral"
    smoothing: bool = True
    """Coarticulation smoothing: a One-Euro filter on the weights (causal; adds no latency at speed)."""
    min_cutoff: float = 2.0
    beta: float = 0.5
    threads: int | None = None
    result_callback: Callable[["LipSyncResult"], None] | None = None
    """AUDIO_STREAM only: called with each non-empty result of `push`."""

    def __post_init__(self) -> None:
        self.running_mode = RunningMode(self.running_mode)
        self.backend = Backend.parse(self.backend)
        self.precision = Precision.parse(self.precision)
        if not 0.0 <= self.intensity <= 2.0:
            raise InputError(f"intensity must be in [0, 2], got {self.intensity}")
        if self.expression not in EXPRESSIONS:
            raise InputError(f"unknown expression {self.expression!r}; valid: {', '.join(EXPRESSIONS)}")
        if self.result_callback is not None and self.running_mode is not RunningMode.AUDIO_STREAM:
            raise InputError("result_callback needs running_mode=AUDIO_STREAM")


@dataclass
class LipSyncResult:
    """Frames at 100 fps: frame k is at `timestamps[k]` seconds."""

    timestamps: np.ndarray
    visemes: np.ndarray  # (T, 15)
    weights: np.ndarray  # (T, 52)
    raw_weights: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, NUM_BLENDSHAPES), np.float32))

    def __len__(self) -> int:
        return len(self.timestamps)

    def to_motion(self) -> FaceMotion:
        return FaceMotion(self.timestamps, self.weights, visemes=self.visemes, fps=float(FPS))


def _open(model: str, options: LipSyncOptions) -> tuple[Bundle, InferenceSession]:
    search = search_path(options.bundle_dir)
    target, precision = options.backend.value, options.precision.value
    path = locate_bundle(model, target, precision, search, source=weights_source(shipped_lipsync_weights()))
    if path is None:
        raise BundleError(
            f"no {model}-{target}-{precision} bundle in {', '.join(str(s) for s in search)}; build it with "
            f"`{export_command('lipsync', target, precision, default_bundle_dir())}`")
    bundle = Bundle(path)
    return bundle, session_for(bundle, threads=options.threads or default_threads())


class _PostProcess:
    """Shared by both modes, strictly causal, so offline and streaming give the same frames."""

    def __init__(self, options: LipSyncOptions, mouth_names: list[str]):
        self.options = options
        self.columns = np.array([Blendshape[n].value for n in mouth_names])
        self.offsets = np.zeros(NUM_BLENDSHAPES, np.float32)
        for name, value in EXPRESSIONS[options.expression].items():
            self.offsets[Blendshape[name].value] = value
        self.filter = (OneEuroFilter(min_cutoff=options.min_cutoff, beta=options.beta, d_cutoff=1.0)
                       if options.smoothing else None)
        self.frame = 0

    def __call__(self, visemes: np.ndarray, mouth: np.ndarray, rms: np.ndarray) -> LipSyncResult:
        n = len(visemes)
        visemes = visemes.astype(np.float32, copy=True)
        silent = rms < SILENCE_RMS
        visemes[silent] = 0.0
        visemes[silent, VISEME_NAMES.index("sil")] = 1.0
        mouth = mouth.astype(np.float32, copy=True)
        mouth[silent] = 0.0
        times = (self.frame + np.arange(n)) / FPS
        self.frame += n
        if self.filter is not None and n:
            mouth = self.filter.step_many(mouth, times)
        raw = np.zeros((n, NUM_BLENDSHAPES), np.float32)
        raw[:, self.columns] = mouth
        weights = np.clip(raw * self.options.intensity + self.offsets, 0.0, 1.0)
        return LipSyncResult(times, visemes, weights.astype(np.float32), raw)


def _frame_rms(samples: np.ndarray) -> np.ndarray:
    """RMS of each 10 ms hop (zero-padded to whole hops)."""
    n = int(np.ceil(len(samples) / HOP))
    whole = len(samples) // HOP
    hops = np.asarray(samples[:whole * HOP], np.float32).reshape(whole, HOP)
    energy = np.einsum("ij,ij->i", hops, hops)  # no squared temporary
    if n > whole:
        tail = np.asarray(samples[whole * HOP:], np.float32)
        energy = np.append(energy, np.dot(tail, tail))
    return np.sqrt(energy / HOP)


def _concat(results: list[LipSyncResult]) -> LipSyncResult:
    if not results:
        return LipSyncResult(np.zeros(0), np.zeros((0, NUM_VISEMES), np.float32), np.zeros((0, NUM_BLENDSHAPES), np.float32))
    return LipSyncResult(*(np.concatenate([getattr(r, f) for r in results]) for f in
                           ("timestamps", "visemes", "weights", "raw_weights")))


class LipSync:
    """Audio → visemes and ARKit mouth weights. Use as a context manager or call close()."""

    def __init__(self, options: LipSyncOptions | None = None):
        self.options = options or LipSyncOptions()
        stream = self.options.running_mode is RunningMode.AUDIO_STREAM
        self._bundle, self.session = _open("lipsync_stream" if stream else "lipsync", self.options)
        manifest = self._bundle.manifest
        self.mouth_names = list(manifest.labels[NUM_VISEMES:])
        pre = manifest.preprocessing
        if stream:
            self._init_stream(pre, manifest.postprocessing)
        else:
            self.context = int(pre["context_frames"]) * HOP
            self.window = int(pre["window_frames"]) * HOP
            self.total = manifest.inputs[0].shape[-1]
        self.latency_ms = 1000 * (self._delay + 1) * HOP // SAMPLE_RATE if stream else None

    @classmethod
    def create_from_options(cls, **kwargs) -> "LipSync":
        return cls(LipSyncOptions(**kwargs))

    def close(self) -> None:
        self._bundle.close()

    def __enter__(self) -> "LipSync":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- AUDIO_CLIPS ----------------------------------------------------------------------------
    def process(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> FaceMotion:
        """A whole clip given as an array (mono, or (N, channels); float, or int16/int32 PCM), any rate."""
        self._require(RunningMode.AUDIO_CLIPS)
        audio = as_mono_float(audio)
        if sample_rate != SAMPLE_RATE:
            audio = _resample(audio, sample_rate)
        return self._run_clip([audio], len(audio) / SAMPLE_RATE).to_motion()

    def process_file(self, path: str | os.PathLike) -> FaceMotion:
        """Any audio or video file PyAV reads, decoded as a stream (an hour uses bounded memory)."""
        return _concat(list(self._file_results(path))).to_motion()

    def stream_file(self, path: str | os.PathLike) -> Iterator[FaceMotion]:
        """process_file in pieces, in order, one model window (16 s) each, made as the file decodes: a
        streaming writer (``write_curves``) never holds the whole take."""
        return (result.to_motion() for result in self._file_results(path))

    def _file_results(self, path: str | os.PathLike) -> Iterator[LipSyncResult]:
        self._require(RunningMode.AUDIO_CLIPS)
        info = media.audio_info(path)  # a missing or unreadable file fails here, before any output
        return self._clip_results(media.iter_audio(path, sample_rate=SAMPLE_RATE, block=self.window),
                                  info.duration, name=Path(path).name)

    def _run_clip(self, blocks: Iterable[np.ndarray], duration: float | None, name: str = "audio") -> LipSyncResult:
        return _concat(list(self._clip_results(blocks, duration, name)))

    def _clip_results(self, blocks: Iterable[np.ndarray], duration: float | None,
                      name: str = "audio") -> Iterator[LipSyncResult]:
        """One result per model window, in order."""
        self._require(RunningMode.AUDIO_CLIPS)
        post = _PostProcess(self.options, self.mouth_names)
        buffer = np.zeros(self.context, np.float32)  # zero-audio history before the first sample
        seen = frames = 0
        with make_progress() as progress:
            task = progress.add_task(f"lip-sync {name}", total=duration)
            for block in blocks:
                if not np.all(np.isfinite(block)):
                    raise InputError(f"{name}: audio holds NaN or infinite samples")
                seen += len(block)
                buffer = np.concatenate([buffer, block])
                while len(buffer) >= self.total:
                    result = self._window(buffer[:self.total], post, self.window // HOP)
                    frames += len(result)
                    yield result
                    buffer = buffer[self.window:]
                progress.update(task, completed=seen / SAMPLE_RATE)
            if seen == 0:
                raise InputError(f"{name}: zero-length audio; give a file with sound")
            remaining = int(np.ceil(seen / HOP)) - frames
            while remaining > 0:
                padded = np.zeros(self.total, np.float32)
                padded[:len(buffer)] = buffer[:self.total]
                yield self._window(padded, post, min(remaining, self.window // HOP))
                buffer = buffer[self.window:]
                remaining -= self.window // HOP

    def _window(self, samples: np.ndarray, post: _PostProcess, keep: int) -> LipSyncResult:
        out = self.session.run({self.session.input_names[0]: samples[None]})
        first = self.context // HOP
        visemes = out["visemes"][0, first:first + keep]
        mouth = out["blendshapes"][0, first:first + keep]
        rms = _frame_rms(samples[self.context:self.context + keep * HOP])
        return post(visemes, mouth, rms)

    # ---- AUDIO_STREAM ---------------------------------------------------------------------------
    def _init_stream(self, pre: dict, postprocessing: dict) -> None:
        self._cache_names = self.session.input_names[1:]
        self._new_names = self.session.output_names[2:]
        self._delay = int(postprocessing["delay_frames"])
        self._prefix = int(pre["prefix_samples"])
        self._prime_hops = int(pre["prime_hops"])
        # The model's audio input is the last few samples before the new hop (kept here) plus the hop.
        self._stft_history_len = self.session.inputs[0].shape[-1] - HOP
        zero = [np.zeros(t.shape, np.float32) for t in self.session.inputs[1:]]
        self._primed_caches = self._step_n(np.zeros(self._prime_hops * HOP, np.float32), zero,
                                           self._zero_history())[2]
        self.reset()

    def _zero_history(self) -> np.ndarray:
        return np.zeros(self._stft_history_len, np.float32)  # also the history after the zero priming

    def reset(self) -> None:
        """Start a new utterance stream (same state as a fresh task)."""
        self._require(RunningMode.AUDIO_STREAM)
        self._caches = [c.copy() for c in self._primed_caches]
        self._stft_history = self._zero_history()
        self._pending = np.zeros(self._prefix, np.float32)
        self._history = np.zeros(0, np.float32)  # samples awaiting their frame's RMS
        self._skip = self._delay
        self._pushed = 0
        self._emitted = 0
        self._post = _PostProcess(self.options, self.mouth_names)

    def _step_n(self, samples: np.ndarray, caches: list[np.ndarray], history: np.ndarray):
        """Run whole hops of `samples`; returns visemes, mouth weights, new caches, new audio history."""
        visemes, mouth = [], []
        full = np.concatenate([history, samples])
        width = len(history) + HOP
        for start in range(0, len(samples) - HOP + 1, HOP):
            feeds = {self.session.input_names[0]: full[None, start:start + width]}
            feeds.update(zip(self._cache_names, caches))
            out = self.session.run(feeds)
            visemes.append(out["visemes"].reshape(-1, NUM_VISEMES))
            mouth.append(out["blendshapes"].reshape(1, -1))
            caches = [out[n] for n in self._new_names]
        history = full[len(full) - len(history):]
        if not visemes:
            return (np.zeros((0, NUM_VISEMES), np.float32), np.zeros((0, len(self.mouth_names)), np.float32),
                    caches, history)
        return np.concatenate(visemes), np.concatenate(mouth), caches, history

    def push(self, chunk: np.ndarray) -> LipSyncResult:
        """Feed 16 kHz samples (10–100 ms per call is typical): mono or (N, channels), which are averaged;
        float in [-1, 1] or int16/int32 PCM, which is scaled. Returns the frames ready."""
        self._require(RunningMode.AUDIO_STREAM)
        chunk = as_mono_float(chunk)
        if not np.all(np.isfinite(chunk)):
            raise InputError("audio chunk holds NaN or infinite samples")
        self._pushed += len(chunk)
        self._history = np.concatenate([self._history, chunk])
        return self._advance(np.concatenate([self._pending, chunk]))

    def flush(self) -> LipSyncResult:
        """End of stream: emit the remaining frames (covering all pushed audio) by feeding silence."""
        self._require(RunningMode.AUDIO_STREAM)
        target = int(np.ceil(self._pushed / HOP))
        results = []
        pad = np.zeros(HOP, np.float32)
        pending = self._pending
        while self._emitted < target:
            results.append(self._advance(np.concatenate([pending, pad]), limit=target))
            pending = self._pending
        return _concat(results)

    def _advance(self, samples: np.ndarray, limit: int | None = None) -> LipSyncResult:
        usable = len(samples) // HOP * HOP
        visemes, mouth, self._caches, self._stft_history = self._step_n(samples[:usable], self._caches,
                                                                         self._stft_history)
        self._pending = samples[usable:]
        drop = min(self._skip, len(visemes))  # the first outputs belong to the zero history
        self._skip -= drop
        visemes, mouth = visemes[drop:], mouth[drop:]
        if limit is not None:
            visemes, mouth = visemes[:max(0, limit - self._emitted)], mouth[:max(0, limit - self._emitted)]
        n = len(visemes)
        hop_samples = np.zeros(n * HOP, np.float32)
        have = min(len(self._history), n * HOP)
        hop_samples[:have] = self._history[:have]
        self._history = self._history[have:]
        self._emitted += n
        result = self._post(visemes, mouth, _frame_rms(hop_samples) if n else np.zeros(0))
        if n and self.options.result_callback is not None:
            self.options.result_callback(result)
        return result

    def _require(self, mode: RunningMode) -> None:
        if self.options.running_mode is not mode:
            raise InputError(f"this LipSync runs in {self.options.running_mode.value} mode; create one with "
                             f"running_mode={mode.value!r} for this call")


def as_mono_float(audio: np.ndarray) -> np.ndarray:
    """Mono float32 in [-1, 1] from mono or (samples, channels) audio, float or integer PCM: integers are
    scaled by their type's full scale (int16 speech is not read 32768 times too loud), channels averaged."""
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2):
        raise InputError(f"audio must be 1-D (mono) or (samples, channels), got shape {audio.shape}")
    if np.issubdtype(audio.dtype, np.integer):
        info = np.iinfo(audio.dtype)
        half = (float(info.max) + 1.0) if info.min < 0 else (float(info.max) + 1.0) / 2.0
        audio = ((audio.astype(np.float64) - (0.0 if info.min < 0 else half)) / half).astype(np.float32)
    audio = audio.astype(np.float32, copy=False)
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Resample to 16 kHz through PyAV's (FFmpeg swresample) resampler."""
    import av

    if rate <= 0:
        raise InputError(f"sample rate must be positive, got {rate}")
    frame = av.AudioFrame.from_ndarray(audio[None].astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)
