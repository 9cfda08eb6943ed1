"""What checking a bundle costs (issue 23): opening it verifies every file's sha256 before the model reaches a
backend. Measured on the largest installed bundle, side by side in one run, medians of alternating rounds:

- first call: open (with the sha256 check, cache cleared) + session + one inference, against the same with
  the check skipped (`Bundle(..., verify=False)`);
- reopening: the check with the per-file cache warm (a stat per file).

    python -m talkies.benchmarks.bundle_trust [--bundle DIR] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from talkies.runtime import bundle as B
from talkies.runtime.session import session_for


def largest_bundle() -> Path:
    candidates = [p for root in B.search_path() if root.is_dir() for p in root.iterdir()
                  if p.is_dir() and (p / B.MANIFEST).is_file() and B.read_manifest(p).target == "onnx"]
    if not candidates:
        raise SystemExit("no ONNX bundle installed; run `talkies export face_landmarks -t onnx -p fp32 -o "
                         "~/.cache/talkies/bundles` first")
    return max(candidates, key=lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()))


def first_call(path: Path, *, verify: bool) -> float:
    B._SHA_CACHE.clear()
    t0 = time.perf_counter()
    with B.Bundle(path, verify=verify) as bundle:
        inputs, _ = bundle.test_vectors()
        session = session_for(bundle, threads=1)
        session.run({name: np.ascontiguousarray(value[0]) for name, value in inputs.items()})
    return time.perf_counter() - t0


def reopen(path: Path) -> float:
    t0 = time.perf_counter()
    with B.Bundle(path):
        pass
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    path = args.bundle or largest_bundle()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    first_call(path, verify=True)  # warm the page cache and the backend's own start-up
    checked, unchecked = [], []
    for _ in range(args.rounds):
        checked.append(first_call(path, verify=True))
        unchecked.append(first_call(path, verify=False))
    warm = [reopen(path) for _ in range(args.rounds)]
    a, b = statistics.median(checked), statistics.median(unchecked)
    print(f"{path.name}: {size / 1e6:.1f} MB; first call {a * 1e3:.1f} ms with the sha256 check, "
          f"{b * 1e3:.1f} ms without: +{(a / b - 1) * 100:.1f}% (medians of {args.rounds}); "
          f"reopening with the hashes cached {statistics.median(warm) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
