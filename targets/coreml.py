"""Core ML (.mlpackage, an ML program) through coremltools' TorchScript path.

- fp32/fp16: `ct.convert(torch.jit.trace(module, args), convert_to="mlprogram",
  minimum_deployment_target=iOS16+, compute_precision=FLOAT32/FLOAT16)`, every TensorType pinned to
  float32 so the app-facing I/O never silently becomes float16.
- int8: the fp16 (by default) program with int8 per-channel weights (`linear_quantize_weights`).
  Activation quantization needs Core ML predictions to calibrate, which only macOS can run, so int8
  here means int8 weights.

The .mlpackage is a directory: the manifest lists every file inside it. Off macOS the model cannot run,
so parity is recorded as not measured ("needs macOS") and the spec is checked statically instead.
Conversion dates and the package's random item identifiers are fixed so the bytes are deterministic.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from talkies.errors import BundleError, InputError, require
from talkies.export.module import build_module, torch_args
from talkies.export.quiet import quiet, quiet_import, step
from talkies.export.spec import ModelSpec
from talkies.quantization.config import QuantizationConfig
from talkies.runtime.bundle import TensorInfo
from talkies.targets.base import Artifact, Target, TargetOptions, files_under, spec_tensors
from talkies.types import Backend, Precision, TargetName

DEPLOYMENT_TARGETS = ("iOS16", "iOS17", "iOS18", "macOS13", "macOS14", "macOS15")
COMPUTE_UNITS = ("ALL", "CPU_AND_NE", "CPU_AND_GPU", "CPU_ONLY")
_CONVERSION_DATE = "com.github.apple.coremltools.conversion_date"


@dataclass(frozen=True, kw_only=True)
class CoreMLOptions(TargetOptions):
    minimum_deployment_target: str = "iOS16"
    compute_units: str = "ALL"
    """Recorded as a runtime hint for the app (MLModelConfiguration.computeUnits)."""
    int8_compute_precision: Precision = Precision.FP16
    """The compute precision of the int8-weight program (fp16 is what the Neural Engine runs)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.minimum_deployment_target not in DEPLOYMENT_TARGETS:
            raise InputError(f"CoreMLOptions.minimum_deployment_target {self.minimum_deployment_target!r} is not "
                             f"supported; valid: {', '.join(DEPLOYMENT_TARGETS)} (ML programs need iOS16+)")
        if self.compute_units not in COMPUTE_UNITS:
            raise InputError(f"CoreMLOptions.compute_units {self.compute_units!r}; valid: {', '.join(COMPUTE_UNITS)}")
        object.__setattr__(self, "int8_compute_precision", Precision.parse(self.int8_compute_precision))
        if self.int8_compute_precision is Precision.INT8:
            raise InputError("CoreMLOptions.int8_compute_precision must be fp32 or fp16")


def _coremltools() -> Any:
    return quiet_import("coremltools")


class CoreMLTarget(Target):
    name = TargetName.COREML
    backend = Backend.COREML
    options_type = CoreMLOptions
    sdk_modules = ("torch", "coremltools")

    def _compile(self, spec: ModelSpec, precision: Precision, workdir: Path, options: CoreMLOptions,
                 config: QuantizationConfig) -> Artifact:
        torch = require("torch", "export")
        ct = _coremltools()
        package = f"{spec.name}.mlpackage"
        compute = options.int8_compute_precision if precision is Precision.INT8 else precision
        module = build_module(spec)
        args = torch_args(spec, spec.dummy_inputs())
        notes = [f"ML program, minimum deployment target {options.minimum_deployment_target}, "
                 f"{'float16' if compute is Precision.FP16 else 'float32'} compute, float32 I/O"]
        quant = None
        with step(f"{spec.name}: converting to Core ML ({precision})"):
            with torch.no_grad():
                traced = torch.jit.trace(module, args)
            model = ct.convert(
                traced, convert_to="mlprogram",
                minimum_deployment_target=getattr(ct.target, options.minimum_deployment_target),
                inputs=[ct.TensorType(name=t.name, shape=t.shape, dtype=np.float32) for t in spec.inputs],
                outputs=[ct.TensorType(name=t.name, dtype=np.float32) for t in spec.outputs],
                compute_precision=ct.precision.FLOAT16 if compute is Precision.FP16 else ct.precision.FLOAT32)
            if precision is Precision.INT8:
                from coremltools.optimize.coreml import (OpLinearQuantizerConfig, OptimizationConfig,
                                                         linear_quantize_weights)

                op_config = OpLinearQuantizerConfig(**config.to_coreml_kwargs())
                model = linear_quantize_weights(model, OptimizationConfig(global_config=op_config))
                notes.append("int8 weights (linear_quantize_weights, per-channel symmetric); activations stay in "
                             "the compute precision (activation calibration needs macOS predictions)")
                quant = {**config.describe(), "scope": "weights only"}
            model.user_defined_metadata.pop(_CONVERSION_DATE, None)
            model.save(str(workdir / package))
        _fix_package_identifiers(workdir / package)
        inputs, outputs = spec_tensors(spec), spec_tensors(spec, outputs=True)
        notes.append(self.check_artifact(workdir, package, inputs, outputs))
        return Artifact(model_file=package, files=files_under(workdir, package), inputs=inputs, outputs=outputs,
                        backend=self.backend, notes=notes, quantization=quant,
                        runtime_hints={"coreml": {"compute_units": options.compute_units,
                                                  "minimum_deployment_target": options.minimum_deployment_target}})

    def check_artifact(self, root: Path, model_file: str, inputs: list[TensorInfo],
                       outputs: list[TensorInfo]) -> str:
        """Load the package's spec without compiling it (works off macOS) and check its I/O."""
        ct = _coremltools()
        try:
            with quiet():
                described = ct.models.MLModel(str(root / model_file), skip_model_load=True).get_spec().description
        except Exception as exc:  # coremltools raises assorted types on a corrupt package
            raise BundleError(f"{model_file}: Core ML cannot read the package ({exc})") from exc
        for kind, declared, want in (("input", described.input, inputs), ("output", described.output, outputs)):
            got = {d.name: d.type.multiArrayType for d in declared}
            for tensor in want:
                array = got.get(tensor.name)
                if array is None:
                    raise BundleError(f"{model_file}: Core ML spec lacks {kind} {tensor.name!r}; it has {sorted(got)}")
                if array.dataType != ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32:
                    raise BundleError(f"{model_file}: Core ML {kind} {tensor.name!r} is not float32")
                if kind == "input" and list(array.shape) != list(tensor.shape):
                    raise BundleError(f"{model_file}: Core ML input {tensor.name!r} has shape {list(array.shape)}, "
                                      f"expected {tensor.shape}")
        return "Core ML spec checked with skip_model_load (I/O names, float32 dtypes, input shapes)"


def _fix_package_identifiers(package: Path) -> None:
    """Replace the random item identifiers of an .mlpackage's Manifest.json with ones derived from the
    item paths, so the same model gives the same bytes."""
    manifest_path = package / "Manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    renamed: dict[str, str] = {}
    entries = {}
    for old, entry in manifest.get("itemInfoEntries", {}).items():
        new = str(uuid.uuid5(uuid.NAMESPACE_URL, f"talkies:{entry.get('path', old)}")).upper()
        renamed[old] = new
        entries[new] = entry
    manifest["itemInfoEntries"] = dict(sorted(entries.items()))
    if manifest.get("rootModelIdentifier") in renamed:
        manifest["rootModelIdentifier"] = renamed[manifest["rootModelIdentifier"]]
    manifest_path.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n", encoding="utf-8")
