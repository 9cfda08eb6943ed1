"""Curve formats: canonical order, Live Link table against DESIGN.md, round trips, atomic writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import InputError
from talkies.runtime import formats
from talkies.runtime.formats import write_curves
from talkies.runtime.blendshapes import ARKIT_NAMES, VISEME_NAMES, Blendshape, Viseme
from talkies.runtime.motion import FaceMotion
from talkies.tests.helpers.formats import DESIGN_LIVELINK_HEADER


def _motion(n: int = 30, fps: float = 100.0, visemes: bool = True) -> FaceMotion:
    rng = np.random.default_rng(0)
    v = rng.random((n, 15)).astype(np.float32)
    return FaceMotion(np.arange(n) / fps, rng.random((n, 52)), rng.normal(0, 0.2, (n, 6)),
                      visemes=v / v.sum(1, keepdims=True) if visemes else None, fps=fps)


def test_canonical_orders():
    assert len(ARKIT_NAMES) == 52 and list(ARKIT_NAMES) == sorted(ARKIT_NAMES)
    assert Blendshape.browDownLeft == 0 and Blendshape.tongueOut == 51
    assert Blendshape.jawOpen == ARKIT_NAMES.index("jawOpen")
    assert VISEME_NAMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
    assert Viseme.sil == 0 and Viseme.ou == 14


def test_livelink_header_matches_design():
    assert ",".join(formats.LIVELINK_HEADER) == DESIGN_LIVELINK_HEADER
    assert formats.LIVELINK_COUNT == 61


def test_livelink_round_trip(tmp_path: Path):
    motion = _motion(fps=60.0)
    path = write_curves(motion, tmp_path / "take.csv", "livelink")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(formats.LIVELINK_HEADER)
    assert all(r[1] == "61" and len(r) == 63 for r in rows[1:])
    # JawOpen's column holds the canonical jawOpen weight, not its neighbour's.
    assert float(rows[5][rows[0].index("JawOpen")]) == pytest.approx(motion.weights[4, Blendshape.jawOpen], abs=1e-6)
    assert float(rows[5][rows[0].index("JawLeft")]) == pytest.approx(motion.weights[4, Blendshape.jawLeft], abs=1e-6)
    back = formats.read_livelink_csv(path, fps=60.0)
    np.testing.assert_allclose(back.weights, motion.weights, atol=1e-6)
    np.testing.assert_allclose(back.head_pose[:, :3], motion.head_pose[:, :3], atol=1e-6)
    np.testing.assert_allclose(back.timestamps, motion.timestamps, atol=1e-3)


def test_livelink_reads_other_count_spelling(tmp_path: Path):
    path = write_curves(_motion(fps=30.0), tmp_path / "a.csv", "livelink")
    text = path.read_text().replace("BlendshapeCount", "BlendShapeCount", 1)
    other = tmp_path / "b.csv"
    other.write_text(text)
    assert len(formats.read_livelink_csv(other, fps=30.0)) == 30


def test_timecode():
    assert formats.livelink_timecode(3661.5, 60) == "01:01:01:30.000"
    assert formats.parse_livelink_timecode("01:01:01:30.000", 60) == pytest.approx(3661.5)
    with pytest.raises(InputError, match="timecode"):
        formats.parse_livelink_timecode("nonsense", 60)


def test_visemes_and_arkit_json(tmp_path: Path):
    motion = _motion()
    data = json.loads(write_curves(motion, tmp_path / "v.json", "visemes").read_text())
    assert data["fps"] == 100 and data["visemes"] == list(VISEME_NAMES)
    assert len(data["frames"]) == 30 and all(len(f) == 15 for f in data["frames"])
    arkit = json.loads(write_curves(motion, tmp_path / "a.json", "arkit").read_text())
    assert arkit["names"] == list(ARKIT_NAMES) and len(arkit["frames"][0]) == 52
    back = formats.read_arkit_json(tmp_path / "a.json")
    np.testing.assert_allclose(back.weights, motion.weights, atol=1e-5)


def test_rhubarb_cues_cover_the_audio(tmp_path: Path):
    v = np.zeros((100, 15), np.float32)
    v[:20, VISEME_NAMES.index("sil")] = 1
    v[20:30, VISEME_NAMES.index("PP")] = 1
    v[30:31, VISEME_NAMES.index("ou")] = 1  # a 10 ms blip is absorbed
    v[31:100, VISEME_NAMES.index("aa")] = 1
    motion = FaceMotion(np.arange(100) / 100, np.zeros((100, 52)), visemes=v, fps=100.0)
    data = json.loads(write_curves(motion, tmp_path / "r.json", "rhubarb", sound_file="x.wav").read_text())
    cues = data["mouthCues"]
    assert [c["value"] for c in cues] == ["X", "A", "D"]
    assert cues[0]["start"] == 0 and cues[-1]["end"] == pytest.approx(1.0)
    assert all(a["end"] == b["start"] for a, b in zip(cues, cues[1:]))
    assert data["metadata"] == {"soundFile": "x.wav", "duration": 1.0}


def test_format_errors(tmp_path: Path):
    no_visemes = _motion(visemes=False)
    with pytest.raises(InputError, match="viseme"):
        write_curves(no_visemes, tmp_path / "v.json", "visemes")
    assert not (tmp_path / "v.json").exists()
    assert not list(tmp_path.iterdir()), "a failed write must leave no temp file"
    with pytest.raises(InputError, match="valid: visemes"):
        write_curves(no_visemes, tmp_path / "x", "bvh")
    with pytest.raises(InputError, match="weights"):
        FaceMotion(np.arange(3), np.zeros((3, 51)))
    with pytest.raises(InputError, match="non-decreasing"):
        FaceMotion(np.array([0.0, 2.0, 1.0]), np.zeros((3, 52)))


def test_resample():
    motion = _motion(n=11, fps=10.0)
    resampled = motion.sample(np.array([0.05, 0.5]))
    np.testing.assert_allclose(resampled.weights[0], (motion.weights[0] + motion.weights[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(resampled.weights[1], motion.weights[5], atol=1e-6)


def test_livelink_numbers_are_those_of_per_value_formatting():
    """The vectorised Live Link writer gives the bytes of one Python format call per value (rounding,
    negative zero, hours past 99, frame carry), in blocks smaller than the clip."""
    import io

    rng = np.random.default_rng(3)
    for fps, n, block in [(100.0, 2500, 700), (30.0, 900, 10_000), (59.94, 1000, 333)]:
        weights = rng.random((n, 52)).astype(np.float32)
        weights[::7] = 0.0
        pose = (rng.normal(size=(n, 6)) * 4).astype(np.float32)
        pose[::5, 0], pose[::13, 1], pose[::17, 2] = -0.0, -1e-9, 123.456
        motion = FaceMotion(np.arange(n) / fps + 3600 * 101, weights, pose, fps=fps)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(formats.LIVELINK_HEADER)
        for i, t in enumerate(motion.timestamps):
            row = [formats.livelink_timecode(float(t), fps), formats.LIVELINK_COUNT]
            row += [f"{v:.6f}" for v in weights[i, formats._LIVELINK_TO_ARKIT]]
            row += [f"{v:.6f}" for v in pose[i, :3]] + ["0.000000"] * 6
            writer.writerow(row)
        assert b"".join(formats.livelink_chunks(motion, block=block)) == buf.getvalue().encode()


@pytest.mark.parametrize("decimals", [1, 3, 6, 9])
def test_fixed_tokens_are_those_of_per_value_formatting(decimals: int):
    """fixed_text.fixed_tokens against one format call per value: with and without negative values (the
    sign position is left out then), integer parts of several widths, and values whose scaled form
    outgrows uint32."""
    from talkies.runtime.fixed_text import csv_rows, fixed_tokens

    rng = np.random.default_rng(decimals)
    positive = rng.random((50, 4)).astype(np.float32)
    positive[::3, 1] *= 1000
    mixed = positive.copy()
    mixed[::2, 0], mixed[1, 2], mixed[3, 3], mixed[5, 1] = -mixed[::2, 0], -0.0, -1e-9, 98765.4375
    for values in (positive, mixed, positive * 0, np.zeros((0, 4), np.float32)):
        expected = "".join(",".join(f"{v:.{decimals}f}" for v in row) + "\n" for row in values)
        assert csv_rows([fixed_tokens(values, decimals)]).decode() == expected
