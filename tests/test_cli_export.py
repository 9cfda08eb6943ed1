"""`talkies export` and `talkies bundle verify|pack|inspect`, run in-process through the CLI entry point."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from talkies.cli import main
from talkies.runtime.bundle import MANIFEST, Bundle
from talkies.tests.helpers.toolchain import TINY, TINY_GRU, TINY_STRICT, tiny_bundle


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_writes_one_bundle_per_pair_and_a_table(tmp_path, capsys):
    code, out, err = run(capsys, "export", TINY, "--target", "onnx", "--precision", "fp32,int8", "-o", str(tmp_path))
    assert code == 0, err
    for precision in ("fp32", "int8"):
        manifest = Bundle(tmp_path / f"{TINY}-onnx-{precision}").manifest
        assert manifest.parity.passed
    for column in ("target", "precision", "size", "max_abs", "rel", "metrics", "passed"):
        assert column in out
    assert "max_score_error" in out and "2 bundle(s)" in out


def test_export_recipe(tmp_path, capsys):
    code, _, err = run(capsys, "export", TINY, "--recipe", "portable-onnx-fp32", "-o", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / f"{TINY}-onnx-fp32" / MANIFEST).is_file()


@pytest.mark.parametrize(("argv", "message"), [
    (("export", "no_such_model", "-o", "{out}"), "unknown model 'no_such_model'; valid: "),
    (("export", TINY, "-t", "tensorrt", "-o", "{out}"), "unknown target 'tensorrt'; valid: onnx, openvino, litert, coreml, all"),
    (("export", TINY, "-p", "int4", "-o", "{out}"), "unknown precision 'int4'; valid: fp32, fp16, int8, all"),
    (("export", TINY, "--recipe", "ios", "-o", "{out}"), "unknown recipe 'ios'; valid: "),
])
def test_export_bad_choices_list_the_valid_ones(tmp_path, capsys, argv, message):
    code, out, err = run(capsys, *(a.format(out=tmp_path / "o") for a in argv))
    assert code == 2
    assert message in err and err.startswith("talkies: error:") and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_unknown_model_lists_registered_models(tmp_path, capsys):
    _, _, err = run(capsys, "export", "nope", "-o", str(tmp_path))
    assert TINY in err and "face_landmarks" in err


def test_unwritable_output_fails_before_any_work(tmp_path, capsys, monkeypatch):
    import talkies.targets.bundle_writer as writer

    def boom(*args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("export started before the output check")

    monkeypatch.setattr(writer, "export_bundle", boom)
    monkeypatch.setattr(writer, "plan_exports", boom)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = run(capsys, "export", TINY, "-t", "onnx", "-p", "fp32", "-o", str(blocker / "out"))
    assert code == 2 and "cannot write to" in err


def test_parity_error_exits_2_naming_the_tolerance_and_writes_nothing(tmp_path, capsys):
    code, _, err = run(capsys, "export", TINY_STRICT, "-t", "onnx", "-p", "int8", "-o", str(tmp_path))
    assert code == 2
    assert "exceeds the tolerance: rel" in err and "> 1e-09" in err
    assert not (tmp_path / f"{TINY_STRICT}-onnx-int8").exists()


def test_parity_failure_in_a_batch_is_reported_and_exits_2(tmp_path, capsys):
    code, out, err = run(capsys, "export", TINY_STRICT, "-t", "onnx", "-p", "fp32,int8", "-o", str(tmp_path))
    assert code == 2
    assert "FAILED" in out and "failed onnx int8" in out
    assert (tmp_path / f"{TINY_STRICT}-onnx-fp32" / MANIFEST).is_file()
    assert not (tmp_path / f"{TINY_STRICT}-onnx-int8").exists()
    assert "1 of 2 export(s) failed" in err


def test_allow_parity_failure_writes_the_bundle(tmp_path, capsys):
    code, out, _ = run(capsys, "export", TINY_STRICT, "-t", "onnx", "-p", "int8", "-o", str(tmp_path),
                       "--allow-parity-failure")
    assert code == 0 and "NO" in out
    assert Bundle(tmp_path / f"{TINY_STRICT}-onnx-int8").manifest.parity.passed is False


def test_unsupported_pair_is_refused_up_front(tmp_path, capsys):
    code, _, err = run(capsys, "export", TINY_GRU, "-t", "litert", "-p", "int8", "-o", str(tmp_path))
    assert code == 2 and "recurrent" in err
    assert not list(tmp_path.iterdir())


def test_unsupported_pair_in_a_batch_is_listed_as_skipped(tmp_path, capsys):
    code, out, err = run(capsys, "export", TINY_GRU, "-t", "onnx,litert", "-p", "int8", "-o", str(tmp_path))
    assert code == 0, err
    assert "skipped litert int8:" in out and "recurrent" in out
    assert (tmp_path / f"{TINY_GRU}-onnx-int8" / MANIFEST).is_file()
    assert not (tmp_path / f"{TINY_GRU}-litert-int8").exists()


# --- talkies bundle ------------------------------------------------------------------------------


@pytest.fixture
def bundle_dir(tmp_path):
    dest = tmp_path / "bundle"
    shutil.copytree(tiny_bundle("litert", "int8"), dest)
    return dest


def test_bundle_verify_ok(bundle_dir, capsys):
    code, out, err = run(capsys, "bundle", "verify", str(bundle_dir))
    assert code == 0, err
    assert "ok" in out and "tiny_convnet litert int8" in out and "replayed" in out


def test_bundle_verify_tampered_names_the_file(bundle_dir, capsys):
    model = bundle_dir / "tiny_convnet.tflite"
    model.write_bytes(model.read_bytes()[:-4] + b"\0\0\0\0")
    code, _, err = run(capsys, "bundle", "verify", str(bundle_dir))
    assert code == 2 and "tiny_convnet.tflite" in err and "modified" in err


def test_bundle_verify_missing_path(tmp_path, capsys):
    code, _, err = run(capsys, "bundle", "verify", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err


def test_bundle_pack_then_verify_zip(bundle_dir, tmp_path, capsys):
    code, out, err = run(capsys, "bundle", "pack", str(bundle_dir), "-o", str(tmp_path / "b.zip"))
    assert code == 0, err
    assert out.strip() == str(tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
    code, out, _ = run(capsys, "bundle", "verify", str(tmp_path / "b.zip"))
    assert code == 0 and "ok" in out


def test_bundle_inspect(bundle_dir, capsys):
    code, out, err = run(capsys, "bundle", "inspect", str(bundle_dir))
    assert code == 0, err
    for text in ("tiny_convnet", "litert int8", "scale", "zero point", "max_score_error", "tolerance", "sha256"):
        assert text in out
