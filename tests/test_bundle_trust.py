"""Bundles are untrusted input: an app embeds them. Every defect the bad-input probe found (issue 23) has a
test here: tampered bytes, paths out of the bundle, links, zip bombs, huge or malformed manifests, garbage
models. Each fails with a one-line BundleError before a model reaches a backend, and writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import BundleError
from talkies.runtime import bundle as B
from talkies.runtime.bundle import MANIFEST, Bundle, read_manifest
from talkies.runtime.session import session_for
from talkies.targets.bundle_writer import pack_bundle, verify_bundle
from talkies.cli import main
from talkies.tests.helpers.toolchain import tiny_bundle


@pytest.fixture
def bundle(tmp_path) -> Path:
    dest = tmp_path / "tiny-onnx-fp32"
    shutil.copytree(tiny_bundle("onnx", "fp32"), dest)
    return dest


def _manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def _write_manifest(path: Path, data) -> None:
    (path / MANIFEST).write_text(json.dumps(data))


def _model(path: Path) -> Path:
    return path / _manifest(path)["model_file"]


def test_flipped_bytes_are_refused_before_the_model_runs(bundle):
    model = _model(bundle)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 mismatch"):
        Bundle(bundle)


def test_a_changed_file_is_seen_though_its_hash_was_cached(bundle):
    with Bundle(bundle):
        pass  # verified once: the hash is cached per (path, mtime, size, inode)
    model = _model(bundle)
    data = bytearray(model.read_bytes())
    data[-1] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 mismatch"):
        Bundle(bundle)


def test_lipsync_cli_refuses_a_tampered_bundle(tmp_path, capsys):
    from talkies.runtime.bundle import shipped_bundle_dir
    from talkies.tests.helpers.media import speech, write_wav

    bundles = tmp_path / "bundles"
    shutil.copytree(shipped_bundle_dir() / "lipsync-onnx-fp32", bundles / "lipsync-onnx-fp32")
    model = _model(bundles / "lipsync-onnx-fp32")
    data = bytearray(model.read_bytes())
    data[len(data) // 3] ^= 0x40
    model.write_bytes(bytes(data))
    sp = speech("Bob made a map.")
    wav = write_wav(tmp_path / "s.wav", sp.float32(), sp.sample_rate)
    out = tmp_path / "v.json"
    # the tampered bundle, named: with no flags another verified bundle cached on this machine may be chosen
    code = main(["lipsync", str(wav), "-o", str(out), "--bundle-dir", str(bundles), "--backend", "onnx",
                 "--precision", "fp32"])
    err = capsys.readouterr().err
    assert code == 2 and "sha256 mismatch" in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("model_file", ["../other-bundle/model.onnx", "/etc/passwd", "a/../../x.onnx",
                                        "unlisted.onnx"])
def test_model_file_must_be_a_listed_file_inside_the_bundle(bundle, model_file):
    data = _manifest(bundle)
    data["model_file"] = model_file
    _write_manifest(bundle, data)
    with pytest.raises(BundleError, match="leaves the bundle|not one of the bundle's listed files"):
        verify_bundle(bundle)


def test_a_symlink_in_the_bundle_is_refused(bundle):
    os.symlink("/etc", bundle / "etc")
    with pytest.raises(BundleError, match="symbolic link"):
        verify_bundle(bundle)


def test_a_symlinked_model_is_refused(bundle, tmp_path):
    model = _model(bundle)
    moved = tmp_path / "elsewhere.onnx"
    shutil.move(model, moved)
    os.symlink(moved, model)
    with pytest.raises(BundleError, match="symbolic link"):
        Bundle(bundle)


@pytest.mark.parametrize("payload", [[], "text", 3, None, {"schema_version": 1}, {"schema_version": 1, "files": 3}])
def test_malformed_manifests_are_one_line_bundle_errors(bundle, payload):
    _write_manifest(bundle, payload)
    with pytest.raises(BundleError) as info:
        read_manifest(bundle)
    assert "\n" not in str(info.value)


def test_a_garbage_model_is_a_bundle_error(bundle):
    model = _model(bundle)
    model.write_bytes(b"not an onnx model at all" * 10)
    data = _manifest(bundle)
    for entry in data["files"]:
        if entry["path"] == data["model_file"]:
            entry["sha256"], entry["size"] = B.sha256_file(model), model.stat().st_size
    _write_manifest(bundle, data)
    with Bundle(bundle) as opened, pytest.raises(BundleError, match="does not load in onnx"):
        session_for(opened)


def _bomb(path: Path, name: str, size: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(MANIFEST, "{}")
        with archive.open(name, "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_extracted(tmp_path, monkeypatch):
    bomb = _bomb(tmp_path / "bomb.zip", "model.onnx", 64 << 20)
    assert bomb.stat().st_size < 200_000
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("talkies-bundle-*"))
    with pytest.raises(BundleError, match="zip bomb"):
        Bundle(bomb)
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("talkies-bundle-*")) == before


def test_a_huge_manifest_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, b" " * (B.MANIFEST_MAX_BYTES + 1))
    with pytest.raises(BundleError, match="declares"):
        read_manifest(path)


def test_too_many_entries_are_refused(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(B.ZIP_MAX_ENTRIES + 1):
            archive.writestr(f"f{i}", b"")
    with pytest.raises(BundleError, match="zip entries"):
        read_manifest(path)


def test_a_packed_bundle_round_trips(bundle, tmp_path):
    packed = pack_bundle(bundle, tmp_path / "b.zip")
    with Bundle(packed) as opened:
        inputs, outputs = opened.test_vectors()
        session = session_for(opened)
        got = session.run({name: value[0] for name, value in inputs.items()})
        for name, value in outputs.items():
            np.testing.assert_allclose(got[name], value[0].reshape(got[name].shape), atol=1e-4)


def test_bundle_verify_cli_on_a_symlinked_bundle_is_one_line(bundle, capsys):
    os.symlink("/etc/passwd", bundle / "passwd")
    code = main(["bundle", "verify", str(bundle)])
    err = capsys.readouterr().err
    assert code == 2 and "symbolic link" in err and err.count("\n") == 1


def test_hostile_keys_still_give_one_line(bundle):
    """Found by the fuzzer: a key holding a newline used to break the one-line error."""
    data = _manifest(bundle)
    data["parity"] = {"\n": None}
    _write_manifest(bundle, data)
    with pytest.raises(BundleError) as info:
        read_manifest(bundle)
    assert "\n" not in str(info.value)
