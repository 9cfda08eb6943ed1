"""Bundles: a directory (or an aligned zip) holding models, a versioned manifest.json with a sha256 per
file, measured parity and test vectors. This module reads and verifies them; targets/ writes them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from talkies.errors import BundleError
from talkies.log import get_logger

log = get_logger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
TEST_VECTORS = "test_vectors.npz"


@dataclass
class TensorInfo:
    name: str
    shape: list[int]
    dtype: str = "float32"
    # Affine quantization of the tensor as stored by the artifact (int8 I/O), else None.
    scale: float | None = None
    zero_point: int | None = None


@dataclass
class Parity:
    """Error of the artifact against the fp32 reference on the bundle's test vectors."""

    reference: str
    measured: bool
    max_abs: float | None = None
    rel: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tolerance: dict[str, float] = field(default_factory=dict)
    passed: bool | None = None
    note: str = ""


@dataclass
class FileEntry:
    path: str
    sha256: str
    size: int
    role: str  # model | weights | test_vectors | spec | extra


@dataclass
class BundleManifest:
    name: str
    target: str
    precision: str
    model_file: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    parity: Parity
    files: list[FileEntry]
    description: str = ""
    labels: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    postprocessing: dict[str, Any] = field(default_factory=dict)
    runtime_hints: dict[str, Any] = field(default_factory=dict)
    licence: str = ""
    source: str = ""
    toolkit_version: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = MANIFEST) -> "BundleManifest":
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BundleError(f"{where}: schema_version {version!r} is not supported (expected "
                              f"{SCHEMA_VERSION}); re-export the bundle with this talkies version")
        try:
            data = dict(data)
            data["inputs"] = [TensorInfo(**t) for t in data["inputs"]]
            data["outputs"] = [TensorInfo(**t) for t in data["outputs"]]
            data["parity"] = Parity(**data["parity"])
            data["files"] = [FileEntry(**f) for f in data["files"]]
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise BundleError(f"{where}: malformed manifest ({exc}); re-export the bundle") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_extract(archive: zipfile.ZipFile, dest: Path) -> None:
    """Extract a zip, refusing any member whose path escapes `dest` (zip-slip) or is a link."""
    dest = dest.resolve()
    for info in archive.infolist():
        target = (dest / info.filename).resolve()
        if not target.is_relative_to(dest) or os.path.isabs(info.filename):
            raise BundleError(f"refusing zip entry {info.filename!r}: its path leaves {dest}")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise BundleError(f"refusing zip entry {info.filename!r}: symbolic links are not allowed")
    archive.extractall(dest)


def read_manifest(path: str | os.PathLike) -> BundleManifest:
    """The manifest of a bundle directory or zip, read without extracting anything."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"bundle {path} does not exist; build it with `talkies export`")
    where = f"{path}/{MANIFEST}"
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path} is neither a bundle directory nor a zip")
        with zipfile.ZipFile(path) as archive:
            if MANIFEST not in archive.namelist():
                raise BundleError(f"{path}: no {MANIFEST}; this is not a talkies bundle")
            raw = archive.read(MANIFEST)
    else:
        if not (path / MANIFEST).is_file():
            raise BundleError(f"{path}: no {MANIFEST}; this is not a talkies bundle")
        raw = (path / MANIFEST).read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{where}: invalid JSON ({exc})") from exc
    return BundleManifest.from_dict(data, where=where)


class Bundle:
    """A bundle opened from a directory or a zip (extracted to a private temp dir)."""

    def __init__(self, path: str | os.PathLike):
        self.source = Path(path)
        self._tmp: str | None = None
        if self.source.is_file():
            if not zipfile.is_zipfile(self.source):
                raise BundleError(f"{self.source} is neither a bundle directory nor a zip")
            self._tmp = tempfile.mkdtemp(prefix="talkies-bundle-")
            with zipfile.ZipFile(self.source) as archive:
                safe_extract(archive, Path(self._tmp))  # refuses paths that leave the folder first
            self.root = Path(self._tmp)
        else:
            self.root = self.source
        self.manifest = read_manifest(self.source)

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def model_path(self) -> Path:
        return self.root / self.manifest.model_file

    def verify_files(self) -> None:
        """Check every listed file's sha256 and that no unlisted model file sneaked in."""
        listed = {f.path for f in self.manifest.files}
        for entry in self.manifest.files:
            path = self.root / entry.path
            if not path.resolve().is_relative_to(self.root.resolve()):
                raise BundleError(f"{entry.path}: path leaves the bundle")
            if not path.is_file():
                raise BundleError(f"{self.source}: missing file {entry.path}")
            if sha256_file(path) != entry.sha256:
                raise BundleError(f"{self.source}: {entry.path} has been modified (sha256 mismatch)")
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and rel != MANIFEST and rel not in listed:
                raise BundleError(f"{self.source}: {rel} is not listed in the manifest")
            if path.suffix in (".pkl", ".pickle", ".pt", ".pth"):
                raise BundleError(f"{self.source}: {rel} is a pickle; bundles never contain pickle")

    def test_vectors(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The shipped (inputs, reference outputs), keyed by tensor name."""
        path = self.root / TEST_VECTORS
        if not path.is_file():
            raise BundleError(f"{self.source}: no {TEST_VECTORS}")
        with np.load(path, allow_pickle=False) as data:
            inputs = {k[len("input."):]: data[k] for k in data.files if k.startswith("input.")}
            outputs = {k[len("output."):]: data[k] for k in data.files if k.startswith("output.")}
        return inputs, outputs


def parity_error(actual: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max |a-r|, max |a-r| / max |r|): scale-relative, so near-zero elements don't blow it up."""
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if actual.shape != reference.shape:
        actual = actual.reshape(reference.shape)
    max_abs = float(np.max(np.abs(actual - reference))) if reference.size else 0.0
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    return max_abs, (max_abs / scale if scale > 0 else max_abs)


# ---- Where bundles are looked up: one search path, one staleness rule ------------------------------


def default_bundle_dir() -> Path:
    """Where `talkies export` puts bundles the runtime looks up by name ($TALKIES_HOME/bundles)."""
    from talkies.paths import talkies_home

    return talkies_home() / "bundles"


def _package_data(*parts: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("talkies.models"))).joinpath(*parts)


def shipped_bundle_dir() -> Path:
    """The fp32 ONNX lip-sync bundles committed with the package (the runtime works without torch)."""
    return _package_data("lipsync", "bundles")


def shipped_lipsync_weights() -> Path:
    """The trained lip-sync weights the package ships; its bundles must be built from them."""
    return _package_data("lipsync", "weights", "lipsync.npz")


def weights_source(path: str | os.PathLike) -> str:
    """The `source` a bundle built from the weights at `path` records: it names their sha256, so a bundle
    built from other weights is told apart (and passed over by :func:`locate_bundle`)."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "missing"
    return f"talkies.models.lipsync ({path.name} sha256 {digest})"


def search_path(bundle_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where bundles are looked for, in order: `bundle_dir` when given, $TALKIES_HOME/bundles, then the
    bundles shipped with the package."""
    roots = [Path(bundle_dir).expanduser()] if bundle_dir else []
    return roots + [r for r in (default_bundle_dir(), shipped_bundle_dir()) if r not in roots]


def export_command(model: str, target: str, precision: str, out_dir: str | os.PathLike) -> str:
    """The command that builds a missing bundle into `out_dir` (home shown as ~)."""
    out, home = Path(out_dir), Path.home()
    try:
        shown = "~/" + out.resolve().relative_to(home.resolve()).as_posix()
    except ValueError:
        shown = str(out)
    return f"talkies export {model} --target {target} --precision {precision} -o {shown}"


def bundle_name(model: str, target: str, precision: str) -> str:
    """The folder name `talkies export` gives a bundle: MODEL-TARGET-PRECISION."""
    return f"{model}-{target}-{precision}"


def locate_bundle(model: str, target: str, precision: str, search: list[Path], *,
                  source: str | None = None) -> Path | None:
    """The first `MODEL-TARGET-PRECISION` folder (or .zip) found in the `search` directories. With
    `source`, bundles whose manifest names another source (built from older weights) are passed over."""
    name = bundle_name(model, target, precision)
    for root in search:
        for candidate in (Path(root) / name, Path(root) / f"{name}.zip"):
            if not candidate.exists():
                continue
            if source is not None:
                try:
                    stale = read_manifest(candidate).source != source
                except BundleError:
                    stale = True
                if stale:
                    log.warning("%s was built from other weights; passed over (rebuild it with `%s`)", candidate,
                                export_command(model, target, precision, root))
                    continue
            return candidate
    return None
