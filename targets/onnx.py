"""ONNX: fp32 is the exported graph; fp16 converts weights and compute to float16 but keeps float32
I/O; int8 is static QDQ (per-channel weights) calibrated on real inputs. quantize_dynamic is never used:
its ConvInteger makes conv nets slower than fp32."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from talkies.errors import InputError, require
from talkies.export.onnx import DEFAULT_OPSET, MIN_OPSET, export_onnx, onnx_bytes, prelu_as_depthwise
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
            quantization = require("onnxruntime.quantization", "runtime")
            dataset = self.calibration(spec, config)
            with tempfile.TemporaryDirectory(prefix="talkies-ort-") as tmp:
                fp32 = export_onnx(spec, Path(tmp) / "fp32.onnx", opset=options.opset)
                kwargs = config.to_ort_kwargs(onnx.load_model(str(fp32)))
                reader = dataset.to_ort()
                with quiet():
                    quantization.quantize_static(str(fp32), str(out), reader, **kwargs)
            quantized = sum(n.op_type == "DequantizeLinear" for n in onnx.load_model(str(out)).graph.node)
            notes.append(f"static QDQ int8, {'per-channel' if config.per_channel else 'per-tensor'} weights, "
                         f"calibrated on {len(dataset)} real samples; float32 I/O"
                         f"{'; output layers in float' if config.float_outputs else ''}" if quantized else
                         "int8 asked, but ORT quantized no operator of this graph (it runs in float32)")
            quant = config.describe()
        return Artifact(model_file=model_file, files=[model_file], inputs=spec_tensors(spec),
                        outputs=spec_tensors(spec, outputs=True), backend=self.backend,
                        runtime_hints={"onnxruntime": {"providers": ["CPUExecutionProvider"]}},
                        notes=notes, quantization=quant)

