"""ModelSpec: everything the toolchain needs to know about one model family, and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from talkies.errors import InputError
from talkies.types import Precision, _Choice

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", ModelFamily.parse(self.family))

    def dummy_inputs(self) -> Feeds:
        return {t.name: np.zeros(t.shape, dtype=t.dtype) for t in self.inputs}

    def calibration_inputs(self, n: int | None = None, seed: int = 1234) -> list[Feeds]:
        return self.sample_inputs(n or self.n_calibration, seed)

    def test_inputs(self, seed: int = 0) -> list[Feeds]:
        return self.sample_inputs(self.n_test_vectors, seed)


_REGISTRY: dict[str, tuple[ModelFamily, Callable[[], ModelSpec]]] = {}
_BUILT: dict[str, ModelSpec] = {}


def register(name: str, family: ModelFamily | str) -> Callable[[Callable[[], ModelSpec]], Callable[[], ModelSpec]]:
    """Register a factory; specs are built on first use so listing models (and their families) stays
    cheap: a face spec needs its downloaded .tflite to be built."""
    family = ModelFamily.parse(family)

    def wrap(factory: Callable[[], ModelSpec]) -> Callable[[], ModelSpec]:
        _REGISTRY[name] = (family, factory)
        return factory

    return wrap


def model_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _entry(name: str) -> tuple[ModelFamily, Callable[[], ModelSpec]]:
    _load_builtin()
    if name not in _REGISTRY:
        raise InputError(f"unknown model {name!r}; valid: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_family(name: str) -> ModelFamily:
    """The family a model was registered with, without building its spec."""
    return _entry(name)[0]


def get_spec(name: str) -> ModelSpec:
    family, factory = _entry(name)
    if name not in _BUILT:
        spec = factory()
        if spec.name != name or spec.family is not family:
            raise AssertionError(f"spec {spec.name!r} ({spec.family}) registered as {name!r} ({family})")
        _BUILT[name] = spec
    return _BUILT[name]


def _load_builtin() -> None:
    from talkies.export import registry  # noqa: F401  (registers the built-in specs)
