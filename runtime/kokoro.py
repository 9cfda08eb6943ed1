"""Kokoro-82M, a neural text-to-speech model (54 voices, 9 languages), as a speech engine.

`talkies models fetch` (models/kokoro) caches the model, its phoneme vocabulary and the voices in
``$TALKIES_HOME/models/kokoro``; this module only reads them, after checking their sha256 once per process.

Text → phonemes: espeak-ng IPA through the project's libespeak-ng (:mod:`talkies.runtime.espeak`), in the
espeak voice of the Kokoro voice's language. Its phoneme events say which word each phone belongs to, so
words and punctuation are re-assembled into Kokoro's phoneme string with an exact token → phone → word map.
Phonemes → speech: the int8 ONNX model, given a second output at fetch time, also returns per-token durations
(units of 600 samples at 24 kHz), which time the phones and words exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkies.errors import BundleError, InputError
from talkies.log import get_logger
from talkies.paths import talkies_home
from talkies.runtime.bundle import sha256_file
from talkies.runtime.speech import PhonemeEvent, Speech, Voice, WordEvent
from talkies.runtime.visemes import IPA_VISEMES, is_language_switch

log = get_logger(__name__)

FETCH_COMMAND = "talkies models fetch"
SAMPLE_RATE = 24000
DURATION_UNIT = 600  # samples per duration step of the model's /encoder/Round_output_0 (25 ms)
MAX_PHONEME_TOKENS = 510  # the model's context (512) less the two pads; the voice tables have 510 rows
STYLE_DIM = 256
DEFAULT_RATE = 175  # words per minute that Kokoro's speed 1.0 stands for
DEFAULT_THREADS = 1
PAUSE_SEARCH = 4  # units (100 ms) a pause may move to meet the audio's silence
QUIET_FRACTION = 0.05  # a unit is quiet under this fraction of the piece's loudest unit (RMS)
# The audio of a token sounds about 55 ms before its duration slot says (a lip-sync model agrees best with
# the raw slots at a 5-6 frame lag in all 9 languages; see models/lipsync/MODEL_CARD.md): phones start
# this many units earlier. Pauses are then snapped onto the audio's own silence.
PHONE_LEAD = 2

MODEL_FILE = "kokoro-v1.0.int8-durations.onnx"
VOCAB_FILE = "vocab.json"
VOICES_DIR = "voices"
MANIFEST_FILE = "manifest.json"
#: sha256 of the files `talkies models fetch` writes (the model is the int8 export, sha256 6e742170…, whose
#: parts come from PyPI, with its duration tensor as a second output; the voices from npm's kokoro-js 1.2.1).
MODEL_SHA256 = "2f5f112fde97b1d8be03f7bfc5a4c06d530d1d97a006742f230f8feab538125d"
VOCAB_SHA256 = "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"
#: sha256 over the lines "NAME.bin SHA256\n" of every voice file, in name order.
VOICES_SHA256 = "bf91df3ec10e3aed8036f7c0f7e46268adfb148cddf6ca89ba5edbd8397c949a"

# Kokoro's language letter (the voice name's first character) -> (languages, espeak-ng voice)
LANGUAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "a": (("en-us", "en"), "en-us"),
    "b": (("en-gb", "en"), "en-gb"),
    "e": (("es",), "es"),
    "f": (("fr-fr", "fr"), "fr-fr"),
    "h": (("hi",), "hi"),
    "i": (("it",), "it"),
    "j": (("ja",), "ja"),
    "p": (("pt-br", "pt"), "pt-br"),
    "z": (("cmn", "zh"), "cmn"),
}
#: The 54 voices of kokoro-js 1.2.1: language letter, gender letter (f/m), name.
VOICE_NAMES: tuple[str, ...] = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis", "ef_dora", "em_alex", "em_santa", "ff_siwis", "hf_alpha", "hf_beta", "hm_omega", "hm_psi",
    "if_sara", "im_nicola", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo", "pf_dora",
    "pm_alex", "pm_santa", "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi",
    "zm_yunxia", "zm_yunyang",
)
DEFAULT_VOICE = "af_heart"
# espeak IPA -> Kokoro's symbols (its vocabulary writes the affricates as ligatures)
_IPA_TO_KOKORO = (("dʒ", "ʤ"), ("tʃ", "ʧ"))
PUNCTUATION = ";:,.!?—…\"()“”"  # the vocabulary's punctuation: pauses the model speaks
# what an event name may hold: the viseme table's symbols and the marks it strips (espeak also writes
# syllable dots and modifier letters such as Japanese ᵝ, which have no viseme)
_EVENT_CHARS = set("".join(IPA_VISEMES)) | set("ˈˌːˑʲʷˠˤʰ-‿ʔ")
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|(?<=[。！？])")


def kokoro_dir() -> Path:
    """Where the fetched Kokoro files live (follows $TALKIES_HOME at call time)."""
    return talkies_home() / "models" / "kokoro"


def language_of(voice: str) -> tuple[str, ...]:
    return LANGUAGES[voice[0]][0]


def voice_list() -> list[Voice]:
    """The Kokoro voices (known without the files: the names say language and gender)."""
    return [Voice(name=v.split("_", 1)[1].capitalize(), identifier=v, languages=language_of(v),
                  gender="female" if v[1] == "f" else "male", engine="kokoro") for v in VOICE_NAMES]


def voice_for_language(language: str) -> str | None:
    """A Kokoro voice for `language` (``en-us``, ``fr``, ``pt-br``…), None when Kokoro does not speak it.
    The best-graded voice for English (af_heart, bf_emma), else the language's first female voice."""
    language = language.lower()
    if language in ("en", "en-us"):
        return DEFAULT_VOICE
    if language == "en-gb":
        return "bf_emma"
    for v in VOICE_NAMES:
        if language in language_of(v) or language.split("-")[0] == language_of(v)[0]:
            return v
    return None


def voices_digest(voice_files: list[Path]) -> str:
    """The combined digest :data:`VOICES_SHA256` stands for."""
    lines = "".join(f"{p.name} {sha256_file(p)}\n" for p in sorted(voice_files, key=lambda p: p.name))
    return hashlib.sha256(lines.encode()).hexdigest()


_verified: set[Path] = set()
_lock = threading.Lock()


def verify_files(root: Path | None = None) -> Path:
    """Check that the fetched files are all there and untouched (once per process and folder); BundleError
    naming the fetch command otherwise. Returns the folder."""
    root = root or kokoro_dir()
    if root in _verified:
        return root
    model, vocab = root / MODEL_FILE, root / VOCAB_FILE
    voices = [root / VOICES_DIR / f"{v}.bin" for v in VOICE_NAMES]
    missing = [p.name for p in (model, vocab, *voices) if not p.is_file()]
    if missing:
        raise BundleError(f"the Kokoro voices are not fetched ({', '.join(missing[:3])}"
                          f"{' …' if len(missing) > 3 else ''} missing in {root}); run `{FETCH_COMMAND}`")
    for path, expected in ((vocab, VOCAB_SHA256), (model, MODEL_SHA256)):
        if sha256_file(path) != expected:
            raise BundleError(f"{path} is damaged or was changed (sha256 mismatch); "
                              f"run `{FETCH_COMMAND} --force` to fetch it again")
    if voices_digest(voices) != VOICES_SHA256:
        raise BundleError(f"a Kokoro voice in {root / VOICES_DIR} is damaged or was changed (sha256 mismatch); "
                          f"run `{FETCH_COMMAND} --force` to fetch them again")
    _verified.add(root)
    return root


@dataclass
class _Token:
    id: int
    kind: str  # "phone", "space", "punct" or "pad"
    phone: int = -1  # index into _Piece.phones for kind "phone"


@dataclass
class _Piece:
    """One model call: its tokens, the phones (espeak IPA names) and word starts they carry."""

    tokens: list[_Token] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    phone_word: list[int] = field(default_factory=list)  # text position (1-based, whole text) of each phone
    word_length: dict[int, int] = field(default_factory=dict)  # text position -> characters


class KokoroEngine:
    """Kokoro-82M: natural voices in 9 languages (American and British English, Spanish, French, Hindi,
    Italian, Japanese, Brazilian Portuguese, Mandarin). It has no pitch control."""

    name = "kokoro"
    default_voice = DEFAULT_VOICE

    def __init__(self, *, threads: int = DEFAULT_THREADS) -> None:
        self.threads = threads
        self._session = None
        self._root: Path | None = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, np.ndarray] = {}
        self._dropped: set[str] = set()

    def voices(self) -> list[Voice]:
        return voice_list()

    def has_voice(self, voice: str) -> bool:
        return voice in VOICE_NAMES

    # -- loading --------------------------------------------------------------------------------------

    def _load(self) -> None:
        root = verify_files()
        if self._session is not None and self._root == root:
            return
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(root / MODEL_FILE), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._vocab = json.loads((root / VOCAB_FILE).read_text(encoding="utf-8"))["vocab"]
        self._styles, self._root = {}, root

    def _style(self, voice: str, n_phonemes: int) -> np.ndarray:
        if voice not in self._styles:
            table = np.fromfile(self._root / VOICES_DIR / f"{voice}.bin", np.float32)
            self._styles[voice] = table.reshape(-1, STYLE_DIM)
        table = self._styles[voice]
        # the reference pipeline takes row len(phonemes) - 1 (pads not counted)
        return table[min(max(n_phonemes - 1, 0), len(table) - 1)][None, :]

    # -- text -> pieces -------------------------------------------------------------------------------

    def _symbols(self, ipa: str) -> list[int]:
        ipa = unicodedata.normalize("NFD", ipa)  # ä -> a + diaeresis: the base is in the vocabulary
        for a, b in _IPA_TO_KOKORO:
            ipa = ipa.replace(a, b)
        ids = []
        for ch in ipa:
            if ch in PUNCTUATION:  # espeak's syllable dots and the like are not pauses
                continue
            if ch in self._vocab:
                ids.append(self._vocab[ch])
            elif ch not in self._dropped:
                self._dropped.add(ch)
                log.info("Kokoro has no symbol %r (U+%04X) in its vocabulary: dropped", ch, ord(ch))
        return ids

    def _pieces(self, text: str, offset: int, espeak_voice: str) -> list[_Piece]:
        """Phonemize one sentence (starting at `offset` in the whole text) into pieces of ≤ 510 tokens."""
        from talkies.runtime import espeak

        spoken = espeak.synthesize(text, voice=espeak_voice)
        starts = sorted({w.text_position for w in spoken.words})
        lengths = {w.text_position: w.length for w in sorted(spoken.words, key=lambda w: -w.length)}
        # each word: its phones (espeak IPA names), then the punctuation after it in the text
        words: list[tuple[int, int, list[str], str]] = []
        for k, pos in enumerate(starts):
            phones = [p.phoneme for p in spoken.phonemes
                      if p.phoneme and not is_language_switch(p.phoneme)
                      and _word_of(starts, p.text_position) == k]
            end = starts[k + 1] - 1 if k + 1 < len(starts) else len(text)
            tail = text[min(pos - 1 + lengths[pos], end):end]
            words.append((offset + pos, lengths[pos], phones, "".join(c for c in tail if c in PUNCTUATION)))
        ids = [[self._symbols(p) for p in phones] for _, _, phones, _ in words]
        sizes = [sum(map(len, w)) + len(punct) + 1 for w, (_, _, _, punct) in zip(ids, words)]
        pieces = []
        for chunk in _chunks(sizes, [bool(w[3]) for w in words]):
            piece = _Piece()
            for k in chunk:
                pos, length, phones, punct = words[k]
                piece.word_length[pos] = length
                if piece.tokens:
                    piece.tokens.append(_Token(self._vocab[" "], "space"))
                for name, phone_ids in zip(phones, ids[k]):
                    if phone_ids:
                        piece.tokens += [_Token(i, "phone", len(piece.phones)) for i in phone_ids]
                        piece.phones.append(name)
                        piece.phone_word.append(pos)
                piece.tokens += [_Token(self._vocab[c], "punct") for c in punct if c in self._vocab]
            del piece.tokens[MAX_PHONEME_TOKENS:]  # a single word longer than the context (never seen)
            pieces.append(piece)
        return [p for p in pieces if p.phones]

    # -- synthesis ------------------------------------------------------------------------------------

    def _run(self, piece: _Piece, voice: str, speed: float) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([[0, *(t.id for t in piece.tokens), 0]], np.int64)
        audio, durations = self._session.run(None, {
            "tokens": ids, "style": self._style(voice, len(piece.tokens)),
            "speed": np.array([speed], np.float32)})
        audio = np.asarray(audio, np.float32).ravel()
        durations = np.asarray(durations).ravel().astype(np.int64)
        if len(durations) != ids.shape[1] or int(durations.sum()) * DURATION_UNIT != len(audio):
            raise RuntimeError(f"Kokoro durations ({durations.sum()} × {DURATION_UNIT}) do not match its "
                               f"audio ({len(audio)} samples)")
        return audio, durations

    def synthesize(self, text: str, *, voice: str, rate: int = DEFAULT_RATE, pitch: int = 50) -> Speech:
        if voice not in VOICE_NAMES:
            raise InputError(f"unknown Kokoro voice {voice!r}; list them with `talkies voices`")
        if not text or not text.strip():
            raise InputError("the script is empty; give the words to say")
        if pitch != 50:
            log.warning("Kokoro voices have no pitch control: pitch %d is ignored", pitch)
        with _lock:  # one session, one set of caches: one synthesis at a time
            self._load()
            espeak_voice = LANGUAGES[voice[0]][1]
            speed = rate / DEFAULT_RATE
            chunks, phonemes, words = [], [], []
            total = 0
            for start, sentence in split_sentences(text):
                for piece in self._pieces(sentence, start, espeak_voice):
                    audio, durations = self._run(piece, voice, speed)
                    timeline = _snap_pauses(_timeline(piece, durations), audio)
                    if not chunks:
                        audio, timeline = _without_lead_in(audio, timeline)
                    _events(timeline, piece, total, phonemes, words)
                    chunks.append(audio)
                    total += len(audio)
        if not chunks:
            raise InputError(f"Kokoro found nothing to say in {text[:60]!r}; give words in the voice's language")
        pcm = np.clip(np.concatenate(chunks) * 32767.0, -32768, 32767).astype(np.int16)
        return Speech(pcm=pcm, sample_rate=SAMPLE_RATE, phonemes=phonemes, words=words)


def _chunks(sizes: list[int], punctuated: list[bool]) -> list[range]:
    """Runs of consecutive words whose token counts fit the model's context, each cut after the last
    punctuated word when it has one (a clause break sounds better than a cut mid-phrase)."""
    out, start, total = [], 0, 0
    for k, size in enumerate(sizes):
        if k > start and total + size > MAX_PHONEME_TOKENS:
            breaks = [j for j in range(start, k) if punctuated[j]]
            cut = breaks[-1] + 1 if breaks else k
            if sum(sizes[cut:k]) + size > MAX_PHONEME_TOKENS:
                cut = k
            out.append(range(start, cut))
            start, total = cut, sum(sizes[cut:k])
        total += size
    if start < len(sizes):
        out.append(range(start, len(sizes)))
    return out


def _word_of(starts: list[int], position: int) -> int:
    """Index of the word (by start position) a phone at text `position` belongs to."""
    import bisect

    return max(0, bisect.bisect_right(starts, position) - 1)


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(0-based start, sentence) for each sentence of `text` (split after . ! ? … ; and CJK stops)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if text[start:m.start()].strip():
            out.append((start, text[start:m.start()]))
        start = m.end()
    if text[start:].strip():
        out.append((start, text[start:]))
    return out


def _event_name(phone: str) -> str:
    """espeak's IPA name of a phone, less the characters the viseme table cannot read."""
    return "".join(c for c in unicodedata.normalize("NFD", phone) if c in _EVENT_CHARS or unicodedata.combining(c))


def _timeline(piece: _Piece, durations: np.ndarray) -> list[list]:
    """[name, start unit, word position] per phone or pause of one piece, from the token durations.

    A phone starts at its first token (stress marks lead its name) and lasts over its tokens, everything
    PHONE_LEAD units early; a space joins whatever precedes it; the pads and punctuation are pauses (an
    empty name, as espeak's).
    """
    kinds = ["pad"] + [t.kind for t in piece.tokens] + ["pad"]
    owners = [-1] + [t.phone for t in piece.tokens] + [-1]
    starts = np.maximum(np.concatenate([[0], np.cumsum(durations)[:-1]]) - PHONE_LEAD, 0)
    out: list[list] = []
    last = -2
    for kind, owner, start, dur in zip(kinds, owners, starts, durations):
        if kind == "space" or (kind == "phone" and owner == last):
            continue
        if kind in ("pad", "punct"):
            if dur > 0 and last != -1:
                out.append(["", int(start), 0])
                last = -1
            continue
        out.append([_event_name(piece.phones[owner]), int(start), piece.phone_word[owner]])
        last = owner
    return out


def _snap_pauses(timeline: list[list], audio: np.ndarray) -> list[list]:
    """Move each pause onto the quiet stretch of `audio` it stands for.

    The model's durations place a pause within about ±100 ms of where the audio is silent (it lengthens
    the vowel before a comma, say, or starts a word early): the pause becomes the quiet run (25 ms units
    under 5% of the loudest) that overlaps it most within ±PAUSE_SEARCH units, its neighbours' bounds
    moving with it; a pause the audio does not make joins the phone before it.
    """
    n = len(audio) // DURATION_UNIT
    env = np.sqrt(np.mean(audio[:n * DURATION_UNIT].reshape(n, DURATION_UNIT) ** 2, axis=1))
    quiet = env < QUIET_FRACTION * max(float(env.max(initial=0.0)), 1e-6)
    bounds = [t[1] for t in timeline] + [n]
    out: list[list] = []
    for k, (name, start, pos) in enumerate(timeline):
        if name:
            out.append([name, max(start, out[-1][1] + 1) if out else start, pos])
            continue
        end = bounds[k + 1]
        lo = 0 if k == 0 else max(out[-1][1] + 1 if out else 0, start - PAUSE_SEARCH)
        hi = n if k == len(timeline) - 1 else min(bounds[k + 2] - 1 if k + 2 < len(bounds) else n,
                                                    end + PAUSE_SEARCH)
        best, best_overlap = None, 0
        a = lo
        while a < hi:  # quiet runs inside [lo, hi)
            if not quiet[a]:
                a += 1
                continue
            b = a
            while b < hi and quiet[b]:
                b += 1
            overlap = min(b, end) - max(a, start)
            if overlap > best_overlap or (best is None and b - a >= 2):
                best, best_overlap = (a, b), overlap
            a = b
        if best is None:
            continue  # no silence in the audio here: the phone before keeps sounding
        out.append(["", 0 if k == 0 else best[0], 0])
        if k + 1 < len(timeline):
            timeline[k + 1][1] = max(best[1], timeline[k + 1][1] if best[1] <= out[-1][1] else best[1])
    return out


def _without_lead_in(audio: np.ndarray, timeline: list[list]) -> tuple[np.ndarray, list[list]]:
    """The speech from its first phone on: the model's lead-in silence (0.3–0.5 s) is dead air in a video,
    and espeak starts speaking at once too."""
    first = next((t[1] for t in timeline if t[0]), 0)
    return audio[first * DURATION_UNIT:], [[n, u - first, p] for n, u, p in timeline if u >= first]


def _events(timeline: list[list], piece: _Piece, base: int, phonemes: list[PhonemeEvent],
            words: list[WordEvent]) -> None:
    """Append a piece's phone and word events (a word starts with its first phone), `base` samples in."""
    last_word = -1
    for name, unit, pos in timeline:
        sample = base + unit * DURATION_UNIT
        phonemes.append(PhonemeEvent(name, sample, sample / SAMPLE_RATE, pos))
        if name and pos != last_word:
            words.append(WordEvent(sample, sample / SAMPLE_RATE, pos, piece.word_length[pos]))
            last_word = pos


__all__ = ["DEFAULT_VOICE", "KokoroEngine", "LANGUAGES", "VOICE_NAMES", "kokoro_dir", "verify_files",
           "voice_for_language", "voice_list"]
