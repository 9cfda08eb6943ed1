"""Finding each case's bundle in the bundle folder, or building it there, and telling when one found must
be built again (on request, or made from another model or quantization recipe than today's)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from talkies.benchmarks.common import PARITY_FAILED_DIR, inner_progress_off
from talkies.benchmarks.harness.config import BenchConfig
from talkies.benchmarks.harness.rows import Row, Status, failure_reason, is_lipsync
from talkies.errors import TalkiesError
from talkies.log import get_logger
from talkies.types import Precision, TargetName

log = get_logger(__name__)

#: Keys a target adds to the recorded quantization beside the config's own (Core ML: "weights only").
_TARGET_NOTES = frozenset({"scope"})
#: sha256 of the test vectors each model's bundles would ship now, computed once per process.
_EXPECTED_VECTORS: dict[str, str] = {}


def _search_dirs(model: str, root: Path) -> list[Path]:
    """The bundle folder, the shipped lip-sync bundles, then the parity-failed builds."""
    dirs = [root]
    if is_lipsync(model):
        from talkies.runtime.bundle import shipped_bundle_dir

        dirs.append(shipped_bundle_dir())
    return dirs + [root / PARITY_FAILED_DIR]


def existing_bundle(model: str, target: str, precision: str, root: Path) -> Path | None:
    from talkies.runtime.bundle import locate_bundle

    source = None
    if is_lipsync(model):  # bundles built from older weights are rebuilt, not measured
        from talkies.runtime.bundle import shipped_lipsync_weights, weights_source

        source = weights_source(shipped_lipsync_weights())
    return locate_bundle(model, target, precision, _search_dirs(model, root), source=source)


def build_blocker(model: str) -> str | None:
    """Why `model` cannot be built here (None when it can)."""
    from talkies.export.registry import get_spec

    try:
        get_spec(model)
    except TalkiesError as exc:
        return str(exc)
    if is_lipsync(model):
        from talkies.models.lipsync.model import default_weights_path

        if not default_weights_path().exists():
            return f"the lip-sync model is not trained yet ({default_weights_path()} is missing)"
    return None


def build_bundle(model: str, target: str, precision: str, root: Path) -> Path:
    """Export into `root/.parity-failed/NAME`; a bundle whose parity passed (or could not be measured here)
    then moves to `root/NAME`. Returns where it ended up."""
    from talkies.runtime.bundle import Bundle, bundle_name
    from talkies.targets.bundle_writer import export_bundle

    name = bundle_name(model, target, precision)
    staged = root / PARITY_FAILED_DIR / name
    with inner_progress_off():  # parity is recorded in the manifest, not enforced: a failure is a result here
        export_bundle(model, target, precision, staged, enforce_parity=False)
    with Bundle(staged) as bundle:
        failed = bundle.manifest.parity.passed is False
    if failed:
        return staged
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(staged, final)
    return final


def locate_or_build(model: str, target: str, precision: str, config: BenchConfig,
                     backend_available: Callable[[str], str | None]) -> tuple[Path | None, Row | None, float | None]:
    """(bundle, None, seconds spent building it now or None) or (None, a row saying why there is none, None)."""
    from talkies.errors import UnsupportedTargetError

    def problem(status: Status, reason: str) -> tuple[None, Row, None]:
        return None, Row(model, target, precision, config.threads[0], status=status.value, reason=reason), None

    path = existing_bundle(model, target, precision, config.bundle_dir)
    if path is not None and not _rebuild_requested(path, config) and not _is_stale(path, model, config):
        return path, None, None
    reason = backend_available(target)
    if reason is not None and target != TargetName.COREML:
        return problem(Status.SKIPPED, reason)
    if not config.build:
        return problem(Status.SKIPPED, "no bundle, and building was turned off (--no-build)")
    blocker = build_blocker(model)
    if blocker is not None:
        return problem(Status.SKIPPED, blocker)
    try:
        from talkies.export.registry import get_spec
        from talkies.targets.base import get_target

        get_target(target).check_support(get_spec(model), precision)
        t0 = time.perf_counter()
        path = build_bundle(model, target, precision, config.bundle_dir)
        return path, None, time.perf_counter() - t0
    except UnsupportedTargetError as exc:
        return problem(Status.UNSUPPORTED, str(exc))
    except Exception as exc:  # a converter failing on a model is a result of the bench, not a crash
        log.warning("building %s %s %s failed: %s", model, target, precision, exc)
        return problem(Status.BUILD_FAILED, failure_reason(exc))


def _rebuild_requested(path: Path, config: BenchConfig) -> bool:
    """Whether an existing bundle is to be exported again on request (never one outside the bundle folder)."""
    failed = path.parent.name == PARITY_FAILED_DIR
    return _in_bundle_folder(path, config) and (config.rebuild == "all" or (config.rebuild == "failed" and failed))


def _in_bundle_folder(path: Path, config: BenchConfig) -> bool:
    return path.resolve().is_relative_to(config.bundle_dir.resolve())


def _is_stale(path: Path, model: str, config: BenchConfig) -> bool:
    """A bundle of ours built from another model than the one here now (new weights, new reference, new
    test inputs: its test vectors, deterministic in the model and seed, are not the ones it would ship
    today), or quantized with another recipe than today's default. Checked only where it could be rebuilt."""
    if not config.build or not _in_bundle_folder(path, config) or build_blocker(model) is not None:
        return False
    from talkies.runtime.bundle import TEST_VECTORS, Bundle, sha256_file
    from talkies.targets.bundle_writer import test_vectors, write_test_vectors

    with Bundle(path) as bundle:
        manifest = bundle.manifest
    shipped = next((f.sha256 for f in manifest.files if f.path == TEST_VECTORS), None)
    recorded = manifest.runtime_hints.get("quantization")
    if recorded is not None and not same_recipe(
            recorded, quantization_recipe(model, manifest.target, manifest.precision)):
        log.warning("%s was quantized with another recipe than today's (%s): rebuilding it", path, recorded)
        return True
    if model not in _EXPECTED_VECTORS:
        from talkies.export.registry import get_spec

        with tempfile.TemporaryDirectory(prefix="talkies-bench-vectors-") as tmp:
            target = Path(tmp) / TEST_VECTORS
            with inner_progress_off():
                write_test_vectors(target, *test_vectors(get_spec(model)))
            _EXPECTED_VECTORS[model] = sha256_file(target)
    if shipped == _EXPECTED_VECTORS[model]:
        return False
    log.warning("%s was built from another version of %s (its test vectors differ): rebuilding it", path, model)
    return True


def quantization_recipe(model: str, target: str, precision: str) -> dict:
    """What an export of this bundle would record as its quantization today (the default config)."""
    from talkies.export.registry import get_spec
    from talkies.targets.base import get_target

    toolchain = get_target(target)
    return toolchain.quantization_config(get_spec(model), Precision(precision), toolchain.options()).describe()


def same_recipe(recorded: dict, today: dict) -> bool:
    """Every key either side records, but the targets' own notes: a field describe() leaves out at its
    default (ignored_scope, float_modules, onnx_quantizer) differs when only one side has it."""
    return all(recorded.get(k) == today.get(k) for k in {*recorded, *today} - _TARGET_NOTES)
