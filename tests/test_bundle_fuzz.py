"""The bundle readers under hypothesis, on a small budget (benchmarks/fuzz_bundles.py runs 10,000+ cases):
any JSON as a manifest, mutated valid manifests, and damaged zips give BundleError or a verified bundle."""

from __future__ import annotations

import pytest

from talkies.tests.helpers.bundle_fuzz import Fuzzers

EXAMPLES = 150


@pytest.fixture(scope="module")
def fuzzers():
    f = Fuzzers()
    yield f
    f.close()


@pytest.mark.parametrize("name", ["any_json", "mutated_manifest", "damaged_zip"])
def test_only_bundle_errors_escape(fuzzers, name):
    getattr(fuzzers, name)(EXAMPLES)
