"""Synthesized speech and its timing: the types every speech engine returns, and the mouth motion that
the phone timings give (visemes at their exact times, no lip-sync model needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from talkies.runtime.blendshapes import NUM_BLENDSHAPES, NUM_VISEMES, Blendshape
from talkies.runtime.motion import FaceMotion
from talkies.runtime.visemes import ARKIT_MOUTH, HOP, VISEME_INDEX, VISEME_POSES, frame_labels, \
    is_language_switch, pose_targets

RATE_RANGE = (80, 450)  # words per minute (espeak's range; other engines scale their speed from it)
PITCH_RANGE = (0, 99)
SPEECH_FPS = 100  # viseme frames per second from the phoneme events
PP_POSE_HOLD = 0.05  # s: a bilabial closure is held at least this long (lips must meet on p, b, m)


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme: its IPA name and where it starts in the returned PCM."""

    phoneme: str
    sample: int  # start, in samples of the returned PCM
    time: float  # start, in seconds
    text_position: int  # 1-based character position in the input text (0 when unknown)


@dataclass(frozen=True)
class WordEvent:
    sample: int
    time: float
    text_position: int
    length: int


@dataclass
class Speech:
    """Synthesized speech: int16 mono PCM, its sample rate, phoneme and word events."""

    pcm: np.ndarray
    sample_rate: int
    phonemes: list[PhonemeEvent] = field(default_factory=list)
    words: list[WordEvent] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate

    def float32(self) -> np.ndarray:
        return self.pcm.astype(np.float32) / 32768.0


@dataclass(frozen=True)
class Voice:
    name: str  # the engine's name for it, e.g. espeak's "English (America)"
    identifier: str  # what the engine selects it by, e.g. espeak's "gmw/en-US"
    languages: tuple[str, ...]  # e.g. ("en-us", "en")
    gender: str  # "male", "female" or ""
    engine: str = "espeak"

    @property
    def language(self) -> str:
        return self.languages[0] if self.languages else ""


def stress_times(speech: Speech) -> np.ndarray:
    """Start times (s) of the primary-stressed syllables: the phones whose name carries the stress mark
    (espeak-ng and Kokoro both lead a stressed syllable's phone with "ˈ")."""
    return np.array([e.time for e in speech.phonemes if "ˈ" in e.phoneme and not is_language_switch(e.phoneme)],
                    np.float64)


def motion_from_phones(speech: Speech) -> FaceMotion:
    """FaceMotion at 100 fps from a speech's phoneme events: one-hot visemes at their exact times, mouth
    weights from the viseme pose table with light coarticulation, and p/b/m closures held shut."""
    n = max(1, int(np.ceil(speech.duration * SPEECH_FPS)))
    # frame_labels counts HOP samples per frame (100 frames/s at 16 kHz): express event times that way
    events = [(int(round(e.time * SPEECH_FPS * HOP)), e.phoneme) for e in speech.phonemes
              if not is_language_switch(e.phoneme)]
    labels = frame_labels(events, n * HOP)
    mouth = pose_targets(labels, smooth_frames=3)
    pp = labels == VISEME_INDEX["PP"]
    # hold each closure for PP_POSE_HOLD at least, centred on the phoneme: lips must meet
    hold = max(1, int(round(PP_POSE_HOLD * SPEECH_FPS)))
    closed = pp.copy()
    for start in np.flatnonzero(pp & ~np.concatenate([[False], pp[:-1]])):
        closed[start:start + hold] = True
    mouth[closed] = VISEME_POSES[VISEME_INDEX["PP"]]
    weights = np.zeros((n, NUM_BLENDSHAPES), np.float32)
    weights[:, [Blendshape[m].value for m in ARKIT_MOUTH]] = mouth
    visemes = np.zeros((n, NUM_VISEMES), np.float32)
    visemes[np.arange(n), labels] = 1.0
    return FaceMotion(np.arange(n) / SPEECH_FPS, weights, visemes=visemes, fps=float(SPEECH_FPS),
                      extras={"source": "tts", "closures": closed, "stress": stress_times(speech)})
