"""Your own recordings as training data: English speech + transcript -> pocketsphinx forced alignment ->
a viseme label per 10 ms frame, in the same (int16 PCM, uint8 labels) stream form as the synthetic corpus.

A folder holds ``NAME.<audio>`` (anything PyAV reads, any rate or channels) with ``NAME.txt`` (the words
spoken) or ``NAME.phone.json`` (an alignment already made, pocketsphinx's JSON). Phones map to visemes
by :data:`phonemes.CMU_VISEMES`; HH takes the next phone's viseme (the lips are already there), noise
and unaligned frames are ``sil``. The validation speech is refused, by path and by content.

A unit-selection (clunits) Festival voice ships the recordings it was built from, with phone labels:
:data:`FESTVOX_RECORDINGS` names those whose phone set has a table (Debian's festvox-ru: 620 sentences,
about 96 minutes of one Russian reader). Such a voice folder (``wav/*.wav`` + ``lab/*.lab``) is read
the same way, its phones mapped through the table's IPA.

    talkies train lipsync --recorded DIR --recorded-fraction 0.3 ...
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.log import get_logger, track

from . import data as D
from .evaluate import FPS, VALIDATION_SPEECH, Phone, align, frame_targets, load_alignment
from talkies.runtime.visemes import VISEME_INDEX
from .phonemes import RUSSIAN_IPA

log = get_logger(__name__)

SAMPLE_RATE = 16000
FESTVOX_RECORDINGS = {"msu_ru_nsh_clunits": RUSSIAN_IPA}  # voice folder name -> its phones' IPA
RUSSIAN_RECORDINGS = Path("/usr/share/festival/voices/russian/msu_ru_nsh_clunits")
APT_PACKAGES: tuple[str, ...] = ("festvox-ru",)  # what brings FESTVOX_RECORDINGS (`make festival`)
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".mp4", ".mov")


def frame_labels(phones: list[Phone], n_frames: int) -> np.ndarray:
    """uint8 viseme per frame (frame i at i * 10 ms): the phone it falls in; HH the next phone's viseme;
    noise and unaligned frames ``sil``."""
    named = [Phone(next((q.phone for q in phones[i + 1:] if q.viseme), "SIL"), p.begin, p.duration)
             if p.phone == "HH" else p for i, p in enumerate(phones)]
    target = frame_targets(named, n_frames, margin=0.0)  # -1: no mouth shape of its own
    return np.where(target < 0, VISEME_INDEX["sil"], target).astype(np.uint8)


def _validation_digests() -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in VALIDATION_SPEECH.rglob("*.wav")}


def recordings(folder: str | Path) -> list[tuple[Path, Path]]:
    """(audio, transcript or alignment) pairs in `folder`; checked before any decoding."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of recordings (NAME.wav with NAME.txt or NAME.phone.json)")
    if VALIDATION_SPEECH.is_dir() and folder.resolve().is_relative_to(VALIDATION_SPEECH.resolve()):
        raise InputError(f"{folder} is validation speech: it must never be trained on")
    pairs = []
    for audio in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
        stem = audio.with_suffix("")
        label = next((q for q in (Path(f"{stem}.phone.json"), Path(f"{stem}.txt")) if q.exists()), None)
        if label is None:
            raise InputError(f"{audio} has no {stem.name}.txt transcript or {stem.name}.phone.json alignment beside it")
        pairs.append((audio, label))
    if not pairs:
        raise InputError(f"no recordings in {folder}: expected NAME.wav (or .flac, .mp3, ...) with NAME.txt")
    held_out = _validation_digests()
    for audio, _ in pairs:
        if hashlib.sha256(audio.read_bytes()).hexdigest() in held_out:
            raise InputError(f"{audio} is a validation recording: it must never be trained on")
    return pairs


def read_lab(path: str | Path, ipa: dict[str, str]) -> list[Phone]:
    """Phones of a Festival/xwaves ``.lab`` file (a header to ``#``, then ``END_SECONDS COLOUR PHONE``
    lines), each named by its IPA through `ipa` (``SIL`` for a pause)."""
    phones, begin, body = [], 0.0, False
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not body:
            body = line.strip() == "#"
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        end, name = float(fields[0]), fields[2]
        if name not in ipa:
            raise InputError(f"{path}: phone {name!r} is not in the voice's phone table")
        phones.append(Phone(ipa[name] or "SIL", begin, end - begin))
        begin = end
    return phones


def _festvox_labels(phones: list[Phone], n_frames: int) -> np.ndarray:
    """The synthetic corpus's labelling (:func:`data.frame_labels`) of IPA-named phones; after the last
    phone, ``sil``."""
    events = [(round(p.begin * SAMPLE_RATE), "" if p.phone == "SIL" else p.phone) for p in phones]
    if phones:
        events.append((round(phones[-1].end * SAMPLE_RATE), ""))
    return D.frame_labels(events, n_frames * D.HOP)


def festvox_recordings(voice: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A clunits voice's own recordings (``wav/NAME.wav`` with ``lab/NAME.lab``) as one labelled stream."""
    voice = Path(voice)
    ipa = FESTVOX_RECORDINGS.get(voice.name)
    if ipa is None or not (voice / "wav").is_dir():
        raise InputError(f"{voice} is not a Festival voice with recordings talkies can label "
                         f"(known: {', '.join(FESTVOX_RECORDINGS)}; install {' '.join(APT_PACKAGES)} with `make festival`)")
    pcm, labels = [], []
    for wav in track(sorted((voice / "wav").glob("*.wav")), f"reading {voice.name} recordings"):
        lab = voice / "lab" / (wav.stem + ".lab")
        if not lab.exists():
            continue
        audio, n = _read_frames(wav)
        pcm.append(_pcm16(audio))
        labels.append(_festvox_labels(read_lab(lab, ipa), n))
    return np.concatenate(pcm), np.concatenate(labels)


def _read_frames(path: Path) -> tuple[np.ndarray, int]:
    """float32 16 kHz mono audio cut to whole 10 ms frames, and the number of frames."""
    from talkies.runtime.media import read_audio

    audio = read_audio(path, sample_rate=SAMPLE_RATE)
    n = len(audio) // D.HOP
    return audio[:n * D.HOP], n


def _pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16)


def load_recorded(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The recordings of `folder` as one stream: int16 PCM at 16 kHz and a uint8 viseme per 10 ms frame.
    `folder` may also be a Festival voice of :data:`FESTVOX_RECORDINGS`."""
    if Path(folder).name in FESTVOX_RECORDINGS:
        return festvox_recordings(folder)
    pcm, labels = [], []
    for audio_path, label_path in track(recordings(folder), "aligning recordings"):
        audio, n = _read_frames(audio_path)
        if label_path.name.endswith(".phone.json"):
            phones = load_alignment(label_path)
        else:
            phones = align(audio, label_path.read_text(encoding="utf-8"))
        pcm.append(_pcm16(audio))
        labels.append(frame_labels(phones, n))
    total = sum(len(x) for x in labels) / FPS
    log.info("recorded speech: %d files, %.1f min from %s", len(pcm), total / 60, folder)
    return np.concatenate(pcm), np.concatenate(labels)

