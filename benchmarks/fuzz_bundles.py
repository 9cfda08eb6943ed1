"""Fuzz the bundle readers with at least 10,000 hypothesis cases (issue 23): any JSON as a manifest, mutated
valid manifests and damaged zips. Nothing may escape but BundleError.

    python -m talkies.benchmarks.fuzz_bundles [--cases 12000]
"""

from __future__ import annotations

import argparse
import time

from talkies.tests.helpers.bundle_fuzz import Fuzzers

KINDS = ("any_json", "mutated_manifest", "damaged_zip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=12000, help="cases in all, split over the three fuzzers")
    args = parser.parse_args(argv)
    fuzzers = Fuzzers()
    try:
        for kind in KINDS:
            t0 = time.perf_counter()
            getattr(fuzzers, kind)(args.cases // len(KINDS))
            print(f"{kind}: {args.cases // len(KINDS)} cases, only BundleError, {time.perf_counter() - t0:.0f} s")
    finally:
        fuzzers.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
