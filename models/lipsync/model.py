"""The lip-sync network: raw 16 kHz PCM -> 15 viseme probabilities + 18 ARKit mouth weights at 100 fps.

Graph (export-friendly: Conv1d, ReLU, add, mul, log, pad, softmax, sigmoid, transpose; no FFT, no RNN):

1. Front end: ``pad(160 left, 0 right)`` -> Conv1d(1, 322, k=320, stride=160) with fixed Hann-windowed
   cos/sin kernels (a 320-point STFT: two hops, so a streaming hop needs one hop of history) -> power
   (re² + im²) -> 40-band mel as a 1x1 Conv1d -> log.
   Frame ``i`` is centred on sample ``160 i`` and sees samples ``[160 i - 160, 160 i + 160)``.
2. A temporal convolutional network: an input Conv1d (k=3) then 5 residual blocks
   (ReLU, Conv1d k=3 dilated 1/2/4/8/16, ReLU, 1x1 Conv1d), a 1x1 trunk, and two 1x1 heads.
   The input conv and the first three blocks look ahead (1 + 1 + 2 + 1 frames); the rest is causal.

Streaming: output frame ``i`` depends on samples ``[160 i - RECEPTIVE_FIELD_LEFT, 160 i + LOOKAHEAD_SAMPLES)``.
A runtime calls the model on windows holding at least that much left context and lookahead, and keeps
the frames whose receptive field lies inside the window (zero padding is used at the window's edges).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from talkies.runtime.visemes import ARKIT_MOUTH, VISEMES

SAMPLE_RATE = 16000
HOP = 160
N_FFT = 320  # 20 ms = two hops; a 25 ms window costs ~30% more compute
N_MELS = 40
FMIN, FMAX = 40.0, 7800.0
LOG_FLOOR = 1e-6

CHANNELS = 96
DILATIONS = (1, 2, 4, 8, 16)
BLOCK_LOOKAHEAD = (1, 2, 1, 0, 0)  # frames of lookahead per block (k=3 convs: d or 0)
INPUT_LOOKAHEAD = 1

LOOKAHEAD_FRAMES = INPUT_LOOKAHEAD + sum(BLOCK_LOOKAHEAD)
LEFT_FRAMES = (2 - INPUT_LOOKAHEAD) + sum(2 * d - la for d, la in zip(DILATIONS, BLOCK_LOOKAHEAD))
STFT_LEFT = N_FFT // 2  # samples before the frame centre the STFT window sees
STFT_LOOKAHEAD = N_FFT // 2  # samples after (exclusive)
LOOKAHEAD_SAMPLES = LOOKAHEAD_FRAMES * HOP + STFT_LOOKAHEAD  # 960 samples = 60 ms
RECEPTIVE_FIELD_LEFT = LEFT_FRAMES * HOP + STFT_LEFT  # 9600 samples = 600 ms

INPUT_NAME = "audio"
OUTPUT_NAMES = ("visemes", "blendshapes")


def mel_filterbank(n_fft: int = N_FFT, n_mels: int = N_MELS, sample_rate: int = SAMPLE_RATE,
                   fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Triangular filters on the HTK mel scale, (n_mels, n_fft // 2 + 1) float32, area-normalised."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)), np.float64)
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
        fb[m] *= 2.0 / (hi - lo)
    return fb.astype(np.float32)


def stft_kernels(n_fft: int = N_FFT) -> np.ndarray:
    """(2 * (n_fft//2 + 1), 1, n_fft) float32: Hann-windowed cos kernels, then -sin kernels (rfft convention)."""
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann, as torch.hann_window
    k = np.arange(n_fft // 2 + 1)[:, None]
    ang = 2 * np.pi * k * n[None, :] / n_fft
    kern = np.concatenate([np.cos(ang) * window, -np.sin(ang) * window], axis=0)
    return kern[:, None, :].astype(np.float32)


def log_mel_reference(audio: np.ndarray) -> np.ndarray:
    """NumPy reference of the front end (rfft + same mel matrix): (n_mels, T) for a 1-D signal."""
    x = np.pad(np.asarray(audio, np.float64), (STFT_LEFT, N_FFT - HOP - STFT_LEFT))
    T = len(audio) // HOP
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)
    frames = np.stack([x[HOP * i:HOP * i + N_FFT] for i in range(T)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return np.log(mel_filterbank().astype(np.float64) @ power.T + LOG_FLOOR)


def scale_log_mel(x: torch.Tensor) -> torch.Tensor:
    """The network's input scaling: log-mel of speech lies roughly in [-14, 10], this in about [-2, 4]."""
    return (x + 6.0) * 0.25


class LogMel(nn.Module):
    """Log-mel spectrogram with a convolution STFT (no FFT op). (B, N) -> (B, N_MELS, N // HOP)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernels", torch.from_numpy(stft_kernels()))
        self.register_buffer("mel", torch.from_numpy(mel_filterbank())[:, :, None])
        self.n_bins = N_FFT // 2 + 1

    def forward(self, audio: torch.Tensor, pad: bool = True, scaled: bool = False) -> torch.Tensor:
        """`pad=False`: only the frames whose window lies inside `audio` (the streaming model's use).
        `scaled`: the network's input (:func:`scale_log_mel`), computed here so that it belongs to this
        module, which int8 keeps float (an int8 log-mel loses quiet speech)."""
        x = audio.unsqueeze(1)
        if pad:
            x = F.pad(x, (STFT_LEFT, N_FFT - HOP - STFT_LEFT))
        spec = F.conv1d(x, self.kernels, stride=HOP)
        re, im = spec[:, :self.n_bins], spec[:, self.n_bins:]
        power = re * re + im * im
        logmel = torch.log(F.conv1d(power, self.mel) + LOG_FLOOR)
        return scale_log_mel(logmel) if scaled else logmel


class _Conv(nn.Module):
    """Conv1d with explicit (left, right) zero padding: output frame t sees [t - left, t + right]."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int = 1, lookahead: int = 0) -> None:
        super().__init__()
        span = (kernel - 1) * dilation
        self.pad = (span - lookahead, lookahead)
        self.conv = nn.Conv1d(cin, cout, kernel, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class _Block(nn.Module):
    def __init__(self, channels: int, dilation: int, lookahead: int) -> None:
        super().__init__()
        self.conv = _Conv(channels, channels, 3, dilation, lookahead)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.relu(self.conv(F.relu(x))))


class LipSyncNet(nn.Module):
    """Raw audio (B, N) float32 in [-1, 1], N a multiple of 160 -> (visemes (B, T, 15), blendshapes (B, T, 18)).

    T = N // 160; frame i is time i * 10 ms. ``visemes`` are softmax probabilities in :data:`VISEMES` order,
    ``blendshapes`` sigmoid weights in :data:`ARKIT_MOUTH` order.
    """

    visemes = VISEMES
    blendshapes = ARKIT_MOUTH
    hop = HOP
    sample_rate = SAMPLE_RATE
    receptive_field_left = RECEPTIVE_FIELD_LEFT
    lookahead_samples = LOOKAHEAD_SAMPLES

    def __init__(self, channels: int = CHANNELS) -> None:
        super().__init__()
        self.frontend = LogMel()
        self.inp = _Conv(N_MELS, channels, 3, 1, INPUT_LOOKAHEAD)
        self.blocks = nn.ModuleList(_Block(channels, d, la) for d, la in zip(DILATIONS, BLOCK_LOOKAHEAD))
        self.trunk = nn.Conv1d(channels, channels, 1)
        self.viseme_head = nn.Conv1d(channels, len(VISEMES), 1)
        self.pose_head = nn.Conv1d(channels, len(ARKIT_MOUTH), 1)

    def features(self, audio: torch.Tensor, mel_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Trunk features (B, C, T). `mel_mask` (B, N_MELS, 1 or T), training only: multiplies the scaled
        log-mel (SpecAugment-style band masking, so the network cannot lean on a few bands)."""
        x = self.frontend(audio, scaled=True)
        if mel_mask is not None:
            x = x * mel_mask
        x = self.inp(x)
        for block in self.blocks:
            x = block(x)
        return F.relu(self.trunk(F.relu(x)))

    def logits(self, audio: torch.Tensor, mel_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-activation outputs, channel-first: (B, 15, T), (B, 18, T). For training."""
        h = self.features(audio, mel_mask)
        return self.viseme_head(h), self.pose_head(h)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vis, pose = self.logits(audio)
        return torch.softmax(vis, dim=1).transpose(1, 2), torch.sigmoid(pose).transpose(1, 2)


def n_parameters(model: nn.Module, *, buffers: bool = True) -> int:
    n = sum(p.numel() for p in model.parameters())
    return n + (sum(b.numel() for b in model.buffers()) if buffers else 0)


def state_arrays(model: LipSyncNet) -> dict[str, np.ndarray]:
    """Trainable weights as named float32 arrays (the fixed STFT/mel buffers are rebuilt, not stored)."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()
            if not k.startswith("frontend.")}


def save_weights(model: LipSyncNet, path, **metadata: str) -> None:
    """Write an ``.npz`` of named arrays (no pickle), atomically. `metadata` goes in as 0-d string arrays."""
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = state_arrays(model)
    arrays.update({f"meta.{k}": np.array(str(v)) for k, v in metadata.items()})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def default_weights_path():
    from . import DEFAULT_WEIGHTS

    return DEFAULT_WEIGHTS


def load_model(path=None) -> LipSyncNet:
    """Build :class:`LipSyncNet` and load an ``.npz`` of named arrays (``allow_pickle=False``); eval mode."""
    from talkies.errors import InputError

    path = default_weights_path() if path is None else path
    model = LipSyncNet()
    with np.load(path, allow_pickle=False) as z:
        state = {k: torch.from_numpy(z[k]) for k in z.files if not k.startswith("meta.")}
    state.update({k: v for k, v in model.state_dict().items() if k.startswith("frontend.")})
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f"{path} does not hold LipSyncNet weights: {exc}") from exc
    return model.eval()


def dummy_input(seconds: float = 1.0, *, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A fixed-length export window: `seconds` of output frames plus left context and lookahead, hop-aligned."""
    n = int(round(seconds * SAMPLE_RATE)) + RECEPTIVE_FIELD_LEFT + LOOKAHEAD_SAMPLES
    n = int(np.ceil(n / HOP)) * HOP
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, n, generator=g)
