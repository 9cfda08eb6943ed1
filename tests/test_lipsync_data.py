"""Lip-sync data: espeak binding, phoneme/viseme tables, generator labels, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.errors import InputError
from talkies.models.lipsync import augment as A
from talkies.models.lipsync import data as D
from talkies.models.lipsync import espeak
from talkies.models.lipsync.phonemes import (ARKIT_MOUTH, CMU_VISEMES, IPA_VISEMES, VISEME_INDEX, VISEME_POSES,
                                             VISEMES, ipa_to_visemes, is_language_switch)

CMU_PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
              " SIL").split()


# ---- tables ------------------------------------------------------------------------------------------

def test_viseme_and_blendshape_sets():
    assert VISEMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
    assert len(ARKIT_MOUTH) == 18 and len(set(ARKIT_MOUTH)) == 18
    assert set(IPA_VISEMES.values()) == set(VISEMES)  # every viseme is reachable from speech


def test_pose_table_is_sane():
    assert VISEME_POSES.shape == (15, 18) and VISEME_POSES.dtype == np.float32
    assert VISEME_POSES.min() >= 0 and VISEME_POSES.max() <= 1
    jaw, press = ARKIT_MOUTH.index("jawOpen"), ARKIT_MOUTH.index("mouthPressLeft")
    pucker = ARKIT_MOUTH.index("mouthPucker")
    assert VISEME_POSES[VISEME_INDEX["aa"], jaw] == VISEME_POSES[:, jaw].max()
    assert VISEME_POSES[VISEME_INDEX["PP"], press] == VISEME_POSES[:, press].max() > 0
    assert VISEME_POSES[VISEME_INDEX["ou"], pucker] == VISEME_POSES[:, pucker].max()
    assert VISEME_POSES[VISEME_INDEX["sil"]].sum() < 0.1
    left = [i for i, n in enumerate(ARKIT_MOUTH) if n.endswith("Left")]
    right = [ARKIT_MOUTH.index(ARKIT_MOUTH[i].replace("Left", "Right")) for i in left]
    np.testing.assert_array_equal(VISEME_POSES[:, left], VISEME_POSES[:, right])


def test_cmu_table_covers_all_phones():
    assert set(CMU_PHONES) <= set(CMU_VISEMES)
    for p in ("P", "B", "M"):
        assert CMU_VISEMES[p] == "PP"
    assert CMU_VISEMES["SIL"] == "sil" and CMU_VISEMES["AA"] == "aa" and CMU_VISEMES["UW"] == "ou"


def test_ipa_normalisation():
    assert ipa_to_visemes("ˈaɪ") == ["aa", "ih"]
    assert ipa_to_visemes("ˌl̩ː") == ["nn"]
    assert ipa_to_visemes("ˈʔe") == ["E"]
    assert ipa_to_visemes("tʃ") == ["CH"]
    assert ipa_to_visemes("ts") == ["SS"]
    assert ipa_to_visemes("") == ["sil"]
    assert ipa_to_visemes("m") == ["PP"]
    assert is_language_switch("(en)") and not is_language_switch("ə")
    with pytest.raises(KeyError):
        ipa_to_visemes("ʘ")  # a click: no language in the training set has it


@pytest.mark.parametrize("lang", [lang for lang, _ in D.LANGUAGES])
def test_every_phoneme_of_every_training_voice_is_covered(lang):
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(12):
        speech = espeak.synthesize(D.random_text(rng, lang), voice=lang)
        seen |= {e.phoneme for e in speech.phonemes if not is_language_switch(e.phoneme)}
    missing = []
    for name in seen:
        try:
            ipa_to_visemes(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"{lang}: phonemes without a viseme: {missing}"
    assert len(seen) >= 15


# ---- espeak binding ------------------------------------------------------------------------------------

def test_synthesize_events_lie_inside_the_pcm():
    speech = espeak.synthesize("Bob made a map of Paris.", voice="en-us+f3", rate=160, pitch=60)
    assert speech.sample_rate == 22050 and speech.pcm.dtype == np.int16
    assert 0.8 < speech.duration < 4.0
    samples = [e.sample for e in speech.phonemes]
    assert samples == sorted(samples) and samples[-1] <= len(speech.pcm)
    names = [e.phoneme for e in speech.phonemes]
    assert names.count("b") + names.count("m") + names.count("p") >= 4
    assert len(speech.words) == 6


def test_rate_changes_duration():
    text = "the quick brown fox jumps over the lazy dog"
    a = espeak.synthesize(text, voice="en-us", rate=150)
    c = espeak.synthesize(text, voice="en-us", rate=300)
    assert c.duration < 0.6 * a.duration
    assert [e.phoneme for e in a.phonemes] == [e.phoneme for e in c.phonemes]


def test_synthesize_bad_input():
    with pytest.raises(InputError, match="unknown espeak voice"):
        espeak.synthesize("hello", voice="xx-nonexistent")
    with pytest.raises(InputError, match="empty"):
        espeak.synthesize("   ")
    with pytest.raises(InputError, match="rate"):
        espeak.synthesize("hello", rate=5)


def test_list_voices():
    voices = espeak.list_voices()
    langs = {v.language for v in voices}
    assert {"en-us", "de", "es", "fr-fr", "it", "pl", "nl", "sv"} <= langs
    assert len(voices) > 100
    assert {"f3", "m2", "klatt"} <= set(espeak.list_variants())
    assert len({lang.split("-")[0] for lang, _ in D.LANGUAGES}) >= 8


# ---- generator ----------------------------------------------------------------------------------------

def test_frame_labels_from_events():
    events = [(0, ""), (320, "p"), (960, "ˈaɪ"), (2560, "m")]
    labels = D.frame_labels(events, 3200)
    assert len(labels) == 20
    v = [VISEMES[i] for i in labels]
    assert v[:2] == ["sil", "sil"] and v[2:6] == ["PP"] * 4
    assert v[6:11] == ["aa"] * 5 and v[11:16] == ["ih"] * 5 and v[16:] == ["PP"] * 4


def test_stop_closures_are_labelled_as_the_stop():
    """espeak's event for /p/ is at the burst; the silent closure before it must be PP, not the vowel."""
    spec = D.UtteranceSpec(voice="en-us", text="a paper, the hippo", rate=170, pitch=50, pitch_range=50,
                           word_gap=0, speed=1.0)
    utt = D.make_utterance(spec)
    frames = utt.pcm.astype(np.float64).reshape(-1, D.HOP) / 32768
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    speech = np.flatnonzero(db > -40)
    inner = np.arange(speech[0], speech[-1])  # between the first and last sounding frames
    silent_inside = inner[(db[inner] < -60) & (utt.labels[inner] != VISEME_INDEX["sil"])]
    assert len(silent_inside) >= 6
    assert set(VISEMES[i] for i in utt.labels[silent_inside]) <= {"PP", "DD", "kk", "CH"}
    raw = D.frame_labels(utt.events, len(utt.pcm))
    assert np.sum(raw == VISEME_INDEX["PP"]) < np.sum(utt.labels == VISEME_INDEX["PP"])
    np.testing.assert_array_equal(D.close_stop_gaps(utt.pcm, utt.labels), utt.labels)  # idempotent


def test_close_stop_gaps_never_crosses_silence():
    pcm = np.zeros(10 * D.HOP, np.int16)
    pcm[6 * D.HOP:] = 8000
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], np.uint8)  # pause, then PP
    np.testing.assert_array_equal(D.close_stop_gaps(pcm, labels), labels)
    labels2 = np.array([10, 10, 10, 10, 10, 10, 1, 1, 1, 1], np.uint8)  # vowel label over silence, then PP
    pcm2 = pcm.copy()
    pcm2[:2 * D.HOP] = 8000
    assert list(D.close_stop_gaps(pcm2, labels2)) == [10, 10] + [1] * 8


def test_utterance_spec_is_reproducible_from_seed():
    # (espeak's samples depend slightly on what it said before in the same process: see the corpus test)
    a, b = D._make_seeded((3, 11)), D._make_seeded((3, 11))
    assert len(a[0]) == D.HOP * len(a[1]) and abs(len(a[1]) - len(b[1])) <= 2
    spec = D.random_spec(np.random.default_rng([3, 11]), D._variants())
    assert spec == D.random_spec(np.random.default_rng([3, 11]), D._variants())


def test_generator_labels_line_up_with_audio():
    rng = np.random.default_rng(1)
    variants = D._variants()
    energy = {v: [] for v in VISEMES}
    for _ in range(25):
        spec = D.random_spec(rng, variants)
        utt = D.make_utterance(spec)
        assert len(utt.pcm) == D.HOP * len(utt.labels)
        assert all(0 <= s <= len(utt.pcm) for s, _ in utt.events)
        frames = utt.pcm.astype(np.float64).reshape(-1, D.HOP) / 32768
        db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10)
        db -= np.percentile(db, 95)
        for i, v in enumerate(VISEMES):
            energy[v].extend(db[utt.labels == i])
    med = {v: float(np.median(e)) for v, e in energy.items() if len(e) > 20}
    vowels = [med[v] for v in ("aa", "E", "oh") if v in med]
    # a bilabial closure is quieter than the vowels around it; silence is quietest
    assert med["PP"] < min(vowels) - 3
    assert med["sil"] < med["PP"] - 10
    assert min(vowels) > -20


def test_corpus_is_reproducible_and_cached(tmp_path):
    pcm, labels = D.build_corpus(6, seed=2, cache_dir=tmp_path / "a")
    pcm2, labels2 = D.build_corpus(6, seed=2, cache_dir=tmp_path / "b", workers=2)  # fresh build
    np.testing.assert_array_equal(pcm, pcm2)
    np.testing.assert_array_equal(labels, labels2)
    pcm3, _ = D.build_corpus(6, seed=2, cache_dir=tmp_path / "a")  # from the cache
    np.testing.assert_array_equal(pcm, pcm3)
    assert len(list((tmp_path / "a").glob("*.npz"))) == 1
    assert pcm.dtype == np.int16 and labels.dtype == np.uint8 and len(pcm) == D.HOP * len(labels)


def test_pose_targets_smooth_between_visemes():
    labels = np.array([VISEME_INDEX["sil"]] * 20 + [VISEME_INDEX["aa"]] * 20)
    poses = D.pose_targets(labels, smooth_frames=5)
    jaw = poses[:, ARKIT_MOUTH.index("jawOpen")]
    assert np.all(np.diff(jaw) >= -1e-6)  # monotone ramp
    assert jaw[0] == pytest.approx(VISEME_POSES[0, 0]) and jaw[-1] == pytest.approx(VISEME_POSES[10, 0])
    assert 0.2 < jaw[20] < 0.5


# ---- augmentation -------------------------------------------------------------------------------------

def test_augment_is_seeded_bounded_and_keeps_length():
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    babble = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    outs = [A.augment(x, np.random.default_rng(5), babble=babble) for _ in range(2)]
    np.testing.assert_array_equal(outs[0], outs[1])
    for seed in range(20):
        y = A.augment(x, np.random.default_rng(seed), babble=babble)
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0


def test_reverb_keeps_onset_and_noise_snr():
    rng = np.random.default_rng(0)
    x = np.zeros(8000)
    x[4000:4400] = np.sin(np.arange(400) * 0.3)
    y = A.reverb(x, rng, 0.5)
    assert np.abs(y[:4000]).max() < 1e-9  # causal: nothing before the sound starts
    assert np.abs(y[5000:]).max() > 1e-3  # a tail after it ends
    n = A.colored_noise(rng, 16000)
    assert n.std() == pytest.approx(1.0, rel=1e-6)
