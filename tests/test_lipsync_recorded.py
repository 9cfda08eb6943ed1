"""Own recordings as lip-sync training data: pocketsphinx alignment lines up with the audio, the labels'
rules, the refusal of the validation speech, clear errors, and the trainer drawing crops from them."""

from __future__ import annotations

import shutil
import wave

import numpy as np
import pytest

from talkies.errors import InputError
from talkies.models.lipsync import data as D
from talkies.models.lipsync import evaluate as E
from talkies.models.lipsync import festival
from talkies.models.lipsync import recorded as R
from talkies.models.lipsync.augment import AugmentConfig
from talkies.runtime.visemes import VISEME_INDEX, frame_labels
from talkies.models.lipsync.phonemes import VISEME_TO_COARSE
from talkies.models.lipsync.train import Batcher

TEXTS = ["the quick brown fox jumps over the lazy dog", "she measured thin yellow beige hoops whatever"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two Festival utterances saved as recordings with transcripts, and the synthesizer's own labels."""
    root = tmp_path_factory.mktemp("recordings")
    own = []
    for i, text in enumerate(TEXTS):
        speech = festival.synthesize(text, voice="kal_diphone")
        assert speech.sample_rate == 16000
        with wave.open(str(root / f"take{i}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(speech.pcm.tobytes())
        (root / f"take{i}.txt").write_text(text + "\n")
        n = len(speech.pcm) // 160
        own.append(frame_labels([(e.sample, e.phoneme) for e in speech.phonemes], n * 160))
    return root, np.concatenate(own)


def test_alignment_labels_line_up_with_the_audio(folder):
    root, own = folder
    pcm, labels = R.load_recorded(root)
    assert pcm.dtype == np.int16 and labels.dtype == np.uint8
    assert len(pcm) == 160 * len(labels) and len(labels) == len(own)
    coarse = np.mean(VISEME_TO_COARSE[labels] == VISEME_TO_COARSE[own])
    assert coarse > 0.8  # pocketsphinx's phone times against the synthesizer's (0.86 when written)
    assert np.mean(labels[np.roll(labels, 1) != labels] != VISEME_INDEX["sil"]) > 0.5  # many phones, not one label


def test_hh_takes_the_next_phones_viseme_and_noise_is_silence():
    phones = [E.Phone("HH", 0.0, 0.05), E.Phone("UW", 0.05, 0.05), E.Phone("+NSN+", 0.10, 0.05)]
    labels = R.frame_labels(phones, 20)
    assert list(labels[:10]) == [VISEME_INDEX["ou"]] * 10
    assert set(labels[10:]) == {VISEME_INDEX["sil"]}


def test_phone_json_is_used_instead_of_aligning(folder, tmp_path):
    root, _ = folder
    shutil.copy(root / "take0.wav", tmp_path / "a.wav")
    (tmp_path / "a.phone.json").write_text(
        '{"w": [{"t": "<utt>", "w": [{"b": 0.0, "d": 0.5, "t": "M"}, {"b": 0.5, "d": 5.0, "t": "AA"}]}]}')
    _, labels = R.load_recorded(tmp_path)
    assert set(labels[:50]) == {VISEME_INDEX["PP"]} and set(labels[50:]) == {VISEME_INDEX["aa"]}


@pytest.mark.parametrize("which", ["DEFAULT_DATA", "SECOND_SPEAKER", "TIMIT_DATA"])
def test_validation_speech_is_refused(which, tmp_path):
    folder = getattr(E, which)
    if not folder.exists():
        pytest.skip("validation speech not present")
    with pytest.raises(InputError, match="validation speech"):
        R.recordings(folder)
    wav = sorted(folder.glob("*.wav"))[0]
    shutil.copy(wav, tmp_path / "renamed.wav")
    (tmp_path / "renamed.txt").write_text("anything")
    with pytest.raises(InputError, match="validation recording"):
        R.recordings(tmp_path)


@pytest.mark.parametrize("files, message", [
    ({}, "no recordings"),
    ({"a.wav": b"RIFF"}, "a.txt transcript"),
])
def test_bad_folders_say_what_to_do(tmp_path, files, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message):
        R.recordings(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        R.recordings(tmp_path / "missing")


def test_empty_transcript_is_an_input_error():
    with pytest.raises(InputError, match="empty transcript"):
        R.align(np.zeros(16000, np.float32), "  ")


def test_batcher_draws_crops_from_the_recordings(folder):
    root, _ = folder
    pcm, labels = R.load_recorded(root)
    synthetic = (np.zeros(160 * 1000, np.int16), np.full(1000, 255, np.uint8))  # marked: never a viseme
    batcher = Batcher(*synthetic, crop_frames=150, context_frames=60, seed=0, cfg=AugmentConfig(),
                      recorded=(pcm, labels), recorded_fraction=0.5)
    _, ys = batcher.batch(64)
    from_recordings = [not np.any(y == 255) for y in ys]
    assert 10 < sum(from_recordings) < 54
    with pytest.raises(ValueError, match="shorter than one"):
        Batcher(*synthetic, crop_frames=150, context_frames=60, seed=0, cfg=AugmentConfig(),
                recorded=(pcm[:16000], labels[:100]), recorded_fraction=0.5)


def test_training_mixes_in_the_recordings(folder, tmp_path):
    from talkies.models.lipsync.model import load_model
    from talkies.models.lipsync.train import train

    root, _ = folder
    out = tmp_path / "own.npz"
    result = train(steps=6, out=out, utterances=8, batch_size=4, crop_seconds=1.5, eval_every=6, validate=False,
                   cache_dir=tmp_path / "cache", recorded=root, recorded_fraction=0.5)
    assert result["steps"] == 6
    load_model(out)
    with np.load(out, allow_pickle=False) as z:
        assert str(z["meta.recorded"]) == root.name and str(z["meta.recorded_fraction"]) == "0.5"


# ---- a unit-selection Festival voice's own recordings (festvox-ru) -------------------------------------

def test_read_lab_parses_end_times_and_rejects_unknown_phones(tmp_path):
    lab = tmp_path / "x.lab"
    lab.write_text("separator ;\nnfields 1\n#\n0.100 125 pau\n0.180 125 mm\n0.400 125 aa\n")
    phones = R.read_lab(lab, R.RUSSIAN_IPA)
    assert [(p.phone, round(p.begin, 3), round(p.duration, 3)) for p in phones] == [
        ("SIL", 0.0, 0.1), ("mʲ", 0.1, 0.08), ("a", 0.18, 0.22)]
    labels = R._festvox_labels(phones, 40)
    assert set(labels[:10]) == {VISEME_INDEX["sil"]} and set(labels[10:18]) == {VISEME_INDEX["PP"]}
    assert set(labels[18:]) == {VISEME_INDEX["aa"]}
    lab.write_text("#\n0.1 125 qq\n")
    with pytest.raises(InputError, match="'qq'"):
        R.read_lab(lab, R.RUSSIAN_IPA)


needs_ru = pytest.mark.skipif(not R.RUSSIAN_RECORDINGS.is_dir(), reason="festvox-ru missing: run `make festival`")


@needs_ru
def test_russian_phone_table_covers_every_recorded_phone():
    from talkies.runtime.visemes import ipa_to_visemes

    seen = set()
    for lab in (R.RUSSIAN_RECORDINGS / "lab").glob("*.lab"):
        seen |= {p.phone for p in R.read_lab(lab, R.RUSSIAN_IPA)}
    assert len(seen) > 45  # the whole msu_ru phone set is used
    assert all(p == "SIL" or ipa_to_visemes(p) for p in seen)


@needs_ru
def test_russian_recordings_labels_line_up_with_the_audio(tmp_path):
    voice = tmp_path / R.RUSSIAN_RECORDINGS.name
    for sub in ("wav", "lab"):
        (voice / sub).mkdir(parents=True)
    for wav in sorted((R.RUSSIAN_RECORDINGS / "wav").glob("*.wav"))[:8]:
        (voice / "wav" / wav.name).symlink_to(wav)
        (voice / "lab" / f"{wav.stem}.lab").symlink_to(R.RUSSIAN_RECORDINGS / "lab" / f"{wav.stem}.lab")
    pcm, labels = R.load_recorded(voice)
    assert len(pcm) == 160 * len(labels) > 160 * 100 * 20  # more than 20 s
    frames = pcm[:len(labels) * 160].astype(np.float64).reshape(-1, 160)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1)
    pause = np.median(level[labels == VISEME_INDEX["sil"]])
    vowel = np.median(level[np.isin(labels, [VISEME_INDEX[v] for v in ("aa", "E", "ih", "oh", "ou")])])
    assert vowel > pause + 30  # labelled pauses are silent, labelled vowels loud
    with pytest.raises(InputError, match="not a Festival voice"):
        R.festvox_recordings(tmp_path)
