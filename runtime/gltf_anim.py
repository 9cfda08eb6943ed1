"""glTF 2.0 morph-target animation: GLB/glTF writers and reader, the talking head (the rig's face mesh with
the 52 ARKit blend-shapes as named morph targets: the canonical face, or a photo's face textured with the
photo, runtime.talking_head) and the animation added to someone's own avatar.

Layout of what we write: a ``Head`` node (at the neck pivot; its rotation and translation are the head pose)
with a child ``Face`` node holding a mesh whose morph targets are named by ARKit name
(``mesh.extras.targetNames``, the convention Blender, three.js and Babylon read). Without the head the mesh is
a single placeholder triangle whose targets move nothing: the file carries the curves for a rig elsewhere.
One animation, ``talkies``: a LINEAR ``weights`` sampler keyed on the union of the reduced channels' frames
and, when the head moves, ``rotation``/``translation`` samplers. Units are metres, +y up, +z to the viewer.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.runtime.blendshapes import ARKIT_NAMES, NUM_BLENDSHAPES
from talkies.runtime.curve_keys import (ANGLE_TOLERANCE, TRANSLATION_TOLERANCE, frame_rate, keyed, on_grid,
                                        sample_keys)
from talkies.runtime.motion import FaceMotion
from talkies.runtime.talking_head import RIG_TO_GLTF, HeadGeometry

GLB_MAGIC, GLB_VERSION, CHUNK_JSON, CHUNK_BIN = 0x46546C67, 2, 0x4E4F534A, 0x004E4942
FLOAT, UINT16, UINT32 = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
LINEAR, LINEAR_MIPMAP_LINEAR, CLAMP_TO_EDGE = 9729, 9987, 33071
GENERATOR = "talkies"


# ------------------------------------------------------------------------------------------------
# Containers
# ------------------------------------------------------------------------------------------------


def pack_glb(doc: dict, blob: bytes) -> bytes:
    doc = dict(doc, buffers=[{"byteLength": len(blob)}] if blob else [])
    text = json.dumps(doc, separators=(",", ":"), sort_keys=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    chunks = struct.pack("<II", len(text), CHUNK_JSON) + text
    if blob:
        chunks += struct.pack("<II", len(blob), CHUNK_BIN) + blob
    return struct.pack("<III", GLB_MAGIC, GLB_VERSION, 12 + len(chunks)) + chunks


def gltf_text(doc: dict, blob: bytes) -> str:
    buffers = [{"byteLength": len(blob),
                "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode("ascii")}]
    return json.dumps(dict(doc, buffers=buffers), indent=1) + "\n"


def read_gltf(path: str | os.PathLike) -> tuple[dict, bytes]:
    """The JSON document and the first buffer of a GLB, or of a .gltf whose buffer is embedded."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        if data[:4] == b"glTF":
            magic, version, length = struct.unpack_from("<III", data, 0)
            if version != 2 or length != len(data):
                raise ValueError(f"GLB version {version}, length {length} of {len(data)} bytes")
            n, kind = struct.unpack_from("<II", data, 12)
            if kind != CHUNK_JSON or 20 + n > len(data):
                raise ValueError("the first chunk is not a whole JSON chunk")
            doc = json.loads(data[20:20 + n])
            blob, pos = b"", 20 + n
            if pos + 8 <= len(data):
                m, kind = struct.unpack_from("<II", data, pos)
                if kind != CHUNK_BIN or pos + 8 + m > len(data):
                    raise ValueError("truncated BIN chunk")
                blob = data[pos + 8:pos + 8 + m]
        else:
            doc = json.loads(data)
            buffers = doc.get("buffers", [])
            uri = buffers[0].get("uri", "") if buffers else ""
            if buffers and not uri.startswith("data:"):
                raise ValueError("its buffer is a separate file; give a GLB (or a .gltf with the buffer embedded)")
            blob = base64.b64decode(uri.split(",", 1)[1]) if uri else b""
        if not isinstance(doc, dict) or doc.get("asset", {}).get("version") != "2.0":
            raise ValueError("not a glTF 2.0 asset")
    except (ValueError, struct.error, UnicodeDecodeError, IndexError, AttributeError) as exc:
        raise InputError(f"{path} is not a readable glTF/GLB file ({exc})") from exc
    return doc, blob


def accessor_array(doc: dict, blob: bytes, index: int) -> np.ndarray:
    """A FLOAT accessor's values, (count, components)."""
    acc = doc["accessors"][index]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc["type"]]
    if acc["componentType"] != FLOAT or "bufferView" not in acc:
        raise ValueError(f"accessor {index} is not a plain FLOAT accessor")
    view = doc["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride", 4 * width)
    raw = np.frombuffer(blob, np.uint8, count=view["byteLength"] - acc.get("byteOffset", 0), offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, (acc["count"], 4 * width), (stride, 1))
    return np.ascontiguousarray(rows).view("<f4").reshape(acc["count"], width).astype(np.float64)


class Buffer:
    """Accessors and buffer views appended to one binary buffer (4-byte aligned)."""

    def __init__(self, doc: dict, blob: bytes = b"") -> None:
        self.doc = doc
        self.parts = [blob + b"\0" * (-len(blob) % 4)] if blob else []
        self.size = sum(len(p) for p in self.parts)
        doc.setdefault("accessors", [])
        doc.setdefault("bufferViews", [])

    def add(self, array: np.ndarray, kind: str, *, target: int | None = None, bounds: bool = False,
            component: int = FLOAT) -> int:
        dtype = {FLOAT: "<f4", UINT16: "<u2", UINT32: "<u4"}[component]
        array = np.ascontiguousarray(array, dtype)
        data = array.tobytes()
        view = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.doc["bufferViews"].append(view)
        self.parts.append(data + b"\0" * (-len(data) % 4))
        self.size += len(self.parts[-1])
        width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[kind]
        acc = {"bufferView": len(self.doc["bufferViews"]) - 1, "componentType": component,
               "count": int(array.size // width), "type": kind}
        if bounds:
            flat = array.reshape(-1, width).astype(np.float64)
            acc["min"] = [_num(v) for v in flat.min(axis=0)]
            acc["max"] = [_num(v) for v in flat.max(axis=0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def add_bytes(self, data: bytes) -> int:
        """A buffer view of raw bytes (an embedded image); returns the view's index."""
        self.doc["bufferViews"].append({"buffer": 0, "byteOffset": self.size, "byteLength": len(data)})
        self.parts.append(data + b"\0" * (-len(data) % 4))
        self.size += len(self.parts[-1])
        return len(self.doc["bufferViews"]) - 1

    def blob(self) -> bytes:
        return b"".join(self.parts)


def _num(v: float) -> float | int:
    v = float(np.float32(v))
    return int(v) if v.is_integer() else v


# ------------------------------------------------------------------------------------------------
# The animation
# ------------------------------------------------------------------------------------------------


def weight_keys(motion: FaceMotion, columns: list[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Key frames (the union of the reduced channels' keys) and, per key, one weight per entry of
    `columns` (a canonical column, or None for a target we leave at 0)."""
    n = len(motion)
    channels = {c: keyed(ARKIT_NAMES[c], motion.weights[:, c]) for c in sorted({c for c in columns if c is not None})}
    frames = np.unique(np.concatenate([ch.frames for ch in channels.values()] or [np.array([0, max(n - 1, 0)])]))
    out = np.zeros((len(frames), len(columns)), np.float32)
    for j, c in enumerate(columns):
        if c is not None:
            ch = channels[c]
            out[:, j] = np.interp(frames, ch.frames, ch.values)
    return frames, out


def _quaternions(pose: np.ndarray) -> np.ndarray:
    """(x, y, z, w) of R = Ry(yaw)·Rx(pitch)·Rz(roll) (the tracker's camera-space convention, which is
    glTF's +y up, +z to the viewer)."""
    def axis(angle: np.ndarray, k: int) -> np.ndarray:
        q = np.zeros((len(angle), 4))
        q[:, k], q[:, 3] = np.sin(angle / 2), np.cos(angle / 2)
        return q

    q = _qmul(_qmul(axis(pose[:, 0], 1), axis(pose[:, 1], 0)), axis(pose[:, 2], 2))
    return q * np.where(q[:, 3:4] < 0, -1.0, 1.0)


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a.T
    bx, by, bz, bw = b.T
    return np.stack([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], axis=1)


def euler_from_quaternions(q: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) back from (x, y, z, w) quaternions."""
    x, y, z, w = np.asarray(q, np.float64).T
    r02, r22 = 2 * (x * z + w * y), 1 - 2 * (x * x + y * y)
    r12, r10, r11 = 2 * (y * z - w * x), 2 * (x * y + w * z), 1 - 2 * (x * x + z * z)
    return np.stack([np.arctan2(r02, r22), np.arcsin(np.clip(-r12, -1, 1)), np.arctan2(r10, r11)], axis=1)


def add_animation(doc: dict, buf: Buffer, motion: FaceMotion, weight_targets: dict[int, list[int | None]],
                  head_node: int | None = None, pivot: np.ndarray | None = None) -> None:
    """Append the ``talkies`` animation: for each node in `weight_targets` a weights channel (one column
    per morph target), and the head pose on `head_node` (rotation; translation from `pivot` in metres)."""
    fps = frame_rate(motion)
    samplers, channels = [], []
    for node, columns in weight_targets.items():
        frames, values = weight_keys(motion, columns)
        t = buf.add(frames / fps, "SCALAR", bounds=True)
        samplers.append({"input": t, "output": buf.add(values.reshape(-1), "SCALAR"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": "weights"}})
    pose = motion.head_pose.astype(np.float64)
    if head_node is not None and np.any(pose[:, :3]):
        rot = [keyed(str(k), pose[:, k], ANGLE_TOLERANCE) for k in range(3)]
        frames = np.unique(np.concatenate([ch.frames for ch in rot]))
        angles = np.stack([np.interp(frames, ch.frames, ch.values) for ch in rot], axis=1)
        t = buf.add(frames / fps, "SCALAR", bounds=True)
        samplers.append({"input": t, "output": buf.add(_quaternions(angles), "VEC4"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": head_node, "path": "rotation"}})
    if head_node is not None and pivot is not None and np.any(pose[:, 3:]):
        move = [keyed(str(k), pose[:, k], TRANSLATION_TOLERANCE) for k in range(3, 6)]
        frames = np.unique(np.concatenate([ch.frames for ch in move]))
        shift = np.stack([np.interp(frames, ch.frames, ch.values) for ch in move], axis=1) / 100.0
        t = buf.add(frames / fps, "SCALAR", bounds=True)
        samplers.append({"input": t, "output": buf.add(pivot + shift, "VEC3"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": head_node, "path": "translation"}})
    doc.setdefault("animations", []).append({"name": "talkies", "channels": channels, "samplers": samplers,
                                             "extras": {"fps": fps, "frames": len(motion)}})


def _head_mesh(buf: Buffer, head: HeadGeometry | None) -> dict:
    """The mesh with 52 ARKit morph targets: a head (478 vertices) or a placeholder triangle."""
    names = list(ARKIT_NAMES)
    if head is not None:
        pos, normals, colors, tris, deltas = head.positions, head.normals, head.colors, head.triangles, head.deltas
    else:
        pos = np.array([[0, 0, 0], [0.01, 0, 0], [0, 0.01, 0]], np.float32)
        normals, colors, tris = np.tile([0, 0, 1.0], (3, 1)), None, np.array([[0, 1, 2]])
        deltas = np.zeros((NUM_BLENDSHAPES, 3, 3), np.float32)
    attrs = {"POSITION": buf.add(pos, "VEC3", target=ARRAY_BUFFER, bounds=True),
             "NORMAL": buf.add(normals, "VEC3", target=ARRAY_BUFFER)}
    if colors is not None:
        attrs["COLOR_0"] = buf.add(colors, "VEC3", target=ARRAY_BUFFER)
    if head is not None and head.uvs is not None:
        attrs["TEXCOORD_0"] = buf.add(head.uvs, "VEC2", target=ARRAY_BUFFER)
    zero, targets = None, []
    for d in deltas:
        if not np.any(d):
            if zero is None:
                zero = buf.add(np.zeros_like(d), "VEC3", target=ARRAY_BUFFER, bounds=True)
            targets.append({"POSITION": zero})
        else:
            targets.append({"POSITION": buf.add(d, "VEC3", target=ARRAY_BUFFER, bounds=True)})
    prim = {"attributes": attrs, "indices": buf.add(tris.reshape(-1), "SCALAR", target=ELEMENT_ARRAY_BUFFER,
                                                  component=UINT16 if len(pos) < 65536 else UINT32),
            "material": 0, "targets": targets}
    return {"name": "talkies_face" if head is not None else "talkies_curves", "primitives": [prim],
            "extras": {"targetNames": names}}


def _material(doc: dict, buf: Buffer, head: HeadGeometry | None) -> dict:
    """Skin: flat for the placeholder, white times the vertex colours or the photo texture for a head."""
    pbr = {"baseColorFactor": [0.86, 0.67, 0.56, 1.0] if head is None else [1.0, 1.0, 1.0, 1.0],
           "metallicFactor": 0.0, "roughnessFactor": 0.7}
    if head is not None and head.texture is not None:
        doc["images"] = [{"name": "photo", "bufferView": buf.add_bytes(head.texture), "mimeType": head.texture_mime}]
        doc["samplers"] = [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": CLAMP_TO_EDGE,
                            "wrapT": CLAMP_TO_EDGE}]
        doc["textures"] = [{"sampler": 0, "source": 0}]
        pbr["baseColorTexture"] = {"index": 0}
        pbr["roughnessFactor"] = 0.85  # the photo already holds its own highlights
    return {"name": "skin", "pbrMetallicRoughness": pbr, "doubleSided": True}


def _head(with_head: bool | HeadGeometry) -> HeadGeometry | None:
    if isinstance(with_head, HeadGeometry):
        return with_head
    if with_head is True:
        from talkies.runtime.talking_head import head_geometry

        return head_geometry()
    if with_head is False or with_head is None:
        return None
    raise InputError(f"with_head must be True, False or a talking_head.HeadGeometry, not {type(with_head).__name__}")


def gltf_document(motion: FaceMotion, *, with_head: bool | HeadGeometry = False) -> tuple[dict, bytes]:
    """The document and its buffer. `with_head`: False (the curves on a placeholder), True (the canonical
    head) or a :class:`~talkies.runtime.talking_head.HeadGeometry` (e.g. a photo's, ``photo_head``)."""
    head = _head(with_head)
    motion = on_grid(motion)
    doc: dict = {"asset": {"version": "2.0", "generator": GENERATOR}, "scene": 0}
    if head is not None and head.texture is not None:  # someone's face: say it is synthetic, as the videos do
        from talkies import __version__

        doc["asset"]["extras"] = {"comment": f"synthesised by talkies {__version__}: a talking head made from a photo"}
    buf = Buffer(doc)
    from talkies.runtime.rig import HEAD_PIVOT

    pivot = HEAD_PIVOT * RIG_TO_GLTF
    doc["meshes"] = [_head_mesh(buf, head)]
    doc["materials"] = [_material(doc, buf, head)]
    doc["nodes"] = [{"name": "Head", "translation": [_num(v) for v in pivot], "children": [1]},
                    {"name": "Face", "mesh": 0, "translation": [_num(v) for v in -pivot]}]
    doc["scenes"] = [{"nodes": [0]}]
    add_animation(doc, buf, motion, {1: list(range(NUM_BLENDSHAPES))}, head_node=0, pivot=pivot)
    return doc, buf.blob()


def glb(motion: FaceMotion, *, with_head: bool | HeadGeometry = False,
        apply_to: str | os.PathLike | None = None) -> bytes:
    """Binary glTF: the morph-weight animation (and head pose) on a placeholder mesh, on a talking head
    (`with_head`: True for the canonical face, or a photo's ``HeadGeometry``), or added to a copy of the
    avatar GLB `apply_to`."""
    if apply_to is not None:
        if with_head:
            raise InputError("give either the talking head or an avatar to animate, not both")
        return add_to_avatar(motion, apply_to)
    return pack_glb(*gltf_document(motion, with_head=with_head))


def gltf(motion: FaceMotion, *, with_head: bool | HeadGeometry = False,
         apply_to: str | os.PathLike | None = None) -> str:
    """The same as :func:`glb` as one .gltf JSON file (buffer embedded as base64)."""
    if apply_to is not None:
        raise InputError("an animated copy of an avatar is written as a GLB; name the output .glb")
    return gltf_text(*gltf_document(motion, with_head=with_head))


def read_gltf_motion(path: str | os.PathLike) -> FaceMotion:
    """The first animation's ARKit weights (matched by target name) and head rotation, on its frame grid."""
    doc, blob = read_gltf(path)
    try:
        anim = doc["animations"][0]
        fps = float(anim.get("extras", {}).get("fps") or 30.0)
        curves: list[tuple[np.ndarray, np.ndarray, int | None, str]] = []
        end = 0.0
        for ch in anim["channels"]:
            sampler = anim["samplers"][ch["sampler"]]
            t = accessor_array(doc, blob, sampler["input"])[:, 0]
            out = accessor_array(doc, blob, sampler["output"])
            end = max(end, float(t[-1]))
            curves.append((t, out, ch["target"].get("node"), ch["target"]["path"]))
        n = int(anim.get("extras", {}).get("frames") or round(end * fps) + 1)
        grid = np.arange(n) / fps
        weights, pose = np.zeros((n, NUM_BLENDSHAPES), np.float32), np.zeros((n, 6), np.float32)
        for t, out, node, kind in curves:
            if kind == "weights":
                names = doc["meshes"][doc["nodes"][node]["mesh"]].get("extras", {}).get("targetNames", [])
                values = out.reshape(len(t), -1)
                for j, name in enumerate(names):
                    if name in ARKIT_NAMES:
                        weights[:, ARKIT_NAMES.index(name)] = np.interp(grid, t, values[:, j])
            elif kind == "rotation":
                quats = np.stack([np.interp(grid, t, out[:, k]) for k in range(4)], axis=1)
                pose[:, :3] = euler_from_quaternions(quats / np.linalg.norm(quats, axis=1, keepdims=True))
            elif kind == "translation":
                base = np.asarray(doc["nodes"][node].get("translation", [0, 0, 0]), np.float64)
                pose[:, 3:] = np.stack([np.interp(grid, t, out[:, k]) for k in range(3)], axis=1) * 100 - base * 100
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: no talkies-readable morph animation ({exc})") from exc
    return FaceMotion(grid, weights, pose, fps=fps)


# ------------------------------------------------------------------------------------------------
# Someone's own avatar
# ------------------------------------------------------------------------------------------------


def _arkit_column(name: str) -> int | None:
    """Canonical column of a morph target name: the ARKit name in any case, after any 'prefix.' or 'prefix_'
    that some exporters add (``blendShape1.jawOpen``, ``ARKit_jawOpen``)."""
    lower = {n.lower(): i for i, n in enumerate(ARKIT_NAMES)}
    for candidate in (name, name.rsplit(".", 1)[-1], name.rsplit("_", 1)[-1] if "_" in name else name):
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None


def _avatar_targets(doc: dict, avatar: str | os.PathLike) -> dict[int, list[int | None]]:
    """Per node whose mesh has ARKit-named morph targets, the canonical column of each of its targets; an
    InputError that lists the avatar's morph targets when none is an ARKit name."""
    targets: dict[int, list[int | None]] = {}
    seen: list[str] = []
    try:
        for i, node in enumerate(doc.get("nodes", [])):
            if "mesh" not in node:
                continue
            names = doc["meshes"][node["mesh"]].get("extras", {}).get("targetNames", [])
            seen += [str(n) for n in names if str(n) not in seen]
            columns = [_arkit_column(str(n)) for n in names]
            if any(c is not None for c in columns):
                targets[i] = columns
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InputError(f"{avatar} is not a readable glTF/GLB file (a node's mesh: {exc!r})") from exc
    if not targets:
        have = ", ".join(seen[:12]) + (f" … ({len(seen)} in all)" if len(seen) > 12 else "") if seen else "none"
        raise InputError(f"{avatar} has no morph targets named by ARKit blend-shape (jawOpen, eyeBlinkLeft, …); "
                         f"its morph targets: {have}")
    return targets


def check_avatar(avatar: str | os.PathLike) -> None:
    """Fail early (one-line InputError) on an avatar GLB that is corrupt or has no ARKit-named morph targets."""
    _avatar_targets(read_gltf(avatar)[0], avatar)


def add_to_avatar(motion: FaceMotion, avatar: str | os.PathLike) -> bytes:
    """A GLB copy of `avatar` with the animation added, on every mesh whose morph targets carry ARKit names."""
    doc, blob = read_gltf(avatar)
    targets = _avatar_targets(doc, avatar)
    motion = on_grid(motion)
    buf = Buffer(doc, blob)
    add_animation(doc, buf, motion, targets)
    doc["asset"] = dict(doc["asset"], generator=f"{doc['asset'].get('generator', '')} + {GENERATOR}".strip(" +"))
    return pack_glb(doc, buf.blob())


__all__ = ["add_to_avatar", "check_avatar", "glb", "gltf", "read_gltf", "read_gltf_motion", "pack_glb",
           "euler_from_quaternions",
]
