"""Keyed curve formats for animation tools: reduction, a round trip per format (write, read back, compare
with the source FaceMotion within the reduction tolerance), the Khronos glTF validator, the avatar copy,
determinism and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import InputError
from talkies.runtime import anim_formats as af
from talkies.runtime import curve_keys as ck
from talkies.runtime.blendshapes import ARKIT_NAMES, Blendshape
from talkies.runtime.formats import ANIMATION_FORMATS, EXTENSIONS, write_curves
from talkies.runtime.gltf_anim import pack_glb, read_gltf, read_gltf_motion
from talkies.runtime.motion import FaceMotion
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.gltf import validate

TOL = ck.WEIGHT_TOLERANCE + 1e-6


def _motion(n: int = 180, fps: float = 100.0, visemes: bool = True, seed: int = 0) -> FaceMotion:
    """Speech-like curves: smooth bumps, steep jaw onsets, a blink, held silences; a turning head."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    w = np.zeros((n, 52))
    for j in range(52):
        for _ in range(3):
            c, width, h = rng.uniform(0, t[-1]), rng.uniform(0.02, 0.3), rng.uniform(0, 1)
            w[:, j] += h * np.exp(-0.5 * ((t - c) / width) ** 2)
    w[:, Blendshape.jawOpen] = np.where((t > 0.3) & (t < 0.9), 0.8, 0.05)  # steps: the hardest case
    w = np.clip(w, 0, 1)
    pose = np.zeros((n, 6))
    pose[:, 0], pose[:, 1], pose[:, 2] = 0.3 * np.sin(2 * t), 0.1 * np.cos(3 * t), 0.05 * t
    pose[:, 3:] = np.stack([np.sin(t), 0.5 * t, 0 * t], axis=1)
    vis = None
    if visemes:
        vis = rng.random((n, 15)) ** 4
        vis = np.repeat(vis[::6], 6, axis=0)[:n]
        vis /= vis.sum(1, keepdims=True)
    return FaceMotion(t, w, pose, visemes=vis, fps=fps)


MOTIONS = {"lipsync": lambda: _motion(), "track": lambda: _motion(n=75, fps=30.0, visemes=False, seed=1)}


def test_reduction_keeps_every_sample_within_tolerance():
    rng = np.random.default_rng(3)
    for values in (np.cumsum(rng.normal(0, 0.05, 500)), np.repeat(rng.random(20), 25), np.sin(np.arange(400) / 7)):
        ch = ck.keyed("x", values)
        back = ck.sample_keys(ch.frames, ch.values, len(values))
        assert np.abs(back - values).max() <= ck.WEIGHT_TOLERANCE - 1e-3 + 1e-9
        assert ch.frames[0] == 0 and ch.frames[-1] == len(values) - 1 and np.all(np.diff(ch.frames) > 0)
    flat = ck.keyed("x", np.full(300, 0.25))
    assert list(flat.frames) == [0, 299]


@pytest.mark.parametrize("kind", MOTIONS)
@pytest.mark.parametrize("fmt", ["glb", "gltf"])
def test_gltf_round_trip(tmp_path: Path, kind: str, fmt: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / f"take.{fmt}", fmt)
    back = read_gltf_motion(path)
    assert back.fps == motion.fps and len(back) == len(motion)
    np.testing.assert_allclose(back.timestamps, motion.timestamps, atol=1e-6)  # keys on whole frames
    assert np.abs(back.weights - motion.weights).max() <= TOL
    assert np.abs(back.head_pose[:, :3] - motion.head_pose[:, :3]).max() <= ck.ANGLE_TOLERANCE + 1e-4
    assert np.abs(back.head_pose[:, 3:] - motion.head_pose[:, 3:]).max() <= ck.TRANSLATION_TOLERANCE + 1e-3
    doc, _ = read_gltf(path)
    times = np.concatenate([np.asarray(doc["accessors"][s["input"]]["max"]) for s in doc["animations"][0]["samplers"]])
    assert np.allclose(times * motion.fps, np.round(times * motion.fps), atol=1e-3)


@pytest.mark.parametrize("kind", MOTIONS)
def test_unity_round_trip_and_yaml_grammar(tmp_path: Path, kind: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / "take.anim", "unity")
    back = af.read_unity_anim(path)
    assert back.fps == motion.fps and len(back) == len(motion)
    assert np.abs(back.weights - motion.weights).max() <= TOL
    import yaml

    class UnityLoader(yaml.SafeLoader):
        pass

    UnityLoader.add_multi_constructor("tag:unity3d.com,2011:", lambda loader, suffix, node: loader.construct_mapping(node, deep=True))
    clip = yaml.load(path.read_text(), Loader=UnityLoader)["AnimationClip"]
    curves = clip["m_FloatCurves"]
    assert [c["attribute"] for c in curves] == [f"blendShape.{n}" for n in ARKIT_NAMES]
    assert all(c["classID"] == 137 and c["path"] == "Face" for c in curves)
    jaw = curves[Blendshape.jawOpen]["curve"]["m_Curve"]
    for a, b in zip(jaw, jaw[1:]):  # linear tangents: each key's out slope reaches the next key
        assert a["value"] + a["outSlope"] * (b["time"] - a["time"]) == pytest.approx(b["value"], abs=0.05)
        assert a["tangentMode"] == af.UNITY_LINEAR_TANGENTS
    assert clip["m_SampleRate"] == motion.fps


@pytest.mark.parametrize("kind", MOTIONS)
def test_godot_round_trip(tmp_path: Path, kind: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / "take.tres", "godot")
    back = af.read_godot_tres(path)
    assert back.fps == pytest.approx(motion.fps) and len(back) == len(motion)
    assert np.abs(back.weights - motion.weights).max() <= TOL
    text = path.read_text()
    assert text.count('tracks/') == 52 * 7 and 'NodePath("Face:blend_shapes/jawOpen")' in text


@pytest.mark.parametrize("kind", MOTIONS)
def test_live2d_round_trip(tmp_path: Path, kind: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / "take.motion3.json", "live2d")
    data = json.loads(path.read_text())
    curves = af.read_live2d_motion(path)
    expect = ck.live2d_parameters(motion)
    assert set(curves) == set(expect) >= {"ParamMouthOpenY", "ParamMouthForm"}
    for pid, (t, v) in curves.items():
        back = np.interp(motion.timestamps, t, v)
        assert np.abs(back - expect[pid]).max() <= (0.3 if pid.startswith("ParamAngle") else TOL), pid
    meta = data["Meta"]
    assert meta["CurveCount"] == len(data["Curves"]) and meta["Fps"] == motion.fps
    assert meta["TotalPointCount"] == sum((len(c["Segments"]) + 1) // 3 for c in data["Curves"])
    assert meta["Duration"] == pytest.approx(motion.timestamps[-1])


@pytest.mark.parametrize("kind", MOTIONS)
def test_vrma_round_trip(tmp_path: Path, kind: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / "take.vrma", "vrma")
    weights, times = af.read_vrma(path)
    expect = ck.vrm_expressions(motion)
    assert set(weights) == {"aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight"}
    np.testing.assert_allclose(times, motion.timestamps, atol=1e-6)
    for name, values in weights.items():
        assert np.abs(values - expect[name]).max() <= TOL, name


@pytest.mark.parametrize("kind", MOTIONS)
@pytest.mark.parametrize("fmt", ["moho", "papagayo"])
def test_cue_files_round_trip(tmp_path: Path, kind: str, fmt: str):
    motion = MOTIONS[kind]()
    path = write_curves(motion, tmp_path / f"take{EXTENSIONS[fmt]}", fmt)
    fps, cues = af.read_cues(path)
    labels = ck.preston_blair(motion)
    assert cues and {shape for _, shape in cues} <= set(ck.PRESTON_BLAIR)
    first = 1 if fmt == "moho" else 0  # Moho counts frames from 1, Papagayo from 0
    assert fps == (None if fmt == "moho" else af.CUE_FPS)
    src = motion.timestamps
    for frame, shape in cues[:-1] if fmt == "moho" else cues:  # Moho ends on a closing rest
        t = (frame - first) / af.CUE_FPS
        near = [labels[i] for i in np.flatnonzero(np.abs(src - t) <= 1 / af.CUE_FPS + 1e-9)]
        assert shape in near, (frame, shape)
    assert [f for f, _ in cues] == sorted(f for f, _ in cues)


def test_papagayo_grammar(tmp_path: Path):
    text = write_curves(_motion(), tmp_path / "a.pgo", "papagayo", sound_file="a.wav").read_text()
    lines = text.splitlines()
    assert lines[:5] == ["lipsync version 1", "a.wav", "24", str(int(round(1.8 * 24))), "1"]
    word = lines[12].strip().split()
    assert word[0] == "talkies" and int(word[3]) == len(lines) - 13


def test_khronos_validator_finds_no_errors(tmp_path: Path):
    motion = _motion()
    files = [write_curves(motion, tmp_path / "a.glb", "glb"), write_curves(motion, tmp_path / "a.gltf", "gltf"),
             write_curves(motion, tmp_path / "head.glb", "glb", with_head=True),
             write_curves(MOTIONS["track"](), tmp_path / "t.glb", "glb", with_head=True),
             write_curves(motion, tmp_path / "a.vrma", "vrma")]
    files.append(write_curves(motion, tmp_path / "avatar_anim.glb", "glb", apply_to=_avatar(tmp_path)))
    for path in files:
        report = validate(path)
        assert report["errors"] == 0 and report["warnings"] == 0, (path.name, report)


def _avatar(tmp_path: Path, names: list[str] | None = None) -> Path:
    """Someone's model: the talking head without its animation, morph targets renamed as an exporter might."""
    doc, blob = read_gltf(write_curves(_motion(n=3), tmp_path / "src.glb", "glb", with_head=True))
    doc.pop("animations")
    doc["asset"]["generator"] = "someone's tool"
    doc["meshes"][0]["extras"]["targetNames"] = names or [f"blendShape1.{n}" for n in ARKIT_NAMES]
    path = tmp_path / "avatar.glb"
    path.write_bytes(pack_glb(doc, blob))
    return path


def test_apply_to_avatar(tmp_path: Path):
    motion = _motion()
    out = write_curves(motion, tmp_path / "out.glb", "glb", apply_to=_avatar(tmp_path))
    doc, _ = read_gltf(out)
    assert doc["asset"]["generator"] == "someone's tool + talkies" and len(doc["animations"]) == 1
    doc["meshes"][0]["extras"]["targetNames"] = list(ARKIT_NAMES)  # read back by plain names
    back_path = tmp_path / "plain.glb"
    back_path.write_bytes(pack_glb(doc, read_gltf(out)[1]))
    back = read_gltf_motion(back_path)
    assert np.abs(back.weights - motion.weights).max() <= TOL


def test_bad_avatars_are_one_line_errors(tmp_path: Path):
    no_arkit = _avatar(tmp_path, names=[f"Fcl_MTH_{v}" for v in "AIUEO"] + ["x"] * 47)
    with pytest.raises(InputError, match=r"no morph targets named by ARKit.*Fcl_MTH_A, Fcl_MTH_I") as err:
        write_curves(_motion(), tmp_path / "o.glb", "glb", apply_to=no_arkit)
    assert "\n" not in str(err.value)
    corrupt = tmp_path / "broken.glb"
    corrupt.write_bytes(no_arkit.read_bytes()[:500])
    with pytest.raises(InputError, match="not a readable glTF/GLB") as err:
        write_curves(_motion(), tmp_path / "o.glb", "glb", apply_to=corrupt)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "o.glb").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.glb", "broken.glb", "src.glb"]


@pytest.mark.parametrize("fmt", ANIMATION_FORMATS)
def test_same_input_same_bytes(tmp_path: Path, fmt: str):
    a = write_curves(_motion(), tmp_path / f"a{EXTENSIONS[fmt]}", fmt).read_bytes()
    b = write_curves(_motion(), tmp_path / f"b{EXTENSIONS[fmt]}", fmt).read_bytes()
    assert a == b


def test_cli_rejects_head_flags_with_other_formats(tmp_path: Path, capsys):
    assert run_cli("lipsync", tmp_path / "x.wav", "--format", "unity", "--with-head", "-o", tmp_path / "a.anim") == 2
    err = capsys.readouterr().err.strip()
    assert "--with-head" in err and len(err.splitlines()) == 1
    corrupt = tmp_path / "bad.glb"
    corrupt.write_bytes(b"glTF\x02\x00\x00\x00junk")
    assert run_cli("lipsync", tmp_path / "x.wav", "--format", "glb", "--apply-to", corrupt, "-o", tmp_path / "a.glb") == 2
    assert "not a readable glTF/GLB" in capsys.readouterr().err
    assert not (tmp_path / "a.glb").exists()


def test_unknown_format_is_one_line(tmp_path: Path, capsys):
    with pytest.raises(InputError, match=r"unknown format 'fbx'; valid: .*glb") as err:
        write_curves(_motion(), tmp_path / "a.fbx", "fbx")
    assert "\n" not in str(err.value)
    for command in ("lipsync", "track"):
        assert run_cli(command, tmp_path / "x.wav", "--format", "fbx", "-o", tmp_path / "a.fbx") == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("talkies: error: unknown format 'fbx'") and len(err.splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_cli_avatar_without_arkit_names_fails_before_any_work(tmp_path: Path, capsys):
    no_arkit = _avatar(tmp_path, names=[f"Fcl_MTH_{v}" for v in "AIUEO"] + ["x"] * 47)
    before = sorted(tmp_path.iterdir())
    # the audio does not exist: the avatar is refused first, so the error names the avatar, not the audio
    assert run_cli("lipsync", tmp_path / "x.wav", "--format", "glb", "--apply-to", no_arkit,
                   "-o", tmp_path / "a.glb") == 2
    err = capsys.readouterr().err.strip()
    assert "no morph targets named by ARKit" in err and "Fcl_MTH_A" in err and len(err.splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before
