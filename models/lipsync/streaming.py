"""Streaming form of LipSyncNet: K new hops of audio plus per-layer caches in, K output frames plus the
updated caches out. Each convolution keeps the last `span` frames of its input, so a 10 ms hop costs one
frame of compute instead of the whole 600 ms receptive field, and the outputs equal the offline model's.

Latency: the frame for time 10·i ms is emitted once audio up to 10·(i + delay_frames + 1) ms has been
pushed (the network's 60 ms lookahead in whole hops).

Audio input: each call takes the last ``AUDIO_HISTORY`` samples before its hops plus the new hops
(``WINDOW_SAMPLES`` for one hop); the caller keeps that short history (a model whose cache output were
just its own input would not convert to LiteRT). The stream is fed ``PREFIX_SAMPLES`` zeros before the
first sample, so each STFT window lands exactly where the offline model puts it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import HOP, INPUT_LOOKAHEAD, N_FFT, STFT_LEFT, LipSyncNet

AUDIO_HISTORY = N_FFT - HOP  # samples of the previous hops the STFT window still needs
WINDOW_SAMPLES = AUDIO_HISTORY + HOP  # the audio input of a one-hop call
# Frame i's window is audio[160 i - STFT_LEFT, ...). Fed after a prefix of P zeros, the stream's window m
# starts at 160 m - AUDIO_HISTORY - P, so m = i + STFT_DELAY_FRAMES with 0 <= P < HOP:
STFT_DELAY_FRAMES = -(-(AUDIO_HISTORY - STFT_LEFT) // HOP)
PREFIX_SAMPLES = HOP * STFT_DELAY_FRAMES - AUDIO_HISTORY + STFT_LEFT


def _conv_span(conv: nn.Conv1d) -> int:
    return (conv.kernel_size[0] - 1) * conv.dilation[0]


class _StreamFrontEnd(nn.Module):
    """[audio history | new hops] -> scaled log-mel of the frames inside. Its own module, so int8
    quantization can keep the raw-audio path float (QuantizationConfig.float_modules)."""

    def __init__(self, net: LipSyncNet):
        super().__init__()
        self.logmel = net.frontend

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.logmel(audio, pad=False, scaled=True)


class LipSyncStreamNet(nn.Module):
    """Wraps a trained LipSyncNet (shares its weights). forward(audio (1, AUDIO_HISTORY + 160 K), *caches)
    → (visemes (1, K, 15), blendshapes (1, K, 18), *new caches)."""

    def __init__(self, net: LipSyncNet):
        super().__init__()
        self.net = net
        self.frontend = _StreamFrontEnd(net)
        self.lookaheads = [INPUT_LOOKAHEAD] + [block.conv.pad[1] for block in net.blocks]
        self.delay_frames = STFT_DELAY_FRAMES + sum(self.lookaheads)

    def cache_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every cache, in forward order."""
        net = self.net
        n_mels = net.frontend.mel.shape[0]
        shapes = [("cache_inp", (1, n_mels, _conv_span(net.inp.conv)))]
        for i, block in enumerate(net.blocks):
            channels = block.conv.conv.in_channels
            shapes.append((f"cache_b{i}_conv", (1, channels, _conv_span(block.conv.conv))))
            if block.conv.pad[1]:
                shapes.append((f"cache_b{i}_res", (1, channels, block.conv.pad[1])))
        return shapes

    def initial_caches(self) -> list[np.ndarray]:
        return [np.zeros(shape, np.float32) for _, shape in self.cache_shapes()]

    def forward(self, audio: torch.Tensor, *caches: torch.Tensor):
        net = self.net
        caches = list(caches)
        new: list[torch.Tensor] = []
        x = self.frontend(audio)  # the STFT over [history | new hops], valid frames only
        x = self._valid_conv(net.inp.conv, x, caches.pop(0), new)
        for block in net.blocks:
            h = self._valid_conv(block.conv.conv, F.relu(x), caches.pop(0), new)
            lookahead = block.conv.pad[1]
            if lookahead:  # the residual must line up with the delayed conv output
                past = torch.cat([caches.pop(0), x], dim=2)
                new.append(past[:, :, -lookahead:])
                x = past[:, :, :-lookahead]  # a constant slice: a traced x.shape breaks Core ML's converter
            x = x + block.mix(F.relu(h))
        h = F.relu(net.trunk(F.relu(x)))
        visemes = torch.softmax(net.viseme_head(h), dim=1).transpose(1, 2)
        blendshapes = torch.sigmoid(net.pose_head(h)).transpose(1, 2)
        return (visemes, blendshapes, *new)

    @staticmethod
    def _valid_conv(conv: nn.Conv1d, x: torch.Tensor, cache: torch.Tensor, new: list[torch.Tensor]) -> torch.Tensor:
        span = _conv_span(conv)
        full = torch.cat([cache, x], dim=2)
        new.append(full[:, :, -span:])
        return conv(full)

