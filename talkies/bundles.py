"""Face model bundles on demand: find them, build the missing ones once when the export extra is
installed, and open the face models for a backend. This joins the runtime (which only reads bundles)
and the toolchain (which builds them), so it lives above both."""

from __future__ import annotations

import os
from pathlib import Path

from talkies.errors import BundleError, MissingDependencyError
from talkies.log import get_logger
from talkies.types import Backend, Precision

log = get_logger(__name__)


def ensure_face_bundles(bundle_dir: str | os.PathLike | None, backend: Backend | str,
                        precision: Precision | str) -> Path:
    """The bundle folder, after building any missing face bundle when the export extra is installed;
    BundleError naming the export command otherwise."""
    from talkies.runtime.face.sessions import MODEL_NAMES, bundle_name, default_bundle_dir, face_export_command, \
        missing_bundles

    root = Path(bundle_dir).expanduser() if bundle_dir else default_bundle_dir()
    missing = missing_bundles(root, backend, precision)
    if not missing:
        return root
    command = face_export_command(backend, precision, root)
    try:
        from talkies.targets.bundle_writer import export_bundle
    except ImportError as exc:
        raise BundleError(f"face bundles {', '.join(missing)} are not in {root}; build them with `{command}` "
                          f"(needs pip install 'talkies[export]': {exc})") from exc
    log.warning("building the face bundles %s in %s (once)", ", ".join(missing), root)
    for model in MODEL_NAMES:
        name = bundle_name(model, backend, precision)
        if name in missing:
            try:
                export_bundle(model, Backend.parse(backend).value, precision, root / name)
            except MissingDependencyError as exc:
                raise BundleError(f"cannot build {name}: {exc}; or build the bundles with `{command}`") from exc
    return root


def face_models(backend: str = "auto", precision: str = "auto", bundle_dir: str | os.PathLike | None = None,
                threads: int | None = None):
    """FaceModels for the tracker. "mediapipe": the original .tflite files in LiteRT (no bundles needed);
    "auto" (backend or precision): the fastest installed and verified choice within the accuracy budget,
    measured once on this machine (runtime.autoselect); an explicit backend and precision: its bundles
    (built on first use when the export extra is installed)."""
    from talkies.runtime.autoselect import MEDIAPIPE, select
    from talkies.runtime.face.sessions import FaceModels

    chosen = select("face", backend, precision, bundle_dir)
    if chosen.backend == MEDIAPIPE:
        return FaceModels.from_mediapipe(threads=threads)
    root = ensure_face_bundles(bundle_dir, chosen.backend, chosen.precision)
    return FaceModels.from_bundles(root, chosen.backend, chosen.precision, threads=threads)
