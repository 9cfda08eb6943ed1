"""Train the lip-sync model on synthetic speech: espeak-ng and Festival voices (CPU, one thread, seeded).

    talkies train lipsync --steps 12000 -o models/lipsync/weights/lipsync.npz

Data: :func:`data.build_corpus` (cached under ~/.cache/talkies/lipsync-data), ``--festival-fraction`` of
the utterances from Festival; ``--init`` starts from saved weights (fine-tuning); ``--recorded DIR`` mixes in
real speech (:mod:`.recorded`): a festvox voice folder with its phone labels, or your own English
recordings with transcripts (aligned with pocketsphinx), a ``--recorded-fraction`` of the crops;
``--kokoro-fraction`` of the crops come from Kokoro-82M's speech (:mod:`.kokoro_data`, the first
``--kokoro-utterances``, cached in blocks under $TALKIES_HOME/lipsync-data). Each step draws random
crops from the synthetic stream, augments them (:mod:`.augment`), masks random mel bands of the
network's input (SpecAugment-style, against leaning on espeak's exact spectra), and minimises
cross-entropy on the visemes (``PP`` weighted up, toward closure recall), cross-entropy on the 5 coarse
mouth classes (the viseme probabilities summed per class: what a face shows, so confusions inside a
class cost less), and binary cross-entropy between the blend-shape head and the smoothed per-viseme
pose targets. Frames without full left context or lookahead inside
the crop are left out of the loss. With ``--minutes`` the learning-rate schedule follows whichever of
steps or time runs out first, so the run always anneals (at the cost of bit-exact reproducibility).
Checkpoints (``.npz`` of named arrays) are written every ``--eval-every`` steps, with validation
metrics on the real speech logged (never trained on, never used to pick a checkpoint).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from talkies.log import get_logger, make_progress

from . import data as D
from .augment import AugmentConfig, augment
from talkies.runtime.visemes import VISEME_INDEX, VISEMES, pose_targets
from .phonemes import COARSE_NAMES, VISEME_TO_COARSE

log = get_logger(__name__)


def class_weights(closure_weight: float, open_weight: float = 1.0) -> np.ndarray:
    """Cross-entropy weight per viseme: ``PP`` and ``aa`` weighted up toward closure and open-vowel recall."""
    w = np.ones(len(VISEMES), np.float32)
    w[VISEME_INDEX["PP"]] = closure_weight
    w[VISEME_INDEX["aa"]] = open_weight
    return w


def band_mask(rng: np.random.Generator, batch: int, n_mels: int, *, masks: int = 2, max_width: int = 6,
              p: float = 0.5) -> np.ndarray:
    """(batch, n_mels, 1) float32 of ones with, per example (probability `p`), up to `masks` random
    bands of up to `max_width` mel channels set to 0."""
    out = np.ones((batch, n_mels, 1), np.float32)
    for b in range(batch):
        if rng.random() < p:
            for _ in range(int(rng.integers(1, masks + 1))):
                width = int(rng.integers(1, max_width + 1))
                start = int(rng.integers(0, n_mels - width + 1))
                out[b, start:start + width] = 0.0
    return out


def coarse_log_probs(vis_logits, log_group):
    """Log-probabilities of the coarse classes (B, 5, T) from viseme logits (B, 15, T): a log-sum-exp
    of the log-softmax over each class's visemes. `log_group` (5, 15): 0 for a member, -inf otherwise."""
    import torch

    logp = torch.log_softmax(vis_logits, dim=1)
    return torch.logsumexp(logp.unsqueeze(1) + log_group[None, :, :, None], dim=2)  # over (B, 5, 15, T)


class Batcher:
    """Random augmented crops from the corpus stream, deterministic given the seed. With `recorded`
    (another (pcm, labels) stream), each crop comes from it with probability `recorded_fraction`; with
    `kokoro` (the Kokoro corpus), with probability `kokoro_fraction`; the rest from the first stream."""

    def __init__(self, pcm: np.ndarray, labels: np.ndarray, *, crop_frames: int, context_frames: int,
                 seed: int, cfg: AugmentConfig, recorded: tuple[np.ndarray, np.ndarray] | None = None,
                 recorded_fraction: float = 0.0, kokoro: tuple[np.ndarray, np.ndarray] | None = None,
                 kokoro_fraction: float = 0.0) -> None:
        self.streams = [(pcm, labels), recorded, kokoro]
        self.crop, self.context = crop_frames, context_frames
        for stream in self.streams:
            if stream is not None and len(stream[1]) <= self.crop:
                raise ValueError(f"{len(stream[1]) / 100:.1f} s of speech is shorter than one "
                                 f"{self.crop / 100:.1f} s training crop")
        self.recorded_fraction = recorded_fraction if recorded is not None else 0.0
        self.kokoro_fraction = kokoro_fraction if kokoro is not None else 0.0
        if self.recorded_fraction + self.kokoro_fraction > 1.0 + 1e-9:
            raise ValueError(f"recorded ({recorded_fraction}) and Kokoro ({kokoro_fraction}) fractions "
                             f"add up to more than 1")
        self.rng = np.random.default_rng(seed)
        self.cfg = cfg

    def _stream(self) -> int:
        """0 (synthetic), 1 (recorded) or 2 (Kokoro); one draw when any fraction is set (without Kokoro,
        the draws of the two-stream batcher)."""
        if self.recorded_fraction + self.kokoro_fraction <= 0:
            return 0
        u = self.rng.random()
        if u < self.recorded_fraction:
            return 1
        return 2 if u < self.recorded_fraction + self.kokoro_fraction else 0

    def _crop(self, stream: int, start: int) -> np.ndarray:
        return self.streams[stream][0][start * D.HOP:(start + self.crop) * D.HOP].astype(np.float32) / 32768.0

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for _ in range(size):
            k = self._stream()
            s = int(self.rng.integers(0, len(self.streams[k][1]) - self.crop))
            b = int(self.rng.integers(0, len(self.streams[0][1]) - self.crop))  # babble: synthetic speech
            x = augment(self._crop(k, s), self.rng, self.cfg, babble=self._crop(0, b))
            y = self.streams[k][1][s:s + self.crop].copy()
            self._cut_edges(x, y)
            xs.append(x)
            ys.append(y)
        return np.stack(xs), np.stack(ys).astype(np.int64)

    def _cut_edges(self, x: np.ndarray, y: np.ndarray, p: float = 0.2) -> None:
        """Where a recording starts or ends the runtime sees digital silence (zero history or padding)
        next to the recording's own noise floor: show the network that step, labelled `sil` (without
        it, the jump from zeros to room noise reads as speech onset)."""
        half = self.crop // 2
        if self.rng.random() < p:
            k = int(self.rng.integers(1, half))
            x[:k * D.HOP] = 0.0
            y[:k] = VISEME_INDEX["sil"]
        if self.rng.random() < p:
            k = int(self.rng.integers(1, half))
            x[-k * D.HOP:] = 0.0
            y[-k:] = VISEME_INDEX["sil"]


def train(*, steps: int, out: Path, minutes: float | None = None, seed: int = 0, utterances: int = 6000,
          batch_size: int = 16, crop_seconds: float = 3.0, lr: float = 2e-3, closure_weight: float = 2.0,
          open_weight: float = 1.0,
          pose_weight: float = 1.0, coarse_weight: float = 0.5, label_smoothing: float = 0.05, workers: int = 1, eval_every: int = 1000,
          validate: bool = True, cache_dir: Path | None = None, threads: int = 1, channels: int | None = None,
          festival_fraction: float = D.FESTIVAL_FRACTION, init: Path | None = None,
          recorded: Path | None = None, recorded_fraction: float = 0.3, kokoro_fraction: float = 0.0,
          kokoro_utterances: int = 800, clean_fraction: float = 0.0) -> dict:
    import torch
    from torch.nn import functional as F

    from . import model as M

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    if not 0.0 <= recorded_fraction <= 1.0:
        raise ValueError(f"recorded_fraction {recorded_fraction} is not in [0, 1]")
    if not 0.0 <= kokoro_fraction <= 1.0 or kokoro_fraction + (recorded_fraction if recorded else 0.0) > 1.0:
        raise ValueError(f"kokoro_fraction {kokoro_fraction} is not in [0, 1 - recorded_fraction]")
    own = None
    if recorded is not None:
        from .recorded import load_recorded

        own = load_recorded(recorded)  # checked and aligned before the long corpus build
    pcm, labels = D.build_corpus(utterances, seed=seed, workers=workers, cache_dir=cache_dir,
                                 festival_fraction=festival_fraction)
    log.info("corpus: %.1f min of synthetic speech", len(pcm) / D.SAMPLE_RATE / 60)
    kokoro = None
    if kokoro_fraction > 0:
        from .kokoro_data import build_kokoro_corpus

        kokoro = build_kokoro_corpus(kokoro_utterances, seed=seed, cache_dir=cache_dir)
    crop = int(round(crop_seconds * 100))
    lo, hi = M.LEFT_FRAMES, crop - M.LOOKAHEAD_FRAMES  # loss frames: full context inside the crop
    if hi - lo < 10:
        raise ValueError(f"crop of {crop} frames is too short for {M.LEFT_FRAMES} frames of context")
    batcher = Batcher(pcm, labels, crop_frames=crop, context_frames=lo, seed=seed + 1,
                      cfg=AugmentConfig(p_clean=clean_fraction),
                      recorded=own, recorded_fraction=recorded_fraction, kokoro=kokoro,
                      kokoro_fraction=kokoro_fraction)
    if init is not None:
        net = M.load_model(init)
        width = net.trunk.out_channels
        if channels and channels != width:
            raise ValueError(f"--channels {channels} differs from the {width} channels of {init}")
        net.train()
    else:
        net = M.LipSyncNet(channels or M.CHANNELS)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    warmup = max(1, min(500, steps // 20))

    def lr_at(step: int) -> float:
        """Warm-up, then cosine decay over the run: by steps, or by time when a budget runs out first."""
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        if minutes is not None:
            progress = max(progress, (time.monotonic() - start) / (minutes * 60))
        return lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) + lr * 0.01

    cw = torch.from_numpy(class_weights(closure_weight, open_weight))
    log_group = torch.full((len(COARSE_NAMES), len(VISEMES)), -math.inf)
    log_group[torch.from_numpy(VISEME_TO_COARSE), torch.arange(len(VISEMES))] = 0.0
    to_coarse = torch.from_numpy(VISEME_TO_COARSE)
    mask_rng = np.random.default_rng(seed + 2)
    history: list[dict] = []
    start = time.monotonic()
    out = Path(out)
    meta = {"seed": str(seed), "steps": str(steps), "utterances": str(utterances),
            "festival_fraction": str(festival_fraction), "closure_weight": str(closure_weight),
            "open_weight": str(open_weight), "coarse_weight": str(coarse_weight)}
    if init is not None:
        meta["init"] = Path(init).name
    if clean_fraction:
        meta["clean_fraction"] = str(clean_fraction)
    if recorded is not None:
        meta.update(recorded=Path(recorded).name, recorded_fraction=str(recorded_fraction))
    if kokoro is not None:
        meta.update(kokoro_fraction=str(kokoro_fraction), kokoro_utterances=str(kokoro_utterances),
                    kokoro_minutes=f"{len(kokoro[0]) / D.SAMPLE_RATE / 60:.1f}")

    def checkpoint(step: int, loss: float) -> None:
        net.eval()
        M.save_weights(net, out, **meta, trained_steps=str(step))
        entry = {"step": step, "loss": round(loss, 4), "minutes": round((time.monotonic() - start) / 60, 2)}
        if validate:
            from .evaluate import DEFAULT_DATA, evaluate, run_torch

            if DEFAULT_DATA.exists():
                entry.update({k: round(v, 4) for k, v in evaluate(lambda audio: run_torch(net, audio)).as_dict().items()
                              if isinstance(v, float)})
        history.append(entry)
        log.info("checkpoint %s", json.dumps(entry))
        net.train()

    running = first_loss = float("nan")
    done, last_checkpoint = 0, -1
    with make_progress(transient=False) as progress:
        task = progress.add_task("training lip-sync", total=steps)
        for step in range(steps):
            if minutes is not None and time.monotonic() - start > minutes * 60:
                log.warning("time budget of %.1f min reached at step %d of %d", minutes, step, steps)
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            x, y = batcher.batch(batch_size)
            pose = torch.from_numpy(pose_targets(y)).transpose(1, 2)  # (B, 18, T)
            mask = torch.from_numpy(band_mask(mask_rng, len(x), M.N_MELS))
            vis_logits, pose_logits = net.logits(torch.from_numpy(x), mask)
            target = torch.from_numpy(y)
            ce = F.cross_entropy(vis_logits[:, :, lo:hi], target[:, lo:hi], weight=cw,
                                 label_smoothing=label_smoothing)
            if coarse_weight:
                ce = ce + coarse_weight * F.nll_loss(coarse_log_probs(vis_logits[:, :, lo:hi], log_group),
                                                     to_coarse[target[:, lo:hi]])
            bce = F.binary_cross_entropy_with_logits(pose_logits[:, :, lo:hi], pose[:, :, lo:hi])
            loss = ce + pose_weight * bce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            if math.isnan(running):
                running = first_loss = loss.item()
            else:
                running = 0.98 * running + 0.02 * loss.item()
            progress.update(task, advance=1, description=f"training lip-sync (loss {running:.3f})")
            done = step + 1
            if done % eval_every == 0:
                checkpoint(done, running)
                last_checkpoint = done
    if done != last_checkpoint:
        checkpoint(done, running)
    history_path = out.with_suffix(".history.json")
    history_path.write_text(json.dumps(history, indent=1))
    return {"steps": done, "loss": running, "first_loss": first_loss, "history": history, "weights": str(out)}
