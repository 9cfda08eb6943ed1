"""The LipSync task and `talkies lipsync` on the shipped ONNX bundles: offline = streaming, fixed
latency, every output format parsed back, containers, and bad input."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from talkies.cli import main
from talkies.errors import InputError
from talkies.paths import shared_data_dir
from talkies.runtime import media
from talkies.runtime.blendshapes import ARKIT_NAMES, VISEME_NAMES, Blendshape
from talkies.runtime.formats import LIVELINK_HEADER
from talkies.runtime.lipsync import LipSync, LipSyncOptions, RunningMode

SPEECH = shared_data_dir() / "speech"
CARD = SPEECH / "cards" / "001.wav"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return media.read_audio(CARD)


@pytest.fixture(scope="module")
def offline():
    with LipSync(LipSyncOptions()) as task:
        yield task


def test_offline_covers_the_audio(offline, speech):
    motion = offline.process(speech)
    assert len(motion) == math.ceil(len(speech) / 160)
    np.testing.assert_allclose(motion.visemes.sum(axis=1), 1.0, atol=1e-4)
    assert motion.weights.shape == (len(motion), 52)
    assert motion.weights.min() >= 0 and motion.weights.max() <= 1
    jaw = motion.weights[:, Blendshape.jawOpen]
    assert jaw.max() > 0.2, "speech must open the jaw"
    assert np.all(motion.weights[:, Blendshape.tongueOut] == 0)


def test_streaming_equals_offline(speech):
    options = dict(smoothing=True)
    with LipSync(LipSyncOptions(**options)) as task:
        ref = task.process(speech)
    with LipSync(LipSyncOptions(running_mode=RunningMode.AUDIO_STREAM, **options)) as stream:
        parts, rng = [], np.random.default_rng(0)
        pos = 0
        while pos < len(speech):
            size = int(rng.integers(160, 1600))  # 10–100 ms chunks
            parts.append(stream.push(speech[pos:pos + size]))
            pos += size
        parts.append(stream.flush())
    visemes = np.concatenate([p.visemes for p in parts])
    weights = np.concatenate([p.weights for p in parts])
    assert len(visemes) == len(ref)
    np.testing.assert_allclose(visemes, ref.visemes, atol=1e-4)
    np.testing.assert_allclose(weights, ref.weights, atol=1e-4)


def test_stream_latency_is_fixed(speech):
    got = []
    with LipSync(LipSyncOptions(running_mode="audio_stream", result_callback=got.append)) as stream:
        counts = [len(stream.push(speech[160 * k:160 * (k + 1)])) for k in range(40)]
        assert stream.latency_ms == 60
    # 10 ms pushes: frame i is out once audio up to 10·i + 60 ms is in.
    assert counts == [0] * 5 + [1] * 35
    assert sum(len(r) for r in got) == 35


def test_silence_is_closed_mouth(offline):
    motion = offline.process(np.zeros(16000, np.float32))
    assert np.all(motion.visemes.argmax(axis=1) == VISEME_NAMES.index("sil"))
    assert motion.weights[:, Blendshape.jawOpen].max() < 0.05


def test_bad_audio(offline, tmp_path: Path):
    empty = tmp_path / "empty.wav"
    _write_audio(empty, np.zeros(0, np.float32), 16000, "wav")
    with pytest.raises(InputError):
        offline.process_file(empty)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(InputError, match="notes.wav"):
        offline.process_file(text)
    with pytest.raises(InputError, match="NaN"):
        offline.process(np.full(1600, np.nan, np.float32))
    with pytest.raises(InputError, match="intensity"):
        LipSyncOptions(intensity=3)
    with pytest.raises(InputError, match="valid: neutral"):
        LipSyncOptions(expression="angry")


def _write_audio(path: Path, pcm: np.ndarray, rate: int, container: str, channels: int = 1) -> None:
    import av

    codec = {"wav": "pcm_s16le", "mp3": "libmp3lame", "m4a": "aac", "flac": "flac", "ogg": "libopus",
             "mp4": "aac", "mov": "aac"}[container]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format={"m4a": "mp4", "ogg": "ogg"}.get(container, None)) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        data = np.repeat(pcm[None], channels, axis=0).astype(np.float32)
        fmt = "fltp"
        if codec == "pcm_s16le":
            data, fmt = (np.clip(data, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1), "s16"
        elif codec == "flac":
            data, fmt = (np.clip(data, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1), "s16"
        if data.shape[-1]:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize("container,rate,channels", [("mp3", 44100, 2), ("m4a", 48000, 1), ("flac", 22050, 1),
                                                     ("ogg", 48000, 2), ("mov", 32000, 2)])
def test_containers_rates_channels(offline, speech, tmp_path: Path, container, rate, channels):
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(speech[None], format="flt", layout="mono")
    frame.sample_rate = 16000
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in [*resampler.resample(frame), *resampler.resample(None)]])
    path = tmp_path / f"speech.{container}"
    _write_audio(path, pcm, rate, container, channels)
    motion = offline.process_file(path)
    expected = len(speech) / 160
    assert abs(len(motion) - expected) <= 10  # codec priming/padding only
    assert motion.weights[:, Blendshape.jawOpen].max() > 0.2


def test_cli_formats(tmp_path: Path):
    outputs = {}
    for fmt, name in (("visemes", "v.json"), ("arkit", "a.json"), ("livelink", "l.csv"), ("rhubarb", "r.json")):
        out = tmp_path / name
        assert main(["lipsync", str(CARD), "--format", fmt, "-o", str(out)]) == 0
        outputs[fmt] = out
    n = math.ceil(len(media.read_audio(CARD)) / 160)
    vis = json.loads(outputs["visemes"].read_text())
    assert set(vis) == {"fps", "visemes", "frames"} and vis["fps"] == 100
    assert vis["visemes"] == list(VISEME_NAMES) and len(vis["frames"]) == n
    arkit = json.loads(outputs["arkit"].read_text())
    assert arkit["names"] == list(ARKIT_NAMES) and len(arkit["frames"]) == n
    with open(outputs["livelink"], newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == LIVELINK_HEADER and len(rows) == n + 1
    rhubarb = json.loads(outputs["rhubarb"].read_text())
    cues = rhubarb["mouthCues"]
    assert set(rhubarb["metadata"]) == {"soundFile", "duration"}
    assert {c["value"] for c in cues} <= set("ABCDEFGHX") and cues[0]["start"] == 0
    assert cues[-1]["end"] == pytest.approx(rhubarb["metadata"]["duration"], abs=0.011)


def test_cli_bad_input(tmp_path: Path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # -o inside a regular file can never be written, even as root
    assert main(["lipsync", str(CARD), "-o", str(blocker / "out.json")]) == 2
    assert "cannot write" in capsys.readouterr().err
    missing = tmp_path / "nope.wav"
    assert main(["lipsync", str(missing), "-o", str(tmp_path / "o.json")]) == 2
    assert "nope.wav" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_bundles_from_other_weights_are_passed_over(tmp_path: Path):
    """A cached bundle built from older weights (its manifest names another source) is not used."""
    import shutil

    from talkies.runtime.bundle import shipped_bundle_dir

    stale = tmp_path / "lipsync-onnx-fp32"
    shutil.copytree(shipped_bundle_dir() / "lipsync-onnx-fp32", stale)
    manifest = json.loads((stale / "manifest.json").read_text())
    assert manifest["source"].startswith("talkies.models.lipsync (lipsync.npz sha256 ")
    with LipSync(LipSyncOptions(bundle_dir=str(tmp_path))) as task:
        assert task._bundle.source == stale  # same weights: the given folder wins
    manifest["source"] = "talkies.models.lipsync (lipsync.npz sha256 0000000000000000)"
    (stale / "manifest.json").write_text(json.dumps(manifest))
    with LipSync(LipSyncOptions(bundle_dir=str(tmp_path))) as task:
        assert task._bundle.source == shipped_bundle_dir() / "lipsync-onnx-fp32"


def test_stream_file_is_process_file_in_pieces(offline, speech, tmp_path: Path, monkeypatch):
    """stream_file gives process_file's frames as consecutive 16 s pieces, and the Live Link CSV written
    from the pieces (by write_curves and by the CLI) is byte for byte the one of the whole motion."""
    from talkies.runtime.formats import write_curves

    path = tmp_path / "long.wav"
    n = 40 * 16000 + 77
    _write_audio(path, np.tile(speech, n // len(speech) + 1)[:n], 16000, "wav")
    whole = offline.process_file(path)
    pieces = list(offline.stream_file(path))
    assert [len(p) for p in pieces] == [1600, 1600, len(whole) - 3200]
    for field in ("timestamps", "weights", "visemes"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, field) for p in pieces]), getattr(whole, field))
    write_curves(whole, tmp_path / "whole.csv", "livelink")
    write_curves(offline.stream_file(path), tmp_path / "streamed.csv", "livelink")
    # the task's bundle, named: with no flags the CLI runs the fastest verified one cached on this machine
    assert main(["lipsync", str(path), "--format", "livelink", "-o", str(tmp_path / "cli.csv"),
                 "--backend", "onnx", "--precision", "fp32"]) == 0
    expected = (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "streamed.csv").read_bytes() == expected == (tmp_path / "cli.csv").read_bytes()
    with pytest.raises(InputError, match="pieces"):
        write_curves(offline.stream_file(path), tmp_path / "v.json", "visemes")
    with pytest.raises(InputError, match="no frames"):
        write_curves(iter([]), tmp_path / "empty.csv", "livelink")
    assert not (tmp_path / "v.json").exists() and not (tmp_path / "empty.csv").exists()
    # WAV is read in large packets (media.WAV_PACKETS): the same samples as FFmpeg's default packets
    packed = media.read_audio(path)
    monkeypatch.setattr(media, "WAV_PACKETS", {})
    np.testing.assert_array_equal(packed, media.read_audio(path))

