"""Bundles: a directory (or an aligned zip) holding models, a versioned manifest.json with a sha256 per
file, measured parity and test vectors. This module reads and verifies them; targets/ writes them."""

from __future__ import annotations

import hashlib
import io
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

# A bundle is untrusted input (an app embeds it): limits checked before anything is read or extracted.
MANIFEST_MAX_BYTES = 4 << 20
ZIP_MAX_ENTRIES = 256
ZIP_MAX_FILE_BYTES = 1 << 30
ZIP_MAX_TOTAL_BYTES = 2 << 30
ZIP_MAX_RATIO = 100  # `talkies bundle pack` stores entries; a deflated one this compressible is a bomb


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
    def from_dict(cls, data: Any, *, where: str = MANIFEST) -> "BundleManifest":
        if not isinstance(data, dict):
            raise BundleError(f"{where}: malformed manifest (a JSON {type(data).__name__}, not an object); "
                              "re-export the bundle")
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
            manifest = cls(**data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise BundleError(f"{where}: malformed manifest ({type(exc).__name__}: {one_line(exc)}); "
                              "re-export the bundle") from exc
        manifest._check(where)
        return manifest

    def _check(self, where: str) -> None:
        """Types the readers rely on, and every named file a plain path listed inside the bundle."""
        strings = (self.name, self.target, self.precision, self.model_file)
        if not all(isinstance(v, str) for v in strings):
            raise BundleError(f"{where}: malformed manifest (name, target, precision and model_file must be "
                              "strings); re-export the bundle")
        for entry in self.files:
            if not (isinstance(entry.path, str) and isinstance(entry.sha256, str) and isinstance(entry.size, int)):
                raise BundleError(f"{where}: malformed file entry {entry!r}; re-export the bundle")
            _check_member_name(entry.path, where)
        _check_member_name(self.model_file, where)
        listed = {f.path for f in self.files}
        if self.model_file not in listed and not any(p.startswith(self.model_file + "/") for p in listed):
            # (a Core ML .mlpackage is a folder: its files are listed one by one)
            raise BundleError(f"{where}: model_file {self.model_file!r} is not one of the bundle's listed files")
        for tensor in (*self.inputs, *self.outputs):
            if not (isinstance(tensor.name, str) and isinstance(tensor.shape, list)
                    and all(isinstance(d, int) for d in tensor.shape)):
                raise BundleError(f"{where}: malformed tensor {tensor!r}; re-export the bundle")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def one_line(value: object) -> str:
    """Text from hostile input (a key, a library's message) made fit for a one-line error."""
    return " ".join(str(value).split())


_SHA_CACHE: dict[tuple[str, int, int, int], str] = {}


def verified_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, mtime, size, inode) so reopening a bundle costs a stat."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def _check_member_name(name: str, where: str) -> None:
    """A bundle names files by plain relative POSIX paths: nothing absolute, no `..`, no backslashes."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or ":" in parts[0]
            or any(p in ("", ".", "..") for p in parts)):
        raise BundleError(f"{where}: refusing the path {name!r}: its path leaves the bundle (files are plain paths "
                          "inside it)")


def _check_zip(archive: zipfile.ZipFile, source: Path) -> list[zipfile.ZipInfo]:
    """The central directory against the limits, before any entry is read."""
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_ENTRIES:
        raise BundleError(f"{source}: {len(infos)} zip entries (at most {ZIP_MAX_ENTRIES}); not a talkies bundle")
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        _check_member_name(info.filename, str(source))
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise BundleError(f"{source}: refusing zip entry {info.filename!r}: symbolic links are not allowed")
        if info.file_size > ZIP_MAX_FILE_BYTES:
            raise BundleError(f"{source}: zip entry {info.filename!r} declares {info.file_size} bytes "
                              f"(at most {ZIP_MAX_FILE_BYTES})")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            raise BundleError(f"{source}: zip entry {info.filename!r} expands {info.file_size} bytes from "
                              f"{info.compress_size}: refusing a likely zip bomb")
        total += info.file_size
    if total > ZIP_MAX_TOTAL_BYTES:
        raise BundleError(f"{source}: the zip declares {total} bytes in all (at most {ZIP_MAX_TOTAL_BYTES})")
    return infos


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out, source: Path) -> None:
    """Copy one entry, stopping at its declared size: declared sizes are checked, never trusted."""
    written = 0
    with archive.open(info) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            written += len(block)
            if written > info.file_size:
                raise BundleError(f"{source}: zip entry {info.filename!r} holds more than it declares")
            out.write(block)


def _read_member(archive: zipfile.ZipFile, name: str, cap: int, source: Path) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > cap:
        raise BundleError(f"{source}: {name} declares {info.file_size} bytes (at most {cap})")

    buf = io.BytesIO()
    try:
        _stream(archive, info, buf, source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BundleError(f"{source}: cannot read {name} from the zip ({one_line(exc)})") from exc
    return buf.getvalue()


def safe_extract(archive: zipfile.ZipFile, dest: Path, source: Path | None = None) -> None:
    """Extract a zip after checking its central directory: refuses paths that leave `dest` (zip-slip),
    links, and entries or totals past the limits; streams each entry with a byte cap."""
    source = source or Path(str(archive.filename))
    dest = dest.resolve()
    for info in _check_zip(archive, source):
        target = (dest / info.filename).resolve()
        if not target.is_relative_to(dest):
            raise BundleError(f"{source}: refusing zip entry {info.filename!r}: its path leaves {dest}")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(target, "wb") as out:
                _stream(archive, info, out, source)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise BundleError(f"{source}: cannot read {info.filename} from the zip ({one_line(exc)})") from exc


def read_manifest(path: str | os.PathLike) -> BundleManifest:
    """The manifest of a bundle directory or zip, read without extracting anything."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"bundle {path} does not exist; build it with `talkies export`")
    where = f"{path}/{MANIFEST}"
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path} is neither a bundle directory nor a zip")
        try:
            with zipfile.ZipFile(path) as archive:
                _check_zip(archive, path)
                if MANIFEST not in archive.namelist():
                    raise BundleError(f"{path}: no {MANIFEST}; this is not a talkies bundle")
                raw = _read_member(archive, MANIFEST, MANIFEST_MAX_BYTES, path)
        except BundleError:
            raise
        except Exception as exc:  # zipfile raises many kinds on hostile bytes: all mean a broken bundle
            raise BundleError(f"{path}: unreadable zip ({type(exc).__name__}: {one_line(exc)})") from exc
    else:
        manifest = path / MANIFEST
        if manifest.is_symlink() or not manifest.is_file():
            raise BundleError(f"{path}: no {MANIFEST} (or it is a link); this is not a talkies bundle")
        if manifest.stat().st_size > MANIFEST_MAX_BYTES:
            raise BundleError(f"{manifest}: {manifest.stat().st_size} bytes (at most {MANIFEST_MAX_BYTES}); "
                              "not a talkies manifest")
        raw = manifest.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{where}: invalid JSON ({type(exc).__name__}: {one_line(exc)[:200]})") from exc
    return BundleManifest.from_dict(data, where=where)


class Bundle:
    """A bundle opened from a directory or a zip (extracted to a private temp dir). Opening it checks the
    manifest and every file's sha256 (cached per file), so no model reaches a backend unverified."""

    def __init__(self, path: str | os.PathLike, *, verify: bool = True):
        self.source = Path(path)
        self._tmp: str | None = None
        self.manifest = read_manifest(self.source)  # limits and schema before anything is extracted
        if self.source.is_file():
            self._tmp = tempfile.mkdtemp(prefix="talkies-bundle-")
            try:
                with zipfile.ZipFile(self.source) as archive:
                    safe_extract(archive, Path(self._tmp), self.source)
            except BundleError:
                self.close()
                raise
            except Exception as exc:  # hostile bytes: every failure of the zip reader is a broken bundle
                self.close()
                raise BundleError(f"{self.source}: unreadable zip ({type(exc).__name__}: {one_line(exc)})") from exc
            except BaseException:
                self.close()
                raise
            self.root = Path(self._tmp)
        else:
            self.root = self.source
        if verify:
            try:
                self.verify_files()
            except BaseException:
                self.close()
                raise

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
        """Every listed file present, inside the bundle, no link, with its sha256; nothing unlisted."""
        listed = {f.path for f in self.manifest.files}
        root = self.root.resolve()
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if path.is_symlink():
                raise BundleError(f"{self.source}: {rel} is a symbolic link; bundles never contain links")
            if path.is_file() and rel != MANIFEST and rel not in listed:
                raise BundleError(f"{self.source}: {rel} is not listed in the manifest")
            if path.suffix in (".pkl", ".pickle", ".pt", ".pth"):
                raise BundleError(f"{self.source}: {rel} is a pickle; bundles never contain pickle")
        for entry in self.manifest.files:
            path = self.root / entry.path
            if not path.resolve().is_relative_to(root):
                raise BundleError(f"{self.source}: {entry.path} leaves the bundle")
            if not path.is_file():
                raise BundleError(f"{self.source}: missing file {entry.path}")
            if verified_sha256(path) != entry.sha256:
                raise BundleError(f"{self.source}: {entry.path} has been modified (sha256 mismatch); "
                                  "re-export or re-download the bundle")

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
