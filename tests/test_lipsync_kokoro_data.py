"""The Kokoro lip-sync corpus: seeded specs and text, labels aligned to the audio, blocks that build,
resume and come out the same, and the trainer's Kokoro share of crops."""

from __future__ import annotations

import json

import numpy as np
import pytest

from talkies.errors import BundleError
from talkies.models.lipsync import kokoro_data as K
from talkies.models.lipsync.augment import AugmentConfig
from talkies.models.lipsync.train import Batcher
from talkies.runtime.visemes import HOP, VISEME_INDEX


def _kokoro_fetched() -> bool:
    from talkies.runtime.kokoro import verify_files

    try:
        verify_files()
    except BundleError:
        return False
    return True


needs_kokoro = pytest.mark.skipif(not _kokoro_fetched(), reason="Kokoro is not fetched (talkies models fetch)")


def test_number_words():
    assert K.number_words(0) == "zero"
    assert K.number_words(17) == "seventeen"
    assert K.number_words(40) == "forty"
    assert K.number_words(93) == "ninety three"
    assert K.number_words(300) == "three hundred"
    assert K.number_words(105) == "one hundred and five"
    assert K.number_words(2007) == "two thousand and seven"
    assert K.number_words(1984) == "one thousand nine hundred and eighty four"


def test_specs_are_seeded_and_mixed():
    from talkies.runtime.kokoro import VOICE_NAMES

    assert K.seeded_spec(0, 5) == K.seeded_spec(0, 5)
    assert K.seeded_spec(0, 5) != K.seeded_spec(1, 5)
    specs = [K.seeded_spec(0, i)[0] for i in range(1500)]
    english = [s for s in specs if s.voice[0] in "ab"]
    assert 0.65 < len(english) / len(specs) < 0.75
    assert {s.voice[0] for s in specs} == {v[0] for v in VOICE_NAMES}  # all 9 languages
    assert len({s.voice for s in specs}) == len(VOICE_NAMES)  # every voice
    assert all(K.RATES[0] <= s.rate <= K.RATES[1] and K.SPEEDS[0] <= s.speed <= K.SPEEDS[1] for s in specs)
    texts = [s.text for s in english]
    assert sum("?" in t for t in texts) > 0.2 * len(texts)
    assert sum(any(w in t.split() for w in ("hundred", "twenty", "thirty", "seven")) for t in texts) > 0.1 * len(texts)
    assert all(t[-1] in ".?!" for t in texts)
    scripts = {s.voice[0]: s.text for s in specs}
    assert any("\u3040" <= c <= "\u30ff" for c in scripts["j"])  # kana
    assert any("\u4e00" <= c <= "\u9fff" for c in scripts["z"])  # hanzi
    assert any("\u0900" <= c <= "\u097f" for c in scripts["h"])  # Devanagari


@needs_kokoro
def test_labels_follow_the_audio():
    spec = K.KokoroSpec(voice="am_michael", text="Bob met a man by the pool, and he sat down.", rate=175, speed=1.0)
    utt = K.make_kokoro_utterance(spec)
    assert len(utt.pcm) % HOP == 0 and len(utt.labels) == len(utt.pcm) // HOP
    frames = utt.pcm.astype(np.float64).reshape(-1, HOP)
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-9)
    vowels = np.isin(utt.labels, [VISEME_INDEX[v] for v in ("aa", "E", "ih", "oh", "ou")])
    sil = utt.labels == VISEME_INDEX["sil"]
    assert vowels.sum() > 30 and sil.sum() > 5
    assert np.median(db[vowels]) > np.median(db[sil]) + 20  # vowels loud, pauses quiet
    assert (utt.labels == VISEME_INDEX["PP"]).sum() >= 6  # B, M, B, P: lips closed


@needs_kokoro
def test_blocks_build_resume_and_repeat(tmp_path, monkeypatch):
    monkeypatch.setattr(K, "BLOCK", 2)
    monkeypatch.setattr(K, "english_text", lambda rng: "Seven big maps.")  # short utterances: a quick test
    monkeypatch.setattr(K, "_syllable_text", lambda rng, letter: {"h": "कमला।", "j": "かたな。", "z": "我们。"}[letter])
    monkeypatch.setattr(K.D, "random_text", lambda rng, lang: "pablo bebe.")
    pcm, labels = K.build_kokoro_corpus(3, seed=4, cache_dir=tmp_path)  # 2 blocks
    folder = K.cache_folder(4, tmp_path)
    blocks = sorted(folder.glob("block-*.npz"))
    assert [b.name for b in blocks] == ["block-00000.npz", "block-00001.npz"]
    assert not list(folder.glob(".*"))  # no temporary files left
    assert len(pcm) == len(labels) * HOP and labels.max() < 15
    with np.load(blocks[1], allow_pickle=False) as z:
        first = {k: z[k] for k in z.files}
    assert [json.loads(s)["index"] for s in first["specs"]] == [2, 3]
    blocks[1].unlink()  # an interrupted build resumes: the missing block only, the same again
    again = K.build_kokoro_corpus(3, seed=4, cache_dir=tmp_path)
    with np.load(blocks[1], allow_pickle=False) as z:
        for k in z.files:
            np.testing.assert_array_equal(z[k], first[k])
    np.testing.assert_array_equal(again[0], pcm)
    np.testing.assert_array_equal(again[1], labels)
    with pytest.raises(FileNotFoundError):
        K.build_kokoro_corpus(3, seed=5, cache_dir=tmp_path, build=False)


def test_batcher_kokoro_share():
    n = 3000
    streams = [(np.zeros(n * HOP, np.int16), np.full(n, label, np.uint8)) for label in (1, 2, 3)]
    cfg = AugmentConfig()
    b = Batcher(*streams[0], crop_frames=100, context_frames=10, seed=0, cfg=cfg, recorded=streams[1],
                recorded_fraction=0.2, kokoro=streams[2], kokoro_fraction=0.5)
    draws = [b._stream() for _ in range(4000)]
    share = np.bincount(draws, minlength=3) / len(draws)
    assert abs(share[1] - 0.2) < 0.03 and abs(share[2] - 0.5) < 0.03
    _, y = b.batch(8)
    assert y.shape == (8, 100) and set(np.unique(y)) <= {0, 1, 2, 3}
    # without Kokoro the crops are drawn as before it existed
    plain = Batcher(*streams[0], crop_frames=100, context_frames=10, seed=3, cfg=cfg, recorded=streams[1],
                    recorded_fraction=0.3)
    rng = np.random.default_rng(3)
    assert [plain._stream() for _ in range(50)] == [int(rng.random() < 0.3) for _ in range(50)]
    with pytest.raises(ValueError, match="more than 1"):
        Batcher(*streams[0], crop_frames=100, context_frames=10, seed=0, cfg=cfg, recorded=streams[1],
                recorded_fraction=0.6, kokoro=streams[2], kokoro_fraction=0.5)
