"""MediaPipe's canonical face mesh, read from `geometry_pipeline_metadata_landmarks.binarypb`.

The file is a serialized `face_geometry.GeometryPipelineMetadata` protobuf. Only a handful of
fields matter, so a small wire-format reader decodes them (no generated protobuf code):

    GeometryPipelineMetadata { Mesh3d canonical_mesh = 1; repeated WeightedLandmarkRef
                               procrustes_landmark_basis = 2; InputSource input_source = 3; }
    Mesh3d { VertexType vertex_type = 1; PrimitiveType primitive_type = 2;
             repeated float vertex_buffer = 3; repeated uint32 index_buffer = 4; }
    WeightedLandmarkRef { uint32 landmark_id = 1; float weight = 2; }

Vertex type 0 (VERTEX_PT) stores x, y, z, u, v per vertex (centimetres); primitive type 0 is TRIANGLE.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkies.errors import AssetError

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of one message."""
    out: list[tuple[int, int, int | bytes]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, i = _varint(buf, i)
        elif wire == _LEN:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == _FIXED32:
            value, i = buf[i:i + 4], i + 4
        elif wire == _FIXED64:
            value, i = buf[i:i + 8], i + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((field, wire, value))
    if i != len(buf):
        raise ValueError("truncated message")
    return out


def _floats(fields: list[tuple[int, int, int | bytes]], number: int) -> list[float]:
    out: list[float] = []
    for field, wire, value in fields:
        if field != number:
            continue
        assert isinstance(value, bytes)
        if wire == _FIXED32:
            out.append(struct.unpack("<f", value)[0])
        else:  # packed
            out.extend(np.frombuffer(value, "<f4").tolist())
    return out


def _uints(fields: list[tuple[int, int, int | bytes]], number: int) -> list[int]:
    out: list[int] = []
    for field, wire, value in fields:
        if field != number:
            continue
        if wire == _VARINT:
            assert isinstance(value, int)
            out.append(value)
        else:  # packed
            assert isinstance(value, bytes)
            j = 0
            while j < len(value):
                v, j = _varint(value, j)
                out.append(v)
    return out


@dataclass(frozen=True)
class CanonicalFaceMesh:
    """MediaPipe's canonical face: 468 vertices (cm), their texture coordinates and triangles."""

    vertices: np.ndarray  # [468, 3] float32, x right, y up, z towards the viewer
    uv: np.ndarray  # [468, 2] float32
    triangles: np.ndarray  # [T, 3] int32
    procrustes_ids: np.ndarray  # [K] int32: landmarks used for the pose fit
    procrustes_weights: np.ndarray  # [K] float32


def parse_geometry_metadata(data: bytes) -> CanonicalFaceMesh:
    """Decode the canonical mesh out of a serialized GeometryPipelineMetadata."""
    try:
        top = _fields(data)
        meshes = [v for f, w, v in top if f == 1 and w == _LEN]
        if len(meshes) != 1:
            raise ValueError(f"expected one canonical_mesh, found {len(meshes)}")
        mesh = _fields(meshes[0])  # type: ignore[arg-type]
        vertex_type = next((v for f, w, v in mesh if f == 1 and w == _VARINT), 0)
        primitive_type = next((v for f, w, v in mesh if f == 2 and w == _VARINT), 0)
        if vertex_type != 0 or primitive_type != 0:
            raise ValueError(f"unsupported mesh layout (vertex_type {vertex_type}, primitive {primitive_type})")
        verts = np.asarray(_floats(mesh, 3), np.float32)
        index = np.asarray(_uints(mesh, 4), np.int32)
        if verts.size % 5 or index.size % 3:
            raise ValueError("vertex or index buffer has a ragged size")
        verts = verts.reshape(-1, 5)
        refs = [_fields(v) for f, w, v in top if f == 2 and w == _LEN]  # type: ignore[arg-type]
        ids = np.asarray([_uints(r, 1)[0] if _uints(r, 1) else 0 for r in refs], np.int32)
        weights = np.asarray([(_floats(r, 2) or [0.0])[0] for r in refs], np.float32)
    except (ValueError, IndexError, struct.error) as exc:
        raise AssetError(f"cannot decode the face geometry metadata: {exc}") from exc
    if index.size and index.max() >= len(verts):
        raise AssetError("face geometry metadata: a triangle index points past the vertex buffer")
    return CanonicalFaceMesh(vertices=np.ascontiguousarray(verts[:, :3]), uv=np.ascontiguousarray(verts[:, 3:]),
                             triangles=index.reshape(-1, 3), procrustes_ids=ids, procrustes_weights=weights)


def canonical_face_mesh(path: str | Path | None = None) -> CanonicalFaceMesh:
    """The canonical mesh from the cached geometry file (or `path`)."""
    if path is None:
        from talkies.runtime.face.model_files import face_model_path

        path = face_model_path("face_geometry")
    return parse_geometry_metadata(Path(path).read_bytes())
