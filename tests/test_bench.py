"""`talkies bench` end to end on a tiny case: face_blendshapes on ONNX (fp32, and an fp16 build whose parity
is made to fail), OpenVINO made to look uninstalled, a few calls per bundle, the lip-sync pipeline with its
loudness baseline. Checks the results.json schema, the report table, the plots, the skip row and the
failed-parity row. Behaviour only: no figure here is a timing threshold."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkies.benchmarks.harness.bundles import quantization_recipe, same_recipe
from talkies.benchmarks.harness.pipelines import INT8_ROUNDS, INT8_SPEEDUP_GOALS, int8_speedup_rows
from talkies.benchmarks.harness.report import BUNDLE_HEADER
from talkies.benchmarks.harness.results import check_results
from talkies.benchmarks.harness.rows import Row
from talkies.cli import main
from talkies.export.spec import Tolerance
from talkies.export.registry import get_spec
from talkies.runtime import session as session_mod
from talkies.runtime.bundle import Bundle
from talkies.types import Precision

MODEL = "face_blendshapes"
SIMULATED = "openvino is not installed (simulated by the test)"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    out, bundles = root / "out", root / "bundles"
    real_available = session_mod.backend_available

    def backend_available(backend):
        return SIMULATED if str(backend) == "openvino" else real_available(backend)

    spec = get_spec(MODEL)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_mod, "backend_available", backend_available)
        # An impossible fp16 tolerance: the export records its parity as failed, and the bench must keep it.
        mp.setitem(spec.tolerances, Precision.FP16, Tolerance(rel=1e-12))
        code = main(["bench", MODEL, "--target", "onnx,openvino", "--precision", "fp32,fp16",
                     "--bundle-dir", str(bundles), "-o", str(out), "--iterations", "5", "--warmup", "1",
                     "--pipeline", "lipsync", "--skip-peers"])
    assert code == 0
    return out, bundles, json.loads((out / "results.json").read_text())


def _row(results, target, precision):
    (row,) = [r for r in results["rows"] if (r["target"], r["precision"]) == (target, precision)]
    return row


def test_results_follow_the_schema(tiny):
    _, _, results = tiny
    assert check_results(results) == []
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["cpu"] and machine["python"]
    for package in ("onnxruntime", "openvino", "ai-edge-litert", "numpy", "numba", "talkies"):
        assert package in machine["versions"]
    assert {(r["target"], r["precision"]) for r in results["rows"]} == {
        ("onnx", "fp32"), ("onnx", "fp16"), ("openvino", "fp32"), ("openvino", "fp16")}


def test_schema_check_catches_broken_results(tiny):
    _, _, results = tiny
    broken = copy.deepcopy(results)
    ok = next(r for r in broken["rows"] if r["status"] == "ok")
    ok["latency"] = None
    skipped = next(r for r in broken["rows"] if r["status"] == "skipped")
    skipped["status"] = "fine"
    broken["machine"]["versions"].pop("numba")
    problems = check_results(broken)
    assert any("latency" in p for p in problems)
    assert any("status" in p for p in problems)
    assert any("numba" in p for p in problems)


def test_measured_row(tiny):
    _, bundles, results = tiny
    row = _row(results, "onnx", "fp32")
    assert row["status"] == "ok" and row["built"] is True
    lat = row["latency"]
    assert 3 <= lat["iterations"] <= 5 and lat["warmup"] == 1
    assert 0 < lat["min_ms"] <= lat["p50_ms"] <= lat["p95_ms"]
    assert lat["throughput_per_s"] > 0 and row["load_ms"] > 0
    assert row["peak_rss_mb"] > row["rss_model_mb"] >= 0
    with Bundle(bundles / f"{MODEL}-onnx-fp32") as bundle:
        assert row["size_bytes"] == sum(f.size for f in bundle.manifest.files if f.role in ("model", "weights"))
    assert row["parity"]["measured"] and row["parity"]["passed"]
    assert row["parity"]["max_abs"] < 1e-4
    # the task metric: held-out real crops against the original TFLite
    assert 0 <= row["task_metrics"]["max_score_error"] < 1e-4


def test_failed_parity_row_is_kept_and_measured(tiny):
    _, bundles, results = tiny
    row = _row(results, "onnx", "fp16")
    assert row["status"] == "parity failed"
    assert row["parity"]["passed"] is False
    assert any(v.startswith("rel ") for v in row["parity"]["violations"])
    assert row["latency"]["p50_ms"] > 0  # measured all the same
    # kept apart: the runtime never finds a failed bundle by name
    assert Path(row["bundle"]).parent.name == ".parity-failed"
    assert not (bundles / f"{MODEL}-onnx-fp16").exists()


def test_missing_backend_rows_say_why(tiny):
    _, _, results = tiny
    for precision in ("fp32", "fp16"):
        row = _row(results, "openvino", precision)
        assert row["status"] == "skipped"
        assert row["reason"] == SIMULATED
        assert row["latency"] is None and row["parity"] is None


def test_report_table(tiny):
    out, _, results = tiny
    report = (out / "report.md").read_text()
    assert "| " + " | ".join(BUNDLE_HEADER) + " |" in report
    lines = {(cells[2], cells[3]): cells for cells in
             ([c.strip() for c in line.split("|")] for line in report.splitlines() if line.startswith(f"| {MODEL} |"))}
    # the two skipped openvino rows share one line
    assert set(lines) == {("onnx", "fp32"), ("onnx", "fp16"), ("openvino", "fp32, fp16")}
    assert lines[("onnx", "fp32")][5] == "ok"
    assert "parity failed" in lines[("onnx", "fp16")][5] and "FAILED" in lines[("onnx", "fp16")][13]
    assert SIMULATED in lines[("openvino", "fp32, fp16")][5]
    p50 = _row(results, "onnx", "fp32")["latency"]["p50_ms"]
    assert lines[("onnx", "fp32")][8] == f"{p50:.3g}"
    assert results["command"].startswith("talkies bench face_blendshapes --target onnx,openvino --precision fp32,fp16")
    assert "latency_vs_size.png" in report
    section = (out / "performance.md").read_text()
    assert section.startswith("## Performance") and "### Bundles" in section
    assert f"Command: `{results['command']}`" in section


def test_lipsync_pipeline_rows(tiny):
    out, _, results = tiny
    loud = [p for p in results["pipeline"] if p["implementation"] == "loudness baseline (peer)"]
    assert len(loud) == 1 and loud[0]["status"] == "ok" and loud[0]["value"] > 0
    assert 0 < loud[0]["details"]["coarse_accuracy"] < 1
    assert results["lipsync"]["validation"]["utterances"] == 5
    assert "## Lip-sync" in (out / "report.md").read_text()


@pytest.mark.parametrize("name", ["latency_vs_size.png", "accuracy_vs_latency.png"])
def test_plots_are_png_images(tiny, name):
    out, _, _ = tiny
    with Image.open(out / name) as img:
        assert img.format == "PNG"
        assert img.width >= 800 and img.height >= 400
        pixels = np.asarray(img.convert("L"))
    assert pixels.std() > 5  # something is drawn


@pytest.mark.parametrize(("args", "message"), [
    (["--threads", "0"], "--threads"),
    (["--threads", "one"], "--threads"),
    (["no_such_model"], "unknown model"),
    (["--target", "tpu"], "unknown target 'tpu'"),
    (["--pipeline", "video"], "unknown pipeline part"),
])
def test_bad_input(tmp_path, capsys, args, message):
    pipeline = [] if "--pipeline" in args else ["--pipeline", "none"]
    code = main(["bench", *args, *pipeline, "--no-build", "-o", str(tmp_path / "out"),
                 "--bundle-dir", str(tmp_path / "b")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "results.json").exists()


def test_failed_bundle_is_reused_then_rebuilt_on_request(tiny, tmp_path):
    """With the real fp16 tolerance back: a plain run reuses the failed build as it is; --rebuild failed
    exports it again, and the bundle that now passes moves where the runtime finds it."""
    _, bundles, _ = tiny

    def bench(*extra: str) -> dict:
        out = tmp_path / f"out{len(extra)}"
        code = main(["bench", MODEL, "--target", "onnx", "--precision", "fp16", "--bundle-dir", str(bundles),
                     "-o", str(out), "--iterations", "3", "--warmup", "0", "--pipeline", "none", *extra])
        assert code == 0
        (row,) = json.loads((out / "results.json").read_text())["rows"]
        return row

    reused = bench()
    assert reused["status"] == "parity failed" and reused["built"] is False
    rebuilt = bench("--rebuild", "failed")
    assert rebuilt["status"] == "ok" and rebuilt["built"] is True
    assert Path(rebuilt["bundle"]) == bundles / f"{MODEL}-onnx-fp16"
    assert not (bundles / ".parity-failed" / f"{MODEL}-onnx-fp16").exists()


def test_bundle_from_another_model_version_is_rebuilt(tiny, tmp_path):
    """A bundle whose test vectors are not the ones the model gives now (new weights, say) is rebuilt."""
    from talkies.runtime.bundle import MANIFEST, TEST_VECTORS, sha256_file
    from talkies.targets.bundle_writer import write_test_vectors

    _, bundles, _ = tiny
    path = bundles / f"{MODEL}-onnx-fp32"
    with Bundle(path) as bundle:
        inputs, outputs = bundle.test_vectors()
    write_test_vectors(path / TEST_VECTORS, inputs, {k: v + 0.01 for k, v in outputs.items()})
    manifest = json.loads((path / MANIFEST).read_text())
    for entry in manifest["files"]:
        if entry["path"] == TEST_VECTORS:
            entry["sha256"] = sha256_file(path / TEST_VECTORS)
    (path / MANIFEST).write_text(json.dumps(manifest))
    out = tmp_path / "out"
    assert main(["bench", MODEL, "--target", "onnx", "--precision", "fp32", "--bundle-dir", str(bundles),
                 "-o", str(out), "--iterations", "3", "--warmup", "0", "--pipeline", "none"]) == 0
    (row,) = json.loads((out / "results.json").read_text())["rows"]
    assert row["built"] is True and row["status"] == "ok"
    with Bundle(path) as bundle:
        np.testing.assert_array_equal(bundle.test_vectors()[1]["scores"], outputs["scores"])


def test_bundle_quantized_with_another_recipe_is_stale():
    """An int8 bundle records its quantization config; one that differs from today's default (a changed
    ignored scope, say) is rebuilt, while a target's own notes (Core ML's weights-only scope) are not a change."""
    from talkies.export.face_spec import LANDMARK_FLOAT_NODES

    today = quantization_recipe("face_landmarks", "openvino", "int8")
    assert today["ignored_scope"] == list(LANDMARK_FLOAT_NODES)
    assert same_recipe(json.loads(json.dumps(today)), today)  # as read back from a manifest
    assert same_recipe({**today, "scope": "weights only"}, today)
    assert not same_recipe({**today, "ignored_scope": ["node_add"]}, today)
    assert not same_recipe({k: v for k, v in today.items() if k != "ignored_scope"}, today)
    assert not same_recipe({**today, "calibration_size": 8}, today)
    blendshapes = quantization_recipe("face_blendshapes", "onnx", "int8")  # onnx_quantizer left out
    assert not same_recipe({**blendshapes, "onnx_quantizer": "nncf"}, blendshapes)


def test_int8_speedup_pairs_bundles_and_times_them_alternately(tiny):
    _, _, results = tiny
    fp32 = _row(results, "onnx", "fp32")
    # the fp32 bundle stands in for an int8 one too (other tests move the fp16 one): the pairing and the
    # alternating timing are what is checked
    rows = [Row(MODEL, "onnx", "fp32", 1, bundle=fp32["bundle"], latency=fp32["latency"]),
            Row(MODEL, "onnx", "int8", 1, status="parity failed", bundle=fp32["bundle"],
                        latency=fp32["latency"]),
            Row(MODEL, "openvino", "int8", 1, bundle=fp32["bundle"], latency=fp32["latency"])]  # no fp32
    (row,) = int8_speedup_rows(rows)
    assert (row.case, row.backend, row.goal) == ("int8 speed-up", "onnx", None)
    assert len(row.details["round_ratios"]) == INT8_ROUNDS and row.value > 0
    assert "parity failed" in row.reason
    assert INT8_SPEEDUP_GOALS["face_landmarks"] == 1.3
