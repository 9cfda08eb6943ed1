"""Streaming form of LipSyncNet: K new hops of audio plus per-layer caches in, K output frames plus the
updated caches out. Each convolution keeps the last `span` frames of its input, so a 10 ms hop costs one
frame of compute instead of the whole 612 ms receptive field, and the outputs equal the offline model's.

Latency: the frame for time 10·i ms is emitted once audio up to 10·(i + STREAM_DELAY_FRAMES + 1) ms has
been pushed (the 52.5 ms lookahead of the network, rounded up to whole hops)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import HOP, INPUT_LOOKAHEAD, N_FFT, STFT_LEFT, LipSyncNet

AUDIO_CACHE = N_FFT - HOP  # samples of the previous hops the STFT window still needs
STFT_DELAY_FRAMES = 1  # frame i's window ends at sample 160 i + 200, inside hop i + 1


def _conv_span(conv: nn.Conv1d) -> int:
    return (conv.kernel_size[0] - 1) * conv.dilation[0]


class LipSyncStreamNet(nn.Module):
    """Wraps a trained LipSyncNet (shares its weights). forward(audio (1, 160 K), *caches) →
    (visemes (1, K, 15), blendshapes (1, K, 18), *new caches)."""

    def __init__(self, net: LipSyncNet):
        super().__init__()
        self.net = net
        self.lookaheads = [INPUT_LOOKAHEAD] + [block.conv.pad[1] for block in net.blocks]
        self.delay_frames = STFT_DELAY_FRAMES + sum(self.lookaheads)

    def cache_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every cache, in forward order."""
        net = self.net
        n_mels = net.frontend.mel.shape[0]
        shapes = [("cache_audio", (1, AUDIO_CACHE)), ("cache_inp", (1, n_mels, _conv_span(net.inp.conv)))]
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
        # Front end: the STFT over [cache | new hops], valid frames only.
        samples = torch.cat([caches.pop(0), audio], dim=1)
        new.append(samples[:, -AUDIO_CACHE:])
        spec = F.conv1d(samples.unsqueeze(1), net.frontend.kernels, stride=HOP)
        bins = net.frontend.n_bins
        power = spec[:, :bins] ** 2 + spec[:, bins:] ** 2
        x = (torch.log(F.conv1d(power, net.frontend.mel) + 1e-6) + 6.0) * 0.25
        x = self._valid_conv(net.inp.conv, x, caches.pop(0), new)
        for block in net.blocks:
            h = self._valid_conv(block.conv.conv, F.relu(x), caches.pop(0), new)
            lookahead = block.conv.pad[1]
            if lookahead:  # the residual must line up with the delayed conv output
                past = torch.cat([caches.pop(0), x], dim=2)
                new.append(past[:, :, -lookahead:])
                x = past[:, :, : x.shape[2]]
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

