"""`talkies track` and `talkies faces` end to end: JSON, ARKit and Live Link outputs, and bad inputs."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkies.cli import main
from talkies.paths import shared_data_dir
from talkies.runtime.formats import LIVELINK_HEADER
from talkies.tests.helpers.faces import bundle_dir, make_clip, needs_jit
from talkies.tests.helpers.formats import DESIGN_LIVELINK_HEADER
from talkies.tests.helpers.media import photo

pytestmark = needs_jit

DESIGN_LIVELINK = DESIGN_LIVELINK_HEADER.split(",")  # DESIGN.md's Live Link Face header, verbatim


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    Image.fromarray(photo("astronaut")).save(root / "astronaut.png")
    Image.fromarray(np.full((240, 320, 3), 40, np.uint8)).save(root / "blank.jpg")
    (root / "notes.jpg").write_text("not an image")
    (root / "notes.mp4").write_text("not a video")
    make_clip(root / "clip.mp4", frames=12)
    return root


def run(capsys, *args: str | os.PathLike) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _model_args() -> list[str]:
    return ["--bundle-dir", str(bundle_dir())]


def test_track_photo_to_json(files, tmp_path, capsys):
    out = tmp_path / "face.json"
    code, stdout, err = run(capsys, "track", files / "astronaut.png", "-o", out, "--format", "json", *_model_args())
    assert code == 0, err
    assert stdout.strip() == str(out)
    data = json.loads(out.read_text())
    assert len(data["frames"]) == 1 and data["image_size"] == [512, 512]
    face = data["frames"][0]["faces"][0]
    assert face["face_id"] == 0 and face["tracked"] is True
    assert np.array(face["landmarks"]).shape == (478, 3) and len(face["weights"]) == 52 and len(face["head_pose"]) == 6
    weights = dict(zip(data["blendshapes"], face["weights"]))
    assert weights["mouthSmileLeft"] > 0.7 and weights["tongueOut"] == 0.0 and data["unsupported"] == ["tongueOut"]
    assert data["head_pose"] == ["yaw", "pitch", "roll", "tx", "ty", "tz"]


def test_track_video_to_livelink_csv(files, tmp_path, capsys):
    out = tmp_path / "take.csv"
    code, _, err = run(capsys, "track", files / "clip.mp4", "-o", out, "--format", "livelink", *_model_args())
    assert code == 0, err
    rows = list(csv.reader(out.open()))
    assert rows[0] == DESIGN_LIVELINK == list(LIVELINK_HEADER)
    design = shared_data_dir().parent / "DESIGN.md"
    if design.is_file():  # the same table as DESIGN.md's, when it is at hand
        block = design.read_text().split("Timecode,BlendshapeCount,", 1)[1].split("```", 1)[0]
        assert ["Timecode", "BlendshapeCount", *"".join(block.split()).split(",")] == DESIGN_LIVELINK
    body = rows[1:]
    assert len(body) == 12
    col = {name: i for i, name in enumerate(rows[0])}
    assert all(r[col["BlendshapeCount"]] == "61" and len(r) == 63 for r in body)
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d:\d\d\.\d\d\d", r[0]) for r in body)
    assert all(float(r[col["TongueOut"]]) == 0.0 for r in body)
    roll = np.array([float(r[col["HeadRoll"]]) for r in body])
    assert np.ptp(roll) > 0.1  # the clip rolls the head by tens of degrees
    squint = [float(r[col["EyeSquintLeft"]]) for r in body]
    assert np.median(squint) > 0.4  # grace_hopper squints


def test_track_video_to_arkit_json_with_calibration(files, tmp_path, capsys):
    out = tmp_path / "take.json"
    code, _, err = run(capsys, "track", files / "clip.mp4", "-o", out, "--format", "arkit", "--no-smooth",
                       "--calibrate-frames", "4", *_model_args())
    assert code == 0, err
    data = json.loads(out.read_text())
    frames = np.array(data["frames"])
    assert frames.shape == (12, 52) and data["fps"] == pytest.approx(30.0)
    squint = data["names"].index("eyeSquintLeft")
    assert frames[:4, squint].mean() < 0.15  # her resting squint is calibrated away


def test_faces_lists_boxes_and_scores(files, capsys):
    code, stdout, err = run(capsys, "faces", files / "astronaut.png", *_model_args())
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    match = re.fullmatch(r"face 0: box (\d+),(\d+),(\d+),(\d+)  size (\d+)x(\d+) px  score (0\.\d+)", lines[0])
    assert match, lines[0]
    x0, y0, x1, y1, w, h = (int(v) for v in match.groups()[:6])
    assert x0 < 224 < x1 and y0 < 131 < y1 and 60 < w < 200 and float(match.group(7)) > 0.8


@pytest.mark.parametrize("args,message", [
    (["track", "{files}/blank.jpg", "-o", "{out}"], "no face found"),
    (["faces", "{files}/blank.jpg"], "no face found"),
    (["track", "{files}/notes.jpg", "-o", "{out}"], "not a readable image"),
    (["track", "{files}/notes.mp4", "-o", "{out}"], "not a readable audio/video"),
    (["track", "{files}/missing.mp4", "-o", "{out}"], "no such file"),
])
def test_bad_inputs_exit_2_with_one_line(files, tmp_path, capsys, args, message):
    out = tmp_path / "out.json"
    argv = [a.format(files=files, out=out) for a in args] + _model_args()
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written


def test_output_under_a_file_fails_before_any_work(files, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(capsys, "track", files / "clip.mp4", "-o", blocker / "take.csv", "--format", "livelink",
                       "--bundle-dir", tmp_path / "no-bundles")
    assert code == 2 and "cannot write" in err and "not a writable directory" in err


def test_output_that_is_a_directory_is_refused(files, tmp_path, capsys):
    code, _, err = run(capsys, "track", files / "astronaut.png", "-o", tmp_path, "--bundle-dir",
                       tmp_path / "no-bundles")
    assert code == 2 and "is a directory" in err


def test_missing_bundles_name_the_export_command(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "talkies.targets.bundle_writer", None)  # no export extra
    code, _, err = run(capsys, "faces", files / "astronaut.png", "--bundle-dir", tmp_path / "none",
                       "--backend", "onnx", "--precision", "fp32")  # an explicit choice: built on demand
    assert code == 2
    assert "talkies export face_landmarks --target onnx --precision fp32" in err


def test_missing_bundles_are_built_once_when_the_export_extra_is_there(files, tmp_path, capsys, monkeypatch):
    import shutil

    from talkies.targets import bundle_writer

    built = []

    def fake_export(model, target, precision, out_dir):  # stands in for the 30 s export: copy the built ones
        built.append((model, target, str(precision), Path(out_dir).name))
        shutil.copytree(bundle_dir() / f"{model}-onnx-fp32", out_dir)
        return Path(out_dir)

    monkeypatch.setattr(bundle_writer, "export_bundle", fake_export)
    root = tmp_path / "bundles"
    shutil.copytree(bundle_dir() / "face_detector-onnx-fp32", root / "face_detector-onnx-fp32")
    for _ in range(2):
        code, stdout, err = run(capsys, "faces", files / "astronaut.png", "--bundle-dir", root, "--backend", "onnx",
                                "--precision", "fp32")
        assert code == 0 and stdout.strip().splitlines()[-1].startswith("face 0:"), err
    assert built == [("face_landmarks", "onnx", "fp32", "face_landmarks-onnx-fp32"),
                     ("face_blendshapes", "onnx", "fp32", "face_blendshapes-onnx-fp32")]
