"""Bundles: verify (good, tampered, wrong schema, unlisted or pickle files), aligned stored zips,
zip-slip, atomic failure, no pickle, deterministic bytes."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from talkies.errors import BundleError, OutputError, ParityError
from talkies.runtime.bundle import MANIFEST, TEST_VECTORS, Bundle
from talkies.targets.bundle_writer import (ZIP_ALIGNMENT, export_bundle, pack_bundle, verify_bundle,
                                           zip_data_offsets)
from talkies.tests.helpers.toolchain import TINY_STRICT, tiny_bundle, tiny_spec


@pytest.fixture
def onnx_bundle(tmp_path) -> Path:
    dest = tmp_path / "b"
    shutil.copytree(tiny_bundle("onnx", "int8"), dest)
    return dest


def test_verify_good_bundle_replays_test_vectors(onnx_bundle):
    report = verify_bundle(onnx_bundle)
    assert report.passed and report.replayed and report.files_checked == 2
    assert report.parity.rel <= report.parity.tolerance["rel"]
    assert report.parity.metrics["max_score_error"] <= 0.05
    recorded = Bundle(onnx_bundle).manifest.parity
    assert report.parity.max_abs == pytest.approx(recorded.max_abs, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("target", ["openvino", "litert"])
def test_verify_other_backends(tmp_path, target):
    dest = tmp_path / "b"
    shutil.copytree(tiny_bundle(target, "int8"), dest)
    assert verify_bundle(dest).passed


def test_verify_coreml_off_macos_checks_the_spec(tmp_path):
    import platform

    if platform.system() == "Darwin":
        pytest.skip("on macOS the Core ML bundle is replayed like the others")
    dest = tmp_path / "b"
    shutil.copytree(tiny_bundle("coreml", "fp16"), dest)
    report = verify_bundle(dest)
    assert not report.replayed and report.passed
    assert any("needs macOS" in n for n in report.notes)
    assert any("Core ML spec checked" in n for n in report.notes)
    # a broken package is caught by the static check
    model = next(dest.rglob("model.mlmodel"))
    model.write_bytes(b"not a protobuf")
    with pytest.raises(BundleError, match="model.mlmodel has been modified"):
        verify_bundle(dest)


def test_verify_tampered_model_names_the_file(onnx_bundle):
    model = onnx_bundle / "tiny_convnet.onnx"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"tiny_convnet\.onnx has been modified \(sha256 mismatch\)"):
        verify_bundle(onnx_bundle)


def test_verify_missing_and_unlisted_files(onnx_bundle):
    (onnx_bundle / "extra.bin").write_bytes(b"x")
    with pytest.raises(BundleError, match="extra.bin is not listed"):
        verify_bundle(onnx_bundle)
    (onnx_bundle / "extra.bin").unlink()
    (onnx_bundle / TEST_VECTORS).unlink()
    with pytest.raises(BundleError, match="missing file test_vectors.npz"):
        verify_bundle(onnx_bundle)


def test_verify_wrong_schema(onnx_bundle):
    manifest = json.loads((onnx_bundle / MANIFEST).read_text())
    manifest["schema_version"] = 99
    (onnx_bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema_version 99 is not supported"):
        verify_bundle(onnx_bundle)


def test_verify_tampered_test_vectors_fail_parity(onnx_bundle):
    from talkies.runtime.bundle import sha256_file

    with np.load(onnx_bundle / TEST_VECTORS) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["output.scores"] = arrays["output.scores"] + 0.5
    np.savez(onnx_bundle / TEST_VECTORS, **arrays)
    manifest = json.loads((onnx_bundle / MANIFEST).read_text())
    for entry in manifest["files"]:  # re-sign, so only the numbers disagree
        if entry["path"] == TEST_VECTORS:
            entry["sha256"] = sha256_file(onnx_bundle / TEST_VECTORS)
            entry["size"] = (onnx_bundle / TEST_VECTORS).stat().st_size
    (onnx_bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ParityError, match=r"tiny_convnet\.onnx.*exceeds the tolerance: metric.max_score_error"):
        verify_bundle(onnx_bundle)


def test_no_pickle_in_bundles(onnx_bundle):
    with np.load(onnx_bundle / TEST_VECTORS, allow_pickle=False) as data:
        assert sorted(data.files) == ["input.image", "output.features", "output.scores"]
        assert all(data[k].dtype == np.float32 for k in data.files)
    assert not [p for p in onnx_bundle.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".pth")]
    (onnx_bundle / "weights.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(BundleError, match="pkl"):
        Bundle(onnx_bundle).verify_files()


def test_pack_stored_aligned_and_verifiable(onnx_bundle, tmp_path):
    zip_path = pack_bundle(onnx_bundle, tmp_path / "tiny.zip")
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos][0] == MANIFEST
        assert {i.filename for i in infos} == {MANIFEST, "tiny_convnet.onnx", TEST_VECTORS}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        assert archive.testzip() is None
    offsets = zip_data_offsets(zip_path)
    assert all(offset % ZIP_ALIGNMENT == 0 for offset in offsets.values())
    raw = zip_path.read_bytes()  # the aligned data really is the file (mmap-able)
    model = (onnx_bundle / "tiny_convnet.onnx").read_bytes()
    assert raw[offsets["tiny_convnet.onnx"]:offsets["tiny_convnet.onnx"] + len(model)] == model
    assert verify_bundle(zip_path).passed
    assert pack_bundle(onnx_bundle, tmp_path / "again.zip").read_bytes() == zip_path.read_bytes()


def test_pack_coreml_package_directory(tmp_path):
    zip_path = pack_bundle(tiny_bundle("coreml", "int8"), tmp_path / "c.zip")
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    assert any(n.startswith("tiny_convnet.mlpackage/") and n.endswith("model.mlmodel") for n in names)
    assert all(o % ZIP_ALIGNMENT == 0 for o in zip_data_offsets(zip_path).values())


def test_pack_refuses_a_tampered_bundle(onnx_bundle, tmp_path):
    (onnx_bundle / TEST_VECTORS).write_bytes(b"junk")
    with pytest.raises(BundleError, match="test_vectors.npz has been modified"):
        pack_bundle(onnx_bundle, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_zip_slip_is_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr(MANIFEST, "{}")
        archive.writestr("../outside.txt", "pwned")
    with pytest.raises(BundleError, match="its path leaves"):
        Bundle(evil)
    assert not (tmp_path / "outside.txt").exists()


def test_failed_export_leaves_no_bundle(tmp_path):
    dest = tmp_path / "out" / "strict"
    with pytest.raises(ParityError, match=r"tiny_strict onnx int8: .*rel .* > 1e-09"):
        export_bundle(TINY_STRICT, "onnx", "int8", dest)
    assert not dest.exists()
    assert not [p for p in (tmp_path / "out").iterdir()]  # no temporary leftovers either


def test_failed_export_keeps_an_existing_bundle(tmp_path):
    dest = tmp_path / "strict"
    export_bundle(TINY_STRICT, "onnx", "fp32", dest)
    before = (dest / MANIFEST).read_bytes()
    with pytest.raises(ParityError):
        export_bundle(TINY_STRICT, "onnx", "int8", dest)
    assert (dest / MANIFEST).read_bytes() == before


def test_parity_failure_can_be_written_on_request(tmp_path):
    dest = export_bundle(TINY_STRICT, "onnx", "int8", tmp_path / "s", enforce_parity=False)
    parity = Bundle(dest).manifest.parity
    assert parity.measured and parity.passed is False
    with pytest.raises(ParityError, match="rel"):
        verify_bundle(dest)


def test_export_refuses_a_file_as_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        export_bundle(tiny_spec(), "onnx", "fp32", blocker / "bundle")


@pytest.mark.parametrize(("target", "precision"), [("onnx", "fp32"), ("openvino", "int8"), ("litert", "int8"),
                                                   ("coreml", "fp16")])
def test_export_is_deterministic(tmp_path, target, precision):
    again = export_bundle(tiny_spec(), target, precision, tmp_path / "again")
    first = tiny_bundle(target, precision)
    assert (again / MANIFEST).read_bytes() == (first / MANIFEST).read_bytes()  # sha256 of every file inside
    assert (again / TEST_VECTORS).read_bytes() == (first / TEST_VECTORS).read_bytes()


def test_manifest_content(onnx_bundle):
    from talkies import __version__

    m = Bundle(onnx_bundle).manifest
    assert m.toolkit_version == __version__ and m.licence == "test only"
    assert m.labels[:2] == ["class0", "class1"] and m.preprocessing["layout"] == "NHWC"
    assert m.parity.reference == "fp32 torch module"
    assert {f.role for f in m.files} == {"model", "test_vectors"}
    assert m.runtime_hints["quantization"]["calibration_size"] == 16
