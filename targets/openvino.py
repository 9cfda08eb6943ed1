"""OpenVINO IR (.xml + .bin), converted from the exported ONNX file (static shapes kept).
fp32/fp16 differ in the stored weights (`compress_to_fp16`); int8 is NNCF post-training quantization
on real calibration samples. On CPUs with avx512_bf16 OpenVINO would silently compute in bf16, so the
bundle states INFERENCE_PRECISION_HINT f32 and the runtime applies it."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkies.errors import InputError, TalkiesError, require
from talkies.export.onnx import DEFAULT_OPSET, MIN_OPSET, export_onnx
from talkies.export.quiet import step
from talkies.export.spec import ModelSpec
from talkies.quantization.config import QuantizationConfig
from talkies.targets.base import Artifact, Target, TargetOptions, spec_tensors
from talkies.types import Backend, Precision, TargetName

INFERENCE_PRECISIONS = ("f32", "f16", "bf16")


@dataclass(frozen=True, kw_only=True)
class OpenVINOOptions(TargetOptions):
    opset: int = DEFAULT_OPSET
    inference_precision_hint: str = "f32"
    """Recorded in the bundle's runtime hints; f32 keeps parity on bf16-capable CPUs."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.opset, bool) or not isinstance(self.opset, int) or self.opset < MIN_OPSET:
            raise InputError(f"OpenVINOOptions.opset must be an integer ≥ {MIN_OPSET}, got {self.opset!r}")
        if self.inference_precision_hint not in INFERENCE_PRECISIONS:
            raise InputError(f"OpenVINOOptions.inference_precision_hint {self.inference_precision_hint!r} is not "
                             f"one of {', '.join(INFERENCE_PRECISIONS)}")


class OpenVINOTarget(Target):
    name = TargetName.OPENVINO
    backend = Backend.OPENVINO
    options_type = OpenVINOOptions
    sdk_modules = ("onnx", "onnxscript", "openvino", "nncf")

    def _compile(self, spec: ModelSpec, precision: Precision, workdir: Path, options: OpenVINOOptions,
                 config: QuantizationConfig) -> Artifact:
        ov = require("openvino", "runtime")
        xml, weights = f"{spec.name}.xml", f"{spec.name}.bin"
        notes: list[str] = []
        quant = None
        with tempfile.TemporaryDirectory(prefix="talkies-ov-") as tmp:
            onnx_path = export_onnx(spec, Path(tmp) / f"{spec.name}.onnx", opset=options.opset)
            with step(f"{spec.name}: converting ONNX to OpenVINO IR"):
                model = ov.convert_model(str(onnx_path))
            if precision is Precision.INT8:
                nncf = require("nncf", "export")
                dataset = self.calibration(spec, config)
                with step(f"{spec.name}: NNCF int8 quantization on {len(dataset)} samples"):
                    graph = require("onnx", "export").load_model(str(onnx_path))
                    model = nncf.quantize(model, dataset.to_nncf(), **config.to_nncf_kwargs(graph))
                notes.append(f"NNCF int8 ({config.preset} preset), calibrated on {len(dataset)} real samples; "
                             f"float32 I/O{'; output layers in float' if config.float_outputs else ''}")
                quant = config.describe()
            elif precision is Precision.FP16:
                notes.append("float16 weights (compress_to_fp16); compute precision follows the runtime hint")
            _stable_names(model)
            ov.save_model(model, str(workdir / xml), compress_to_fp16=precision is Precision.FP16)
        self._check_names(spec, [o.get_any_name() for o in model.outputs])
        return Artifact(model_file=xml, files=[xml, weights], inputs=spec_tensors(spec),
                        outputs=spec_tensors(spec, outputs=True), backend=self.backend,
                        runtime_hints={"openvino": {"INFERENCE_PRECISION_HINT": options.inference_precision_hint}},
                        notes=notes, quantization=quant)

    @staticmethod
    def _check_names(spec: ModelSpec, names: list[str]) -> None:
        want = [t.name for t in spec.outputs]
        if names != want:
            raise TalkiesError(f"{spec.name}: OpenVINO outputs {names} do not match the spec's {want}")


_AUTO_NAME = re.compile(r"([A-Za-z][A-Za-z0-9]*)_\d+")


def _stable_names(model: Any) -> None:
    """OpenVINO names the ops it creates `<Type>_<n>` from a process-wide counter, so the same model
    saved twice differs. Renumber those names in graph order (names from the ONNX graph are kept)."""
    for index, op in enumerate(model.get_ordered_ops()):
        match = _AUTO_NAME.fullmatch(op.get_friendly_name())
        if match:
            op.set_friendly_name(f"{match.group(1)}_{index}")

