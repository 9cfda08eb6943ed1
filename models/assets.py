"""Every model family's assets in one place, for `talkies models` and `talkies models fetch`."""

from __future__ import annotations

from pathlib import Path

from talkies.models.mediapipe.assets import MODEL_ASSETS, fetch_face_models, list_assets

__all__ = ["MODEL_ASSETS", "fetch_all", "list_assets"]


def fetch_all(force: bool = False) -> dict[str, Path]:
    """Fetch what must be downloaded; shipped assets (the lip-sync weights) are already in place."""
    return fetch_face_models(force=force)
