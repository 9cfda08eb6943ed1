"""The espeak-ng speech engine: a small ctypes binding to libespeak-ng (shipped by `espeakng-loader`),
giving speech plus phoneme events.

The library is driven in synchronous mode with `espeakINITIALIZE_PHONEME_EVENTS` (and IPA names), so
one call to :func:`synthesize` returns the whole PCM (int16 at the voice's sample rate, 22050 Hz for
the built-in voices) together with one :class:`PhonemeEvent` per phoneme, each with its exact start in
samples of that PCM. Used by text-to-speech (:mod:`talkies.runtime.tts`) and lip-sync training data.

libespeak-ng holds global state, so calls are serialised with a lock; use processes for parallelism.
"""

from __future__ import annotations

import ctypes
import re
import threading

import numpy as np

from talkies.errors import InputError, MissingDependencyError
from talkies.log import get_logger
from talkies.runtime.speech import PITCH_RANGE, RATE_RANGE, PhonemeEvent, Speech, Voice, WordEvent

log = get_logger(__name__)

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_SSML = 0x10
_PHONEMES = 0x100  # accept [[phoneme mnemonics]] in the text
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
_EVENT_SAMPLERATE = 8
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}

_LANG_RE = re.compile(r"[a-z]{2,3}(-[a-z0-9]+)*")


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Engine:
    _lock = threading.Lock()
    _instance: _Engine | None = None

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("espeakng-loader is not installed; pip install espeakng-loader") from exc
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.libc = ctypes.CDLL(None)  # espeak's rand() comes from the process's C library
        self.set_rand_seed = getattr(self.lib, "espeak_ng_SetRandSeed", None)  # its own PRNG (1.52+)
        data = espeakng_loader.get_data_path().encode()
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_Synchronize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data,
                                     _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._callback = _CALLBACK(self._on_synth)  # keep a reference: ctypes would free it
        lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None

    @classmethod
    def get(cls) -> _Engine:
        if cls._instance is None:
            cls._instance = _Engine()
        return cls._instance

    def _on_synth(self, wav, numsamples, events) -> int:
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        i = 0
        while True:
            ev = events[i]
            if ev.type == _EVENT_LIST_TERMINATED:
                break
            if ev.type == _EVENT_PHONEME:
                raw = bytes(ev.id.string).split(b"\0", 1)[0]
                self._events.append((ev.type, ev.audio_position, ev.text_position, ev.length,
                                     raw.decode("utf-8", "replace")))
            elif ev.type == _EVENT_WORD:
                self._events.append((ev.type, ev.audio_position, ev.text_position, ev.length, ""))
            i += 1
        return 0


def list_voices() -> list[Voice]:
    """The voices espeak-ng ships (one per language/accent). Variants (``+f3``, ``+m2``...) combine with any."""
    with _Engine._lock:
        eng = _Engine.get()
        arr = eng.lib.espeak_ListVoices(None)
        voices = []
        i = 0
        while arr[i]:
            v = arr[i].contents
            langs = []
            raw = ctypes.string_at(v.languages, 64) if v.languages else b""
            pos = 0
            while pos < len(raw) and raw[pos] != 0:  # (priority byte, NUL-terminated name)*, then 0
                end = raw.find(b"\0", pos + 1)
                name = raw[pos + 1:end].decode("ascii", "replace")
                if end < 0 or not _LANG_RE.fullmatch(name):
                    break  # the list's terminator is not always written; stop at the first odd entry
                langs.append(name)
                pos = end + 1
            voices.append(Voice(name=(v.name or b"").decode(), identifier=(v.identifier or b"").decode(),
                                languages=tuple(langs), gender={1: "male", 2: "female"}.get(v.gender, "")))
            i += 1
    return voices


def list_variants() -> list[str]:
    """Names of the voice variants (``en+<variant>``) shipped in espeak-ng-data/voices/!v."""
    import os

    import espeakng_loader

    return sorted(os.listdir(os.path.join(espeakng_loader.get_data_path(), "voices", "!v")))


_VOICE_BY_LANGUAGE: dict[str, str] = {}


def _resolve_voice(voice: str) -> str | None:
    """Map a language code or voice name (with optional +variant) to the identifier espeak accepts."""
    base, plus, variant = voice.partition("+")
    if not _VOICE_BY_LANGUAGE:
        _Engine._lock.release()  # list_voices takes the lock itself
        try:
            for v in list_voices():
                ident = v.identifier.rsplit("/", 1)[-1]
                for key in (*v.languages, v.name.strip().lower(), v.identifier.lower()):
                    _VOICE_BY_LANGUAGE.setdefault(key, ident)
        finally:
            _Engine._lock.acquire()
    ident = _VOICE_BY_LANGUAGE.get(base.lower())
    return None if ident is None else ident + plus + variant


def has_voice(voice: str) -> bool:
    """True when `voice` is an espeak voice name or language, with a known ``+variant`` if it has one."""
    base, plus, variant = voice.partition("+")
    if plus and variant not in list_variants():
        return False
    with _Engine._lock:
        return _resolve_voice(base) is not None


def synthesize(text: str, *, voice: str = "en-us", rate: int = 175, pitch: int = 50, pitch_range: int = 50,
               word_gap: int = 0, volume: int = 100, phoneme_input: bool = False, seed: int | None = 0) -> Speech:
    """Speak `text` with espeak-ng; return PCM and phoneme events with exact sample positions.

    `voice` is an espeak voice name or language, optionally with a variant (``"de+f3"``).
    `rate` is words per minute (80-450), `pitch` and `pitch_range` 0-99, `word_gap` in units of 10 ms.
    With `phoneme_input`, ``[[...]]`` spans in the text are read as espeak phoneme mnemonics.
    espeak draws jitter and noise from the C library's ``rand()``; `seed` reseeds it (``srand``) so the
    same arguments give the same samples (None leaves it alone).
    """
    if not text or not text.strip():
        raise InputError("text to synthesize is empty; pass some words")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(f"rate {rate} is out of range; use {RATE_RANGE[0]}-{RATE_RANGE[1]} words per minute")
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1] or not 0 <= pitch_range <= 99:
        raise InputError(f"pitch {pitch} / range {pitch_range} out of range; use 0-99")
    with _Engine._lock:
        eng = _Engine.get()
        lib = eng.lib
        if eng.voice != voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                alias = _resolve_voice(voice)
                if alias is None or lib.espeak_SetVoiceByName(alias.encode()) != 0:
                    raise InputError(f"unknown espeak voice {voice!r}; pick a language or name from "
                                     "talkies.runtime.tts.list_voices(), optionally with +variant")
            eng.voice = voice
        for name, value in (("rate", rate), ("pitch", pitch), ("range", pitch_range), ("wordgap", word_gap),
                            ("volume", volume)):
            lib.espeak_SetParameter(_PARAM[name], int(value), 0)
        eng._chunks, eng._events = [], []
        if seed is not None:
            eng.libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))
            if eng.set_rand_seed is not None:
                eng.set_rand_seed(ctypes.c_long(seed))
        data = text.encode("utf-8") + b"\0"
        flags = _CHARS_UTF8 | (_PHONEMES if phoneme_input else 0)
        err = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, flags, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed ({err})")
        lib.espeak_Synchronize()
        pcm = np.concatenate(eng._chunks) if eng._chunks else np.zeros(0, np.int16)
        events, sr = eng._events, eng.sample_rate
        eng._chunks, eng._events = [], []
    phonemes, words = [], []
    for kind, ms, tpos, length, name in events:
        sample = min(int(round(ms * sr / 1000.0)), len(pcm))
        if kind == _EVENT_PHONEME:
            phonemes.append(PhonemeEvent(phoneme=name, sample=sample, time=sample / sr, text_position=tpos))
        else:
            words.append(WordEvent(sample=sample, time=sample / sr, text_position=tpos, length=length))
    return Speech(pcm=pcm.astype(np.int16), sample_rate=sr, phonemes=phonemes, words=words)
