"""Pieces the tabs share: the face models (loaded once per studio), the voice list, upload checks for a
studio open to the network, numbered face boxes and a WAV writer."""

from __future__ import annotations

import functools
import threading
import wave
from pathlib import Path

import numpy as np

from talkies.errors import InputError

# Uploads when the studio listens beyond 127.0.0.1 (--host): at most this many MiB, of these types.
HOSTED_MAX_UPLOAD_MB = 200
UPLOAD_TYPES = {
    "photo": (".jpg", ".jpeg", ".png", ".webp", ".bmp"),
    "audio": (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac", ".webm", ".mp4"),
    "video": (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".jpg", ".jpeg", ".png"),
}

_limits = {"hosted": False}
_models: dict[str, object] = {}
_models_lock = threading.Lock()


def set_hosted(hosted: bool) -> None:
    """Turn the upload type checks on (the size cap is Gradio's max_file_size, set at launch)."""
    _limits["hosted"] = hosted


def is_hosted() -> bool:
    return _limits["hosted"]


def check_upload(path: str | None, kind: str) -> str | None:
    """The path, after a type check when hosted: an InputError names the accepted types."""
    if path is None or not _limits["hosted"]:
        return path
    suffix = Path(path).suffix.lower()
    if suffix not in UPLOAD_TYPES[kind]:
        raise InputError(f"{Path(path).name}: a {kind} must be one of {', '.join(UPLOAD_TYPES[kind])}")
    return path


def speech_source(script: str | None, audio: str | None) -> tuple[str, str | None]:
    """(script, audio) with exactly one given, as the CLI's --text / --audio rule; InputError otherwise."""
    audio = check_upload(audio, "audio")
    script = (script or "").strip()
    if bool(script) == bool(audio):
        raise InputError("give a script to speak or an audio file, not both" if script
                         else "give a script to speak or an audio file")
    return script, audio


def face_index(choice: str | int | None) -> int | None:
    """The face picker's value: None for "largest", else the face's number."""
    return None if choice in (None, "", "largest") else int(choice)


def face_models(purpose: str = "render"):
    """FaceModels as the CLI picks them (backend "auto"), one set per purpose, loaded once: the renders
    share one (they queue one at a time); face numbering on upload has its own, so it never runs a
    session at the same time as a render."""
    with _models_lock:
        if purpose not in _models:
            from talkies.bundles import face_models as load

            _models[purpose] = load("auto")
        return _models[purpose]


def voice_choices() -> list[tuple[str, str]]:
    """(label, value) for every voice, Kokoro's first; values are ENGINE:NAME as `talkies voices` lists."""
    return list(_voice_choices())


@functools.cache
def _voice_choices() -> tuple[tuple[str, str], ...]:
    from talkies.runtime import tts

    voices = sorted(tts.list_voices(), key=lambda v: (v.engine != "kokoro", not v.language.startswith("en"),
                                                      v.language, v.identifier))
    choices = []
    for v in voices:
        name = v.identifier if v.engine == "kokoro" else v.language
        gender = f", {v.gender}" if v.gender else ""
        choices.append((f"{name} · {v.engine} ({v.language}{gender})", f"{v.engine}:{name}"))
    return tuple(dict.fromkeys(choices))


def write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> Path:
    pcm16 = pcm if pcm.dtype == np.int16 else (np.clip(pcm, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(np.ascontiguousarray(pcm16).tobytes())
    return path


def numbered_faces(image: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
    """The photo with each face's box and its number (the index the renders take) drawn on it."""
    from PIL import Image, ImageDraw, ImageFont

    pil = Image.fromarray(image[..., :3])
    draw = ImageDraw.Draw(pil)
    side = max(pil.size)
    width = max(2, side // 250)
    font_px = max(14, side // 20)
    font = ImageFont.load_default(size=font_px)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = (float(v) for v in box)
        draw.rectangle((x0, y0, x1, y1), outline=(255, 200, 0), width=width)
        label = str(i)
        tx, ty = x0 + width, max(0.0, y0 - font_px * 1.2)
        bbox = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle(bbox, fill=(255, 200, 0))
        draw.text((tx, ty), label, fill=(0, 0, 0), font=font)
    return np.asarray(pil)


def draw_landmarks(image: np.ndarray, faces: list[np.ndarray]) -> np.ndarray:
    """Landmarks (N, 2+) in pixels drawn as small dots on a copy of the frame."""
    from PIL import Image, ImageDraw

    pil = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    draw = ImageDraw.Draw(pil)
    r = max(1.0, max(pil.size) / 400)
    for points in faces:
        for x, y in np.asarray(points)[:, :2]:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(0, 255, 120))
    return np.asarray(pil)


def downscale(image: np.ndarray, max_side: int = 640) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return np.asarray(Image.fromarray(image).resize((max(1, round(w * s)), max(1, round(h * s)))))


__all__ = ["HOSTED_MAX_UPLOAD_MB", "UPLOAD_TYPES", "check_upload", "downscale", "draw_landmarks", "face_index",
           "face_models", "is_hosted", "numbered_faces", "set_hosted", "speech_source", "voice_choices", "write_wav"]
