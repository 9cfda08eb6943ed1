"""Hypothesis fuzzers for the bundle readers: manifests of any JSON, mutated valid manifests, and a packed
bundle's zip bytes flipped or cut. Nothing may escape but BundleError. `make test` runs them on a small
budget (tests/test_bundle_fuzz.py); `benchmarks/fuzz_bundles.py` runs at least 10,000 cases."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talkies.errors import BundleError
from talkies.runtime.bundle import MANIFEST, Bundle, read_manifest
from talkies.targets.bundle_writer import pack_bundle
from talkies.tests.helpers.toolchain import tiny_bundle

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                max_size=4),
                    max_leaves=12)


def _open(path: Path) -> None:
    """Read the manifest, then open (verify) the bundle: only BundleError may come out."""
    try:
        read_manifest(path)
        with Bundle(path):
            pass
    except BundleError as exc:
        assert "\n" not in str(exc), str(exc)


class Fuzzers:
    """The three fuzzers, on copies of one exported tiny bundle."""

    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="talkies-fuzz-"))
        self.source = self.work / "source"
        shutil.copytree(tiny_bundle("onnx", "fp32"), self.source)
        self.manifest = json.loads((self.source / MANIFEST).read_text())
        self.zip_bytes = pack_bundle(self.source, self.work / "source.zip").read_bytes()

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def _with_manifest(self, data) -> Path:
        dest = self.work / "case"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(self.source, dest)
        (dest / MANIFEST).write_text(json.dumps(data))
        return dest

    def any_json(self, examples: int) -> None:
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(JSON)
        def case(data) -> None:
            _open(self._with_manifest(data))

        case()

    def mutated_manifest(self, examples: int) -> None:
        keys = sorted(self.manifest)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(st.tuples(st.sampled_from(keys), JSON), min_size=1, max_size=3),
               st.lists(st.sampled_from(keys), max_size=2))
        def case(changes, removed) -> None:
            data = dict(self.manifest)
            for key, value in changes:
                data[key] = value
            for key in removed:
                data.pop(key, None)
            _open(self._with_manifest(data))

        case()

    def damaged_zip(self, examples: int) -> None:
        size = len(self.zip_bytes)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), max_size=8),
               st.integers(0, size))
        def case(flips, cut) -> None:
            data = bytearray(self.zip_bytes[:max(cut, 1)])
            for where, value in flips:
                if where < len(data):
                    data[where] = value
            path = self.work / "case.zip"
            path.write_bytes(bytes(data))
            _open(path)

        case()
