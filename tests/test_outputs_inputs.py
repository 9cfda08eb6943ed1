"""Outputs never destroy data, and odd inputs give one-line errors (issue 23): each defect the bad-input probe
found has a test here that failed before the fix."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from talkies.cli import main
from talkies.errors import OutputError
from talkies.io import check_sidecar, check_writable, write_text_atomic
from talkies.tests.helpers.media import grace_hopper_path, speech, write_wav


def _cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    sp = speech("Bob made a map.")
    return write_wav(tmp_path_factory.mktemp("io") / "speech.wav", sp.float32(), sp.sample_rate)


def test_a_device_is_never_replaced(capsys, wav):
    before = os.stat("/dev/null")
    code, err = _cli(capsys, "lipsync", wav, "-o", "/dev/null")
    assert code == 2 and "device, FIFO or socket" in err and err.count("\n") == 1
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_fifo_and_a_symlink_are_refused(tmp_path, wav, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, err = _cli(capsys, "lipsync", wav, "-o", fifo)
    assert code == 2 and "FIFO" in err
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, err = _cli(capsys, "lipsync", wav, "-o", link)
    assert code == 2 and "symbolic link" in err
    assert link.is_symlink() and target.read_text() == "keep me"


def test_an_output_that_is_an_input_is_refused(tmp_path, wav, capsys):
    copy = tmp_path / "a.wav"
    copy.write_bytes(wav.read_bytes())
    code, err = _cli(capsys, "lipsync", copy, "-o", copy)
    assert code == 2 and "is an input of this run" in err
    assert copy.read_bytes() == wav.read_bytes()
    photo = tmp_path / "p.jpg"
    photo.write_bytes(Path(grace_hopper_path()).read_bytes())
    code, err = _cli(capsys, "animate", photo, "--audio", copy, "-o", photo)
    assert code == 2 and "is an input of this run" in err
    assert photo.read_bytes() == Path(grace_hopper_path()).read_bytes()
    code, err = _cli(capsys, "track", photo, "-o", photo)
    assert code == 2 and "is an input of this run" in err


def test_subtitles_never_overwrite_the_video(tmp_path):
    with pytest.raises(OutputError, match="would be the same file"):
        check_sidecar(tmp_path / "talk.srt", tmp_path / "talk.srt")


def test_text_to_an_srt_named_output_is_refused_before_work(tmp_path, capsys):
    out = tmp_path / "talk.srt"
    code, err = _cli(capsys, "animate", grace_hopper_path(), "--text", "Hello.", "-o", out,
                     "--voice", "espeak:en-us")
    assert code == 2 and "same file" in err and not out.exists()


@pytest.mark.parametrize("dest", ["/proc/talkies-x", "/sys/talkies-x"])
def test_virtual_file_systems_are_one_line_errors(capsys, wav, dest):
    code, err = _cli(capsys, "lipsync", wav, "-o", dest)
    assert code == 2 and "not a writable directory" in err and "Traceback" not in err


def test_replacing_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "curves.json"
    path.write_text("old")
    path.chmod(0o600)
    write_text_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_full_disk_is_a_one_line_error(tmp_path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_text_atomic(tmp_path / "x.json", "data")
    assert not list(tmp_path.iterdir())  # no temporary file left


def test_check_writable_accepts_plain_files_and_new_paths(tmp_path, wav):
    assert check_writable(tmp_path / "new" / "x.json") == tmp_path / "new" / "x.json"
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    assert check_writable(existing, inputs=(wav,)) == existing


def test_sigterm_leaves_no_temporary_output(tmp_path, wav):
    """A render killed with SIGTERM mid-way unwinds like Ctrl-C: exit 143, no MP4, no hidden temp file."""
    long = np.tile(speech("Peter picked a peck of pickled peppers.").float32(), 6)
    audio = write_wav(tmp_path / "long.wav", long, 22050)
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "talkies", "animate", str(grace_hopper_path()), "--audio",
                             str(audio), "-o", str(out)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TALKIES_PROGRESS": "0"})
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".out.mp4.*")) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the render ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err
    assert not out.exists() and not list(tmp_path.glob(".out.mp4.*"))


def test_every_espeak_voice_maps_every_phoneme_to_a_viseme():
    """A sentence in each espeak language (and one in scripts it does not read natively) gives a mouth
    motion: no phoneme is without a viseme (`animate --text "сделала"` used to fail on '1')."""
    from talkies.models.lipsync.data import random_text
    from talkies.runtime import espeak
    from talkies.runtime.speech import motion_from_phones

    rng = np.random.default_rng(0)
    for voice in espeak.list_voices():
        name = voice.identifier.rsplit("/", 1)[-1]
        text = f"{random_text(rng, voice.language)} сделала 123, 你好."
        motion = motion_from_phones(espeak.synthesize(text, voice=name))
        assert len(motion) > 0, name


def test_a_huge_png_is_a_one_line_error(tmp_path, capsys):
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("L", (20000, 20000)).save(huge, optimize=False)  # a few MB on disk, 400 megapixels decoded
    code, err = _cli(capsys, "faces", huge)
    assert code == 2 and "too large" in err and err.count("\n") == 1


def test_a_large_photo_reports_faces_in_its_own_pixels(tmp_path, face_models):
    """A 6827×8000 JPEG decodes at a reduced scale (within a memory cap), and the faces come back in the
    file's pixels: the box matches the one found on a small copy, scaled."""
    from PIL import Image

    from talkies.runtime.face import FaceTracker, FaceTrackerOptions
    from talkies.runtime.media import open_photo

    with Image.open(grace_hopper_path()) as img:
        small = img.convert("RGB").resize((1707, 2000))
        big = img.convert("RGB").resize((6827, 8000))
    small.save(tmp_path / "small.jpg", quality=95)
    big.save(tmp_path / "big.jpg", quality=95)
    del big
    photo = open_photo(tmp_path / "big.jpg")
    assert max(photo.pixels.shape) <= 3840 and photo.original_size == (6827, 8000)
    with FaceTracker(FaceTrackerOptions(), models=face_models) as tracker:
        b_big = tracker.detect(tmp_path / "big.jpg").faces[0].box
        b_small = tracker.detect(tmp_path / "small.jpg").faces[0].box
        d_big = tracker.detect_faces(tmp_path / "big.jpg")[0].box
    scale = np.array([6827 / 1707, 8000 / 2000] * 2)
    np.testing.assert_allclose(b_big, b_small * scale, rtol=0.03, atol=20)
    np.testing.assert_allclose(d_big, b_small * scale, rtol=0.1, atol=80)


def test_push_takes_stereo_and_int16_and_process_file_needs_clip_mode(tmp_path, wav):
    from talkies.errors import InputError
    from talkies.runtime.lipsync import LipSync, LipSyncOptions, RunningMode, as_mono_float

    mono = as_mono_float(np.array([0.5, -0.25], np.float32))
    np.testing.assert_array_equal(as_mono_float(np.array([[0.5, 0.5], [-0.25, -0.25]], np.float32)), mono)
    np.testing.assert_allclose(as_mono_float(np.array([16384, -8192], np.int16)), mono)
    sp = speech("Bob made a map.")
    from talkies.runtime.lipsync import _resample

    pcm16 = _resample(sp.float32(), sp.sample_rate)
    ints = (np.clip(pcm16, -1, 1) * 32767).astype(np.int16)
    options = LipSyncOptions(running_mode=RunningMode.AUDIO_STREAM)
    with LipSync(options) as a, LipSync(options) as b:
        a.push(pcm16)
        b.push(np.stack([ints, ints], axis=1))
        va, vb = a.flush().visemes, b.flush().visemes
    assert va.shape == vb.shape and np.abs(va - vb).max() < 0.05
    with LipSync(options) as task, pytest.raises(InputError, match="running_mode='audio_clips'"):
        task.process_file(wav)


@pytest.mark.parametrize("args", [["lipsync", "{wav}", "-o", "{out}", "--threads", "0"],
                                  ["export", "tiny_convnet", "-o", "{out}", "--threads", "0"],
                                  ["bench", "-o", "{out}", "--threads", "0,1"]])
def test_zero_threads_are_refused(tmp_path, wav, capsys, args):
    code = main([a.format(wav=wav, out=tmp_path / "o") for a in args])
    err = capsys.readouterr().err
    assert code == 2 and ("0 is not in the range" in err or "0 is not in the range 1" in err)
