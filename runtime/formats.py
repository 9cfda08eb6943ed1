"""Formats other tools read: OVR viseme JSON, ARKit JSON, Live Link Face CSV (Unreal), Rhubarb JSON,
the tracking JSON of landmarks and weights per face, and SRT subtitles here; glTF/GLB (runtime/gltf_anim.py)
and the animation tools' files (runtime/anim_formats.py: Unity, VRMA, Live2D, Godot, Moho, Papagayo) are
registered in WRITERS too. Every curve converter maps from the canonical Blendshape order explicitly."""

from __future__ import annotations

import bisect
import csv
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.io import atomic_path, write_text_atomic
from talkies.runtime import anim_formats, gltf_anim
from talkies.runtime.blendshapes import ARKIT_NAMES, VISEME_NAMES, Blendshape
from talkies.runtime.motion import POSE_COLUMNS, FaceMotion

# Live Link Face column order (as real captures write it; note JawRight before JawLeft and
# MouthRight before MouthLeft). One table, tested against DESIGN.md.
LIVELINK_BLENDSHAPES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight",
    "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight",
    "JawLeft", "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft",
    "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight", "MouthDimpleLeft",
    "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight", "MouthRollLower", "MouthRollUpper",
    "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft",
    "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight",
    "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)
LIVELINK_POSE = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                 "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LIVELINK_HEADER = ("Timecode", "BlendshapeCount", *LIVELINK_BLENDSHAPES, *LIVELINK_POSE)
LIVELINK_COUNT = len(LIVELINK_BLENDSHAPES) + len(LIVELINK_POSE)  # 61
# ARKit column of each Live Link blend-shape column.
_LIVELINK_TO_ARKIT = [Blendshape[n[0].lower() + n[1:]].value for n in LIVELINK_BLENDSHAPES]

# Rhubarb mouth shape for each OVR viseme (DESIGN.md's shape table).
VISEME_TO_RHUBARB: dict[str, str] = {
    "sil": "X", "PP": "A", "FF": "G", "TH": "B", "DD": "B", "kk": "B", "CH": "B", "SS": "B",
    "nn": "H", "RR": "E", "aa": "D", "E": "C", "ih": "B", "oh": "E", "ou": "F",
}
RHUBARB_MIN_CUE_S = 0.04  # Rhubarb itself never emits cues shorter than about a frame at 24 fps

#: Keyed formats for animation tools, written by gltf_anim and anim_formats.
ANIMATION_FORMATS = ("gltf", "glb", "unity", "vrma", "live2d", "godot", "moho", "papagayo")
FORMATS = ("visemes", "arkit", "livelink", "rhubarb", *ANIMATION_FORMATS)


def _round(values: np.ndarray, digits: int = 5) -> list:
    return np.round(values.astype(np.float64), digits).tolist()


def visemes_json(motion: FaceMotion) -> str:
    if motion.visemes is None:
        raise InputError("this motion has no viseme track (it did not come from speech); write ARKit curves ('arkit') instead")
    _require_fps(motion, 100)
    return json.dumps({"fps": 100, "visemes": list(VISEME_NAMES), "frames": _round(motion.visemes)}) + "\n"


def arkit_json(motion: FaceMotion) -> str:
    fps = motion.fps or _estimate_fps(motion)
    return json.dumps({"fps": fps, "names": list(ARKIT_NAMES), "frames": _round(motion.weights)}) + "\n"


def livelink_timecode(t: float, fps: float) -> str:
    """HH:MM:SS:FF.mmm: frame within the second, and the sub-frame fraction in thousandths."""
    whole = math.floor(t)
    frames = (t - whole) * fps
    frame = math.floor(frames + 1e-9)
    sub = int(round((frames - frame) * 1000))
    if sub == 1000:
        frame, sub = frame + 1, 0
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{frame:02d}.{sub:03d}"


def parse_livelink_timecode(code: str, fps: float) -> float:
    try:
        hms, _, frac = code.partition(".")
        h, m, s, f = (int(x) for x in hms.split(":"))
        return h * 3600 + m * 60 + s + (f + int(frac or 0) / 1000) / fps
    except ValueError as exc:
        raise InputError(f"bad Live Link timecode {code!r}; expected HH:MM:SS:FF.mmm") from exc


def livelink_timecodes(times: np.ndarray, fps: float) -> np.ndarray:
    """livelink_timecode for every time at once, as (N, 1, width) text tokens."""
    from talkies.runtime.fixed_text import int_tokens, joined

    t = np.asarray(times, np.float64)
    whole = np.floor(t)
    frames = (t - whole) * fps
    frame = np.floor(frames + 1e-9)
    sub = np.rint((frames - frame) * 1000)
    carry = sub == 1000
    frame, sub = frame + carry, np.where(carry, 0, sub)
    h, rem = np.divmod(whole.astype(np.int64), 3600)
    m, s = np.divmod(rem, 60)
    return joined([int_tokens(h, 2), int_tokens(m, 2), int_tokens(s, 2), int_tokens(frame, 2), int_tokens(sub, 3)],
                  [":", ":", ":", "."])


LIVELINK_BLOCK = 5_000  # rows formatted at once: the arrays stay in cache, the file streams out


def livelink_chunks(motion: FaceMotion | Iterable[FaceMotion], *, block: int = LIVELINK_BLOCK) -> Iterator[bytes]:
    """Live Link Face CSV in pieces: the header, then at most `block` rows at a time, each built with numpy
    for all its rows at once (an hour of curves in about a second, in bounded memory). `motion` may come
    in consecutive pieces (``LipSync.stream_file``), each written as it arrives, at the first piece's fps."""
    from talkies.runtime.fixed_text import csv_rows, fixed_tokens, text_token

    yield (",".join(LIVELINK_HEADER) + "\n").encode("ascii")
    fps = None
    for piece in (motion,) if isinstance(motion, FaceMotion) else motion:
        fps = fps or piece.fps or _estimate_fps(piece)
        for start in range(0, len(piece), block):
            rows = slice(start, start + block)
            n = len(piece.timestamps[rows])
            values = np.concatenate([piece.weights[rows][:, _LIVELINK_TO_ARKIT], piece.head_pose[rows, :3],
                                     np.zeros((n, 6), np.float32)], axis=1)
            yield csv_rows([livelink_timecodes(piece.timestamps[rows], fps), text_token(str(LIVELINK_COUNT), n),
                            fixed_tokens(values, 6)])


def livelink_csv(motion: FaceMotion) -> bytes:
    return b"".join(livelink_chunks(motion))


def read_livelink_csv(path: str | os.PathLike, fps: float = 60.0) -> FaceMotion:
    """Read a Live Link Face CSV (either spelling of the count column) into canonical order."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise InputError(f"{path}: empty Live Link CSV")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2 or header[0] != "Timecode" or header[1] not in ("BlendshapeCount", "BlendShapeCount"):
        raise InputError(f"{path}: not a Live Link Face CSV (header starts {header[:2]})")
    col = {name: i for i, name in enumerate(header)}
    missing = [n for n in LIVELINK_BLENDSHAPES if n not in col]
    if missing:
        raise InputError(f"{path}: Live Link CSV lacks columns {missing[:5]}")
    times, weights, pose = [], [], []
    for row in rows[1:]:
        if not row:
            continue
        times.append(parse_livelink_timecode(row[0], fps))
        w = np.zeros(len(ARKIT_NAMES), np.float32)
        for name, arkit in zip(LIVELINK_BLENDSHAPES, _LIVELINK_TO_ARKIT):
            w[arkit] = float(row[col[name]])
        weights.append(w)
        pose.append([float(row[col[n]]) if n in col else 0.0 for n in LIVELINK_POSE[:3]] + [0.0] * 3)
    return FaceMotion(np.array(times), np.array(weights).reshape(-1, 52), np.array(pose).reshape(-1, 6), fps=fps)


def read_arkit_json(path: str | os.PathLike) -> FaceMotion:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        names, frames, fps = data["names"], np.asarray(data["frames"], np.float32), float(data["fps"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not an ARKit curve JSON ({exc})") from exc
    weights = np.zeros((len(frames), len(ARKIT_NAMES)), np.float32)
    for j, name in enumerate(names):
        if name in Blendshape.__members__:
            weights[:, Blendshape[name].value] = frames[:, j]
    return FaceMotion(np.arange(len(frames)) / fps, weights, fps=fps)


def rhubarb_cues(visemes: np.ndarray, fps: float = 100.0, min_cue: float = RHUBARB_MIN_CUE_S) -> list[dict]:
    """Turn per-frame viseme probabilities into Rhubarb mouth cues (runs of one shape)."""
    shapes = [VISEME_TO_RHUBARB[VISEME_NAMES[i]] for i in np.argmax(visemes, axis=1)]
    cues: list[dict] = []
    for i, shape in enumerate(shapes):
        start, end = i / fps, (i + 1) / fps
        if cues and cues[-1]["value"] == shape:
            cues[-1]["end"] = end
        else:
            cues.append({"start": start, "end": end, "value": shape})
    merged: list[dict] = []
    for cue in cues:  # absorb cues shorter than min_cue into the previous one
        if merged and cue["end"] - cue["start"] < min_cue - 1e-9:
            merged[-1]["end"] = cue["end"]
        elif merged and merged[-1]["value"] == cue["value"]:
            merged[-1]["end"] = cue["end"]
        else:
            merged.append(dict(cue))
    for cue in merged:
        cue["start"], cue["end"] = round(cue["start"], 2), round(cue["end"], 2)
    return merged


def rhubarb_json(motion: FaceMotion, sound_file: str = "") -> str:
    if motion.visemes is None:
        raise InputError("this motion has no viseme track (it did not come from speech); write ARKit curves ('arkit') instead")
    _require_fps(motion, 100)
    data = {"metadata": {"soundFile": sound_file, "duration": round(motion.duration, 2)},
            "mouthCues": rhubarb_cues(motion.visemes, 100.0)}
    return json.dumps(data, indent=2) + "\n"


def tracking_json(motions: list[FaceMotion], *, source: str = "") -> str:
    """Per frame and face: tracked flag, 478 landmarks (px), 52 ARKit weights, head pose."""
    first = motions[0]
    frames = []
    for i, t in enumerate(first.timestamps):
        faces = []
        for m in motions:
            face = {"face_id": m.face_id, "tracked": bool(m.tracked[i]),
                    "weights": np.round(m.weights[i].astype(np.float64), 5).tolist(),
                    "head_pose": np.round(m.head_pose[i].astype(np.float64), 5).tolist()}
            if "landmarks" in m.extras:
                face["landmarks"] = np.round(m.extras["landmarks"][i].astype(np.float64), 2).tolist()
            faces.append(face)
        frames.append({"time": round(float(t), 6), "faces": faces})
    data = {"source": source, "fps": first.fps, "image_size": first.extras.get("image_size"),
            "blendshapes": list(ARKIT_NAMES), "unsupported": first.extras.get("unsupported", []),
            "head_pose": list(POSE_COLUMNS), "landmark_units": "image pixels (z at x's scale)",
            "calibration": {str(m.face_id): m.extras.get("calibration") for m in motions},
            "frames": frames}
    return json.dumps(data, separators=(",", ":")) + "\n"


def _srt_time(t: float) -> str:
    ms = int(round(max(t, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt_subtitles(text: str, speech, *, max_words: int = 7, max_seconds: float = 3.5) -> str:
    """SRT cues for `text` spoken as `speech` (a :class:`~talkies.runtime.speech.Speech`): each
    whitespace-separated word starts at its first word event; cues hold up to `max_words` words or
    `max_seconds`, and break after sentence ends."""
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    if not tokens:
        return ""
    starts = [None] * len(tokens)
    offsets = [start for start, _ in tokens]
    for w in speech.words:
        k = max(0, bisect.bisect_right(offsets, max(0, w.text_position - 1)) - 1)
        if starts[k] is None:
            starts[k] = w.time
    last = 0.0
    for k in range(len(tokens)):  # words the engine did not report start where the previous one did
        last = starts[k] = last if starts[k] is None else max(starts[k], last)
    cues, first = [], 0
    for k, (_, token) in enumerate(tokens):
        end_of_cue = (token[-1] in ".!?;:" or k - first + 1 >= max_words
                      or starts[k] - starts[first] >= max_seconds or k == len(tokens) - 1)
        if end_of_cue:
            end = starts[k + 1] if k + 1 < len(tokens) else speech.duration
            cues.append((starts[first], max(end, starts[first] + 0.3), " ".join(t for _, t in tokens[first:k + 1])))
            first = k + 1
    return "".join(f"{n}\n{_srt_time(a)} --> {_srt_time(b)}\n{line}\n\n" for n, (a, b, line) in enumerate(cues, 1))


WRITERS: dict[str, Callable[..., str | bytes]] = {
    "visemes": visemes_json, "arkit": arkit_json, "livelink": livelink_csv, "rhubarb": rhubarb_json,
    "gltf": gltf_anim.gltf, "glb": gltf_anim.glb, "unity": anim_formats.unity_anim, "vrma": anim_formats.vrma,
    "live2d": anim_formats.live2d_motion, "godot": anim_formats.godot_tres, "moho": anim_formats.moho_dat,
    "papagayo": anim_formats.papagayo_pgo,
}
#: The file name ending each format is usually given.
#: Writers that stream their file in pieces (write_curves prefers them).
STREAMING: dict[str, Callable[..., Iterator[bytes]]] = {"livelink": livelink_chunks}
EXTENSIONS = {"visemes": ".json", "arkit": ".json", "livelink": ".csv", "rhubarb": ".json", "gltf": ".gltf",
              "glb": ".glb", "unity": ".anim", "vrma": ".vrma", "live2d": ".motion3.json", "godot": ".tres",
              "moho": ".dat", "papagayo": ".pgo"}


def write_curves(motion: FaceMotion | Iterable[FaceMotion], path: str | os.PathLike, fmt: str, **kwargs) -> Path:
    """Write `motion` as a curve file in `fmt` (one of WRITERS), atomically. A format in STREAMING also
    takes the motion as consecutive pieces (``LipSync.stream_file``) and writes each as it comes."""
    if fmt not in WRITERS:
        raise InputError(f"unknown format {fmt!r}; valid: {', '.join(WRITERS)}")
    if not isinstance(motion, FaceMotion) and fmt not in STREAMING:
        raise InputError(f"{fmt} is written from a whole motion, not from pieces; streamed formats: "
                         f"{', '.join(STREAMING)}")
    if isinstance(motion, FaceMotion) and len(motion) == 0:
        raise InputError("the motion has no frames; nothing to write")
    if fmt in STREAMING:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            chunks = 0
            for chunks, chunk in enumerate(STREAMING[fmt](motion, **kwargs), 1):
                fh.write(chunk)
            if chunks < 2:  # the header alone: the pieces held no frames
                raise InputError("the motion has no frames; nothing to write")
        return Path(path)
    data = WRITERS[fmt](motion, **kwargs)
    if isinstance(data, str):
        return write_text_atomic(path, data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def _estimate_fps(motion: FaceMotion) -> float:
    if len(motion) < 2:
        return 30.0
    return float(round(1.0 / np.median(np.diff(motion.timestamps)), 3))


def _require_fps(motion: FaceMotion, fps: float) -> None:
    if motion.fps != fps:
        raise InputError(f"this format needs {fps:g} frames/s curves; resample the motion first")
