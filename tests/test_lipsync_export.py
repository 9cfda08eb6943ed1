"""The shipped lip-sync weights through the toolchain: `lipsync` (offline windows) and `lipsync_stream`
(one hop + caches) export to every target, each bundle's measured parity against the torch module
within the spec's tolerance (export raises ParityError otherwise), and Core ML builds spec-checked."""

from __future__ import annotations

import pytest

from talkies.export.registry import get_spec
from talkies.runtime.bundle import Bundle
from talkies.targets.bundle_writer import export_bundle
from talkies.tests.helpers.toolchain import exported_fp32
from talkies.types import Precision

MODELS = ("lipsync", "lipsync_stream")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["onnx", "openvino", "litert"])
@pytest.mark.parametrize("name", MODELS)
def test_lipsync_fp32_parity_on_every_runtime(tmp_path, name, target):
    exported_fp32(get_spec(name), target, tmp_path, "fp32 torch module")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_lipsync_int8_keeps_the_front_end_float(tmp_path, name):
    """int8 quantizes the convolutional network but not the STFT/mel/log front end and its input scaling
    (raw audio in int8 loses quiet speech), the first layer or the residual sums, and meets the spec's
    int8 metrics."""
    import onnx

    spec = get_spec(name)
    path = export_bundle(spec, "onnx", "int8", tmp_path / f"{name}-onnx-int8")
    m = Bundle(path).manifest
    assert m.parity.measured and m.parity.passed
    assert m.runtime_hints["quantization"]["float_modules"] == ["frontend", "inp"]
    assert m.runtime_hints["quantization"]["calibration_method"] == "minmax"  # NNCF min-max (model card)
    graph = onnx.load(path / m.model_file).graph
    producer = {out: node.op_type for node in graph.node for out in node.output}
    quantized = [producer.get(node.input[0]) for node in graph.node if node.op_type == "QuantizeLinear"]
    assert "Relu" in quantized  # the convolutions read int8 activations
    assert not {"Log", "Mul", "Add"} & set(quantized)  # log-mel, its scaling and the residual sums stay float
    metrics = m.parity.metrics
    assert metrics["viseme_disagreement"] <= spec.tolerances[Precision.INT8].metrics["viseme_disagreement"]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_lipsync_coreml_builds_and_is_spec_checked(tmp_path, name):
    pytest.importorskip("coremltools")
    spec = get_spec(name)
    path = export_bundle(spec, "coreml", "fp16", tmp_path / f"{name}-coreml-fp16")
    m = Bundle(path).manifest
    assert m.parity.measured is False  # prediction needs macOS; the spec check ran at build time
    assert {t.name for t in m.inputs} == {t.name for t in spec.inputs}
