"""How right a bundle is: parity of its test vectors against the fp32 reference, the face models' task
metric on held-out real inputs, and lip-sync accuracy through the LipSync task on real speech."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.harness.rows import LIPSYNC_FIGURES, Row, is_lipsync

METRIC_SEED = 7  # held-out real inputs for the task metrics (test vectors use 0, calibration 1234)


def metric_inputs(model: str, n: int, work: Path, cache: dict) -> tuple[Path | None, dict[str, np.ndarray]]:
    """Held-out real inputs for a face model's task metric and the fp32 reference outputs on them."""
    if is_lipsync(model) or n <= 0:
        return None, {}
    if model not in cache:
        from talkies.export.module import reference_outputs
        from talkies.export.parity import stack_samples
        from talkies.export.registry import get_spec

        spec = get_spec(model)
        samples = spec.sample_inputs(n, METRIC_SEED)
        inputs = stack_samples([{t.name: np.asarray(s[t.name], np.float32) for t in spec.inputs} for s in samples])
        reference = stack_samples([reference_outputs(spec, s) for s in samples])
        path = work / f"{model}.metric_inputs.npz"
        np.savez(path, **inputs)
        cache[model] = (path, reference)
    return cache[model]


def parity_result(manifest, outputs: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                  spec) -> dict[str, Any]:
    """The bundle's outputs on its test vectors against the reference they ship with, by its tolerance."""
    from talkies.export.parity import compare, violations

    parity = compare(outputs, reference, tolerance=manifest.parity.tolerance,
                     reference_name=manifest.parity.reference, metrics=spec.metrics if spec else None)
    out = asdict(parity)
    out["violations"] = violations(parity.max_abs, parity.rel, parity.metrics, parity.tolerance)
    return out


def lipsync_task_result(row: Row, path: Path, cache: dict) -> None:
    """Accuracy and speed through the LipSync task (once per bundle, 1 thread), as the lip-sync benchmark."""
    from talkies.benchmarks import lipsync as lipsync_bench

    if row.bundle not in cache:
        bundle = lipsync_bench.LipSyncBundle(row.model, row.target, row.precision, path)
        cache[row.bundle] = lipsync_bench.safe_bundle_row(bundle, threads=1)
    result = cache[row.bundle]
    row.lipsync = result
    if result.get("metrics"):
        row.task_metrics = {k: result["metrics"][k] for k in LIPSYNC_FIGURES}
        if result.get("timit"):  # TIMIT's figures beside LibriVox's
            row.task_metrics.update({f"timit_{k}": result["timit"][k] for k in LIPSYNC_FIGURES})
    elif result.get("status") == "error":
        row.reason = (row.reason + "; " if row.reason else "") + f"LipSync task: {result['reason']}"
