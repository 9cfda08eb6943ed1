"""Every target × precision on the tiny conv net: the bundle is written, parity is measured where the
backend runs here and within the spec's tolerance; quantization configs and calibration adapters."""

from __future__ import annotations

import dataclasses
import platform
import re

import numpy as np
import pytest

from talkies.errors import InputError, UnsupportedTargetError
from talkies.export.registry import get_spec
from talkies.quantization.calibration import CalibrationDataset
from talkies.quantization.config import CalibrationMethod, QuantizationConfig, QuantizationPreset
from talkies.runtime.bundle import Bundle
from talkies.targets.base import get_target, target_names
from talkies.tests.helpers.toolchain import TINY_GRU, tiny_bundle, tiny_spec
from talkies.types import Precision

PAIRS = [(t, p.value) for t in ("onnx", "openvino", "litert", "coreml") for p in Precision]


@pytest.mark.parametrize(("target", "precision"), PAIRS)
def test_every_target_and_precision_exports_with_parity(target, precision):
    path = tiny_bundle(target, precision)
    with Bundle(path) as bundle:
        bundle.verify_files()
        m = bundle.manifest
        assert (m.target, m.precision, m.name) == (target, precision, "tiny_convnet")
        assert (bundle.root / m.model_file).exists()
        assert {t.name for t in m.inputs} == {"image"} and {t.name for t in m.outputs} == {"scores", "features"}
        inputs, outputs = bundle.test_vectors()
        assert inputs["image"].shape == (3, 1, 32, 32, 3) and outputs["features"].shape == (3, 1, 8, 8, 16)
    tolerance = tiny_spec().tolerances[Precision(precision)].as_dict()
    assert m.parity.tolerance == tolerance
    if target == "coreml" and platform.system() != "Darwin":
        assert m.parity.measured is False and m.parity.passed is None
        assert "needs macOS" in m.parity.note
        assert any(f.path.endswith("model.mlmodel") for f in m.files)  # the package's files are all listed
        assert any(f.path.endswith("weight.bin") for f in m.files)
    else:
        assert m.parity.measured and m.parity.passed is True
        assert m.parity.rel <= tolerance["rel"]
        assert "max_score_error" in m.parity.metrics
    if precision == "fp32" and m.parity.measured:
        assert m.parity.rel <= 1e-5


def test_openvino_bundle_states_the_f32_hint():
    with Bundle(tiny_bundle("openvino", "int8")) as bundle:
        assert bundle.manifest.runtime_hints["openvino"] == {"INFERENCE_PRECISION_HINT": "f32"}
        assert bundle.manifest.runtime_hints["quantization"]["calibration_size"] == 16


def test_litert_int8_records_io_scales_and_maps_names():
    with Bundle(tiny_bundle("litert", "int8")) as bundle:
        m = bundle.manifest
    image = m.inputs[0]
    assert image.dtype == "int8" and image.zero_point is not None
    assert image.scale == pytest.approx(1 / 255, rel=0.2)  # the image is in [0, 1]
    # the output layers stay float by default (float_outputs), so the outputs are float32
    outputs = {t.name: t for t in m.outputs}
    assert all(t.dtype == "float32" and t.scale is None for t in outputs.values())
    assert outputs["scores"].shape == [1, 10] and outputs["features"].shape == [1, 8, 8, 16]


def test_litert_int8_without_float_outputs_has_int8_outputs(tmp_path):
    from talkies.targets.bundle_writer import export_bundle

    options = get_target("litert").options(quantization=QuantizationConfig(float_outputs=False, calibration_size=8))
    with Bundle(export_bundle(tiny_spec(), "litert", "int8", tmp_path / "b", options)) as bundle:
        m = bundle.manifest
        assert m.parity.passed
    by_name = {t.name: t for t in m.outputs}
    assert all(t.dtype == "int8" and t.scale > 0 for t in by_name.values())
    # sigmoid outputs get PT2E's fixed 1/256 scale; each output kept its own shape (names mapped right)
    assert by_name["scores"].scale == pytest.approx(1 / 256) and by_name["scores"].shape == [1, 10]
    assert by_name["features"].shape == [1, 8, 8, 16]


def test_onnx_int8_through_nncf(tmp_path):
    """onnx_quantizer="nncf": NNCF's ONNX backend writes the QDQ graph, which ORT runs within tolerance, with
    one scale per activation (ORT's QLinearConv refuses per-channel input scales), recorded in the manifest."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    from talkies.targets.bundle_writer import export_bundle

    config = QuantizationConfig(onnx_quantizer="nncf", calibration_size=8)
    with Bundle(export_bundle(tiny_spec(), "onnx", "int8", tmp_path / "b", get_target("onnx").options(
            quantization=config))) as bundle:
        m = bundle.manifest
        graph = onnx.load_model(str(bundle.root / m.model_file)).graph
    assert m.parity.passed
    assert m.runtime_hints["quantization"]["onnx_quantizer"] == "nncf"
    assert any("static QDQ int8 (NNCF)" in note for note in m.runtime_hints["notes"])
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    weights = {n.input[1] for n in graph.node if n.op_type == "Conv"}
    dequantized = {n.output[0]: n for n in graph.node if n.op_type == "DequantizeLinear"}
    activations = [dequantized[n.input[0]] for n in graph.node if n.op_type == "Conv" and n.input[0] in dequantized]
    assert activations and all(consts[d.input[1]].size == 1 for d in activations)
    assert any(w in dequantized and consts[dequantized[w].input[1]].size > 1 for w in weights)  # per-channel weights
    with pytest.raises(InputError, match="onnx_quantizer must be one of onnxruntime, nncf"):
        QuantizationConfig(onnx_quantizer="tensorrt")


def test_litert_int8_through_ai_edge_quantizer(tmp_path):
    """litert_quantizer="ai_edge_quantizer": the fp32 .tflite quantized op by op; float I/O, the output
    layers float, parity within tolerance, recorded; an ignored_scope pattern (`OP_TYPE scope`) keeps
    every op it names float."""
    from talkies.targets.bundle_writer import export_bundle
    from talkies.targets.litert import _int8_ops, tflite_ops

    def export(name, **fields):
        config = QuantizationConfig(litert_quantizer="ai_edge_quantizer", calibration_size=8, **fields)
        options = get_target("litert").options(quantization=config)
        with Bundle(export_bundle(tiny_spec(), "litert", "int8", tmp_path / name, options)) as bundle:
            return bundle.manifest, _int8_ops(bundle.root / bundle.manifest.model_file), \
                tflite_ops(bundle.root / bundle.manifest.model_file)

    m, counts, ops = export("all")
    assert m.parity.passed
    assert m.runtime_hints["quantization"]["litert_quantizer"] == "ai_edge_quantizer"
    assert any("ai-edge-quantizer" in note and "int8 ops: " in note for note in m.runtime_hints["notes"])
    assert all(t.dtype == "float32" and t.scale is None for t in [*m.inputs, *m.outputs])
    assert counts.get("CONV_2D", 0) >= 2 and counts.get("DEPTHWISE_CONV_2D") == 1
    assert any(op == "QUANTIZE" for op, _ in ops)
    m, counts, _ = export("no_conv", ignored_scope=(r"CONV_2D .*",))
    assert m.parity.passed and "CONV_2D" not in counts and counts.get("DEPTHWISE_CONV_2D") == 1


def test_aeq_recipe_names_float_ops_by_exact_scope():
    ops = [("CONV_2D", "stem;"), ("ADD", "a.b;"), ("PRELU", "act;"), ("CONV_2D", "out;")]
    recipe = QuantizationConfig(ignored_scope=(r"ADD .*",)).to_aeq_recipe(ops, heads={3})
    assert recipe[0]["regex"] == ".*" and recipe[0]["op_config"]["weight_tensor_config"]["granularity"] == "CHANNELWISE"
    assert not recipe[0]["op_config"]["activation_tensor_config"]["symmetric"]
    floats = {(r["operation"], r["regex"]) for r in recipe[1:]}
    assert all(r["algorithm_key"] == "no_quantize" for r in recipe[1:])
    assert floats == {("INPUT", ".*"), ("OUTPUT", ".*"), ("ADD", r"^a\.b;$"), ("CONV_2D", "^out;$")}
    plain = QuantizationConfig(float_outputs=False, per_channel=False).to_aeq_recipe(ops, heads={3})
    assert {(r["operation"], r["regex"]) for r in plain[1:]} == {("INPUT", ".*")}
    assert plain[0]["op_config"]["weight_tensor_config"]["granularity"] == "TENSORWISE"
    with pytest.raises(InputError, match="ai-edge-quantizer has no histogram calibration"):
        QuantizationConfig(calibration_method="histogram").to_aeq_recipe(ops, heads=set())
    with pytest.raises(InputError, match="float_modules"):
        QuantizationConfig(float_modules=("frontend",)).to_aeq_recipe(ops, heads=set())
    with pytest.raises(InputError, match="litert_quantizer must be one of pt2e, ai_edge_quantizer"):
        QuantizationConfig(litert_quantizer="tflite_converter")
    assert QuantizationConfig(litert_quantizer="ai_edge_quantizer").describe()["litert_quantizer"] == "ai_edge_quantizer"
    assert "litert_quantizer" not in QuantizationConfig().describe()


def test_float_litert_has_float_io():
    with Bundle(tiny_bundle("litert", "fp16")) as bundle:
        assert all(t.dtype == "float32" and t.scale is None for t in bundle.manifest.outputs)


def test_litert_int8_refuses_recurrent_models_up_front():
    with pytest.raises(UnsupportedTargetError, match="recurrent"):
        get_target("litert").check_support(get_spec(TINY_GRU), "int8")
    get_target("litert").check_support(get_spec(TINY_GRU), "fp32")  # float is fine


def test_precision_not_offered_by_the_spec_is_refused():
    spec = dataclasses.replace(tiny_spec(), precisions=(Precision.FP32,))
    with pytest.raises(UnsupportedTargetError, match="not offered in int8; it supports fp32"):
        get_target("onnx").check_support(spec, "int8")


def test_model_family_is_known_without_building_the_spec():
    from talkies.export.registry import model_family
    from talkies.export.spec import ModelFamily

    assert model_family("lipsync") is model_family("lipsync_stream") is ModelFamily.LIPSYNC
    assert {model_family(m) for m in ("face_detector", "face_landmarks", "face_blendshapes")} == {ModelFamily.FACE}
    assert get_spec("lipsync").family is ModelFamily.LIPSYNC
    with pytest.raises(InputError, match="unknown model 'nope'"):
        model_family("nope")
    with pytest.raises(InputError, match="unknown modelfamily 'audio'; valid: face, lipsync"):
        dataclasses.replace(tiny_spec(), family="audio")


def test_unknown_target_and_option_messages():
    with pytest.raises(InputError, match="valid: onnx, openvino, litert, coreml"):
        get_target("tensorrt")
    with pytest.raises(InputError, match="unknown onnx option.*opsett.*valid: quantization, opset"):
        get_target("onnx").options(opsett=18)
    with pytest.raises(InputError, match="ONNXOptions"):
        get_target("onnx").compile(tiny_spec(), "fp32", "/tmp", get_target("litert").options())
    assert target_names() == ["onnx", "openvino", "litert", "coreml"]


def test_target_options_validate():
    with pytest.raises(InputError, match="opset must be an integer ≥ 17"):
        get_target("onnx").options(opset=13)
    with pytest.raises(InputError, match="minimum_deployment_target 'iOS15'"):
        get_target("coreml").options(minimum_deployment_target="iOS15")
    with pytest.raises(InputError, match="inference_precision_hint"):
        get_target("openvino").options(inference_precision_hint="f64")


def test_quantization_config_precision_must_match():
    options = get_target("onnx").options(quantization=QuantizationConfig(precision="fp16"))
    with pytest.raises(InputError, match="QuantizationConfig is for fp16, but int8 was asked"):
        get_target("onnx").compile(tiny_spec(), "int8", "/tmp", options)


# --- QuantizationConfig ---------------------------------------------------------------------------


def test_quantization_config_parses_and_validates():
    config = QuantizationConfig(precision="int8", preset="performance", calibration_method="histogram")
    assert config.preset is QuantizationPreset.PERFORMANCE and config.symmetric
    assert config.calibration_method is CalibrationMethod.HISTOGRAM
    assert not QuantizationConfig().symmetric  # mixed: asymmetric activations
    with pytest.raises(InputError, match="unknown quantizationpreset 'fast'; valid: performance, mixed"):
        QuantizationConfig(preset="fast")
    with pytest.raises(InputError, match=r"calibration_size must be an integer in \[1, 100000\]"):
        QuantizationConfig(calibration_size=0)
    with pytest.raises(InputError, match="per_channel must be True or False"):
        QuantizationConfig(per_channel="yes")
    with pytest.raises(InputError, match="not a valid regex"):
        QuantizationConfig(ignored_scope=("conv[",))
    with pytest.raises(InputError, match="tuple of node-name patterns"):
        QuantizationConfig(ignored_scope="conv")
    with pytest.raises(TypeError):
        QuantizationConfig("int8")  # keyword-only


def _chain_graph():
    """x → conv → relu → conv_1 → conv_12 → reshape → y, as an onnx.ModelProto."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="node_conv2d"),
             helper.make_node("Relu", ["a"], ["b"], name="node_relu"),
             helper.make_node("Conv", ["b", "w"], ["c"], name="node_conv2d_1"),
             helper.make_node("Conv", ["c", "w"], ["d"], name="node_conv2d_12"),
             helper.make_node("Reshape", ["d", "shape"], ["y"], name="node_view")]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [w, shape])
    return helper.make_model(graph)


def test_output_heads_are_found_in_onnx_and_fx_graphs():
    import torch

    from talkies.export.module import build_module, torch_args
    from talkies.quantization.heads import fx_head_nodes, onnx_head_nodes

    assert onnx_head_nodes(_chain_graph()) == ["node_conv2d_12", "node_view"]
    spec = tiny_spec()
    graph = torch.export.export(build_module(spec), torch_args(spec, spec.dummy_inputs())).module()
    heads = fx_head_nodes(graph)
    # scores: linear → sigmoid; features: the last conv → relu → permute
    assert {"linear", "sigmoid", "permute_1"} <= heads
    assert any(n.startswith("conv2d") for n in heads) and "conv2d" not in heads  # the stem stays int8


def test_quantization_config_to_tool_kwargs():
    q = pytest.importorskip("onnxruntime.quantization")
    graph = _chain_graph()
    config = QuantizationConfig(ignored_scope=("node_conv2d_1",), float_outputs=False)
    ort = config.to_ort_kwargs(graph)
    assert ort["quant_format"] == q.QuantFormat.QDQ and ort["per_channel"] is True
    assert ort["activation_type"] == q.QuantType.QUInt8 and ort["weight_type"] == q.QuantType.QInt8
    assert ort["nodes_to_exclude"] == ["node_conv2d_1"]
    assert QuantizationConfig().to_ort_kwargs(graph)["nodes_to_exclude"] == ["node_conv2d_12", "node_view"]
    assert QuantizationConfig(ignored_scope=("node_conv2d_1.*",)).float_nodes(graph) == [
        "node_conv2d_1", "node_conv2d_12", "node_view"]
    assert QuantizationConfig(preset="performance").to_ort_kwargs(graph)["activation_type"] == q.QuantType.QInt8

    nncf_kwargs = QuantizationConfig(calibration_size=10).to_nncf_kwargs(graph)
    assert nncf_kwargs["subset_size"] == 10 and nncf_kwargs["preset"].value == "mixed"
    assert nncf_kwargs["ignored_scope"].patterns == ["node_conv2d_12(/.*)?$", "node_view(/.*)?$"]
    # NNCF matches patterns with re.match (a prefix match): the `$` keeps node_conv2d_1 off node_conv2d_12
    ignored = QuantizationConfig(ignored_scope=("node_conv2d_1",), float_outputs=False).to_nncf_kwargs(graph)
    assert [n for n in ("node_conv2d_1", "node_conv2d_1/WithoutBiases", "node_conv2d_12")
            if any(re.match(p, n) for p in ignored["ignored_scope"].patterns)] == [
        "node_conv2d_1", "node_conv2d_1/WithoutBiases"]

    assert QuantizationConfig(per_channel=False).to_litert_kwargs() == {
        "is_per_channel": False, "is_qat": False, "is_dynamic": False, "activation_observer": "minmax",
        "float_outputs": True, "float_patterns": [], "float_modules": []}
    assert QuantizationConfig(ignored_scope=("node_conv2d_1",)).to_litert_kwargs()["float_patterns"] == [
        "node_conv2d_1"]
    assert QuantizationConfig(float_modules=("frontend",)).to_litert_kwargs()["float_modules"] == ["frontend"]
    with pytest.raises(InputError, match="float_modules"):
        QuantizationConfig(float_modules=("front end!",))
    with pytest.raises(InputError, match="Core ML"):
        QuantizationConfig(float_modules=("frontend",)).to_coreml_kwargs()
    with pytest.raises(InputError, match="PT2E quantizer has no symmetric activation ranges"):
        QuantizationConfig(preset="performance").to_litert_kwargs()
    with pytest.raises(InputError, match="percentile"):
        QuantizationConfig(calibration_method="percentile").to_litert_kwargs()

    assert QuantizationConfig().to_coreml_kwargs() == {"mode": "linear_symmetric", "dtype": "int8",
                                                       "granularity": "per_channel", "weight_threshold": 2048}


# --- CalibrationDataset ---------------------------------------------------------------------------


def test_calibration_dataset_from_spec_and_adapters():
    spec = tiny_spec()
    ds = CalibrationDataset.from_spec(spec, QuantizationConfig(calibration_size=5, seed=7))
    assert len(ds) == 5 and all(s["image"].dtype == np.float32 for s in ds)
    np.testing.assert_array_equal(ds[0]["image"], spec.calibration_inputs(5, seed=7)[0]["image"])

    reader = ds.to_ort()
    got = []
    while (item := reader.get_next()) is not None:
        got.append(item)
    assert len(got) == 5
    reader.rewind()
    assert reader.get_next() is not None

    nncf_ds = ds.to_nncf()
    assert len(list(nncf_ds.get_inference_data())) == 5

    aeq = ds.to_aeq("serving_default", ["args_0"])
    assert list(aeq) == ["serving_default"] and len(aeq["serving_default"]) == 5
    np.testing.assert_array_equal(aeq["serving_default"][0]["args_0"], ds[0]["image"])

    batches = list(ds.torch_batches())
    assert len(batches) == 5 and tuple(batches[0][0].shape) == (1, 32, 32, 3)

    seen = []

    def module(x):
        seen.append(x.shape)

    ds.calibrate_torch(module)
    assert len(seen) == 5
    assert ds.to_coreml()[0].keys() == {"image"}


def test_calibration_dataset_rejects_bad_samples():
    with pytest.raises(InputError, match="at least one sample"):
        CalibrationDataset([], input_names=["image"])
    with pytest.raises(InputError, match=r"sample 1 lacks inputs \['image'\]"):
        CalibrationDataset([{"image": np.zeros(3)}, {"x": np.zeros(3)}], input_names=["image"])


# --- Recipes --------------------------------------------------------------------------------------


def test_recipes_name_target_precision_and_options():
    from talkies.targets.coreml import CoreMLOptions
    from talkies.targets.recipes import get_recipe, recipe_names

    for name in ("ios-coreml-fp16", "android-litert-int8", "laptop-openvino-int8", "portable-onnx-fp32"):
        assert name in recipe_names()
    recipe = get_recipe("ios-coreml-fp16")
    assert (recipe.target.value, recipe.precision.value) == ("coreml", "fp16")
    assert isinstance(recipe.options(), CoreMLOptions)
    assert get_recipe("portable-onnx-int8").options().quantization is None  # the model's defaults apply
    with pytest.raises(InputError, match="unknown recipe 'ios'; valid: android-litert-fp32"):
        get_recipe("ios")


def test_model_defaults_override_the_config_defaults():
    from talkies.export.spec import QuantizationDefaults
    from talkies.quantization.config import default_config

    spec = dataclasses.replace(tiny_spec(), n_calibration=16, quantization=QuantizationDefaults(
        common={"float_outputs": False, "calibration_size": 5}, per_target={"coreml": {"calibration_size": 7}}))
    config = default_config("int8", spec=spec)
    assert config.float_outputs is False and config.calibration_size == 5
    plain = default_config("int8", spec=dataclasses.replace(spec, quantization=QuantizationDefaults()))
    assert plain.float_outputs is True and plain.calibration_size == 16
    assert default_config("int8", spec=spec, target="coreml").calibration_size == 7
    assert default_config("int8", spec=spec, target="coreml").float_outputs is False
    assert default_config("int8", spec=spec, target="onnx").calibration_size == 5
    with pytest.raises(TypeError):
        default_config("int8", spec=dataclasses.replace(spec, quantization=QuantizationDefaults(
            common={"no_such_field": 1})))
    with pytest.raises(InputError, match="unknown targetname 'tensorrt'"):
        QuantizationDefaults(per_target={"tensorrt": {}})


def test_builtin_quantization_defaults_are_valid_configs():
    """Each built-in spec's defaults make a valid config on every target (caught here, not mid-export)."""
    from talkies.export import face_spec, lipsync_spec
    from talkies.quantization.config import default_config

    for defaults in (face_spec.LANDMARK_QUANTIZATION, face_spec.BLENDSHAPE_QUANTIZATION, lipsync_spec.QUANTIZATION):
        spec = dataclasses.replace(tiny_spec(), quantization=defaults)
        for target in target_names():
            default_config("int8", spec=spec, target=target)


def test_face_models_default_ignored_scopes_are_applied_and_recorded():
    from types import SimpleNamespace

    from talkies.export.face_spec import (BLENDSHAPE_FLOAT_NODES, BLENDSHAPE_QUANTIZATION, LANDMARK_FLOAT_NODES,
                                          LANDMARK_LITERT_FLOAT_OPS, LANDMARK_QUANTIZATION)

    for model, nodes, defaults in (("face_blendshapes", BLENDSHAPE_FLOAT_NODES, BLENDSHAPE_QUANTIZATION),
                                   ("face_landmarks", LANDMARK_FLOAT_NODES, LANDMARK_QUANTIZATION)):
        # all quantization_config reads of a spec (building the real one needs the downloaded .tflite)
        spec = SimpleNamespace(name=model, n_calibration=32, quantization=defaults)
        for target in ("onnx", "openvino", "litert", "coreml"):
            config = get_target(target).quantization_config(spec, Precision.INT8, get_target(target).options())
            # Core ML int8 is weights only, with no ignored scope; LiteRT landmarks have their own per-op scope
            litert_landmarks = (target, model) == ("litert", "face_landmarks")
            want = () if target == "coreml" else LANDMARK_LITERT_FLOAT_OPS if litert_landmarks else nodes
            assert config.ignored_scope == want
            assert config.onnx_quantizer == ("nncf" if (target, model) == ("onnx", "face_landmarks") else "onnxruntime")
            assert config.litert_quantizer == ("ai_edge_quantizer" if litert_landmarks else "pt2e")
            assert config.float_outputs
            assert config.describe().get("ignored_scope", []) == list(want)
            if target == "coreml":
                config.to_coreml_kwargs()  # not refused


def test_float_modules_match_onnx_name_scopes():
    """float_modules finds nodes through the exporter's name-scope metadata, nested paths included."""
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    def node(name, scopes):
        n = helper.make_node("Relu", ["x"], ["y_" + name], name=name)
        n.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=repr(scopes))
        return n

    graph = helper.make_graph([node("a", ["", "frontend", "conv1d"]), node("b", ["", "net", "net.frontend", "log"]),
                               node("c", ["", "blocks.0", "relu"]), node("d", ["", "frontend_extra", "x"])],
                              "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])], [])
    model = helper.make_model(graph)
    config = QuantizationConfig(float_modules=("frontend",), float_outputs=False)
    assert config.float_nodes(model) == ["a", "b"]
