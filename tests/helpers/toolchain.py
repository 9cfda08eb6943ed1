"""A small test-only conv net spec and a recurrent one (not shipped), registered on import, so the
toolchain tests run in seconds: their names, the specs, bundles exported once per process, and the checks
every fp32 export must pass."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

from talkies.export.registry import get_spec, register
from talkies.export.spec import ModelFamily, ModelSpec, TensorSpec, Tolerance
from talkies.types import Precision

TINY = "tiny_convnet"
TINY_GRU = "tiny_gru"
TINY_STRICT = "tiny_strict"


def _build_convnet():
    import torch

    class TinyConvNet(torch.nn.Module):
        """NHWC image in [0, 1] → 10 sigmoid scores and an 8×8×16 feature map (a detector in miniature)."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 16, 3, stride=2, padding=1)
            self.depthwise = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
            self.pointwise = torch.nn.Conv2d(16, 16, 1)
            self.down = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1)
            self.head = torch.nn.Linear(16, 10)

        def forward(self, image):
            x = image.permute(0, 3, 1, 2)
            x = torch.relu(self.stem(x))
            x = torch.relu(self.pointwise(torch.relu(self.depthwise(x)))) + x
            features = torch.relu(self.down(x))
            scores = torch.sigmoid(self.head(features.mean(dim=(2, 3))))
            return scores, features.permute(0, 2, 3, 1)

    torch.manual_seed(0)
    return TinyConvNet().eval()


def _images(n: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Smooth, image-like inputs (blurred noise plus gradients) in [0, 1]."""
    rng = np.random.default_rng(seed)
    out = []
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    for _ in range(n):
        base = rng.random((1, 8, 8, 3)).repeat(4, axis=1).repeat(4, axis=2)
        ramp = (rng.random(3) * xx[..., None] + rng.random(3) * yy[..., None])[None] / 2
        out.append({"image": np.clip(0.7 * base + 0.3 * ramp, 0, 1).astype(np.float32)})
    return out


def _score_error(outputs, reference):
    return {"max_score_error": float(np.max(np.abs(outputs["scores"] - reference["scores"])))}


def tiny_spec_factory(name: str = TINY, *, tolerances: dict | None = None) -> ModelSpec:
    return ModelSpec(
        name=name, family=ModelFamily.FACE, description="test-only tiny conv net",
        inputs=(TensorSpec("image", (1, 32, 32, 3)),),
        outputs=(TensorSpec("scores", (1, 10)), TensorSpec("features", (1, 8, 8, 16))),
        build=_build_convnet, sample_inputs=_images,
        tolerances=tolerances or {Precision.FP32: Tolerance(rel=1e-4), Precision.FP16: Tolerance(rel=1e-2),
                                  Precision.INT8: Tolerance(rel=0.1, metrics={"max_score_error": 0.05})},
        metrics=_score_error, labels=tuple(f"class{i}" for i in range(10)),
        preprocessing={"layout": "NHWC", "range": [0.0, 1.0]}, licence="test only",
        n_test_vectors=3, n_calibration=16)


def _build_gru():
    import torch

    class TinyGRU(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(8, 8, batch_first=True)

        def forward(self, x):
            return self.gru(x)[0]

    torch.manual_seed(0)
    return TinyGRU().eval()


@register(TINY, ModelFamily.FACE)
def _tiny() -> ModelSpec:
    return tiny_spec_factory()


@register(TINY_STRICT, ModelFamily.FACE)
def _tiny_strict() -> ModelSpec:
    """Same net, an int8 tolerance no quantizer can meet: for ParityError paths."""
    return tiny_spec_factory(TINY_STRICT, tolerances={Precision.FP32: Tolerance(rel=1e-4),
                                                      Precision.FP16: Tolerance(rel=1e-2),
                                                      Precision.INT8: Tolerance(rel=1e-9)})


@register(TINY_GRU, ModelFamily.FACE)
def _tiny_gru() -> ModelSpec:
    return ModelSpec(
        name=TINY_GRU, family=ModelFamily.FACE, description="test-only recurrent net", inputs=(TensorSpec("x", (1, 6, 8)),),
        outputs=(TensorSpec("y", (1, 6, 8)),), build=_build_gru,
        sample_inputs=lambda n, seed: [{"x": np.random.default_rng(seed + i).standard_normal((1, 6, 8)).astype(np.float32)}
                                       for i in range(n)],
        tolerances={p: Tolerance(rel=0.1) for p in Precision})


def tiny_spec() -> ModelSpec:
    return get_spec(TINY)


@functools.cache
def _bundle_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="talkies-test-bundles-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@functools.cache
def tiny_bundle(target: str, precision: str) -> Path:
    """The tiny net exported once per process for (target, precision); copy it before changing it."""
    from talkies.targets.bundle_writer import export_bundle

    return export_bundle(tiny_spec(), target, precision, _bundle_root() / f"{TINY}-{target}-{precision}")


def exported_fp32(spec: ModelSpec, target: str, tmp_path: Path, reference: str):
    """Export `spec` to `target` in fp32 and check what every fp32 bundle promises: parity measured against
    `reference`, passed, within rel 1e-4, and `talkies bundle verify` passing. Returns the manifest."""
    from talkies.runtime.bundle import Bundle
    from talkies.targets.bundle_writer import export_bundle, verify_bundle

    path = export_bundle(spec, target, "fp32", tmp_path / f"{spec.name}-{target}-fp32")
    with Bundle(path) as bundle:
        m = bundle.manifest
    assert m.parity.reference == reference
    assert m.parity.measured and m.parity.passed
    assert m.parity.rel <= 1e-4
    assert verify_bundle(path).passed
    return m
