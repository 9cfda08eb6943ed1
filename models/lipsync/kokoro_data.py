"""Training data from Kokoro-82M: neural speech of its 54 voices, labelled per 10 ms frame from the
model's own phone durations.

Everything is reproducible from a seed. :func:`random_kokoro_spec` draws a voice (about 70% from the 28
English ones, the rest from the other 8 languages, each language equally likely), a rate (140–220 words
per minute), a mild speed (resampling) factor and text: for English, sentences of real words
(:func:`data.random_text`) with spelled-out numbers and questions; Spanish, French, Italian and Portuguese
pseudo-words from :func:`data.random_text`'s letter inventories; Hindi, Japanese and Mandarin syllables in
their own scripts. :func:`data.make_utterance` resamples to 16 kHz, labels each frame with the viseme
of the phone playing (:func:`runtime.visemes.frame_labels`) and gives stop closures to their stops
(:func:`data.close_stop_gaps`), exactly as for the other synthesizers. When the corpus is read, quiet
runs inside a sentence that Kokoro gives no pause token are labelled ``sil``
(:func:`data.quiet_to_silence`).

The corpus is built in blocks of :data:`BLOCK` utterances, each cached as its own ``.npz`` (written
atomically) under ``$TALKIES_HOME/lipsync-data/kokoro-<key>/``, so a build stops and resumes where it
was; block ``b`` depends only on (seed, b), never on how many blocks are asked for.

    python -m talkies.models.lipsync.kokoro_data 600 --workers 2 --log kokoro-corpus.log   # 600 utterances
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from talkies.io import atomic_path
from talkies.log import get_logger
from talkies.paths import talkies_home
from talkies.runtime.visemes import HOP

from . import data as D

log = get_logger(__name__)

DATA_VERSION = 2  # 2: phone events PHONE_LEAD units earlier (runtime/kokoro.py)
BLOCK = 20  # utterances per cached block
ENGLISH_SHARE = 0.7  # of the utterances, from the American and British English voices
RATES = (140, 220)  # words per minute (Kokoro's speed = rate / 175)
SPEEDS = (0.95, 1.05)  # resampling factor, as data.py's (narrower: these are human-like voices already)

# Kokoro language letter -> the language data.random_text writes (None: a script of its own, below)
_TEXT_LANGUAGE = {"e": "es", "f": "fr-fr", "i": "it", "p": "pt-br", "h": None, "j": None, "z": None}

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_QUESTION_STARTS = ("what", "why", "how", "where", "when", "who", "do you", "can we", "is it", "are they",
                    "did she", "would you", "have you", "will it", "should I", "could he", "which")

# syllables of the scripts data.random_text does not cover
_KANA = ("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん"
         "がぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽきゃしゅちょ")
_HANZI = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"
          "她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三"
          "已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女"
          "问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由"
          "却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路"
          "期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八")
_DEVANAGARI_CONSONANTS = "कखगघचछजझटडतथदधनपफबभमयरलवशसह"
_DEVANAGARI_VOWEL_SIGNS = ("", "", "ा", "ि", "ी", "ु", "ू", "े", "ै", "ो", "ौ")


def number_words(n: int) -> str:
    """0–9999 in English words ("two thousand and seven"), as a script would spell them out."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    head = number_words(n // 1000) + " thousand"
    if rest == 0:
        return head
    return head + (" and " if rest < 100 else " ") + number_words(rest)


def english_text(rng: np.random.Generator) -> str:
    """One to three sentences of random English words (:func:`data.random_text`), some with a number
    spelled out in them, some turned into questions."""
    sentences = []
    for _ in range(int(rng.integers(1, 4))):
        words = D.random_text(rng, "en-us").split(" ")
        if rng.random() < 0.35:
            n = int(rng.integers(0, 100)) if rng.random() < 0.6 else int(rng.integers(100, 10000))
            words.insert(int(rng.integers(0, len(words))), number_words(n))
        if rng.random() < 0.25:
            words = [str(rng.choice(_QUESTION_STARTS))] + words
            words[-1] = words[-1].rstrip(".?!") + "?"
        sentence = " ".join(words)
        sentences.append(sentence[:1].upper() + sentence[1:])
    return " ".join(s if s[-1] in ".?!" else s + "." for s in sentences)


def _syllable_text(rng: np.random.Generator, letter: str) -> str:
    """Pseudo-words of random syllables in Hindi (Devanagari), Japanese (kana) or Mandarin (common hanzi),
    with pauses."""
    n = int(rng.integers(3, 14))
    words = []
    for _ in range(n):
        k = int(rng.integers(1, 4))
        if letter == "h":
            word = "".join(_DEVANAGARI_CONSONANTS[rng.integers(len(_DEVANAGARI_CONSONANTS))]
                           + _DEVANAGARI_VOWEL_SIGNS[rng.integers(len(_DEVANAGARI_VOWEL_SIGNS))] for _ in range(k))
        else:
            pool = _KANA if letter == "j" else _HANZI
            word = "".join(pool[rng.integers(len(pool))] for _ in range(k))
        if rng.random() < 0.12:
            word += "、" if letter in "jz" else ","
        words.append(word)
    sep = " " if letter == "h" else ""
    end = {"h": ("।", "?"), "j": ("。", "？"), "z": ("。", "？")}[letter]
    return sep.join(words) + str(rng.choice(end))


@dataclass(frozen=True)
class KokoroSpec:
    voice: str  # a name of runtime.kokoro.VOICE_NAMES
    text: str
    rate: int  # words per minute
    speed: float  # as data.UtteranceSpec.speed: >1 faster and higher (resampling)


def random_kokoro_spec(rng: np.random.Generator) -> KokoroSpec:
    from talkies.runtime.kokoro import VOICE_NAMES

    english = [v for v in VOICE_NAMES if v[0] in "ab"]
    if rng.random() < ENGLISH_SHARE:
        voice = english[rng.integers(len(english))]
        text = english_text(rng)
    else:
        letter = sorted(_TEXT_LANGUAGE)[rng.integers(len(_TEXT_LANGUAGE))]
        voices = [v for v in VOICE_NAMES if v[0] == letter]
        voice = voices[rng.integers(len(voices))]
        lang = _TEXT_LANGUAGE[letter]
        text = D.random_text(rng, lang) if lang else _syllable_text(rng, letter)
    return KokoroSpec(voice=voice, text=text, rate=int(rng.integers(RATES[0], RATES[1] + 1)),
                      speed=float(rng.uniform(*SPEEDS)))


def seeded_spec(seed: int, index: int) -> tuple[KokoroSpec, int]:
    """Utterance `index`'s spec and the silent gap after it (samples, 0–0.6 s)."""
    rng = np.random.default_rng([seed, index, 2])
    return random_kokoro_spec(rng), int(rng.integers(0, 60)) * HOP


_ENGINE = None


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from talkies.runtime.kokoro import KokoroEngine

        _ENGINE = KokoroEngine(threads=1)
    return _ENGINE


def make_kokoro_utterance(spec: KokoroSpec) -> D.Utterance:
    """Speak `spec` with Kokoro and label it at 16 kHz (:func:`data.make_utterance`)."""
    speech = _engine().synthesize(spec.text, voice=spec.voice, rate=spec.rate)
    return D.make_utterance(spec, speech)  # type: ignore[arg-type]  # it reads spec.speed only


def cache_folder(seed: int = 0, cache_dir: Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else talkies_home() / "lipsync-data"
    key = hashlib.sha256(f"kokoro-{DATA_VERSION}-{seed}-{BLOCK}".encode()).hexdigest()[:12]
    return root / f"kokoro-{key}"


def _block_path(folder: Path, block: int) -> Path:
    return folder / f"block-{block:05d}.npz"


def build_block(seed: int, block: int, folder: Path) -> Path:
    """Synthesize utterances ``block * BLOCK …`` and write them (PCM, labels, specs) atomically."""
    path = _block_path(folder, block)
    if path.exists():
        return path
    pcm, labels, specs = [], [], []
    for index in range(block * BLOCK, (block + 1) * BLOCK):
        spec, gap = seeded_spec(seed, index)
        try:
            utt = make_kokoro_utterance(spec)
        except Exception as exc:  # noqa: BLE001 - a text the voice cannot say is left out, and logged
            log.warning("utterance %d (%s, %r) left out: %s", index, spec.voice, spec.text[:60], exc)
            continue
        pcm.append(np.concatenate([utt.pcm, np.zeros(gap, np.int16)]))
        labels.append(np.concatenate([utt.labels, np.zeros(gap // HOP, np.uint8)]))
        specs.append(json.dumps({"index": index, **asdict(spec)}, ensure_ascii=False))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, pcm=np.concatenate(pcm), labels=np.concatenate(labels), specs=np.array(specs))
    return path


def build_kokoro_corpus(n_utterances: int, *, seed: int = 0, cache_dir: Path | None = None,
                        build: bool = True, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """One stream (int16 PCM at 16 kHz, uint8 viseme per 10 ms frame) of the first `n_utterances`
    (rounded up to whole blocks), building the missing blocks (in `workers` processes), or, with
    ``build=False``, of the blocks already cached among them (an error if none is)."""
    if n_utterances < 1:
        raise ValueError(f"n_utterances {n_utterances} is not positive")
    folder = cache_folder(seed, cache_dir)
    n_blocks = -(-n_utterances // BLOCK)
    todo = [b for b in range(n_blocks) if not _block_path(folder, b).exists()]
    if build and todo:
        log.info("Kokoro corpus: %d of %d blocks to synthesize into %s", len(todo), n_blocks, folder)
        start, seconds = time.monotonic(), 0.0
        with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            built = pool.map(build_block, [seed] * len(todo), todo, [folder] * len(todo)) if pool else (
                build_block(seed, b, folder) for b in todo)
            for k, (b, path) in enumerate(zip(todo, built)):
                with np.load(path, allow_pickle=False) as z:
                    seconds += len(z["pcm"]) / D.SAMPLE_RATE
                elapsed = time.monotonic() - start
                log.info("Kokoro block %d done (%d/%d): %.1f min of speech in %.1f min", b, k + 1, len(todo),
                         seconds / 60, elapsed / 60)
    paths = [p for p in (_block_path(folder, b) for b in range(n_blocks)) if p.exists()]
    if not paths:
        raise FileNotFoundError(f"no Kokoro corpus block cached in {folder}")
    pcm, labels = [], []
    for p in paths:
        with np.load(p, allow_pickle=False) as z:
            pcm.append(z["pcm"])
            labels.append(D.quiet_to_silence(z["pcm"], z["labels"]))
    out = np.concatenate(pcm), np.concatenate(labels)
    log.info("Kokoro corpus: %d blocks, %.1f min of speech (%s)", len(paths), len(out[0]) / D.SAMPLE_RATE / 60,
             folder)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse
    import logging

    parser = argparse.ArgumentParser(description="Build (or resume) the Kokoro lip-sync corpus.")
    parser.add_argument("utterances", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1, help="Processes synthesizing blocks at once.")
    parser.add_argument("--log", type=Path, default=None, help="Also log progress to this file.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        handlers=[logging.StreamHandler()] + ([logging.FileHandler(args.log)] if args.log else []))
    build_kokoro_corpus(args.utterances, seed=args.seed, cache_dir=args.cache_dir, workers=args.workers)


if __name__ == "__main__":
    main()


__all__ = ["BLOCK", "KokoroSpec", "build_kokoro_corpus", "cache_folder", "english_text", "make_kokoro_utterance",
           "number_words", "random_kokoro_spec", "seeded_spec"]
