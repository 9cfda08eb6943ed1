"""ONNX: fp32 is the exported graph; fp16 converts weights and compute to float16 but keeps float32
I/O; int8 is static QDQ (per-channel weights) calibrated on real inputs, by onnxruntime's quantize_static
or by NNCF (QuantizationConfig.onnx_quantizer). quantize_dynamic is never used: its ConvInteger makes
conv nets slower than fp32."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from talkies.errors import InputError, require
from talkies.export.onnx import (DEFAULT_OPSET, MIN_OPSET, PRELU_REWRITE_NODES, export_onnx, onnx_bytes,
                                 prelu_as_depthwise)
from talkies.export.quiet import quiet, step
from talkies.export.spec import ModelSpec
from talkies.quantization.config import QuantizationConfig
from talkies.targets.base import Artifact, Target, TargetOptions, spec_tensors
from talkies.types import Backend, Precision, TargetName


@dataclass(frozen=True, kw_only=True)
class ONNXOptions(TargetOptions):
    opset: int = DEFAULT_OPSET

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.opset, bool) or not isinstance(self.opset, int) or self.opset < MIN_OPSET:
            raise InputError(f"ONNXOptions.opset must be an integer ≥ {MIN_OPSET}, got {self.opset!r}")


class ONNXTarget(Target):
    name = TargetName.ONNX
    backend = Backend.ONNX
    options_type = ONNXOptions
    sdk_modules = ("onnx", "onnxscript", "onnxruntime")

    def _compile(self, spec: ModelSpec, precision: Precision, workdir: Path, options: ONNXOptions,
                 config: QuantizationConfig) -> Artifact:
        onnx = require("onnx", "export")
        model_file = f"{spec.name}.onnx"
        out = workdir / model_file
        notes: list[str] = []
        quant = None
        if precision is Precision.FP32:
            data, rewritten = prelu_as_depthwise(onnx_bytes(spec, opset=options.opset))
            out.write_bytes(data)
            if rewritten:
                notes.append(f"{rewritten} PRelu as depthwise 1x1 convolutions (ONNX Runtime's blocked layout)")
        elif precision is Precision.FP16:
            float16 = require("onnxruntime.transformers.float16", "runtime")
            model = onnx.load_model_from_string(onnx_bytes(spec, opset=options.opset))
            with step(f"{spec.name}: converting ONNX to float16"):
                model = float16.convert_float_to_float16(model, keep_io_types=True)
            onnx.save_model(model, str(out))
            notes.append("float16 weights and compute, float32 I/O (keep_io_types)")
        else:
            dataset = self.calibration(spec, config)
            if config.onnx_quantizer == "nncf":
                model = self._nncf_int8(spec, options, config, dataset)
                onnx.save_model(model, str(out))
            else:
                quantization = require("onnxruntime.quantization", "runtime")
                with tempfile.TemporaryDirectory(prefix="talkies-ort-") as tmp:
                    fp32 = export_onnx(spec, Path(tmp) / "fp32.onnx", opset=options.opset)
                    kwargs = config.to_ort_kwargs(onnx.load_model(str(fp32)))
                    with quiet():
                        quantization.quantize_static(str(fp32), str(out), dataset.to_ort(), **kwargs)
                model = onnx.load_model(str(out))
            quantized = sum(n.op_type == "DequantizeLinear" for n in model.graph.node)
            tool = "NNCF" if config.onnx_quantizer == "nncf" else "onnxruntime"
            notes.append(f"static QDQ int8 ({tool}), {'per-channel' if config.per_channel else 'per-tensor'} weights, "
                         f"calibrated on {len(dataset)} real samples; float32 I/O"
                         f"{'; output layers in float' if config.float_outputs else ''}" if quantized else
                         f"int8 asked, but {tool} quantized no operator of this graph (it runs in float32)")
            quant = config.describe()
        return Artifact(model_file=model_file, files=[model_file], inputs=spec_tensors(spec),
                        outputs=spec_tensors(spec, outputs=True), backend=self.backend,
                        runtime_hints={"onnxruntime": {"providers": ["CPUExecutionProvider"]}},
                        notes=notes, quantization=quant)

    @staticmethod
    def _nncf_int8(spec: ModelSpec, options: ONNXOptions, config: QuantizationConfig, dataset: Any) -> Any:
        """NNCF's ONNX backend on the graph ORT runs in fp32 (PRelus rewritten); those rewritten PRelus stay
        float, and activations get one scale each (ORT's QLinearConv takes no per-channel input scale)."""
        onnx, nncf = require("onnx", "export"), require("nncf", "export")
        data, rewritten = prelu_as_depthwise(onnx_bytes(spec, opset=options.opset))
        model = onnx.load_model_from_string(data)
        scope = replace(config, ignored_scope=(*config.ignored_scope, PRELU_REWRITE_NODES)) if rewritten else config
        with step(f"{spec.name}: NNCF int8 quantization on {len(dataset)} samples"), quiet():
            return nncf.quantize(model, dataset.to_nncf(), **scope.to_nncf_kwargs(model, per_tensor_activations=True))

