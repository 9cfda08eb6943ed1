"""Curves for animation tools: Unity AnimationClip (.anim), Godot Animation (.tres), Live2D motion3.json,
VRM Animation (.vrma), Moho switch data (.dat) and Papagayo (.pgo); a reader beside each writer.

OpenFaceFX (MIT) writes the VRMA and the Moho file, through :func:`facetrack` (the one adapter from a
FaceMotion to its FaceTrack, keyed by our reduction). The others are ours; the README says why.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.runtime.blendshapes import ARKIT_NAMES, NUM_BLENDSHAPES
from talkies.runtime.curve_keys import (PRESTON_BLAIR, KeyedChannel, cue_runs, frame_rate, keyed, live2d_parameters,
                                        on_grid, preston_blair, vrm_expressions)
from talkies.runtime.motion import FaceMotion

#: Moho and Papagayo count whole frames; 24 is their default rate.
CUE_FPS = 24


def _num(x: float, digits: int = 6) -> str:
    s = f"{float(x):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def _arkit_channels(motion: FaceMotion) -> list[KeyedChannel]:
    return [keyed(name, motion.weights[:, j]) for j, name in enumerate(ARKIT_NAMES)]


# ------------------------------------------------------------------------------------------------
# Unity AnimationClip: blendShape.<ARKit name> float curves on a SkinnedMeshRenderer (classID 137)
# ------------------------------------------------------------------------------------------------

_UNITY_HEAD = """%YAML 1.1
%TAG !u! tag:unity3d.com,2011:
--- !u!74 &7400000
AnimationClip:
  m_ObjectHideFlags: 0
  m_CorrespondingSourceObject: {{fileID: 0}}
  m_PrefabInstance: {{fileID: 0}}
  m_PrefabAsset: {{fileID: 0}}
  m_Name: {name}
  serializedVersion: 6
  m_Legacy: 0
  m_Compressed: 0
  m_UseHighQualityCurve: 1
  m_RotationCurves: []
  m_CompressedRotationCurves: []
  m_EulerCurves: []
  m_PositionCurves: []
  m_ScaleCurves: []
  m_FloatCurves:
{curves}  m_PPtrCurves: []
  m_SampleRate: {fps}
  m_WrapMode: 0
  m_Bounds:
    m_Center: {{x: 0, y: 0, z: 0}}
    m_Extent: {{x: 0, y: 0, z: 0}}
  m_ClipBindingConstant:
    genericBindings: []
    pptrCurveMapping: []
  m_AnimationClipSettings:
    serializedVersion: 2
    m_AdditiveReferencePoseClip: {{fileID: 0}}
    m_AdditiveReferencePoseTime: 0
    m_StartTime: 0
    m_StopTime: {stop}
    m_OrientationOffsetY: 0
    m_Level: 0
    m_CycleOffset: 0
    m_HasAdditiveReferencePose: 0
    m_LoopTime: 0
    m_LoopBlend: 0
    m_LoopBlendOrientation: 0
    m_LoopBlendPositionY: 0
    m_LoopBlendPositionXZ: 0
    m_KeepOriginalOrientation: 0
    m_KeepOriginalPositionY: 1
    m_KeepOriginalPositionXZ: 0
    m_HeightFromFeet: 0
    m_Mirror: 0
  m_EditorCurves:
{curves}  m_EulerEditorCurves: []
  m_HasGenericRootTransform: 0
  m_HasMotionFloatCurves: 0
  m_Events: []
"""
#: Unity's tangent mode for a key whose both tangents are Linear (broken flag + Linear << 1 + Linear << 5).
UNITY_LINEAR_TANGENTS = 69


def _unity_curve(ch: KeyedChannel, fps: float, mesh_path: str) -> str:
    t, v = ch.times(fps), ch.values * 100.0  # Unity blend-shape weights are percent
    slopes = np.diff(v) / np.diff(t) if len(t) > 1 else np.zeros(0)
    keys = []
    for i in range(len(t)):
        s_in = slopes[i - 1] if i > 0 else (slopes[0] if len(slopes) else 0.0)
        s_out = slopes[i] if i < len(slopes) else s_in
        keys.append(f"      - serializedVersion: 3\n        time: {_num(t[i])}\n        value: {_num(v[i], 4)}\n"
                    f"        inSlope: {_num(s_in, 4)}\n        outSlope: {_num(s_out, 4)}\n"
                    f"        tangentMode: {UNITY_LINEAR_TANGENTS}\n        weightedMode: 0\n"
                    f"        inWeight: 0.33333334\n        outWeight: 0.33333334\n")
    return ("  - curve:\n      serializedVersion: 2\n      m_Curve:\n" + "".join(keys)
            + "      m_PreInfinity: 2\n      m_PostInfinity: 2\n      m_RotationOrder: 4\n"
            f"    attribute: blendShape.{ch.name}\n    path: {mesh_path}\n    classID: 137\n"
            "    script: {fileID: 0}\n")


def unity_anim(motion: FaceMotion, *, mesh_path: str = "Face", clip_name: str = "talkies") -> str:
    """A Unity AnimationClip animating the 52 ARKit blend-shapes of the SkinnedMeshRenderer at `mesh_path`
    (relative to the Animator), linear between keys."""
    motion = on_grid(motion)
    fps = frame_rate(motion)
    curves = "".join(_unity_curve(ch, fps, mesh_path) for ch in _arkit_channels(motion))
    return _UNITY_HEAD.format(name=clip_name, curves=curves, fps=_num(fps), stop=_num((len(motion) - 1) / fps))


def read_unity_anim(path: str | os.PathLike) -> FaceMotion:
    text = _read_text(path)
    m_rate = re.search(r"^  m_SampleRate: ([\d.]+)$", text, re.M)
    block = text.split("  m_FloatCurves:\n", 1)[-1].split("  m_PPtrCurves:", 1)[0]
    if not m_rate or "AnimationClip:" not in text:
        raise InputError(f"{path}: not a Unity AnimationClip")
    curves = {}
    for chunk in block.split("  - curve:\n")[1:]:
        name = re.search(r"attribute: blendShape\.(\S+)", chunk)
        times = [float(x) for x in re.findall(r"^        time: (\S+)$", chunk, re.M)]
        values = [float(x) / 100.0 for x in re.findall(r"^        value: (\S+)$", chunk, re.M)]
        if name:
            curves[name.group(1)] = (np.array(times), np.array(values))
    return _motion_from_curves(curves, float(m_rate.group(1)))


def _motion_from_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], fps: float) -> FaceMotion:
    end = max((float(t[-1]) for t, _ in curves.values() if len(t)), default=0.0)
    grid = np.arange(int(round(end * fps)) + 1) / fps
    weights = np.zeros((len(grid), NUM_BLENDSHAPES), np.float32)
    for name, (t, v) in curves.items():
        if name in ARKIT_NAMES and len(t):
            weights[:, ARKIT_NAMES.index(name)] = np.interp(grid, t, v)
    return FaceMotion(grid, weights, fps=fps)


def _read_text(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


# ------------------------------------------------------------------------------------------------
# Godot 4 Animation resource: value tracks on <node>:blend_shapes/<ARKit name>, linear
# ------------------------------------------------------------------------------------------------


def godot_tres(motion: FaceMotion, *, node: str = "Face") -> str:
    """A Godot 4 Animation (.tres) with one linear value track per ARKit blend-shape of the MeshInstance3D
    `node` (relative to the AnimationPlayer's root node)."""
    motion = on_grid(motion)
    fps = frame_rate(motion)
    lines = ['[gd_resource type="Animation" format=3]', "", "[resource]", 'resource_name = "talkies"',
             f"length = {_num((len(motion) - 1) / fps)}", f"step = {_num(1 / fps)}"]
    for i, ch in enumerate(_arkit_channels(motion)):
        times = ", ".join(_num(t) for t in ch.times(fps))
        values = ", ".join(_num(v, 4) for v in ch.values)
        lines += [f'tracks/{i}/type = "value"', f"tracks/{i}/imported = false", f"tracks/{i}/enabled = true",
                  f'tracks/{i}/path = NodePath("{node}:blend_shapes/{ch.name}")', f"tracks/{i}/interp = 1",
                  f"tracks/{i}/loop_wrap = true", f"tracks/{i}/keys = {{",
                  f'"times": PackedFloat32Array({times}),',
                  f'"transitions": PackedFloat32Array({", ".join(["1"] * len(ch.frames))}),',
                  '"update": 0,', f'"values": [{values}]', "}"]
    return "\n".join(lines) + "\n"


def read_godot_tres(path: str | os.PathLike) -> FaceMotion:
    text = _read_text(path)
    if not text.startswith('[gd_resource type="Animation"'):
        raise InputError(f"{path}: not a Godot Animation resource")
    step = float(re.search(r"^step = (\S+)$", text, re.M).group(1))
    curves = {}
    for path_name, times, values in re.findall(
            r'path = NodePath\("[^:"]*:blend_shapes/([^"]+)"\).*?"times": PackedFloat32Array\(([^)]*)\).*?'
            r'"values": \[([^\]]*)\]', text, re.S):
        curves[path_name] = (np.array([float(x) for x in times.split(",")]),
                             np.array([float(x) for x in values.split(",")]))
    return _motion_from_curves(curves, round(1 / step, 3))


# ------------------------------------------------------------------------------------------------
# Live2D Cubism motion3.json: standard parameters, linear segments
# ------------------------------------------------------------------------------------------------


def live2d_motion(motion: FaceMotion) -> str:
    """A Cubism motion3.json driving ParamMouthOpenY, ParamMouthForm, the eyes and the head angles."""
    motion = on_grid(motion)
    fps = frame_rate(motion)
    curves, segments, points = [], 0, 0
    for pid, values in live2d_parameters(motion).items():
        tolerance = 0.02 if not pid.startswith("ParamAngle") else 0.3  # angles are in degrees
        ch = keyed(pid, values, tolerance)
        seg: list = [round(float(ch.frames[0] / fps), 6), round(float(ch.values[0]), 4)]
        for f, v in zip(ch.frames[1:], ch.values[1:]):
            seg += [0, round(float(f / fps), 6), round(float(v), 4)]
        segments += len(ch.frames) - 1
        points += len(ch.frames)
        curves.append({"Target": "Parameter", "Id": pid, "Segments": seg})
    meta = {"Duration": round((len(motion) - 1) / fps, 6), "Fps": fps, "Loop": False, "AreBeziersRestricted": True,
            "CurveCount": len(curves), "TotalSegmentCount": segments, "TotalPointCount": points,
            "UserDataCount": 0, "TotalUserDataSize": 0}
    return json.dumps({"Version": 3, "Meta": meta, "Curves": curves}, indent=1) + "\n"


def read_live2d_motion(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each parameter's (times, values) points (bezier segments are read by their end points)."""
    try:
        data = json.loads(_read_text(path))
        out = {}
        for curve in data["Curves"]:
            s = curve["Segments"]
            t, v, i = [s[0]], [s[1]], 2
            while i < len(s):
                kind = s[i]
                stride = 6 if kind == 1 else 2
                t.append(s[i + stride - 1])
                v.append(s[i + stride])
                i += 1 + stride
            out[curve["Id"]] = (np.array(t, np.float64), np.array(v, np.float64))
        return out
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InputError(f"{path}: not a Live2D motion3.json ({exc})") from exc


# ------------------------------------------------------------------------------------------------
# OpenFaceFX: the adapter, VRMA and Moho
# ------------------------------------------------------------------------------------------------


def facetrack(channels: list[KeyedChannel], fps: float, target_set: list[str] | None = None):
    """OpenFaceFX's FaceTrack of our keyed channels (key times on whole frames)."""
    from openfacefx.curves import Channel, FaceTrack, Keyframe

    chans = [Channel(ch.name, [Keyframe(float(f / fps), float(v)) for f, v in zip(ch.frames, ch.values)])
             for ch in channels]
    return FaceTrack(fps=fps, channels=chans, target_set=target_set)


def vrma(motion: FaceMotion) -> bytes:
    """A VRM Animation (VRMC_vrm_animation 1.0): the aa ih ou ee oh and blink expressions."""
    from openfacefx.export_vrma import build_vrma

    from talkies.runtime.gltf_anim import pack_glb

    motion = on_grid(motion)
    fps = frame_rate(motion)
    chans = [keyed(name, values) for name, values in vrm_expressions(motion).items()]
    doc, blob = build_vrma(facetrack(chans, fps), preset=None)
    doc["asset"]["generator"] = "talkies (openfacefx)"
    return pack_glb(doc, blob)


def read_vrma(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each preset expression's weight per key time, and those times."""
    from talkies.runtime.gltf_anim import accessor_array, read_gltf

    doc, blob = read_gltf(path)
    try:
        presets = doc["extensions"]["VRMC_vrm_animation"]["expressions"]["preset"]
        node_of = {v["node"]: k for k, v in presets.items()}
        anim, out, times = doc["animations"][0], {}, None
        for ch in anim["channels"]:
            sampler = anim["samplers"][ch["sampler"]]
            if ch["target"]["path"] == "translation" and ch["target"]["node"] in node_of:
                times = accessor_array(doc, blob, sampler["input"])[:, 0]
                out[node_of[ch["target"]["node"]]] = accessor_array(doc, blob, sampler["output"])[:, 0]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a VRM animation ({exc})") from exc
    return out, times


def _write_with(writer, *args, **kwargs) -> str:
    with tempfile.TemporaryDirectory(prefix="talkies-") as tmp:
        out = os.path.join(tmp, "out")
        writer(*args, out, **kwargs)
        return Path(out).read_text(encoding="utf-8")


def _mouth_track(motion: FaceMotion):
    """The Preston Blair mouths as one-hot keyed channels, for OpenFaceFX's cue writers."""
    motion = on_grid(motion)
    fps, labels = frame_rate(motion), preston_blair(motion)
    chans = [keyed(shape, np.array([float(x == shape) for x in labels])) for shape in PRESTON_BLAIR
             if shape in labels]
    return facetrack(chans, fps, target_set=list(PRESTON_BLAIR))


def moho_dat(motion: FaceMotion, *, fps: int = CUE_FPS) -> str:
    """Moho / OpenToonz switch data with Preston Blair mouth names (frames 1-based)."""
    from openfacefx.export_cues import write_moho_dat

    return _write_with(write_moho_dat, _mouth_track(motion), fps=fps)


def read_cues(path: str | os.PathLike) -> tuple[int | None, list[tuple[int, str]]]:
    """(fps or None, [(frame, mouth)]) from a Moho switch .dat (1-based frames) or a Papagayo .pgo (0-based)."""
    lines = _read_text(path).splitlines()
    try:
        if lines and lines[0] == "MohoSwitch1":
            return None, [(int(a), b) for a, b in (line.split() for line in lines[1:] if line.strip())]
        if lines and lines[0].startswith("lipsync version"):
            fps = int(lines[2])
            return fps, [(int(a), b) for a, b in (line.split() for line in lines if line.startswith("\t\t\t\t"))]
    except ValueError as exc:
        raise InputError(f"{path}: bad cue line ({exc})") from exc
    raise InputError(f"{path}: neither a Moho switch file nor a Papagayo project")


# ------------------------------------------------------------------------------------------------
# Papagayo-NG .pgo (ours: Papagayo counts frames from 0; its Moho export adds the 1)
# ------------------------------------------------------------------------------------------------


def papagayo_pgo(motion: FaceMotion, *, fps: int = CUE_FPS, sound_file: str = "") -> str:
    """A Papagayo project: one voice, one phrase, one word holding the Preston Blair mouths."""
    motion = on_grid(motion)
    labels = preston_blair(motion)
    runs = cue_runs(labels, frame_rate(motion), fps)
    total = max(1, int(np.floor(len(motion) / frame_rate(motion) * fps + 0.5)))
    end = max(total - 1, runs[-1][0] if runs else 0)
    lines = ["lipsync version 1", sound_file or "talkies.wav", str(int(fps)), str(total), "1",
             "\tVoice 1", "\ttalkies", "\t1", "\t\ttalkies", "\t\t0", f"\t\t{end}", "\t\t1",
             f"\t\t\ttalkies 0 {end} {len(runs)}"]
    lines += [f"\t\t\t\t{frame} {shape}" for frame, shape in runs]
    return "\n".join(lines) + "\n"
