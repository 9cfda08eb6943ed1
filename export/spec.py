"""ModelSpec: everything the toolchain needs to know about one model (the registry is export/registry.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from talkies.types import Precision, TargetName, _Choice

if TYPE_CHECKING:  # torch is imported lazily by the toolchain only
    import torch

Feeds = dict[str, np.ndarray]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True)
class Tolerance:
    """Parity limits against the fp32 reference. `rel` is max|a-r| / max|r| per output tensor;
    `metrics` bounds the spec's task metrics (e.g. mean landmark error in px)."""

    rel: float | None = None
    max_abs: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        out = {k: v for k, v in (("rel", self.rel), ("max_abs", self.max_abs)) if v is not None}
        out.update({f"metric.{k}": v for k, v in self.metrics.items()})
        return out


class ModelFamily(_Choice):
    """What kind of model a spec is: the benchmarks and tools branch on this, never on the name."""

    FACE = "face"
    """Image in, face geometry or scores out (the MediaPipe face models)."""
    LIPSYNC = "lipsync"
    """Audio in, visemes and ARKit mouth weights out."""


@dataclass(frozen=True)
class QuantizationDefaults:
    """A model's own defaults for QuantizationConfig fields, by field name, used when a target is given no
    config: `common` on every target, then `per_target[target name]` over it. quantization/ validates
    them (export/ does not import it)."""

    common: dict[str, Any] = field(default_factory=dict)
    per_target: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for target in self.per_target:
            TargetName.parse(target)

    def fields(self, target: str | None = None) -> dict[str, Any]:
        """The field overrides for one target (None: those for every target)."""
        return {**self.common, **(self.per_target.get(str(target), {}) if target is not None else {})}


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    name: str
    family: ModelFamily
    description: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    build: Callable[[], "torch.nn.Module"]
    """Returns the fp32 torch reference module (eval mode), the single source for every target."""
    sample_inputs: Callable[[int, int], list[Feeds]]
    """(n, seed) -> real inputs: test vectors, and calibration data with another seed."""
    tolerances: dict[Precision, Tolerance]
    precisions: tuple[Precision, ...] = (Precision.FP32, Precision.FP16, Precision.INT8)
    reference: Callable[[Feeds], Feeds] | None = None
    """The original model (e.g. the .tflite in ai-edge-litert); None means the torch module itself."""
    reference_name: str = "fp32 torch module"
    metrics: Callable[[Feeds, Feeds], dict[str, float]] | None = None
    """(outputs, reference outputs) -> task metrics such as mean landmark error in px."""
    labels: tuple[str, ...] = ()
    preprocessing: dict[str, Any] = field(default_factory=dict)
    postprocessing: dict[str, Any] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    n_test_vectors: int = 4
    n_calibration: int = 64
    quantization: QuantizationDefaults = field(default_factory=QuantizationDefaults)
    """The model's defaults for int8 (float scopes, calibration method, quantizer per target)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", ModelFamily.parse(self.family))

    def dummy_inputs(self) -> Feeds:
        return {t.name: np.zeros(t.shape, dtype=t.dtype) for t in self.inputs}

    def calibration_inputs(self, n: int | None = None, seed: int = 1234) -> list[Feeds]:
        return self.sample_inputs(n or self.n_calibration, seed)

    def test_inputs(self, seed: int = 0) -> list[Feeds]:
        return self.sample_inputs(self.n_test_vectors, seed)
