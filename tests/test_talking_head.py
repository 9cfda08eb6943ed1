"""The talking head made from a photo (runtime.talking_head.photo_head): the photo's face in 3-D (the rig fitted
to its 478 landmarks), the photo as its texture (each vertex's UV is its landmark's place in the photo), the
rig's shapes retargeted to that face as the 52 ARKit morph targets. Written by `talkies animate PHOTO -o
NAME.glb` and `talkies track PHOTO --format glb --with-head`, checked by the Khronos validator; bad input is
one line and leaves no file. (Blender renders it in tests/test_formats_blender.py, `make integration`.)"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkies.errors import InputError
from talkies.runtime.blendshapes import ARKIT_NAMES, NUM_BLENDSHAPES, Blendshape
from talkies.runtime.face.selection import detect_faces
from talkies.runtime.formats import write_curves
from talkies.runtime.gltf_anim import accessor_array, read_gltf, read_gltf_motion
from talkies.runtime.motion import FaceMotion
from talkies.runtime.rig import LIPS_LOWER_INNER, LIPS_UPPER_INNER, FaceRig
from talkies.runtime.talking_head import RIG_TO_GLTF, head_geometry, photo_head
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.gltf import validate
from talkies.tests.helpers.media import TEXT, grace_hopper_path, photo


@pytest.fixture(scope="module")
def grace(face_models):
    image = photo("grace_hopper")
    return image, FaceRig.load().fit(detect_faces(image, face_models)[0])


def _mesh(path: Path) -> tuple[dict, dict[str, np.ndarray], bytes]:
    doc, blob = read_gltf(path)
    prim = doc["meshes"][0]["primitives"][0]
    attrs = {k: accessor_array(doc, blob, i) for k, i in prim["attributes"].items()}
    view = doc["bufferViews"][doc["images"][0]["bufferView"]] if doc.get("images") else None
    image = blob[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]] if view else b""
    return doc, attrs, image


def _motion(n: int = 40) -> FaceMotion:
    w = np.zeros((n, NUM_BLENDSHAPES), np.float32)
    w[:, Blendshape.jawOpen] = np.sin(np.arange(n) / 6.0) ** 2
    return FaceMotion(np.arange(n) / 25.0, w, np.zeros((n, 6), np.float32), fps=25.0)


def test_photo_head_is_the_photos_face(grace):
    image, fitted = grace
    head = photo_head(image, fitted)
    # the photo's own face, its pose taken out: not the canonical mesh
    np.testing.assert_allclose(head.positions, fitted.neutral * RIG_TO_GLTF, atol=1e-6)
    assert np.abs(head.positions - head_geometry().positions).max() > 0.003
    assert head.colors is None and head.uvs.shape == (478, 2)
    # the texture under each vertex is the photo under its landmark (JPEG and resampling aside)
    tex = np.asarray(Image.open(io.BytesIO(head.texture)).convert("RGB"), np.float64)
    th, tw = tex.shape[:2]
    assert th & (th - 1) == 0 and tw & (tw - 1) == 0 and max(th, tw) <= 1024
    inside = (fitted.landmarks[:, 0] >= 0) & (fitted.landmarks[:, 0] < image.shape[1]) & \
             (fitted.landmarks[:, 1] >= 0) & (fitted.landmarks[:, 1] < image.shape[0])
    uv = head.uvs[inside].astype(np.float64)
    under_vertex = tex[np.minimum(uv[:, 1] * th, th - 1).astype(int), np.minimum(uv[:, 0] * tw, tw - 1).astype(int)]
    xy = fitted.landmarks[inside, :2].astype(int)
    under_landmark = image[xy[:, 1], xy[:, 0]].astype(np.float64)
    assert np.median(np.abs(under_vertex - under_landmark)) < 12
    assert np.corrcoef(under_vertex.mean(1), under_landmark.mean(1))[0, 1] > 0.9
    # the morph targets move this face as the photo animator moves it (retargeted shapes)
    for name in ("jawOpen", "eyeBlinkLeft", "mouthSmileRight"):
        w = np.zeros(NUM_BLENDSHAPES, np.float32)
        w[Blendshape[name]] = 1.0
        moved = (fitted.deform(w) - fitted.deform(np.zeros(NUM_BLENDSHAPES, np.float32))) * RIG_TO_GLTF
        np.testing.assert_allclose(head.deltas[Blendshape[name]], moved, atol=1e-6)
    # the mouth can open: no triangle joins the upper and lower inner lips
    upper, lower = set(LIPS_UPPER_INNER[1:-1]), set(LIPS_LOWER_INNER[1:-1])
    assert not any(set(t) & upper and set(t) & lower for t in head.triangles.tolist())


def test_photo_head_glb_passes_the_validator(grace, tmp_path: Path):
    image, fitted = grace
    head = photo_head(image, fitted)
    for fmt in ("glb", "gltf"):
        path = write_curves(_motion(), tmp_path / f"head.{fmt}", fmt, with_head=head)
        report = validate(path)
        assert report["errors"] == 0 and report["warnings"] == 0 and report["infos"] == 0, (fmt, report)
        doc, attrs, jpeg = _mesh(path) if fmt == "glb" else (*_mesh(path)[:2], b"")
        assert doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] == {"index": 0}
        assert doc["asset"]["extras"]["comment"].startswith("synthesised by talkies")
        np.testing.assert_allclose(attrs["TEXCOORD_0"], head.uvs, atol=1e-7)
        assert "COLOR_0" not in attrs and len(attrs["POSITION"]) == 478
        assert doc["meshes"][0]["extras"]["targetNames"] == list(ARKIT_NAMES)
        if jpeg:
            assert jpeg == head.texture
        back = read_gltf_motion(path)
        assert np.abs(back.weights - _motion().weights).max() <= 0.02 + 1e-6


def test_animate_writes_the_photos_talking_head(grace, tmp_path: Path, capsys):
    image, fitted = grace
    out = tmp_path / "grace.glb"
    assert run_cli("animate", grace_hopper_path(), "--text", TEXT, "-o", out, "--backend", "mediapipe") == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out), str(out.with_suffix(".srt")), str(out.with_suffix(".wav"))]
    assert validate(out)["errors"] == 0
    doc, attrs, jpeg = _mesh(out)
    np.testing.assert_allclose(attrs["POSITION"], fitted.neutral * RIG_TO_GLTF, atol=1e-5)
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    motion = read_gltf_motion(out)
    import wave

    with wave.open(str(out.with_suffix(".wav"))) as w:
        seconds = w.getnframes() / w.getframerate()
    assert motion.fps == 25 and abs(len(motion) - round(seconds * 25)) <= 1
    jaw = motion.weights[:, Blendshape.jawOpen]
    assert jaw.max() > 0.4 and np.sum(jaw < 0.1) >= 4  # it opens, and closes on p/b/m
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grace.glb", "grace.srt", "grace.wav"]


def test_track_photo_with_head_is_that_face(grace, tmp_path: Path):
    image, fitted = grace
    out = tmp_path / "tracked.glb"
    assert run_cli("track", grace_hopper_path(), "--format", "glb", "--with-head", "-o", out,
                   "--backend", "mediapipe") == 0
    assert validate(out)["errors"] == 0
    _, attrs, jpeg = _mesh(out)
    np.testing.assert_allclose(attrs["POSITION"], fitted.neutral * RIG_TO_GLTF, atol=1e-4)
    assert jpeg and "TEXCOORD_0" in attrs


def test_bad_heads_are_one_line_errors(grace, tmp_path: Path, capsys):
    image, fitted = grace
    with pytest.raises(InputError, match="RGB uint8") as err:
        photo_head(image.astype(np.float32), fitted)
    assert "\n" not in str(err.value)
    far = fitted.landmarks.copy()
    far[:, :2] += 10_000
    with pytest.raises(InputError, match="outside the 512×600 photo"):
        photo_head(image, far)
    with pytest.raises(InputError, match="with_head must be"):
        write_curves(_motion(), tmp_path / "a.glb", "glb", with_head="yes")
    # no face in the photo: one line, and no GLB, subtitles or speech left behind
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(blank)
    assert run_cli("animate", blank, "--text", "Hello.", "-o", tmp_path / "head.glb", "--backend", "mediapipe") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("talkies: error: no face") and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.png"]
