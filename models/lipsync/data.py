"""Training data: espeak-ng speech in many languages and voices, mixed with speech from Festival and flite
voices built from human recordings (English, Italian, Finnish, Czech, Catalan), labelled per 10 ms frame
with visemes.

Everything is reproducible from a seed. :func:`random_spec` draws a language, voice variant, rate,
pitch, text and a speed (resampling) factor for :mod:`talkies.runtime.espeak`; :func:`random_festival_spec` a
:mod:`.festival` or :mod:`.flite` voice (:data:`HUMAN_VOICES`), duration stretch, pitch and speed, and
text in the voice's language. :func:`make_utterance`
synthesizes, resamples to 16 kHz and labels frame ``i`` (time ``i * 10 ms``, sample ``160 * i``) with
the viseme of the phoneme playing at that sample. A seeded draw per utterance picks the synthesizer
(`festival_fraction` of them from the human-recorded voices). :func:`build_corpus` concatenates many
utterances with random silent gaps into one stream (int16 PCM + uint8 frame labels), cached as an ``.npz`` of named
arrays.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkies.log import get_logger, track

from talkies.runtime import espeak
from talkies.runtime.speech import Speech

from . import festival, flite
from talkies.runtime.visemes import HOP, VISEME_INDEX, VISEMES, frame_labels, is_language_switch

log = get_logger(__name__)

SAMPLE_RATE = 16000
DATA_VERSION = 2  # the espeak-only corpus (festival_fraction 0) is unchanged since version 2
FESTIVAL_FRACTION = 0.4  # of the utterances, by default, from the human-recorded (Festival, flite) voices
BLOCK = 50  # utterances synthesized in order by one fresh process

# (espeak voice, weight). English is weighted up: the real validation speech is English.
LANGUAGES: tuple[tuple[str, float], ...] = (
    ("en-us", 4.0), ("en-gb", 1.5), ("de", 1.0), ("fr-fr", 1.0), ("es", 1.0), ("it", 1.0), ("pt-br", 0.7),
    ("pt", 0.5), ("nl", 0.8), ("pl", 0.8), ("cs", 0.6), ("sv", 0.6), ("fi", 0.5), ("ro", 0.5),
    ("hu", 0.5), ("id", 0.5), ("tr", 0.5), ("hr", 0.4), ("da", 0.4), ("sk", 0.4),
)
# variants that are not human-like (robots, demons, croaks) are left out
EXCLUDED_VARIANTS = frozenset({"Demonic", "UniRobot", "anikaRobot", "croak", "robosoft", "robosoft2",
                               "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7",
                               "robosoft8", "Tweaky", "whisper", "whisperf"})

_CONSONANTS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
               "p", "b", "m", "m", "p", "b", "st", "pr", "bl", "tr", "sp", "ch", "sh", "th", "pl", "br",
               "mp", "mb", "ph", "qu", "x", "y", "gr", "kr", "fl"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "o", "u", "ai", "au", "ei", "ou", "oo", "ee", "ie", "y"]
_EXTRA_VOWELS = {"ca": "àèéíòóú", "de": "äöü", "fr-fr": "éèàùô", "es": "áéíóú", "it": "àèò", "pt": "ãõáéó",
                 "pt-br": "ãõáéó", "pl": "óąę", "cs": "áéíůý", "sv": "åäö", "fi": "äö", "ro": "ăâî", "hu": "áéöőüű",
                 "tr": "ıöü", "da": "åæø", "sk": "áäô", "hr": ""}


@dataclass(frozen=True)
class UtteranceSpec:
    voice: str
    text: str
    rate: int
    pitch: int
    pitch_range: int
    word_gap: int
    speed: float  # >1 = faster and higher (resampling), like a shorter vocal tract


def _human_voices() -> dict[str, tuple[str, float]]:
    """voice -> (text language, draw weight): English voices 1, the others 0.5 (the real speech is English)."""
    langs = {**{v: festival.voice_info(v).language for v in festival.VOICES}, **{v: "en-us" for v in flite.VOICES}}
    return {v: (lang, 1.0 if lang.startswith("en") else 0.5) for v, lang in sorted(langs.items())}


HUMAN_VOICES: dict[str, tuple[str, float]] = _human_voices()


@dataclass(frozen=True)
class FestivalSpec:
    voice: str  # a key of HUMAN_VOICES: festival.VOICES or flite.VOICES
    text: str
    stretch: float  # duration factor, >1 slower
    f0_mean: float | None  # Hz, diphone voices only
    f0_std: float | None
    speed: float  # as in UtteranceSpec


@dataclass
class Utterance:
    spec: UtteranceSpec | FestivalSpec
    pcm: np.ndarray  # int16, 16 kHz, length a multiple of HOP
    labels: np.ndarray  # uint8 viseme index per frame, len(pcm) // HOP
    events: list[tuple[int, str]]  # (start sample at 16 kHz, espeak IPA phoneme)


_WORDS: list[str] | None = None


def english_words() -> list[str]:
    """English words from pocketsphinx's CMU dictionary when installed; pseudo-words otherwise."""
    global _WORDS
    if _WORDS is None:
        words: list[str] = []
        try:
            import pocketsphinx

            path = Path(pocketsphinx.__file__).parent / "model" / "en-us" / "cmudict-en-us.dict"
            with open(path, encoding="utf-8") as f:
                words = sorted({w for w in (line.split(" ", 1)[0] for line in f) if w.isalpha() and len(w) <= 12})
        except (ImportError, OSError):
            pass
        _WORDS = words
    return _WORDS


def _pseudo_word(rng: np.random.Generator, lang: str) -> str:
    vowels = _VOWELS + list(_EXTRA_VOWELS.get(lang, ""))
    n = int(rng.integers(1, 4))
    parts = []
    for _ in range(n):
        if rng.random() < 0.8:
            parts.append(_CONSONANTS[rng.integers(len(_CONSONANTS))])
        parts.append(vowels[rng.integers(len(vowels))])
        if rng.random() < 0.3:
            parts.append(_CONSONANTS[rng.integers(18)])
    return "".join(parts)


def random_text(rng: np.random.Generator, lang: str) -> str:
    words = english_words() if lang.startswith("en") else []
    n = int(rng.integers(3, 18))
    out = []
    for i in range(n):
        w = words[rng.integers(len(words))] if words and rng.random() < 0.9 else _pseudo_word(rng, lang)
        out.append(w)
        if i < n - 1 and rng.random() < 0.12:
            out[-1] += str(rng.choice([",", ".", "?", "!"]))
    return " ".join(out) + str(rng.choice([".", "?", "!", ""]))


def random_spec(rng: np.random.Generator, variants: list[str]) -> UtteranceSpec:
    langs, weights = zip(*LANGUAGES)
    p = np.asarray(weights) / sum(weights)
    lang = langs[rng.choice(len(langs), p=p)]
    voice = lang if rng.random() < 0.15 else f"{lang}+{variants[rng.integers(len(variants))]}"
    return UtteranceSpec(voice=voice, text=random_text(rng, lang), rate=int(rng.integers(110, 290)),
                         pitch=int(rng.integers(10, 90)), pitch_range=int(rng.integers(10, 95)),
                         word_gap=int(rng.choice([0, 0, 0, 1, 2, 4])), speed=float(rng.uniform(0.88, 1.14)))


def random_festival_spec(rng: np.random.Generator) -> FestivalSpec:
    voices = list(HUMAN_VOICES)
    p = np.array([w for _, w in HUMAN_VOICES.values()])
    voice = voices[rng.choice(len(voices), p=p / p.sum())]
    f0_mean = f0_std = None
    if voice in festival.PITCH_VOICES | flite.PITCH_VOICES:  # all male: 85-150 Hz means, flat to lively
        f0_mean, f0_std = float(rng.uniform(85, 150)), float(rng.uniform(6, 30))
    return FestivalSpec(voice=voice, text=random_text(rng, HUMAN_VOICES[voice][0]),
                        stretch=float(rng.uniform(0.75, 1.35)), f0_mean=f0_mean, f0_std=f0_std,
                        speed=float(rng.uniform(0.88, 1.14)))


_CLOSURE_VISEMES = np.array([VISEME_INDEX[v] for v in ("PP", "DD", "kk", "CH")])


def frame_db(pcm: np.ndarray, n: int) -> np.ndarray:
    """Level (dBFS) of each of the first `n` 10 ms frames of int16 `pcm`. In chunks: a training corpus
    holds hours of speech, and float64 copies of all of it at once took 13 GB."""
    out = np.empty(n, np.float64)
    for start in range(0, n, _DB_CHUNK):
        stop = min(n, start + _DB_CHUNK)
        frames = pcm[start * HOP:stop * HOP].astype(np.float64).reshape(stop - start, HOP) / 32768.0
        out[start:stop] = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    return out


_DB_CHUNK = 100_000  # frames (1000 s of audio) per chunk in frame_db


def quiet_to_silence(pcm: np.ndarray, labels: np.ndarray, *, below_loud_db: float = 40.0,
                     min_frames: int = 3) -> np.ndarray:
    """Label as ``sil`` the runs of at least `min_frames` frames quieter than the stream's loud frames
    (its 99th-percentile level) by more than `below_loud_db`, except stop closures (PP/DD/kk/CH).

    Neural TTS fades words and phrases out inside a sentence with no pause token, so those frames keep
    the phone before them; a viewer sees a resting mouth there. Idempotent.
    """
    level = frame_db(pcm, len(labels))
    quiet = (level < np.percentile(level, 99) - below_loud_db) & ~np.isin(labels, _CLOSURE_VISEMES)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    out = labels.copy()
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start >= min_frames:
            out[start:stop] = VISEME_INDEX["sil"]
    return out


def close_stop_gaps(pcm: np.ndarray, labels: np.ndarray, *, threshold_db: float = -50.0,
                    max_frames: int = 15) -> np.ndarray:
    """Give a stop's silent closure to the stop.

    espeak places a voiceless stop's phoneme event at its burst; the silent closure before it falls in
    the previous phoneme's span. Near-silent frames (below `threshold_db` dBFS, clean audio) right before
    a PP/DD/kk/CH run are relabelled to that run's viseme, up to `max_frames`, never across ``sil``.
    Idempotent.
    """
    quiet = frame_db(pcm, len(labels)) < threshold_db
    out = labels.copy()
    sil = VISEME_INDEX["sil"]
    starts = np.flatnonzero(np.isin(labels[1:], _CLOSURE_VISEMES) & (labels[1:] != labels[:-1])) + 1
    for s in starts:
        # the burst may begin a frame or two before the event: find the closure's last quiet frame
        q = next((i for i in range(s - 1, max(s - 4, -1), -1) if quiet[i]), None)
        if q is None or np.any(labels[q:s] == sil):
            continue
        i = q
        while i >= 0 and s - i <= max_frames and quiet[i] and labels[i] != sil:
            i -= 1
        out[i + 1:s] = labels[s]
    return out


def _festival_request(spec: FestivalSpec) -> festival.Request:
    return festival.Request(spec.text, spec.voice, spec.stretch, spec.f0_mean, spec.f0_std)


def synthesize_human(specs: list[FestivalSpec]) -> list[Speech]:
    """Speech for each spec, in order: the Festival ones in one festival process per language, the flite
    ones by flite; None where the voice failed on the text (rare; the same specs always fail)."""
    fest = iter(festival.synthesize_many([_festival_request(s) for s in specs if s.voice not in flite.VOICES],
                                         skip_failed=True))
    fl = iter(flite.synthesize_many([_festival_request(s) for s in specs if s.voice in flite.VOICES]))
    return [next(fl) if s.voice in flite.VOICES else next(fest) for s in specs]


def make_utterance(spec: UtteranceSpec | FestivalSpec, speech: Speech | None = None) -> Utterance:
    """Synthesize `spec` (or label `speech`, already synthesized from it) at 16 kHz with frame labels."""
    from scipy.signal import resample_poly

    if speech is None and isinstance(spec, FestivalSpec):
        speech = synthesize_human([spec])[0]
        if speech is None:
            raise RuntimeError(f"{spec.voice} failed on {spec.text!r}")
    elif speech is None:
        speech = espeak.synthesize(spec.text, voice=spec.voice, rate=spec.rate, pitch=spec.pitch,
                                   pitch_range=spec.pitch_range, word_gap=spec.word_gap)
    # playing src_rate samples as if they were src_rate*speed: resample by SAMPLE_RATE / (src_rate*speed)
    src = int(round(speech.sample_rate * spec.speed))
    g = np.gcd(SAMPLE_RATE, src)
    x = resample_poly(speech.pcm.astype(np.float32), SAMPLE_RATE // g, src // g)
    n = int(np.ceil(len(x) / HOP)) * HOP
    pcm = np.zeros(n, np.int16)
    pcm[:len(x)] = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    ratio = SAMPLE_RATE / src
    events = [(int(round(e.sample * ratio)), e.phoneme) for e in speech.phonemes if not is_language_switch(e.phoneme)]
    return Utterance(spec=spec, pcm=pcm, labels=close_stop_gaps(pcm, frame_labels(events, n)), events=events)


def _variants() -> list[str]:
    return [v for v in espeak.list_variants() if v not in EXCLUDED_VARIANTS]


def _seeded_spec(seed: int, index: int, festival_fraction: float) -> tuple[UtteranceSpec | FestivalSpec, int]:
    """Utterance `index`'s spec and the silent gap after it (samples). The synthesizer is drawn from its
    own stream, so the espeak utterances are those of the espeak-only corpus at the same indices."""
    pick = np.random.default_rng([seed, index, 1])
    if festival_fraction > 0 and pick.random() < festival_fraction:
        rng = pick
        spec: UtteranceSpec | FestivalSpec = random_festival_spec(rng)
    else:
        rng = np.random.default_rng([seed, index])
        spec = random_spec(rng, _variants())
    return spec, int(rng.integers(0, 60)) * HOP  # 0-0.6 s of silence after each utterance


def _make_block(args: tuple[int, int, int, float]) -> list[tuple[np.ndarray, np.ndarray]]:
    seed, first, count, festival_fraction = args
    specs = [_seeded_spec(seed, i, festival_fraction) for i in range(first, first + count)]
    fest = [spec for spec, _ in specs if isinstance(spec, FestivalSpec)]
    speech = iter(synthesize_human(fest))  # one festival process per block
    out = []
    for spec, gap in specs:
        sp = next(speech) if isinstance(spec, FestivalSpec) else None
        if isinstance(spec, FestivalSpec) and sp is None:
            log.debug("%s failed on %r: utterance left out", spec.voice, spec.text)
            continue
        utt = make_utterance(spec, sp)
        out.append((np.concatenate([utt.pcm, np.zeros(gap, np.int16)]),
                    np.concatenate([utt.labels, np.zeros(gap // HOP, np.uint8)])))
    return out


def default_cache_dir() -> Path:
    return Path(os.environ.get("TALKIES_CACHE", Path.home() / ".cache" / "talkies")) / "lipsync-data"


def build_corpus(n_utterances: int, *, seed: int = 0, workers: int = 1, cache_dir: Path | None = None,
                 festival_fraction: float = FESTIVAL_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """One long stream (int16 PCM at 16 kHz, uint8 viseme per 10 ms frame) of `n_utterances`, about
    `festival_fraction` of them from the human-recorded voices (:data:`HUMAN_VOICES`), cached."""
    if not 0.0 <= festival_fraction <= 1.0:
        raise ValueError(f"festival_fraction {festival_fraction} is not in [0, 1]")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # the mixed corpus depends on the human voice set: its name is in the key (the espeak-only one is not)
    voices = ",".join(f"{v}:{w:g}" for v, (_, w) in HUMAN_VOICES.items())
    mix = f"-festival{festival_fraction:g}-{voices}" if festival_fraction > 0 else ""
    key = hashlib.sha256(f"{DATA_VERSION}-{seed}-{n_utterances}{mix}".encode()).hexdigest()[:16]
    path = cache_dir / f"corpus-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return z["pcm"], close_stop_gaps(z["pcm"], z["labels"])
    # libespeak-ng keeps state from one utterance to the next (its samples depend on what it said
    # before), so fixed blocks of utterances are each synthesized in order in a fresh process: the
    # corpus then depends on (seed, n_utterances) only, not on the number of workers or scheduling.
    import multiprocessing as mp

    blocks = [(seed, i, min(BLOCK, n_utterances - i), festival_fraction) for i in range(0, n_utterances, BLOCK)]
    with mp.get_context("spawn").Pool(max(1, workers), maxtasksperchild=1) as pool:
        done = track(pool.imap(_make_block, blocks), "synthesizing speech", total=len(blocks))
        parts = [item for block in done for item in block]
    pcm = np.concatenate([p for p, _ in parts])
    labels = np.concatenate([lab for _, lab in parts])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, pcm=pcm, labels=labels)
    os.replace(tmp, path)
    log.info("corpus: %.1f min of speech, %d frames -> %s", len(pcm) / SAMPLE_RATE / 60, len(labels), path)
    return pcm, close_stop_gaps(pcm, labels)  # (caches made before the fix hold uncorrected labels)


__all__ = ["HUMAN_VOICES", "SAMPLE_RATE", "FestivalSpec", "Utterance", "UtteranceSpec",
           "build_corpus", "make_utterance", "random_festival_spec", "random_spec",
           "synthesize_human"]
