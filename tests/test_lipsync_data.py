"""Lip-sync data: espeak, festival and flite bindings, phoneme/viseme tables, generator labels, the espeak +
human-recorded voices mix, augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkies.errors import InputError, MissingDependencyError
from talkies.models.lipsync import augment as A
from talkies.models.lipsync import data as D
from talkies.models.lipsync import festival, flite
from talkies.runtime import espeak
from talkies.models.lipsync.phonemes import CMU_VISEMES, RADIO_IPA
from talkies.runtime.visemes import (ARKIT_MOUTH, IPA_VISEMES, VISEME_INDEX, VISEME_POSES, VISEMES, frame_labels,
                                     ipa_to_visemes, is_language_switch, pose_targets)

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


@pytest.mark.parametrize("synthesize, text, kwargs, match", [
    (espeak.synthesize, "hello", {"voice": "xx-nonexistent"}, "unknown espeak voice"),
    (espeak.synthesize, "   ", {}, "empty"),
    (espeak.synthesize, "hello", {"rate": 5}, "rate"),
    (festival.synthesize, "hello", {"voice": "nobody"}, "unknown festival voice"),
    (festival.synthesize, "   ", {}, "empty"),
    (festival.synthesize, "hello", {"stretch": 9.0}, "stretch"),
])
def test_synthesize_bad_input(synthesize, text, kwargs, match):
    with pytest.raises(InputError, match=match):
        synthesize(text, **kwargs)


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
    labels = frame_labels(events, 3200)
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
    raw = frame_labels(utt.events, len(utt.pcm))
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


def test_quiet_to_silence_relabels_quiet_runs_but_keeps_stop_closures():
    aa, pp, ss = VISEME_INDEX["aa"], VISEME_INDEX["PP"], VISEME_INDEX["SS"]
    labels = np.array([aa] * 10 + [aa] * 4 + [pp] * 4 + [ss] * 2 + [aa] * 10, np.uint8)
    pcm = np.full(len(labels) * D.HOP, 8000, np.int16)
    pcm[10 * D.HOP:20 * D.HOP] = 1  # a fade (4 aa frames), a closure (4 PP), 2 quiet SS frames
    out = D.quiet_to_silence(pcm, labels)
    assert list(out[10:14]) == [VISEME_INDEX["sil"]] * 4  # a quiet run of 4 labelled as a vowel
    assert list(out[14:20]) == [pp] * 4 + [ss] * 2  # closures stay; a 2-frame run is too short
    assert list(out[:10]) == [aa] * 10 and list(out[20:]) == [aa] * 10  # loud frames keep their labels
    np.testing.assert_array_equal(D.quiet_to_silence(pcm, out), out)  # idempotent


def test_frame_db_in_chunks_equals_one_pass(monkeypatch):
    pcm = np.random.default_rng(0).integers(-3000, 3000, 1001 * D.HOP + 37).astype(np.int16)
    frames = pcm[:1001 * D.HOP].astype(np.float64).reshape(1001, D.HOP) / 32768.0
    whole = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    monkeypatch.setattr(D, "_DB_CHUNK", 64)  # 16 chunks, the last one short
    np.testing.assert_array_equal(D.frame_db(pcm, 1001), whole)


def test_clean_crops_keep_the_waveform():
    from talkies.models.lipsync.augment import AugmentConfig, augment

    x = (0.3 * np.sin(np.arange(4800) / 7.0)).astype(np.float32)
    rng = np.random.default_rng(1)
    clean = [augment(x, rng, AugmentConfig(p_clean=1.0)) for _ in range(5)]
    for y in clean:  # only the gain changes (clipped at full scale, like every crop)
        inside = np.abs(y) < 0.999
        np.testing.assert_allclose(y[inside], x[inside] * (y[inside] @ x[inside]) / (x[inside] @ x[inside]),
                                   atol=1e-5)
    assert len({round(float(np.max(np.abs(y))), 6) for y in clean}) >= 3  # a random gain each
    noisy = augment(x, np.random.default_rng(1), AugmentConfig(p_noise=1.0, snr_db=(0.0, 5.0)))
    assert np.corrcoef(x, noisy)[0, 1] < 0.99


def test_utterance_spec_is_reproducible_from_seed():
    # (espeak's samples depend slightly on what it said before in the same process: see the corpus test)
    a, b = D._make_block((3, 11, 1, 0.0))[0], D._make_block((3, 11, 1, 0.0))[0]
    assert len(a[0]) == D.HOP * len(a[1]) and abs(len(a[1]) - len(b[1])) <= 2
    spec = D.random_spec(np.random.default_rng([3, 11]), D._variants())
    assert spec == D.random_spec(np.random.default_rng([3, 11]), D._variants())


def _level_by_viseme(utterances: list[D.Utterance]) -> dict[str, np.ndarray]:
    """Frame levels (dB below each utterance's 95th-percentile frame) grouped by label."""
    energy = {v: [] for v in VISEMES}
    for utt in utterances:
        assert len(utt.pcm) == D.HOP * len(utt.labels)
        assert all(0 <= s <= len(utt.pcm) for s, _ in utt.events)
        frames = utt.pcm.astype(np.float64).reshape(-1, D.HOP) / 32768
        db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10)
        db -= np.percentile(db, 95)
        for i, v in enumerate(VISEMES):
            energy[v].extend(db[utt.labels == i])
    return {v: np.asarray(e) for v, e in energy.items() if len(e) > 20}


def test_generator_labels_line_up_with_audio():
    rng = np.random.default_rng(1)
    variants = D._variants()
    levels = _level_by_viseme([D.make_utterance(D.random_spec(rng, variants)) for _ in range(25)])
    med = {v: float(np.median(e)) for v, e in levels.items()}
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
    poses = pose_targets(labels, smooth_frames=5)
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


# ---- festival voices (human-recorded units) and the espeak + festival mix ---------------------------

@pytest.mark.parametrize("voice", sorted(festival.VOICES))
def test_phone_table_covers_every_phone_of_every_voice(voice):
    phones, table = festival.phone_set(voice), festival.voice_info(voice).phones
    assert len(phones) > 35
    assert set(phones) <= set(table), sorted(set(phones) - set(table))
    for phone in phones:
        vis = ipa_to_visemes(table[phone])
        assert all(v in VISEMES for v in vis)
    silent = {p for p in phones if ipa_to_visemes(table[p]) == ["sil"]}
    assert silent and silent <= {"pau", "h#", "brth", "#", "##", "_"}
    assert {p for p, ipa in RADIO_IPA.items() if ipa_to_visemes(ipa) == ["sil"]} == {"pau", "h#", "brth"}


@pytest.mark.parametrize("voice, text, phones", [  # spot checks against the languages' spelling
    ("pc_diphone", "pizza gnocchi", "p i ts ts a ɲ ɔ k k i"),
    ("lp_diphone", "chiesa", "k j ɛ z a"),
    ("hy_fi_mv_diphone", "yö äiti", "y ø æ i t i"),
    ("suo_fi_lj_diphone", "pöytä", "p ø y t æ"),
    ("czech_dita", "čaj řeka", "tʃ a j r̝ ɛ k a"),
    ("czech_machac", "chata ďábel", "x a t a ɟ a b ɛ l"),
    ("upc_ca_ona_hts", "platja xocolata", "p l a d ʒ ə ʃ u k u l a t ə"),
])
def test_non_english_voices_read_their_language(voice, text, phones):
    speech = festival.synthesize(text, voice=voice)
    assert [e.phoneme for e in speech.phonemes if e.phoneme] == phones.split()


def test_flite_voices_emit_radio_phones():
    text = "the quick brown fox jumps over the lazy dog; she measured thin yellow beige hoops, whatever"
    for voice in flite.VOICES:
        speech = flite.synthesize(text, voice=voice)
        names = {e.phoneme for e in speech.phonemes}
        assert len(names) > 30 and names <= set(RADIO_IPA.values())  # segment_events raises on unknown phones
        assert speech.sample_rate == 16000 and speech.phonemes[0].phoneme == ""


def test_flite_stretch_pitch_and_determinism():
    a, b = flite.synthesize_many([flite.Request("a simple paper", "cmu_us_awb"),
                                  flite.Request("a simple paper", "cmu_us_awb", stretch=1.4)])
    assert 1.25 < b.duration / a.duration < 1.55
    starts = [e.sample for e in a.phonemes]
    assert starts == sorted(starts) and starts[-1] < len(a.pcm)
    np.testing.assert_array_equal(flite.synthesize("a simple paper", voice="cmu_us_awb").pcm, a.pcm)
    low, high = (flite.synthesize("hello there my friend", voice="cmu_us_awb", f0_mean=f) for f in (90.0, 170.0))
    assert not np.array_equal(low.pcm, high.pcm)
    with pytest.raises(InputError, match="unknown flite voice"):
        flite.synthesize("hello", voice="kal_diphone")


def test_missing_flite_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt-get install .*flite"):
        flite.synthesize("hello")


def test_voices_of_several_languages_in_one_call():
    """One festival process per language: a Finnish voice before the Catalan one broke it in one process."""
    reqs = [festival.Request("tapa kukka", "hy_fi_mv_diphone"), festival.Request("kal mal", "kal_diphone"),
            festival.Request("bon dia", "upc_ca_ona_hts"), festival.Request("dobrý den", "czech_dita")]
    speech = festival.synthesize_many(reqs)
    alone = [festival.synthesize_many([r])[0] for r in reqs]
    for a, b in zip(speech, alone):
        np.testing.assert_array_equal(a.pcm, b.pcm)


def test_a_failing_utterance_is_skipped_or_raises():
    # pc_diphone stops ("SIOD ERROR") on some phone sequence in this pseudo-text; the rest still comes back
    bad = festival.Request("limoomyyl èwo, phyo caikraigrol gràgriè? medbeinet tho lous ruktrò?", "pc_diphone",
                           stretch=1.3225)
    good = festival.Request("ciao bella", "pc_diphone")
    out = festival.synthesize_many([bad, good], skip_failed=True)
    assert out[0] is None and out[1].duration > 0.3
    with pytest.raises(RuntimeError, match="festival failed"):
        festival.synthesize_many([bad, good])


def test_phone_table_examples():
    assert ipa_to_visemes(RADIO_IPA["p"]) == ["PP"] and ipa_to_visemes(RADIO_IPA["m"]) == ["PP"]
    assert ipa_to_visemes(RADIO_IPA["aw"]) == ["aa", "ou"] and ipa_to_visemes(RADIO_IPA["ey"]) == ["E", "ih"]
    assert ipa_to_visemes(RADIO_IPA["uw"]) == ["ou"] and ipa_to_visemes(RADIO_IPA["ch"]) == ["CH"]
    assert all(ipa == "" or ipa[0] in IPA_VISEMES or ipa[:2] in IPA_VISEMES for ipa in RADIO_IPA.values())


def test_synthesize_events_and_stretch():
    a, b = festival.synthesize_many([festival.Request("a simple paper"),
                                     festival.Request("a simple paper", stretch=1.4)])
    assert a.sample_rate == 16000 and a.pcm.dtype == np.int16
    assert a.phonemes[0].sample == 0 and a.phonemes[0].phoneme == ""  # leading pause
    starts = [e.sample for e in a.phonemes]
    assert starts == sorted(starts) and starts[-1] < len(a.pcm)
    assert 1.25 < b.duration / a.duration < 1.55
    again = festival.synthesize("a simple paper")
    np.testing.assert_array_equal(again.pcm, a.pcm)  # deterministic


def test_hts_voice_stretch_and_rate():
    a, b = festival.synthesize_many([festival.Request("hello there", voice="cmu_us_slt_arctic_hts"),
                                     festival.Request("hello there", voice="cmu_us_slt_arctic_hts", stretch=1.3)])
    assert a.sample_rate == 32000
    assert 1.15 < b.duration / a.duration < 1.45


def test_missing_festival_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt-get install .*festival festvox-kallpc16k"):
        festival.synthesize("hello")
    with pytest.raises(MissingDependencyError, match="make festival"):
        festival.phone_set()


def test_missing_festival_voice_names_its_package(monkeypatch):
    monkeypatch.setitem(festival.VOICES, "nobody_diphone", "festvox-nobody")
    with pytest.raises(MissingDependencyError, match="apt-get install -y festvox-nobody"):
        festival.synthesize("hello", voice="nobody_diphone")


def test_makefile_installs_the_packages_festival_names():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    line = makefile.split("FESTIVAL_PACKAGES :=", 1)[1].split("\n\n")[0].split("FESTIVAL_VOICES")[0]
    from talkies.models.lipsync import recorded

    assert tuple(line.replace("\\", " ").split()) == festival.APT_PACKAGES + recorded.APT_PACKAGES + flite.APT_PACKAGES
    assert "test: models festival" in makefile  # `make test` installs them first


def test_festival_synthesize_many_of_nothing():
    assert festival.synthesize_many([]) == []


def test_quotes_in_text_are_spoken_not_parsed():
    speech = festival.synthesize('say "hi" \\ now')
    assert speech.duration > 0.5


def _specs(n: int, seed: int) -> list[D.FestivalSpec]:
    rng = np.random.default_rng(seed)
    return [D.random_festival_spec(rng) for _ in range(n)]


def test_festival_labels_line_up_with_audio():
    specs = [s for s in _specs(60, 5)]
    assert {s.voice for s in specs} == set(D.HUMAN_VOICES) == set(festival.VOICES) | set(flite.VOICES)
    specs = [next(s for s in specs if s.voice == v) for v in D.HUMAN_VOICES] * 2  # every voice, short
    specs = [D.FestivalSpec(s.voice, " ".join(s.text.split()[:6]), s.stretch, s.f0_mean, s.f0_std, s.speed)
             for s in specs]
    speech = D.synthesize_human(specs)
    utts = [D.make_utterance(spec, sp) for spec, sp in zip(specs, speech) if sp is not None]
    assert len(utts) >= len(specs) - 2
    levels = _level_by_viseme(utts)
    med = {v: float(np.median(e)) for v, e in levels.items()}
    for voice in D.HUMAN_VOICES:  # each voice: vowels loud, silence well below them
        lv = _level_by_viseme([u for u in utts if u.spec.voice == voice] * 5)
        vowel = np.concatenate([lv[v] for v in ("aa", "E", "ih", "oh", "ou") if v in lv])
        assert np.median(vowel) > -10 and np.median(lv["sil"]) < np.median(vowel) - 15, voice
    vowels = [med[v] for v in ("aa", "E", "ih", "oh", "ou") if v in med]
    assert len(vowels) >= 4 and min(vowels) > -12  # vowels on voiced energy
    assert med["PP"] < min(vowels) - 3  # closures quieter than vowels
    assert med["sil"] < med["PP"] - 15 and med["sil"] < -45  # silence is quiet
    assert np.mean(levels["sil"] > -25) < 0.05


def test_festival_closures_are_labelled_as_stops():
    """A stop's segment covers its silent closure: quiet frames between vowels belong to the stop."""
    spec = D.FestivalSpec(voice="kal_diphone", text="a paper, the hippo", stretch=1.0, f0_mean=None,
                          f0_std=None, speed=1.0)
    utt = D.make_utterance(spec)
    frames = utt.pcm.astype(np.float64).reshape(-1, D.HOP) / 32768
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    speech = np.flatnonzero(db > -40)
    inner = np.arange(speech[0], speech[-1])
    silent_inside = inner[(db[inner] < -55) & (utt.labels[inner] != VISEME_INDEX["sil"])]
    assert len(silent_inside) >= 4
    assert set(VISEMES[i] for i in utt.labels[silent_inside]) <= {"PP", "DD", "kk", "CH"}
    pp = np.flatnonzero(utt.labels == VISEME_INDEX["PP"])
    assert len(pp) >= 15 and np.min(db[pp]) < -50  # three p's, each with a closure


def test_mix_is_seeded_and_keeps_the_espeak_corpus():
    picks = [D._seeded_spec(0, i, 0.4)[0] for i in range(200)]
    share = np.mean([isinstance(s, D.FestivalSpec) for s in picks])
    assert 0.3 < share < 0.5
    assert picks == [D._seeded_spec(0, i, 0.4)[0] for i in range(200)]
    variants = D._variants()
    for i, spec in enumerate(picks[:20]):  # the espeak utterances are those of the espeak-only corpus
        plain = D._seeded_spec(0, i, 0.0)[0]
        assert plain == D.random_spec(np.random.default_rng([0, i]), variants)
        if isinstance(spec, D.UtteranceSpec):
            assert spec == plain


def test_mixed_corpus_is_reproducible_and_keyed_on_the_mix(tmp_path):
    block, again = D._make_block((7, 0, 3, 1.0)), D._make_block((7, 0, 3, 1.0))
    for (pcm, labels), (pcm2, labels2) in zip(block, again):
        np.testing.assert_array_equal(pcm, pcm2)
        np.testing.assert_array_equal(labels, labels2)
    pcm, labels = D.build_corpus(3, seed=7, cache_dir=tmp_path, festival_fraction=1.0)
    np.testing.assert_array_equal(pcm, np.concatenate([p for p, _ in block]))
    D.build_corpus(3, seed=7, cache_dir=tmp_path, festival_fraction=0.0)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    with pytest.raises(ValueError, match="festival_fraction"):
        D.build_corpus(4, seed=7, cache_dir=tmp_path, festival_fraction=1.5)
