"""The spec plumbing itself, on the tiny test-only conv net of talkies.tests.helpers.toolchain."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from talkies.tests.helpers.toolchain import tiny_spec


def test_tiny_spec_is_registered_and_deterministic():
    spec = tiny_spec()
    a, b = spec.test_inputs(), spec.test_inputs()
    assert len(a) == spec.n_test_vectors
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["image"], y["image"])
    calib = spec.calibration_inputs()
    assert not any(np.array_equal(c["image"], t["image"]) for c in calib for t in a), "calibration ≠ test data"


def test_module_runs_with_named_outputs():
    from talkies.export.module import run_module

    spec = tiny_spec()
    out = run_module(spec, spec.test_inputs()[0])
    assert set(out) == {"scores", "features"}
    assert out["scores"].shape == (1, 10) and out["features"].shape == (1, 8, 8, 16)
    assert dataclasses.is_dataclass(spec)


def test_onnx_export_names_and_deterministic_bytes(tmp_path):
    onnx = pytest.importorskip("onnx")
    from talkies.export import onnx as onnx_export

    spec = tiny_spec()
    path = onnx_export.export_onnx(spec, tmp_path / "a.onnx")
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["scores", "features"]
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    onnx_export._CACHE.clear()  # a second, independent export gives the same bytes
    assert onnx_export.export_onnx(spec, tmp_path / "b.onnx").read_bytes() == path.read_bytes()


def test_onnx_export_refuses_old_opset():
    from talkies.errors import InputError
    from talkies.export.onnx import onnx_bytes

    with pytest.raises(InputError, match="opset 11"):
        onnx_bytes(tiny_spec(), opset=11)
