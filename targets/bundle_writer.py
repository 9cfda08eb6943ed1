"""Writing, packing and verifying bundles.

- `export_bundle`: check support up front, compile in a temporary directory, ship test vectors, run
  the artifact where its backend runs here, record parity, write manifest.json (a sha256 per file);
  atomic, so a failed export (ParityError included) leaves no half bundle.
- `pack_bundle`: a zip with STORED entries whose data start on 4-byte boundaries (mmap-able in an app).
- `verify_bundle`: schema, every sha256, and a replay of the test vectors within the manifest's tolerance.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkies import __version__
from talkies.errors import BundleError, InputError, ParityError, TalkiesError, UnsupportedTargetError
from talkies.export.module import reference_outputs
from talkies.export.parity import check_parity, measure_parity, stack_samples
from talkies.export.registry import get_spec
from talkies.export.spec import Feeds, ModelSpec
from talkies.io import atomic_dir, atomic_path, check_writable
from talkies.log import get_logger
from talkies.runtime.bundle import (MANIFEST, TEST_VECTORS, Bundle, BundleManifest, FileEntry, Parity,
                                    sha256_file)
from talkies.runtime.session import backend_available, open_session
from talkies.targets.base import Artifact, Target, TargetOptions, get_target
from talkies.types import Precision

log = get_logger(__name__)

TEST_VECTOR_SEED = 0
ZIP_ALIGNMENT = 4
_ALIGN_EXTRA_ID = 0xD935  # the extra-field id Android's zipalign uses for padding
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Reference outputs per (spec, seed): the original model runs once per process, not once per target.
_VECTORS: dict[tuple[str, int, int], tuple[Feeds, Feeds]] = {}


def test_vectors(spec: ModelSpec, *, seed: int = TEST_VECTOR_SEED) -> tuple[Feeds, Feeds]:
    """(inputs, reference outputs), stacked with a leading sample axis."""
    key = (spec.name, id(spec), seed)
    if key not in _VECTORS:
        samples = spec.test_inputs(seed=seed)
        inputs = stack_samples([{t.name: np.asarray(s[t.name], np.float32) for t in spec.inputs} for s in samples])
        outputs = stack_samples([reference_outputs(spec, s) for s in samples])
        _VECTORS[key] = (inputs, outputs)
    return _VECTORS[key]


def write_test_vectors(path: Path, inputs: Feeds, outputs: Feeds) -> None:
    """np.savez (no pickle; fixed zip timestamps, so deterministic): input.<name>, output.<name>."""
    arrays = {f"input.{k}": np.ascontiguousarray(v) for k, v in inputs.items()}
    arrays.update({f"output.{k}": np.ascontiguousarray(v) for k, v in outputs.items()})
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def ensure_writable_dir(path: Path) -> Path:
    """Create `path` and write a probe file in it, so an unwritable output fails before any work
    (permission bits alone say little when running as root, or on read-only mounts)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise InputError(f"cannot write to {path}: {exc.strerror or exc}; choose another -o") from None
    return path


@dataclass(frozen=True)
class ExportPlan:
    """The (target, precision) pairs to export, and those refused up front with their reason."""

    todo: list[tuple[Target, Precision]]
    skipped: list[tuple[str, str, str]]  # (target, precision, reason)


def plan_exports(spec: ModelSpec, targets: list[str], precisions: list[Precision]) -> ExportPlan:
    todo, skipped = [], []
    for name in targets:
        target = get_target(name)
        for precision in precisions:
            try:
                target.check_support(spec, precision)
            except UnsupportedTargetError as exc:
                skipped.append((target.name.value, precision.value, str(exc)))
            else:
                todo.append((target, precision))
    return ExportPlan(todo, skipped)


def export_bundle(spec: ModelSpec | str, target: Target | str, precision: Precision | str, out_dir: str | Path,
                  options: TargetOptions | None = None, *, threads: int = 1, enforce_parity: bool = True) -> Path:
    """Compile `spec` for `target` at `precision` into the bundle directory `out_dir` and return it.

    Parity over the tolerance raises ParityError and writes nothing, unless `enforce_parity` is False:
    then the bundle is written with `parity.passed: false` (for benchmarking a model that misses it)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    target = get_target(target) if isinstance(target, str) else target
    precision = Precision.parse(precision)
    target.check_support(spec, precision)
    out_dir = check_writable(out_dir, is_dir=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"cannot write the bundle to {out_dir}: it is a file")
    where = f"{spec.name} {target.name} {precision}"
    with atomic_dir(out_dir) as tmp, tempfile.TemporaryDirectory(prefix="talkies-compile-") as work:
        artifact = target.compile(spec, precision, work, options)
        for rel in artifact.files:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(work) / rel, tmp / rel)
        inputs, reference = test_vectors(spec)
        write_test_vectors(tmp / TEST_VECTORS, inputs, reference)
        manifest = _manifest(spec, target, precision, artifact, tmp)
        manifest.parity = _parity(spec, target, precision, manifest, tmp, artifact, threads=threads)
        if enforce_parity:
            check_parity(manifest.parity, where=where)
        (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    log.info("%s: wrote %s", where, out_dir)
    return out_dir


def _manifest(spec: ModelSpec, target: Target, precision: Precision, artifact: Artifact, root: Path) -> BundleManifest:
    def role(rel: str) -> str:  # an .mlpackage's model is its .mlmodel; the rest are weights/metadata
        is_model = rel == artifact.model_file or (rel.startswith(artifact.model_file + "/") and rel.endswith(".mlmodel"))
        return "model" if is_model else "weights"

    roles = {rel: role(rel) for rel in artifact.files}
    roles[TEST_VECTORS] = "test_vectors"
    files = [FileEntry(path=rel, sha256=sha256_file(root / rel), size=(root / rel).stat().st_size, role=role)
             for rel, role in sorted(roles.items())]
    hints = dict(artifact.runtime_hints)
    if artifact.notes:
        hints["notes"] = [n for n in artifact.notes if n]
    if artifact.quantization:
        hints["quantization"] = artifact.quantization
    return BundleManifest(
        name=spec.name, target=target.name.value, precision=precision.value, model_file=artifact.model_file,
        inputs=artifact.inputs, outputs=artifact.outputs,
        parity=Parity(reference=spec.reference_name, measured=False), files=files, description=spec.description,
        labels=list(spec.labels), preprocessing=dict(spec.preprocessing), postprocessing=dict(spec.postprocessing),
        runtime_hints=hints, licence=spec.licence, source=spec.source, toolkit_version=__version__)


def _parity(spec: ModelSpec, target: Target, precision: Precision, manifest: BundleManifest, root: Path,
            artifact: Artifact, *, threads: int) -> Parity:
    tolerance = spec.tolerances.get(precision)
    reason = backend_available(artifact.backend)
    if reason is not None:
        checked = [n for n in artifact.notes if n.startswith("Core ML spec checked")]
        return Parity(reference=spec.reference_name, measured=False, tolerance=tolerance.as_dict() if tolerance else {},
                      note="; ".join([reason, *checked]))
    inputs, reference = test_vectors(spec)
    session = open_session(manifest, root, threads=threads)
    return measure_parity(session.run, inputs, reference, tolerance=tolerance, reference_name=spec.reference_name,
                          metrics=spec.metrics)


# --- packing -----------------------------------------------------------------------------------------


def pack_bundle(path: str | Path, zip_out: str | Path | None = None) -> Path:
    """Zip a verified bundle directory: STORED entries, each file's data 4-byte aligned (padding in the
    local header's extra field), manifest first, then files in sorted order, fixed timestamps."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path} is not a bundle directory; pack takes the directory `talkies export` wrote")
    zip_out = check_writable(Path(zip_out) if zip_out else path.with_name(path.name + ".zip"))
    with Bundle(path) as bundle:  # verified on opening
        names = [MANIFEST, *sorted(f.path for f in bundle.manifest.files)]
    with atomic_path(zip_out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            data = (path / name).read_bytes()
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            # Local header: 30 fixed bytes + name + extra; pad the extra so the data offset is aligned.
            offset = archive.fp.tell() + 30 + len(name.encode("utf-8")) + 4
            pad = -offset % ZIP_ALIGNMENT
            info.extra = struct.pack("<HH", _ALIGN_EXTRA_ID, pad) + b"\0" * pad
            archive.writestr(info, data)
    return zip_out


def zip_data_offsets(zip_path: str | Path) -> dict[str, int]:
    """Where each entry's data starts in the zip (read from the local headers)."""
    offsets = {}
    with zipfile.ZipFile(zip_path) as archive, open(zip_path, "rb") as fh:
        for info in archive.infolist():
            fh.seek(info.header_offset)
            header = fh.read(30)
            if header[:4] != b"PK\x03\x04":
                raise BundleError(f"{zip_path}: bad local header for {info.filename}")
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            offsets[info.filename] = info.header_offset + 30 + name_len + extra_len
    return offsets


# --- verification ------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    path: str
    name: str
    target: str
    precision: str
    schema_version: int
    files_checked: int
    replayed: bool
    parity: Parity | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.replayed or bool(self.parity and self.parity.passed)


def verify_bundle(path: str | Path, *, threads: int = 1) -> VerifyReport:
    """Check the schema and every sha256, then load the model where its backend runs here and replay
    the shipped test vectors within the manifest's tolerance (Core ML off macOS: spec check only).
    Raises BundleError naming the offending file, or ParityError naming the tolerance."""
    with Bundle(path) as bundle:  # opening it checks every file's sha256
        manifest = bundle.manifest
        report = VerifyReport(path=str(path), name=manifest.name, target=manifest.target,
                              precision=manifest.precision, schema_version=manifest.schema_version,
                              files_checked=len(manifest.files), replayed=False)
        inputs, reference = bundle.test_vectors()
        if not inputs or not reference:
            raise BundleError(f"{path}: {TEST_VECTORS} holds no inputs or outputs")
        reason = backend_available(manifest.target)
        if reason is not None:
            report.notes.append(f"not replayed: {reason}")
            if manifest.target == "coreml":
                report.notes.append(_coreml_spec_check(bundle))
            return report
        session = open_session(manifest, bundle.root, threads=threads)  # BundleError when the file won't load
        metrics_fn, note = _metrics_for(manifest.name)
        if note:
            report.notes.append(note)
        parity = measure_parity(session.run, inputs, reference, tolerance=manifest.parity.tolerance,
                                reference_name=manifest.parity.reference, metrics=metrics_fn)
        _check_reproduced(parity, manifest.parity, report)
        report.parity, report.replayed = parity, True
        check_parity(parity, where=f"{path} ({manifest.model_file})")
        return report


def _metrics_for(name: str):
    try:
        spec = get_spec(name)
    except TalkiesError:
        return None, f"task metrics not re-checked: model {name!r} is not registered here"
    return spec.metrics, ""


def _check_reproduced(parity: Parity, recorded: Parity, report: VerifyReport) -> None:
    """A tolerance bounding only task metrics cannot be re-checked without the spec; then the replay must
    at least reproduce the recorded error."""
    limits = recorded.tolerance
    metric_keys = [k for k in limits if k.startswith("metric.")]
    unchecked = [k for k in metric_keys if k.removeprefix("metric.") not in parity.metrics]
    if unchecked and recorded.measured and recorded.max_abs is not None and parity.max_abs is not None:
        bound = recorded.max_abs * 1.25 + 1e-6
        if parity.max_abs > bound:
            raise ParityError(f"{report.path}: replayed max_abs {parity.max_abs:.3g} exceeds the recorded "
                              f"{recorded.max_abs:.3g} (its tolerance {', '.join(unchecked)} needs the spec)")
        report.notes.append(f"{', '.join(unchecked)} not re-checked; replay reproduces the recorded max_abs")


def _coreml_spec_check(bundle: Bundle) -> str:
    from talkies.targets.coreml import CoreMLTarget

    m = bundle.manifest
    try:
        return CoreMLTarget().check_artifact(bundle.root, m.model_file, m.inputs, m.outputs)
    except ImportError:
        return "Core ML spec not checked: coremltools is not installed"


__all__ = ["ExportPlan", "VerifyReport", "ensure_writable_dir", "plan_exports", "export_bundle", "pack_bundle", "test_vectors", "verify_bundle",
           "write_test_vectors", "zip_data_offsets"]
