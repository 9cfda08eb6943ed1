"""Media I/O: images through Pillow, audio and video through PyAV (FFmpeg). Decoding streams, so an hour
of audio or video is read in bounded memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkies.errors import InputError

MAX_IMAGE_SIDE = 3840  # photos beyond 4K are downscaled on load
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    return path


def is_image(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


# A photo decodes to about 3 bytes per pixel: beyond this many pixels only a JPEG (decoded at a reduced
# scale) is read; anything else would take gigabytes, so it is refused with what to do.
MAX_DECODE_PIXELS = 64_000_000


@dataclass(frozen=True)
class Photo:
    """A decoded photo and how its pixels map back to the file's: original = decoded × scale."""

    pixels: np.ndarray
    """RGB uint8 H×W×3, EXIF rotation applied, at most MAX_IMAGE_SIDE on its long side."""
    scale: tuple[float, float]
    """(x, y) original pixels per decoded pixel (1, 1 unless the photo was shrunk on load)."""
    original_size: tuple[int, int]
    """(width, height) of the photo as stored, after EXIF rotation."""


def open_photo(path: str | os.PathLike, *, max_side: int = MAX_IMAGE_SIDE) -> Photo:
    """Decode a photo within a memory cap: a large JPEG decodes at a reduced scale (libjpeg's DCT
    scaling), others beyond MAX_DECODE_PIXELS are refused; larger than `max_side` is downscaled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = _existing(path)
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_DECODE_PIXELS and img.format != "JPEG":
                raise InputError(f"{path}: {width}×{height} is too large to decode ({width * height / 1e6:.0f} "
                                 f"megapixels, at most {MAX_DECODE_PIXELS / 1e6:.0f} unless JPEG); downscale it")
            if max(width, height) > max_side and img.format == "JPEG":
                shrink = max_side / max(width, height)
                img.draft("RGB", (int(width * shrink) + 1, int(height * shrink) + 1))
            img = ImageOps.exif_transpose(img).convert("RGB")
            long_side, short_side = max(width, height), min(width, height)  # EXIF may have turned it
            original = (long_side, short_side) if img.width >= img.height else (short_side, long_side)
            if max(img.size) > max_side:
                shrink = max_side / max(img.size)
                img = img.resize((round(img.width * shrink), round(img.height * shrink)), Image.Resampling.LANCZOS)
            pixels = np.asarray(img, dtype=np.uint8).copy()
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: too large to decode ({exc}); downscale it") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable image ({exc}); give a JPEG or PNG photo") from exc
    h, w = pixels.shape[:2]
    return Photo(pixels, (original[0] / w, original[1] / h), original)


def read_image(path: str | os.PathLike, *, max_side: int = MAX_IMAGE_SIDE) -> np.ndarray:
    """An RGB uint8 H×W×3 array; EXIF rotation applied; larger than `max_side` is downscaled."""
    return open_photo(path, max_side=max_side).pixels


def _open_container(path: Path):
    import av

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable audio/video file ({exc})") from exc


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    duration: float | None


def audio_info(path: str | os.PathLike) -> AudioInfo:
    path = _existing(path)
    with _open_container(path) as container:
        if not container.streams.audio:
            raise InputError(f"{path}: has no audio track; give a file with sound")
        stream = container.streams.audio[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return AudioInfo(stream.rate or stream.sample_rate, stream.channels, duration)


def iter_audio(path: str | os.PathLike, *, sample_rate: int = 16000, block: int = 16000) -> Iterator[np.ndarray]:
    """Mono float32 PCM at `sample_rate`, in blocks of `block` samples (the last may be shorter)."""
    import av

    path = _existing(path)
    container = _open_container(path)
    try:
        if not container.streams.audio:
            raise InputError(f"{path}: has no audio track; give a file with sound")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pending: list[np.ndarray] = []
        size = 0
        try:
            frames = container.decode(stream)
            for frame in frames:
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    size += pending[-1].size
                while size >= block:
                    data = np.concatenate(pending)
                    yield data[:block].astype(np.float32, copy=False)
                    pending, size = [data[block:]], data.size - block
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: audio could not be decoded ({exc})") from exc
        rest = np.concatenate(pending) if pending else np.zeros(0, np.float32)
        for start in range(0, rest.size, block):
            yield rest[start:start + block].astype(np.float32, copy=False)
    finally:
        container.close()


def read_audio(path: str | os.PathLike, *, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track as mono float32 PCM at `sample_rate` (use iter_audio for long files)."""
    blocks = list(iter_audio(path, sample_rate=sample_rate, block=sample_rate * 10))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int | None
    duration: float | None
    has_audio: bool


def video_info(path: str | os.PathLike) -> VideoInfo:
    path = _existing(path)
    with _open_container(path) as container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video track")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        duration = float(stream.duration * stream.time_base) if stream.duration else (
            container.duration / 1_000_000 if container.duration else None)
        frames = stream.frames or (round(duration * fps) if duration else None)
        return VideoInfo(stream.codec_context.width, stream.codec_context.height, fps, frames, duration,
                         bool(container.streams.audio))


def iter_video(path: str | os.PathLike) -> Iterator[tuple[float, np.ndarray]]:
    """(timestamp in s, RGB uint8 frame) for every frame, decoded one at a time."""
    import av

    path = _existing(path)
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise InputError(f"{path}: has no video track")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or 25)
        try:
            for i, frame in enumerate(container.decode(stream)):
                t = float(frame.pts * stream.time_base) if frame.pts is not None else i / fps
                yield t, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: video could not be decoded ({exc})") from exc
    finally:
        container.close()


class VideoWriter:
    """H.264 (yuv420p) + AAC MP4 through PyAV. Use talkies.io.atomic_path for the destination."""

    def __init__(self, path: str | os.PathLike, *, width: int, height: int, fps: int,
                 audio: np.ndarray | None = None, sample_rate: int = 16000, crf: int = 23,
                 preset: str = "veryfast", metadata: dict[str, str] | None = None, threads: int = 0):
        import av

        if width % 2 or height % 2:
            raise InputError(f"H.264 needs even frame sizes, got {width}×{height}")
        self._av = av
        self.container = av.open(str(path), mode="w", format="mp4")
        for key, value in (metadata or {}).items():
            self.container.metadata[key] = value
        self.video = self.container.add_stream("libx264", rate=fps)
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.options = {"crf": str(crf), "preset": preset}
        if threads:
            self.video.codec_context.thread_count = threads
        self.audio_pcm = audio
        self.sample_rate = sample_rate
        self.audio = self.container.add_stream("aac", rate=sample_rate) if audio is not None else None
        if self.audio is not None:
            self.audio.layout = "mono"

    def write(self, frame: np.ndarray) -> None:
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[..., :3]), format="rgb24")
        for packet in self.video.encode(vf):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.video.encode():
            self.container.mux(packet)
        if self.audio is not None and self.audio_pcm is not None:
            self._write_audio(self.audio_pcm)
        self.container.close()

    def _write_audio(self, pcm: np.ndarray) -> None:
        step = 1024 * 16
        pts = 0
        pcm = np.clip(np.asarray(pcm, np.float32), -1, 1)
        for start in range(0, len(pcm), step):
            chunk = pcm[start:start + step].reshape(1, -1)
            frame = self._av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.pts = pts
            pts += chunk.shape[1]
            for packet in self.audio.encode(frame):
                self.container.mux(packet)
        for packet in self.audio.encode():
            self.container.mux(packet)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.container.close()
