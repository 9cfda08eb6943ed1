"""Lip-sync evaluation on real speech with phone alignments. NumPy only (no torch needed to import).

Input: per-frame viseme probabilities at 100 fps (frame ``i`` = time ``i * 10 ms``, :data:`VISEMES`
order), from any backend. Ground truth: pocketsphinx alignments (``.phone.json``: words holding phones
with ``b`` begin s, ``d`` duration s, ``t`` CMU phone) mapped with :data:`phonemes.CMU_VISEMES`.

Metrics (pooled over all files):

- ``coarse_accuracy``: 5 mouth classes (closed = sil/PP, open = aa, spread = E/ih, round = oh/ou,
  other), over frames not closer than 10 ms to a phone boundary (``|t - boundary| < 10 ms`` is left
  out) and not on a phone without a mouth shape of its own (HH, noise).
- ``closure_recall``: share of P/B/M segments with an argmax ``PP`` frame within the segment ±30 ms.
- ``open_recall``: the same for phones mapped to ``aa`` (AA AE AH AW AY), counting argmax ``aa``.
- ``round_recall``: the same for the rounded vowels AO OW OY UH UW, counting ``oh``/``ou`` (the glide W,
  also ``ou`` in frame scores, is not a vowel and is not counted).
- ``viseme_accuracy`` (15 classes, same frames) and ``silence_accuracy`` (SIL frames predicted ``sil``).

TIMIT (/work/shared/data/speech/timit: ``.phn`` hand labels, ``START END PHONE`` in samples) is read with
:func:`load_timit` into the same CMU-named phones (:data:`TIMIT_CMU`): a stop's closure joins its release
into one segment, ``h#``/``pau``/``epi`` are silence, ``ax``/``ax-h`` are AH and ``ix`` IH (reduced vowels),
``ux`` is UW, ``q``/``hh``/``hv`` are not scored. Its recalls follow the lip-sync issue's definitions
(:data:`TIMIT_RULES`): closure counts an argmax ``sil`` or ``PP`` frame as closed, open counts only
AA AE AW AY segments (not AH nor the reduced vowels), round also counts the glide W. The same scoring
code serves both; a set's :class:`Rules` says which segments count and what hits them (:func:`rules_for`).

``talkies evaluate lipsync [--weights PATH]`` (:func:`evaluate_sets`) runs the torch model and the
loudness-only baseline on each real validation set: /work/shared/data/speech/librivox (the goals' set,
with its alignments), /work/shared/data/speech/cards (a second speaker; its Sphinx ``.transcription``
is aligned here with pocketsphinx) and /work/shared/data/speech/timit (8 speakers, hand labels), or on
other folders (``--data DIR``). ``--backend onnx --precision fp32`` (any backend and precision) scores a
lip-sync bundle through the runtime's LipSync task instead of the torch weights. ``--synthetic N`` adds
the model's coarse accuracy on N held-out synthetic utterances (:func:`synthetic_coarse_accuracy`): the
synthetic-to-real gap in two numbers.
"""

from __future__ import annotations

import json
import os
import re
import wave
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from talkies.errors import InputError, require
from talkies.log import get_logger
from talkies.paths import shared_data_dir

from talkies.runtime.visemes import VISEME_INDEX, VISEMES

from .phonemes import CMU_VISEMES, VISEME_TO_COARSE

log = get_logger(__name__)

FPS = 100
SAMPLE_RATE = 16000
BOUNDARY_MARGIN = 0.010  # frames closer than this to a phone boundary are left out of frame metrics
SEGMENT_TOLERANCE = 0.030  # ± window for the segment recalls
VALIDATION_SPEECH = shared_data_dir() / "speech"  # every recording under it is validation-only
DEFAULT_DATA = VALIDATION_SPEECH / "librivox"  # the set the goals are judged on
SECOND_SPEAKER = VALIDATION_SPEECH / "cards"  # reported beside it, never used to pick weights
TIMIT_DATA = VALIDATION_SPEECH / "timit"  # hand-labelled, 8 speakers: the real-voice goals' set

CLOSURE_PHONES = frozenset({"P", "B", "M"})
OPEN_VISEMES = frozenset({"aa"})
ROUND_VISEMES = frozenset({"oh", "ou"})
ROUND_PHONES = frozenset({"AO", "OW", "OY", "UH", "UW"})  # rounded vowels; the glide W (also ou) is not one
GOALS = {"coarse_accuracy": 0.75, "closure_recall": 0.95, "open_recall": 0.80, "round_recall": 0.85}
TIMIT_GOALS = {"coarse_accuracy": 0.80, "closure_recall": 0.95, "open_recall": 0.88, "round_recall": 0.85}


@dataclass(frozen=True)
class Rules:
    """A validation set's segment recalls: the phones each one counts and the argmax visemes that hit
    them (within the segment ±30 ms), and the goals its figures are judged by."""
    name: str
    closure: tuple[frozenset[str], frozenset[str]]  # (phones counted, visemes that hit)
    open: tuple[frozenset[str], frozenset[str]]
    round: tuple[frozenset[str], frozenset[str]]
    goals: dict[str, float]

    def segments(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        return {"closure": self.closure, "open": self.open, "round": self.round}


LIBRIVOX_RULES = Rules(
    "librivox", closure=(CLOSURE_PHONES, frozenset({"PP"})),
    open=(frozenset(p for p, v in CMU_VISEMES.items() if v in OPEN_VISEMES), OPEN_VISEMES),  # AA AE AH AW AY
    round=(ROUND_PHONES, ROUND_VISEMES), goals=GOALS)
TIMIT_RULES = Rules(
    "timit", closure=(CLOSURE_PHONES, frozenset({"sil", "PP"})),  # lips shut: closed mouth or silence
    open=(frozenset({"AA", "AE", "AW", "AY"}), OPEN_VISEMES),  # not AH, nor the reduced vowels (AH, IH here)
    round=(ROUND_PHONES | {"W"}, ROUND_VISEMES), goals=TIMIT_GOALS)

# ---- TIMIT's 61 phones -> CMU phones (then CMU_VISEMES). Closures are joined to their release by
# load_timit; an unreleased closure stands for its stop. q (glottal stop) and hh/hv have no mouth shape of
# their own: HH, left out of scoring.
TIMIT_CLOSURES = {"bcl": ("b",), "dcl": ("d", "jh"), "gcl": ("g",), "kcl": ("k",), "pcl": ("p",),
                  "tcl": ("t", "ch")}  # closure -> the releases it joins
TIMIT_CMU: dict[str, str] = {
    **{p: p.upper() for p in ("aa ae ah ao aw ay b ch d dh eh er ey f g ih iy jh k l m n ng ow oy p r s sh "
                              "t th uh uw v w y z zh").split()},
    "bcl": "B", "dcl": "D", "gcl": "G", "kcl": "K", "pcl": "P", "tcl": "T",
    "h#": "SIL", "pau": "SIL", "epi": "SIL",
    "ax": "AH", "ax-h": "AH", "ix": "IH", "axr": "ER", "ux": "UW",
    "dx": "D", "nx": "N", "en": "N", "em": "M", "el": "L", "eng": "NG",
    "q": "HH", "hh": "HH", "hv": "HH",
}


@dataclass(frozen=True)
class Phone:
    phone: str  # CMU phone, e.g. "AE", "SIL"
    begin: float
    duration: float

    @property
    def end(self) -> float:
        return self.begin + self.duration

    @property
    def viseme(self) -> str | None:
        return CMU_VISEMES.get(self.phone)


@dataclass
class Metrics:
    coarse_accuracy: float
    closure_recall: float
    open_recall: float
    round_recall: float
    viseme_accuracy: float
    silence_accuracy: float
    frames: int
    closure_segments: int
    open_segments: int
    round_segments: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def load_alignment(path: str | Path) -> list[Phone]:
    """Phones of a pocketsphinx ``.phone.json`` (word entries hold phone entries), in time order."""
    with open(path, encoding="utf-8") as f:
        root = json.load(f)
    phones = []
    for word in root.get("w", []):
        for ph in word.get("w", []):
            name = str(ph["t"]).upper()
            if name not in CMU_VISEMES:
                raise InputError(f"{path}: unknown CMU phone {name!r}; add it to phonemes.CMU_VISEMES")
            phones.append(Phone(name, float(ph["b"]), float(ph["d"])))
    return sorted(phones, key=lambda p: p.begin)


def align(audio: np.ndarray, text: str) -> list[Phone]:
    """Forced alignment of float32 16 kHz mono `audio` to the words of `text` (pocketsphinx's US English
    model, 10 ms frames): the phones in time order, ``SIL`` between words where it hears a pause."""
    Decoder = require("pocketsphinx", "export").Decoder

    words = " ".join(text.lower().split())
    if not words:
        raise InputError("empty transcript: write the words spoken, or supply a .phone.json alignment")
    raw = (np.clip(audio, -1, 1) * 32767).astype(np.int16).astype("<i2").tobytes()
    decoder = Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")
    try:
        decoder.set_align_text(words)
    except (RuntimeError, ValueError) as exc:  # a word outside the dictionary
        raise InputError(f"pocketsphinx cannot align {words[:60]!r}: {exc}") from exc
    for second_pass in (False, True):  # word alignment, then phones inside the words
        if second_pass:
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(raw, full_utt=True)
        decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise InputError(f"pocketsphinx found no alignment for {words[:60]!r}: does the transcript match the audio?")
    return [Phone(p.name.upper(), p.start / FPS, p.duration / FPS) for word in alignment for p in word]


def load_timit(path: str | Path) -> list[Phone]:
    """Phones of a TIMIT ``.phn`` file (``START END PHONE``, samples at 16 kHz) named as CMU phones
    (:data:`TIMIT_CMU`), each stop closure joined with the release after it into one segment."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()) or fields[2] not in TIMIT_CMU:
            raise InputError(f"{path}, line {n}: expected 'START END PHONE' with a TIMIT phone, got {line.strip()[:60]!r}")
        rows.append((int(fields[0]), int(fields[1]), fields[2]))
    phones: list[Phone] = []
    for i, (start, end, name) in enumerate(rows):
        if i and rows[i - 1][2] in TIMIT_CLOSURES and name in TIMIT_CLOSURES[rows[i - 1][2]]:
            start = rows[i - 1][0]  # the release takes over its closure's segment
            phones.pop()
        phones.append(Phone(TIMIT_CMU[name], start / SAMPLE_RATE, (end - start) / SAMPLE_RATE))
    return phones


def read_wav(path: str | Path) -> np.ndarray:
    """16 kHz mono 16-bit WAV -> float32 in [-1, 1]."""
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise InputError(f"{path}: need 16 kHz mono 16-bit WAV, got {w.getframerate()} Hz, "
                             f"{w.getnchannels()} channels, {8 * w.getsampwidth()} bit")
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def frame_targets(phones: list[Phone], n_frames: int, margin: float = BOUNDARY_MARGIN) -> np.ndarray:
    """Viseme index per frame, -1 where left out (boundary margin, no mouth shape, outside the alignment)."""
    t = np.arange(n_frames) / FPS
    out = np.full(n_frames, -1, np.int64)
    eps = 1e-6
    for p in phones:
        if p.viseme is None:
            continue
        inside = (t >= p.begin - eps) & (t < p.end - eps)
        clear = (t - p.begin >= margin - eps) & (p.end - t >= margin - eps)
        out[inside & clear] = VISEME_INDEX[p.viseme]
    return out


def _segment_hit(pred: np.ndarray, p: Phone, wanted: np.ndarray, tol: float) -> bool:
    a = max(int(np.ceil((p.begin - tol) * FPS - 1e-6)), 0)
    b = min(int(np.floor((p.end + tol) * FPS + 1e-6)), len(pred) - 1)
    return b >= a and bool(np.any(np.isin(pred[a:b + 1], wanted)))


@dataclass
class _Counts:
    frames: int = 0
    coarse_ok: int = 0
    viseme_ok: int = 0
    sil_frames: int = 0
    sil_ok: int = 0
    seg: dict | None = None

    def __post_init__(self) -> None:
        self.seg = {"closure": [0, 0], "open": [0, 0], "round": [0, 0]}


def _accumulate(c: _Counts, probs: np.ndarray, phones: list[Phone], rules: Rules, margin: float, tol: float) -> None:
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != len(VISEMES):
        raise InputError(f"viseme probabilities must be (frames, {len(VISEMES)}), got {probs.shape}")
    pred = probs.argmax(axis=1)
    target = frame_targets(phones, len(pred), margin)
    keep = target >= 0
    c.frames += int(keep.sum())
    c.coarse_ok += int((VISEME_TO_COARSE[pred[keep]] == VISEME_TO_COARSE[target[keep]]).sum())
    c.viseme_ok += int((pred[keep] == target[keep]).sum())
    sil = target == VISEME_INDEX["sil"]
    c.sil_frames += int(sil.sum())
    c.sil_ok += int((pred[sil] == VISEME_INDEX["sil"]).sum())
    for name, (counted, hits) in rules.segments().items():
        wanted = np.array([VISEME_INDEX[v] for v in sorted(hits)])
        for p in phones:
            if p.phone in counted:
                c.seg[name][1] += 1
                c.seg[name][0] += int(_segment_hit(pred, p, wanted, tol))


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _finish(c: _Counts) -> Metrics:
    return Metrics(
        coarse_accuracy=_ratio(c.coarse_ok, c.frames), closure_recall=_ratio(*c.seg["closure"]),
        open_recall=_ratio(*c.seg["open"]), round_recall=_ratio(*c.seg["round"]),
        viseme_accuracy=_ratio(c.viseme_ok, c.frames), silence_accuracy=_ratio(c.sil_ok, c.sil_frames),
        frames=c.frames, closure_segments=c.seg["closure"][1], open_segments=c.seg["open"][1],
        round_segments=c.seg["round"][1])


def score(items: list[tuple[np.ndarray, list[Phone]]], *, rules: Rules = LIBRIVOX_RULES,
          margin: float = BOUNDARY_MARGIN, tolerance: float = SEGMENT_TOLERANCE) -> Metrics:
    """Metrics for (probabilities (T, 15), phones) pairs, pooled over frames and segments, the recalls
    counted by `rules` (LibriVox's by default; :func:`rules_for` a folder's)."""
    c = _Counts()
    for probs, phones in items:
        _accumulate(c, probs, phones, rules, margin, tolerance)
    return _finish(c)


def rules_for(data_dir: str | Path) -> Rules:
    """TIMIT's rules for a folder of TIMIT ``.phn`` labels, LibriVox's for any other."""
    return TIMIT_RULES if any(Path(data_dir).glob("*.phn")) else LIBRIVOX_RULES


def read_transcription(path: str | Path) -> dict[str, str]:
    """Utterance id -> words of a CMU Sphinx ``.transcription`` file (lines ``<s> words </s> (id)``)."""
    out = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"\s*(.*?)\s*\(([^()]+)\)\s*", line)
        if m is None:
            raise InputError(f"{path}, line {n}: expected '<s> words </s> (id)', got {line.strip()[:60]!r}")
        out[m.group(2)] = " ".join(re.sub(r"</?s>", " ", m.group(1)).split())
    return out


def load_dataset(data_dir: str | Path = DEFAULT_DATA) -> list[tuple[str, np.ndarray, list[Phone]]]:
    """(name, audio float32 16 kHz, phones) for every ``*.phone.json`` or TIMIT ``*.phn`` with a matching
    ``.wav``; in a folder without any, for every utterance of its ``*.transcription`` files, aligned with
    pocketsphinx."""
    data_dir = Path(data_dir)
    items = []
    for suffix, load in ((".phone.json", load_alignment), (".phn", load_timit)):
        for labels in sorted(data_dir.glob(f"*{suffix}")):
            wav = labels.with_name(labels.name[:-len(suffix)] + ".wav")
            if wav.exists():
                items.append((wav.stem, read_wav(wav), load(labels)))
    if not items:
        for listing in sorted(data_dir.glob("*.transcription")):
            for name, words in read_transcription(listing).items():
                wav = data_dir / f"{name}.wav"
                if not wav.exists():
                    raise InputError(f"{listing} lists {name!r} but {wav} is missing")
                audio = read_wav(wav)
                items.append((name, audio, align(audio, words)))
    if not items:
        raise InputError(f"no *.phone.json or *.phn + .wav pairs and no *.transcription in {data_dir}")
    return items


def evaluate(predict: Callable[[np.ndarray], np.ndarray], data_dir: str | Path = DEFAULT_DATA) -> Metrics:
    """Run `predict` (audio float32 (N,) 16 kHz -> viseme probabilities (N // 160, 15)) on the dataset."""
    return score([(predict(audio), phones) for _, audio, phones in load_dataset(data_dir)], rules=rules_for(data_dir))


def synthetic_coarse_accuracy(predict: Callable[[np.ndarray], np.ndarray], n_utterances: int = 150, *,
                              seed: int = 777, festival_fraction: float = 0.5, augmented: bool = False,
                              cache_dir: str | Path | None = None, piece_seconds: float = 30.0) -> float:
    """Coarse accuracy of `predict` on `n_utterances` synthetic utterances from the training generators
    (voices and text sources as in training; seed 777 draws other utterances than the training seed 0),
    labelled by the synthesizers, frames next to a label change left out, in `piece_seconds` pieces;
    `augmented` applies the training augmentation first. Needs the data extras (scipy, Festival)."""
    from .augment import AugmentConfig, augment
    from .data import build_corpus

    pcm, labels = build_corpus(n_utterances, seed=seed, cache_dir=cache_dir, festival_fraction=festival_fraction)
    rng = np.random.default_rng(seed)
    step = int(piece_seconds * FPS)
    ok = total = 0
    for start in range(0, len(labels), step):
        target = labels[start:start + step].astype(np.int64)
        audio = pcm[start * 160:(start + len(target)) * 160].astype(np.float32) / 32768.0
        if augmented:
            audio = augment(audio, rng, AugmentConfig())
        pred = np.asarray(predict(audio)).argmax(axis=1)[:len(target)]
        keep = np.ones(len(target), bool)
        change = np.flatnonzero(np.diff(target) != 0)
        keep[change] = keep[change + 1] = False
        ok += int((VISEME_TO_COARSE[pred[keep]] == VISEME_TO_COARSE[target[keep]]).sum())
        total += int(keep.sum())
    return _ratio(ok, total)


def loudness_baseline(audio: np.ndarray) -> np.ndarray:
    """One-hot visemes from frame loudness alone: quiet -> sil, medium -> DD ("other"), loud -> aa.

    Loudness is the RMS (dB) of the 25 ms around each frame centre, relative to the clip's 95th percentile.
    """
    x = np.asarray(audio, np.float64)
    n = len(x) // 160
    padded = np.pad(x, (200, 200))
    rms = np.array([np.sqrt(np.mean(padded[160 * i:160 * i + 400] ** 2)) for i in range(n)])
    db = 20 * np.log10(rms + 1e-9)
    rel = db - np.percentile(db, 95) if n else db
    pred = np.where(rel < -30, VISEME_INDEX["sil"], np.where(rel < -10, VISEME_INDEX["DD"], VISEME_INDEX["aa"]))
    return np.eye(len(VISEMES), dtype=np.float32)[pred]


def run_torch(model, audio: np.ndarray) -> np.ndarray:
    """Viseme probabilities (N // 160, 15) of a torch LipSyncNet on a whole clip, with zero audio before
    and after it as the runtime feeds (padding the audio, not the network's features)."""
    import torch

    from .model import HOP, LEFT_FRAMES, LOOKAHEAD_FRAMES

    n = len(audio) // HOP
    first = LEFT_FRAMES + 2  # frames of zeros before the clip; +2 hops cover the STFT half-windows
    padded = np.concatenate([np.zeros(first * HOP, np.float32), np.asarray(audio[:n * HOP], np.float32),
                             np.zeros((LOOKAHEAD_FRAMES + 2) * HOP, np.float32)])
    with torch.no_grad():
        vis, _ = model(torch.from_numpy(padded)[None])
    return vis[0, first:first + n].numpy()


def torch_predictor(weights: str | Path | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A predictor running the torch model on the whole clip at once (imports torch lazily)."""
    from .model import load_model

    model = load_model(weights)
    return lambda audio: run_torch(model, audio)


@contextmanager
def task_predictor(backend: str, precision: str = "fp32", bundle_dir: str | os.PathLike | None = None,
                   threads: int = 1) -> Iterator[Callable[[np.ndarray], np.ndarray]]:
    """A predictor running a lip-sync bundle through the runtime's LipSync task (offline clips), as an app
    would: the viseme probabilities of its result, after the task's silence gate."""
    from talkies.runtime.lipsync import LipSync, LipSyncOptions

    options = LipSyncOptions(backend=backend, precision=precision, bundle_dir=bundle_dir, threads=threads)
    with LipSync(options) as task:
        yield lambda audio: task.process(audio).visemes


def format_table(rows: dict[str, Metrics], goals: dict[str, float] = GOALS) -> str:
    keys = ["coarse_accuracy", "closure_recall", "open_recall", "round_recall", "viseme_accuracy", "silence_accuracy"]
    lines = ["| metric | goal | " + " | ".join(rows) + " |", "|---|---|" + "---|" * len(rows)]
    for k in keys:
        goal = f"≥ {goals[k]:.2f}" if k in goals else ""
        lines.append(f"| {k} | {goal} | " + " | ".join(f"{getattr(m, k):.3f}" for m in rows.values()) + " |")
    return "\n".join(lines)


def default_sets() -> list[str]:
    """The validation sets present: LibriVox, the cards speaker and TIMIT."""
    return [str(d) for d in (DEFAULT_DATA, SECOND_SPEAKER, TIMIT_DATA) if d.is_dir()]


def evaluate_sets(weights: str | os.PathLike | None = None, data: list[str] | None = None, *,
                  synthetic: int = 0, backend: str = "torch", precision: str = "fp32",
                  bundle_dir: str | os.PathLike | None = None) -> dict:
    """Score the model and the loudness baseline on each validation set (default: LibriVox, the cards
    speaker and TIMIT, each by its own :func:`rules_for`), plus the model's coarse accuracy on `synthetic`
    held-out synthetic utterances, clean and augmented. The model is the torch `weights` (default the
    shipped ones) with `backend` "torch", else the `backend`/`precision` bundle (shipped, or found in
    `bundle_dir`) through the LipSync task. Returns {set: {predictor: Metrics}, "synthetic": {...}}."""
    sets = data or default_sets()
    if not sets:
        raise InputError(f"no validation speech in {VALIDATION_SPEECH}; give a folder of recordings")
    if backend != "torch" and weights is not None:
        raise InputError("weights are scored with the torch backend; a bundle is chosen by backend and precision")
    with ExitStack() as stack:
        predict = (torch_predictor(weights) if backend == "torch"
                   else stack.enter_context(task_predictor(backend, precision, bundle_dir)))
        predictors = {"model": predict, "loudness baseline": loudness_baseline}
        report: dict = {}
        for d in sets:
            items = load_dataset(d)  # once per set: a transcribed set is aligned on load
            rules = rules_for(d)
            report[d] = {k: score([(fn(audio), phones) for _, audio, phones in items], rules=rules)
                         for k, fn in predictors.items()}
        if synthetic:
            report["synthetic"] = {f"{kind}_coarse_accuracy": synthetic_coarse_accuracy(
                predict, synthetic, augmented=kind == "augmented") for kind in ("clean", "augmented")}
    return report


def report_json(report: dict) -> str:
    return json.dumps({d: (rows if d == "synthetic" else {k: m.as_dict() for k, m in rows.items()})
                       for d, rows in report.items()}, indent=2)


def report_text(report: dict, synthetic: int = 0) -> str:
    """Per set: its segment counts and the metrics table; then the synthetic figures, if any."""
    parts = []
    for d, rows in report.items():
        if d == "synthetic":
            continue
        m = rows["model"]
        rules = rules_for(d)
        parts.append(f"{d} ({rules.name} rules): {m.frames} frames, {m.closure_segments} closure / "
                     f"{m.open_segments} open / {m.round_segments} round segments\n\n"
                     f"{format_table(rows, rules.goals)}\n")
    if "synthetic" in report:
        syn = report["synthetic"]
        parts.append(f"model on {synthetic} held-out synthetic utterances: coarse accuracy "
                     f"{syn['clean_coarse_accuracy']:.3f} clean, {syn['augmented_coarse_accuracy']:.3f} augmented")
    return "\n".join(parts)
