"""What a run measures: the options of ``talkies bench`` (BenchConfig) and the cases they select."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from talkies.errors import InputError
from talkies.types import Precision, TargetName

TARGETS = tuple(t.value for t in TargetName)
PRECISIONS = tuple(p.value for p in Precision)


class PipelinePart(str, Enum):
    """The end-to-end parts a run can add after the bundle rows, in the order they run."""

    INT8 = "int8"
    TRACKING = "tracking"
    LIPSYNC = "lipsync"
    ANIMATE = "animate"
    KERNELS = "kernels"


PIPELINE_PARTS = tuple(p.value for p in PipelinePart)
REBUILD = ("none", "failed", "all")


@dataclass(kw_only=True)
class BenchConfig:
    models: tuple[str, ...] = ()
    """Empty: every registered model."""
    targets: tuple[str, ...] = TARGETS
    precisions: tuple[str, ...] = PRECISIONS
    threads: tuple[int, ...] = (1,)
    bundle_dir: Path | None = None
    out_dir: Path = Path("out")
    iterations: int = 20
    warmup: int = 3
    max_seconds: float = 2.0
    """Per measurement: the timed loop stops after this long (at least 3 calls)."""
    build: bool = True
    rebuild: str = "none"
    """Export again bundles found in the bundle folder: "failed" (the parity-failed ones, e.g. after the
    quantization changed), "all", or "none". Shipped bundles are never rebuilt."""
    pipeline: tuple[str, ...] = PIPELINE_PARTS
    peers: bool = True
    install_peers: bool = True
    metric_samples: int = 8
    animate_seconds: float = 10.0
    command: str = ""

    def __post_init__(self) -> None:
        self.targets = tuple(TargetName.parse(t).value for t in self.targets)
        self.precisions = tuple(Precision.parse(p).value for p in self.precisions)
        if not self.threads or any(int(t) < 1 for t in self.threads):
            raise InputError(f"--threads takes positive integers, got {self.threads}")
        self.threads = tuple(int(t) for t in self.threads)
        if self.iterations < 1 or self.warmup < 0 or self.max_seconds <= 0:
            raise InputError("--iterations must be ≥ 1, --warmup ≥ 0 and the time budget > 0")
        if self.rebuild not in REBUILD:
            raise InputError(f"--rebuild takes one of {', '.join(REBUILD)}, got {self.rebuild!r}")
        if self.rebuild != "none" and not self.build:
            raise InputError("--rebuild needs building; drop --no-build")
        unknown = sorted(set(self.pipeline) - set(PIPELINE_PARTS))
        if unknown:
            raise InputError(f"unknown pipeline part(s) {unknown}; valid: {', '.join(PIPELINE_PARTS)}")
        if self.bundle_dir is None:
            from talkies.runtime.bundle import default_bundle_dir

            self.bundle_dir = default_bundle_dir()
        self.bundle_dir = Path(self.bundle_dir).expanduser()
        self.out_dir = Path(self.out_dir)



def plan(config: BenchConfig) -> list[tuple[str, str, str]]:
    """Every (model, target, precision) the config asks for."""
    from talkies.export.registry import model_names

    names = model_names()
    models = config.models or tuple(names)
    unknown = [m for m in models if m not in names]
    if unknown:
        raise InputError(f"unknown model(s) {unknown}; valid: {', '.join(names)}")
    return [(m, t, p) for m in models for t in config.targets for p in config.precisions]
