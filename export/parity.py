"""Parity: run an artifact over test vectors, compare with the fp32 reference, judge against the spec's
Tolerance for that precision.

Test vectors are stacked with a leading sample axis (as stored in a bundle's test_vectors.npz).
`rel` is max|a-r| / max|r| per output tensor; the reported max_abs and rel are the worst over outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from talkies.errors import ParityError
from talkies.export.spec import Feeds, Tolerance
from talkies.log import get_logger
from talkies.runtime.bundle import Parity, parity_error

log = get_logger(__name__)

Runner = Callable[[Feeds], Feeds]
MetricsFn = Callable[[Feeds, Feeds], dict[str, float]]


def stack_samples(samples: list[Feeds]) -> Feeds:
    """[{name: array}] → {name: array with a leading sample axis}."""
    if not samples:
        return {}
    return {name: np.stack([np.asarray(s[name], dtype=np.float32) for s in samples]) for name in samples[0]}


def unstack_samples(stacked: Mapping[str, np.ndarray]) -> list[Feeds]:
    """The inverse of stack_samples."""
    counts = {len(v) for v in stacked.values()}
    if len(counts) > 1:
        raise ValueError(f"test vectors disagree on the sample count: {sorted(counts)}")
    n = counts.pop() if counts else 0
    return [{name: value[i] for name, value in stacked.items()} for i in range(n)]


def tolerance_dict(tolerance: Tolerance | Mapping[str, float] | None) -> dict[str, float]:
    """A Tolerance in the manifest's flat form: rel, max_abs, metric.<name>."""
    if tolerance is None:
        return {}
    if isinstance(tolerance, Tolerance):
        return tolerance.as_dict()
    return {k: float(v) for k, v in tolerance.items()}


def run_samples(run: Runner, inputs: Mapping[str, np.ndarray]) -> Feeds:
    """Run one sample at a time and stack the outputs."""
    return stack_samples([run(sample) for sample in unstack_samples(inputs)])


def measure_parity(run: Runner, inputs: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray], *,
                   tolerance: Tolerance | Mapping[str, float] | None, reference_name: str,
                   metrics: MetricsFn | None = None) -> Parity:
    """Run `run` on every sample of `inputs` and compare with `reference` (both stacked)."""
    outputs = run_samples(run, inputs)
    return compare(outputs, reference, tolerance=tolerance, reference_name=reference_name, metrics=metrics)


def compare(outputs: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray], *,
            tolerance: Tolerance | Mapping[str, float] | None, reference_name: str,
            metrics: MetricsFn | None = None) -> Parity:
    """Errors of stacked `outputs` against stacked `reference`, judged against `tolerance`."""
    missing = sorted(set(reference) - set(outputs))
    if missing:
        raise ParityError(f"the artifact produced no output named {missing}; it gave {sorted(outputs)}")
    worst_abs, worst_rel = 0.0, 0.0
    for name, ref in reference.items():
        max_abs, rel = parity_error(outputs[name], ref)
        log.debug("parity %s: max_abs %.3g rel %.3g", name, max_abs, rel)
        worst_abs, worst_rel = max(worst_abs, max_abs), max(worst_rel, rel)
    measured = {k: float(v) for k, v in (metrics(dict(outputs), dict(reference)) if metrics else {}).items()}
    limits = tolerance_dict(tolerance)
    return Parity(reference=reference_name, measured=True, max_abs=worst_abs, rel=worst_rel, metrics=measured,
                  tolerance=limits, passed=not violations(worst_abs, worst_rel, measured, limits))


def violations(max_abs: float | None, rel: float | None, metrics: Mapping[str, float],
               limits: Mapping[str, float]) -> list[str]:
    """Each limit that is exceeded, as 'name value > limit'; a metric that was not measured is skipped."""
    values: dict[str, float | None] = {"rel": rel, "max_abs": max_abs}
    values.update({f"metric.{k}": v for k, v in metrics.items()})
    out = []
    for key, limit in sorted(limits.items()):
        value = values.get(key)
        if value is not None and not (value <= limit):  # NaN fails too
            out.append(f"{key} {value:.3g} > {limit:.3g}")
    return out


def check_parity(parity: Parity, *, where: str) -> Parity:
    """Raise ParityError naming the exceeded tolerance(s); return the parity unchanged otherwise."""
    if parity.measured:
        bad = violations(parity.max_abs, parity.rel, parity.metrics, parity.tolerance)
        if bad:
            raise ParityError(f"{where}: parity against {parity.reference} exceeds the tolerance: "
                              f"{'; '.join(bad)}")
    return parity
