"""Recipes: named (target, precision, options) combinations for the usual deployments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from talkies.errors import InputError
from talkies.targets.base import TargetOptions, get_target
from talkies.types import Precision, TargetName


@dataclass(frozen=True, kw_only=True)
class Recipe:
    name: str
    target: TargetName
    precision: Precision
    description: str
    make_options: Callable[[], TargetOptions] | None = field(default=None, repr=False)
    """Builds the target's options; None means the target's defaults."""

    def options(self) -> TargetOptions:
        return self.make_options() if self.make_options else get_target(self.target).options_type()


def _options(target: TargetName, **kwargs: object) -> Callable[[], TargetOptions]:
    """A deferred `<Target>Options(**kwargs)` (target modules import their SDKs lazily)."""
    return lambda: get_target(target).options(**kwargs)


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe(name="ios-coreml-fp16", target=TargetName.COREML, precision=Precision.FP16,
           description="iPhone (Neural Engine): float16 ML program, iOS 16+",
           make_options=_options(TargetName.COREML, minimum_deployment_target="iOS16", compute_units="ALL")),
    Recipe(name="ios-coreml-int8", target=TargetName.COREML, precision=Precision.INT8,
           description="iPhone, smallest download: int8 weights on a float16 ML program, iOS 16+",
           make_options=_options(TargetName.COREML, minimum_deployment_target="iOS16", compute_units="ALL")),
    Recipe(name="android-litert-int8", target=TargetName.LITERT, precision=Precision.INT8,
           description="Android CPU (XNNPACK): static int8 (PT2E, or ai-edge-quantizer where a model needs a "
                       "per-op scope); int8 input where the first op is int8 (scales in the manifest)"),
    Recipe(name="android-litert-fp32", target=TargetName.LITERT, precision=Precision.FP32,
           description="Android GPU delegate or exact CPU parity: float32 .tflite"),
    Recipe(name="laptop-openvino-int8", target=TargetName.OPENVINO, precision=Precision.INT8,
           description="Intel/AMD laptops: NNCF int8 (mixed preset), f32 inference hint"),
    Recipe(name="laptop-openvino-fp16", target=TargetName.OPENVINO, precision=Precision.FP16,
           description="Intel laptops with an iGPU: float16 weights"),
    Recipe(name="portable-onnx-fp32", target=TargetName.ONNX, precision=Precision.FP32,
           description="Any ONNX runtime: the exact float32 graph"),
    Recipe(name="portable-onnx-int8", target=TargetName.ONNX, precision=Precision.INT8,
           description="Any ONNX runtime on CPU: static QDQ int8"),
)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise InputError(f"unknown recipe {name!r}; valid: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def recipe_names() -> list[str]:
    return sorted(RECIPES)
