"""Every model family's assets in one place, for `talkies models` and `talkies models fetch`."""

from __future__ import annotations

from pathlib import Path

from talkies.models.kokoro import assets as kokoro_assets
from talkies.models.mediapipe.assets import MODEL_ASSETS, ModelAsset, fetch_face_models, list_assets, register_asset
from talkies.runtime import kokoro

__all__ = ["MODEL_ASSETS", "fetch_all", "list_assets"]

register_asset(ModelAsset("kokoro", f"Kokoro-82M text-to-speech ({len(kokoro.VOICE_NAMES)} voices) from "
                          + kokoro_assets.SOURCE, kokoro_assets.LICENCE,
                          lambda: kokoro.kokoro_dir() / kokoro.MODEL_FILE))


def fetch_all(force: bool = False) -> dict[str, Path]:
    """Fetch what must be downloaded; shipped assets (the lip-sync weights) are already in place."""
    return {**fetch_face_models(force=force), **kokoro_assets.fetch_kokoro(force=force)}
