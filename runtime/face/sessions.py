"""The three face models (detector, landmarks, blend-shapes) as InferenceSessions, from bundles.

Bundles live in `bundle_dir` (default `$TALKIES_HOME/bundles`) as `<model>-<backend>-<precision>/`
(or `.zip`), the layout `talkies export face_landmarks --target <backend> --precision <p> -o DIR`
writes. `FaceModels.from_mediapipe()` runs the original MediaPipe .tflite files in LiteRT instead: the
reference the bundles are compared to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from talkies.errors import AssetError, BundleError
from talkies.runtime.face import constants as C
from talkies.runtime.bundle import Bundle, TensorInfo, default_bundle_dir, export_command, locate_bundle
from talkies.runtime.bundle import bundle_name as _bundle_name
from talkies.runtime.session import InferenceSession, LiteRTSession, default_threads, open_session
from talkies.types import Backend, Precision

MODEL_NAMES = C.FACE_TFLITE_MODELS
"""("face_detector", "face_landmarks", "face_blendshapes")."""

#: Output names per model, as bundle manifests name them (first entry of the I/O table is the input).
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    name: tuple(list(C.FACE_MODEL_IO_NAMES[name].values())[1:]) for name in MODEL_NAMES}
INPUT_NAMES: dict[str, str] = {name: next(iter(C.FACE_MODEL_IO_NAMES[name].values())) for name in MODEL_NAMES}
#: The shapes of the original tflite I/O, in order (input first).
_TFLITE_SHAPES: dict[str, list[list[int]]] = {
    "face_detector": [[1, 128, 128, 3], [1, 896, 16], [1, 896, 1]],
    "face_landmarks": [[1, 256, 256, 3], [1, 1, 1, 1434], [1, 1, 1, 1], [1, 1]],
    "face_blendshapes": [[1, 146, 2], [52]],
}


def bundle_name(model: str, backend: Backend | str, precision: Precision | str) -> str:
    return _bundle_name(model, Backend.parse(backend).value, Precision.parse(precision).value)


def face_export_command(backend: Backend | str, precision: Precision | str, bundle_dir: str | os.PathLike) -> str:
    """The command that builds the face bundles for `backend`/`precision` into `bundle_dir`."""
    return export_command("face_landmarks", Backend.parse(backend).value, Precision.parse(precision).value, bundle_dir)


def find_bundle(bundle_dir: Path, model: str, backend: Backend | str, precision: Precision | str) -> Path | None:
    return locate_bundle(model, Backend.parse(backend).value, Precision.parse(precision).value, [Path(bundle_dir)])


def missing_bundles(bundle_dir: str | os.PathLike | None, backend: Backend | str,
                    precision: Precision | str) -> list[str]:
    """Names of the face bundles absent from `bundle_dir` for this backend and precision."""
    root = Path(bundle_dir) if bundle_dir is not None else default_bundle_dir()
    return [bundle_name(m, backend, precision) for m in MODEL_NAMES
            if find_bundle(root, m, backend, precision) is None]


def output_names(session: InferenceSession, model: str) -> tuple[str, ...]:
    """The session's names for the model's outputs, in OUTPUT_NAMES order: the manifest's names when
    they match, else the original tflite tensor names, else the outputs in order."""
    names = session.output_names
    wanted = OUTPUT_NAMES[model]
    if all(w in names for w in wanted):
        return wanted
    raw = {v: k for k, v in C.FACE_MODEL_IO_NAMES[model].items()}
    if all(raw[w] in names for w in wanted):
        return tuple(raw[w] for w in wanted)
    if len(names) < len(wanted):
        raise BundleError(f"{session.path.name}: expected outputs {list(wanted)}, the model has {names}")
    return tuple(names[: len(wanted)])


@dataclass
class FaceModels:
    """Open sessions for the three face models."""

    detector: InferenceSession
    landmarks: InferenceSession
    blendshapes: InferenceSession
    backend: Backend
    precision: Precision
    source: str
    """Where the models came from (a bundle folder or the MediaPipe cache), for logs and reports."""
    _bundles: list[Bundle] = field(default_factory=list, repr=False)

    @classmethod
    def from_bundles(cls, bundle_dir: str | os.PathLike | None = None, backend: Backend | str = Backend.ONNX,
                     precision: Precision | str = Precision.FP32, *, threads: int | None = None) -> "FaceModels":
        backend, precision = Backend.parse(backend), Precision.parse(precision)
        root = Path(bundle_dir).expanduser() if bundle_dir is not None else default_bundle_dir()
        missing = missing_bundles(root, backend, precision)
        if missing:
            raise BundleError(
                f"face bundles {', '.join(missing)} are not in {root}; build them with "
                f"`{face_export_command(backend, precision, root)}` (or pass another bundle_dir)")
        threads = threads or default_threads()
        bundles, sessions = [], []
        try:
            for model in MODEL_NAMES:
                bundle = Bundle(find_bundle(root, model, backend, precision))  # type: ignore[arg-type]
                bundles.append(bundle)
                if Backend.parse(bundle.manifest.target) is not backend:
                    raise BundleError(f"{bundle.source}: its target is {bundle.manifest.target}, not {backend}")
                sessions.append(open_session(bundle.manifest, bundle.root, threads=threads))
        except BaseException:
            for bundle in bundles:
                bundle.close()
            raise
        return cls(*sessions, backend=backend, precision=precision, source=str(root), _bundles=bundles)

    @classmethod
    def from_mediapipe(cls, model_dir: str | os.PathLike | None = None, *, threads: int | None = None
                       ) -> "FaceModels":
        """The original MediaPipe .tflite models in LiteRT (from the asset cache, or `model_dir`)."""
        from talkies.runtime.face.model_files import face_model_path

        threads = threads or default_threads()
        sessions = []
        for model in MODEL_NAMES:
            if model_dir is not None:
                path = Path(model_dir) / C.FACE_MODEL_FILES[model]
                if not path.is_file():
                    raise AssetError(f"{path} does not exist; run `talkies models fetch`")
            else:
                path = face_model_path(model)
            sessions.append(tflite_session(model, path, threads=threads))
        return cls(*sessions, backend=Backend.LITERT, precision=Precision.FP32,
                   source=f"MediaPipe tflite ({sessions[0].path.parent})")

    def close(self) -> None:
        for bundle in self._bundles:
            bundle.close()
        self._bundles.clear()


def tflite_session(model: str, path: str | os.PathLike, *, threads: int = 1) -> LiteRTSession:
    """One original MediaPipe .tflite in LiteRT, its I/O named as the bundles name them (in tflite order)."""
    names = list(C.FACE_MODEL_IO_NAMES[model].values())
    infos = [TensorInfo(n, s) for n, s in zip(names, _TFLITE_SHAPES[model])]
    return LiteRTSession(Path(path), infos[:1], infos[1:], threads=threads)
