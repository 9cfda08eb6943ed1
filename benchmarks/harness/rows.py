"""What one run produces: a Row per bundle × thread count, a PipelineRow per end-to-end case or peer,
their Status, and which task metric heads each model's figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

#: The task metric shown in the table and plots per model: (key, label, lower is better).
HEADLINE = {
    "face_detector": ("detection_error_px", "detector box/keypoint error vs fp32 (px at 128)", True),
    "face_landmarks": ("mean_landmark_px", "mean landmark error vs fp32 (px at 256)", True),
    "face_blendshapes": ("max_score_error", "blend-shape max abs error vs fp32", True),
    "lipsync": ("coarse_accuracy", "lip-sync coarse accuracy (real speech)", False),
    "lipsync_stream": ("coarse_accuracy", "lip-sync coarse accuracy (real speech, streaming)", False),
}
LIPSYNC_FIGURES = ("coarse_accuracy", "closure_recall", "open_recall", "round_recall")


def is_lipsync(model: str) -> bool:
    """Lip-sync models are measured through the LipSync task on real speech, face models on face crops."""
    from talkies.export.registry import model_family
    from talkies.export.spec import ModelFamily

    return model_family(model) is ModelFamily.LIPSYNC


def failure_reason(exc: BaseException, limit: int = 240) -> str:
    """A row's reason for an exception: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return f"{type(exc).__name__}: " + (line if len(line) <= limit else line[:limit] + "…")


class Status(str, Enum):
    OK = "ok"
    PARITY_FAILED = "parity failed"
    NEEDS_MACOS = "needs macOS"
    SKIPPED = "skipped"
    UNSUPPORTED = "unsupported"
    BUILD_FAILED = "build failed"
    ERROR = "error"


@dataclass
class Row:
    """One bundle × thread count. Figures stay None where they were not measured (and `reason` says why)."""

    model: str
    target: str
    precision: str
    threads: int
    status: str = Status.OK.value
    reason: str | None = None
    bundle: str | None = None
    built: bool = False
    build_s: float | None = None
    """Export time when this run built the bundle."""
    size_bytes: int | None = None
    load_ms: float | None = None
    latency: dict[str, float] | None = None
    peak_rss_mb: float | None = None
    rss_model_mb: float | None = None
    parity: dict[str, Any] | None = None
    task_metrics: dict[str, float] | None = None
    spec_check: str | None = None
    lipsync: dict[str, Any] | None = None

    @property
    def headline(self) -> float | None:
        key = HEADLINE.get(self.model, (None,))[0]
        return (self.task_metrics or {}).get(key) if key else None


@dataclass
class PipelineRow:
    """An end-to-end case or a peer: one figure with its unit (and the goal when there is one)."""

    case: str
    implementation: str
    value: float | None
    unit: str
    backend: str | None = None
    precision: str | None = None
    higher_is_better: bool = True
    goal: float | None = None
    status: str = Status.OK.value
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None or self.value is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal
