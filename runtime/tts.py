"""Text to speech: one interface over the speech engines, voice lookup by name, and a listing of every
voice. An engine returns :class:`~talkies.runtime.speech.Speech` with phone timings, so a script drives
the mouth exactly (:func:`~talkies.runtime.speech.motion_from_phones`) and its subtitles land on the words.

A voice is named ``ENGINE:NAME`` (``espeak:en-us``) or by its bare name, which the engines are asked
for in :data:`ENGINES` order.

    speech = tts.synthesize("Hello there.", voice="espeak:en-us+f3", rate=160)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from talkies.errors import InputError
from talkies.log import get_logger
from talkies.runtime.speech import PITCH_RANGE, RATE_RANGE, Speech, Voice

log = get_logger(__name__)

DEFAULT_RATE = 175  # words per minute: espeak's own default pace


class SpeechEngine(Protocol):
    """What a speech engine offers: its voices, and speech with phone and word timings."""

    name: str
    default_voice: str

    def voices(self) -> list[Voice]: ...

    def has_voice(self, voice: str) -> bool: ...

    def synthesize(self, text: str, *, voice: str, rate: int = DEFAULT_RATE, pitch: int = 50) -> Speech: ...


class EspeakEngine:
    """espeak-ng: about 140 languages and accents, robotic but light; variants with ``+NAME``."""

    name = "espeak"
    default_voice = "en-us"

    def voices(self) -> list[Voice]:
        from talkies.runtime import espeak

        return espeak.list_voices()

    def has_voice(self, voice: str) -> bool:
        from talkies.runtime import espeak

        return espeak.has_voice(voice)

    def synthesize(self, text: str, *, voice: str, rate: int = DEFAULT_RATE, pitch: int = 50) -> Speech:
        from talkies.runtime import espeak

        return espeak.synthesize(text, voice=voice, rate=rate, pitch=pitch)


def _kokoro() -> SpeechEngine:
    from talkies.runtime.kokoro import KokoroEngine

    return KokoroEngine()


#: The engines, in the order a bare voice name is looked up: Kokoro's names (``af_heart``) first.
ENGINES: dict[str, Callable[[], SpeechEngine]] = {"kokoro": _kokoro, "espeak": EspeakEngine}
_instances: dict[str, SpeechEngine] = {}


def engine(name: str) -> SpeechEngine:
    """The engine called `name`; InputError listing the engines otherwise."""
    if name not in ENGINES:
        raise InputError(f"unknown speech engine {name!r}; engines: {', '.join(ENGINES)}")
    if name not in _instances:
        _instances[name] = ENGINES[name]()
    return _instances[name]


def resolve_voice(voice: str) -> tuple[SpeechEngine, str]:
    """(engine, the engine's voice name) for ``ENGINE:NAME`` or a bare name."""
    voice = voice.strip()
    prefix, colon, rest = voice.partition(":")
    if colon:
        return engine(prefix), rest
    for name in ENGINES:
        if engine(name).has_voice(voice):
            return engine(name), voice
    raise InputError(f"unknown voice {voice!r}; list the voices with `talkies voices`, "
                     "or name one as ENGINE:NAME, e.g. kokoro:af_heart or espeak:en-us")


def default_voice(language: str = "en-us") -> str:
    """The voice to speak `language` with when none is named: Kokoro's when it speaks the language,
    else espeak-ng's (with a one-line note), as ``ENGINE:NAME``."""
    from talkies.runtime import kokoro

    name = kokoro.voice_for_language(language)
    if name is not None:
        return f"kokoro:{name}"
    if not engine("espeak").has_voice(language):
        raise InputError(f"no voice speaks {language!r}; list the languages with `talkies voices`")
    log.warning("no Kokoro voice for %s: speaking with espeak-ng", language)
    return f"espeak:{language}"


def list_voices(language: str | None = None) -> list[Voice]:
    """Every engine's voices; with `language`, only those whose language starts with it (``en``, ``pt-br``)."""
    voices = [v for name in ENGINES for v in engine(name).voices()]
    if language:
        prefix = language.lower()
        voices = [v for v in voices if any(lang.startswith(prefix) for lang in v.languages)]
    return voices


def synthesize(text: str, *, voice: str = EspeakEngine.default_voice, rate: int = DEFAULT_RATE,
               pitch: int = 50) -> Speech:
    """Speak `text` with `voice` (see :func:`resolve_voice`) at `rate` words per minute and `pitch` 0–99."""
    if not text or not text.strip():
        raise InputError("the script is empty; give the words to say")
    if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
        raise InputError(f"rate {rate} is out of range; use {RATE_RANGE[0]}-{RATE_RANGE[1]} words per minute")
    if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
        raise InputError(f"pitch {pitch} is out of range; use {PITCH_RANGE[0]}-{PITCH_RANGE[1]}")
    eng, name = resolve_voice(voice)
    speech = eng.synthesize(text, voice=name, rate=rate, pitch=pitch)
    if len(speech.pcm) == 0:
        raise InputError(f"{eng.name} produced no audio for {text[:60]!r}; give words the voice can speak")
    return speech
