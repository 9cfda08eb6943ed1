"""Target: one per toolchain. `check_support` refuses what the toolchain cannot do before any work,
with the reason; `compile` turns a ModelSpec into an Artifact (model files plus I/O and runtime hints)
inside a work directory. Options are typed dataclasses, one per target."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from talkies.errors import InputError, UnsupportedTargetError
from talkies.export.spec import ModelSpec
from talkies.quantization.calibration import CalibrationDataset
from talkies.quantization.config import QuantizationConfig, default_config
from talkies.runtime.bundle import TensorInfo
from talkies.types import Backend, Precision, TargetName


@dataclass(frozen=True, kw_only=True)
class TargetOptions:
    """Options every target takes. `quantization` None means the defaults for the precision asked."""

    quantization: QuantizationConfig | None = None

    def __post_init__(self) -> None:
        if self.quantization is not None and not isinstance(self.quantization, QuantizationConfig):
            raise InputError(f"{type(self).__name__}.quantization must be a QuantizationConfig, "
                             f"got {type(self.quantization).__name__}")


@dataclass
class Artifact:
    """What a target produced in its work directory. Paths are relative to that directory."""

    model_file: str
    files: list[str]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    backend: Backend
    runtime_hints: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    quantization: dict[str, Any] | None = None


def spec_tensors(spec: ModelSpec, *, outputs: bool = False) -> list[TensorInfo]:
    """The spec's float32 I/O as manifest TensorInfo."""
    return [TensorInfo(name=t.name, shape=list(t.shape), dtype=t.dtype) for t in (spec.outputs if outputs else spec.inputs)]


def files_under(root: Path, sub: str) -> list[str]:
    """`sub` (a file, or a directory such as an .mlpackage) as a sorted list of file paths under root."""
    path = root / sub
    if path.is_file():
        return [sub]
    return sorted(p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file())


class Target(ABC):
    name: ClassVar[TargetName]
    backend: ClassVar[Backend]
    options_type: ClassVar[type[TargetOptions]] = TargetOptions
    sdk_modules: ClassVar[tuple[str, ...]] = ()
    """Python modules the converter needs; a missing one makes check_support refuse with the extra."""

    def options(self, **kwargs: Any) -> TargetOptions:
        """Build this target's options; an unknown name raises InputError listing the valid ones."""
        valid = [f.name for f in dataclasses.fields(self.options_type)]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise InputError(f"unknown {self.name} option(s) {unknown}; valid: {', '.join(valid)}")
        return self.options_type(**kwargs)

    def check_support(self, spec: ModelSpec, precision: Precision | str) -> None:
        """Raise UnsupportedTargetError with the reason when this target cannot compile the pair."""
        precision = Precision.parse(precision)
        if precision not in spec.precisions:
            raise UnsupportedTargetError(
                f"{spec.name} is not offered in {precision}; it supports {', '.join(map(str, spec.precisions))}")
        for module in self.sdk_modules:  # found, not imported: a refusal must stay cheap
            if importlib.util.find_spec(module.split(".")[0]) is None:
                raise UnsupportedTargetError(f"{self.name} needs {module}, which is not installed; "
                                             "install it with: pip install 'talkies[export]'")
        self._check_support(spec, precision)

    def _check_support(self, spec: ModelSpec, precision: Precision) -> None:
        """Target-specific refusals (override)."""

    def compile(self, spec: ModelSpec, precision: Precision | str, workdir: str | Path,
                options: TargetOptions | None = None) -> Artifact:
        precision = Precision.parse(precision)
        options = self.options_type() if options is None else options
        if not isinstance(options, self.options_type):
            raise InputError(f"{self.name} takes {self.options_type.__name__}, not {type(options).__name__}")
        self.check_support(spec, precision)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        return self._compile(spec, precision, workdir, options, self.quantization_config(spec, precision, options))

    @classmethod
    def quantization_config(cls, spec: ModelSpec, precision: Precision, options: TargetOptions) -> QuantizationConfig:
        config = options.quantization or default_config(precision, spec=spec, target=str(cls.name))
        if config.precision is not precision:
            raise InputError(f"the QuantizationConfig is for {config.precision}, but {precision} was asked")
        return config

    @staticmethod
    def calibration(spec: ModelSpec, config: QuantizationConfig) -> CalibrationDataset:
        return CalibrationDataset.from_spec(spec, config)

    @abstractmethod
    def _compile(self, spec: ModelSpec, precision: Precision, workdir: Path, options: Any,
                 config: QuantizationConfig) -> Artifact:
        """Write the model file(s) into workdir and describe them."""

    def check_artifact(self, root: Path, model_file: str, inputs: list[TensorInfo],
                       outputs: list[TensorInfo]) -> str:
        """A static check usable where the backend cannot run (Core ML off macOS). Returns a note."""
        return ""


_TARGET_MODULES = {
    TargetName.ONNX: ("talkies.targets.onnx", "ONNXTarget"),
    TargetName.OPENVINO: ("talkies.targets.openvino", "OpenVINOTarget"),
    TargetName.LITERT: ("talkies.targets.litert", "LiteRTTarget"),
    TargetName.COREML: ("talkies.targets.coreml", "CoreMLTarget"),
}


def get_target(name: TargetName | str) -> Target:
    """The Target for a name (InputError listing the valid names otherwise)."""
    module, cls = _TARGET_MODULES[TargetName.parse(name)]
    return getattr(importlib.import_module(module), cls)()


def target_names() -> list[str]:
    return [t.value for t in TargetName]
