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
