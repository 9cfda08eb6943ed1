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


def _open_container(path: Path, options: dict[str, str] | None = None):
    import av

    try:
        return av.open(str(path), options=options or {})
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


#: WAV packets of up to 16 KB (FFmpeg's WAV demuxer reads 2 KB by default): an hour of 16 kHz speech
#: decodes in 7,000 frames instead of 56,000, 0.18 s instead of 1.2 s here, to the same samples. Larger
#: packets make opening slower (FFmpeg probes 5 MB of packets: 23 ms at 16 KB, 270 ms at 256 KB). Other
#: demuxers ignore the option.
WAV_PACKETS = {"max_size": str(1 << 14)}


def iter_audio(path: str | os.PathLike, *, sample_rate: int = 16000, block: int = 16000) -> Iterator[np.ndarray]:
    """Mono float32 PCM at `sample_rate`, in blocks of `block` samples (the last may be shorter)."""
    import av

    path = _existing(path)
    container = _open_container(path, WAV_PACKETS)
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


def write_wav(path: str | os.PathLike, pcm: np.ndarray, sample_rate: int) -> Path:
    """Mono float PCM (-1..1) as a 16-bit WAV, atomically (the speech beside a talking-head GLB)."""
    import wave

    from talkies.io import atomic_path

    data = (np.clip(np.asarray(pcm, np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(int(sample_rate))
            out.writeframes(data.tobytes())
    return Path(path)


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
    for t, frame in iter_video_frames(path):
        yield t, frame.to_ndarray(format="rgb24")


def iter_video_frames(path: str | os.PathLike) -> Iterator[tuple[float, "av.VideoFrame"]]:  # noqa: F821
    """(timestamp in s, decoded PyAV frame) for every frame: for a caller that keeps the frame's own
    planes (frame_yuv420) beside its RGB."""
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
                yield (float(frame.pts * stream.time_base) if frame.pts is not None else i / fps), frame
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: video could not be decoded ({exc})") from exc
    finally:
        container.close()


# FFmpeg's AVColorSpace values → the matrix (talkies.kernels.yuv standard) libswscale applies for them;
# anything else (unspecified, BT.470BG, SMPTE 170M, FCC) converts as BT.601, as libswscale does.
_MATRICES = {1: "bt709", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
_FULL_RANGE_FORMATS = {"yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p"}


@dataclass(frozen=True)
class VideoColour:
    """How a video's YUV code values map to RGB, and the tags an encoder copies so that players (and
    talkies' own decoding) read re-encoded planes as they read the source's."""

    standard: str = "bt601"
    """The YUV matrix, a talkies.kernels.yuv standard."""
    full_range: bool = False
    colorspace: int = 2
    """FFmpeg's colour tags (AVColorSpace, AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic;
    2 = unspecified, but 0 for the range)."""
    color_range: int = 0
    primaries: int = 2
    trc: int = 2

    @classmethod
    def of_frame(cls, frame) -> "VideoColour":
        """The colour of a decoded PyAV frame."""
        space, tagged = int(frame.colorspace or 2), int(frame.color_range or 0)
        return cls(_MATRICES.get(space, "bt601"), tagged == 2 or frame.format.name in _FULL_RANGE_FORMATS, space,
                   tagged, int(frame.color_primaries or 2), int(frame.color_trc or 2))

    def matrix(self) -> np.ndarray:
        from talkies.kernels import yuv_matrix

        return yuv_matrix(self.standard, full_range=self.full_range)


def yuv420_planes(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views (Y, U, V) into a (height·3/2, width) frame buffer as frame_yuv420 makes."""
    rows, width = buffer.shape
    height = rows * 2 // 3
    flat = buffer.reshape(-1)
    luma, chroma = width * height, (width // 2) * (height // 2)
    return (flat[:luma].reshape(height, width), flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:luma + 2 * chroma].reshape(height // 2, width // 2))


def frame_yuv420(frame, width: int, height: int) -> np.ndarray:
    """A decoded PyAV frame's 8-bit 4:2:0 planes in one (height·3/2, width) uint8 buffer (Y, U, V, as
    PyAV's yuv420p arrays), cropped to width×height (even). Other pixel formats are converted first,
    keeping their range: the planes are the source's own, for an encoder to take unchanged."""
    if width % 2 or height % 2 or width > frame.width or height > frame.height:
        raise InputError(f"a 4:2:0 buffer needs an even size within the {frame.width}×{frame.height} frame, "
                         f"got {width}×{height}")
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        kept = "JPEG" if VideoColour.of_frame(frame).full_range else "MPEG"
        frame = frame.reformat(format="yuv420p", src_color_range=kept, dst_color_range=kept)
    out = np.empty((height * 3 // 2, width), np.uint8)
    flat = out.reshape(-1)
    start = 0
    for plane, (w, h) in zip(frame.planes, ((width, height), (width // 2, height // 2), (width // 2, height // 2))):
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        flat[start:start + w * h].reshape(h, w)[...] = rows[:h, :w]
        start += w * h
    return out


class VideoWriter:
    """H.264 (yuv420p) + AAC MP4 through PyAV. Use talkies.io.atomic_path for the destination.

    Frames are RGB (write) or, with `colour` given, the source's own 4:2:0 planes (write_yuv420), which
    the encoder takes as they are, tagged with that colour: no conversion either way."""

    def __init__(self, path: str | os.PathLike, *, width: int, height: int, fps: int,
                 audio: np.ndarray | None = None, sample_rate: int = 16000, crf: int = 23,
                 preset: str = "veryfast", metadata: dict[str, str] | None = None, threads: int = 0,
                 colour: VideoColour | None = None):
        import av

        if width % 2 or height % 2:
            raise InputError(f"H.264 needs even frame sizes, got {width}×{height}")
        self._av = av
        self.width, self.height = width, height
        self.container = av.open(str(path), mode="w", format="mp4")
        for key, value in (metadata or {}).items():
            self.container.metadata[key] = value
        self.video = self.container.add_stream("libx264", rate=fps)
        # full-range planes go in as yuvj420p, so that decoders (libswscale) read them as full range
        self._pix_fmt = "yuvj420p" if colour is not None and colour.full_range else "yuv420p"
        self.video.width, self.video.height, self.video.pix_fmt = width, height, self._pix_fmt
        self.video.options = {"crf": str(crf), "preset": preset}
        if colour is not None:
            ctx = self.video.codec_context
            ctx.colorspace, ctx.color_primaries, ctx.color_trc = colour.colorspace, colour.primaries, colour.trc
            ctx.color_range = colour.color_range or (2 if colour.full_range else 0)
        self.colour = colour
        if threads:
            self.video.codec_context.thread_count = threads
        self.audio_pcm = audio
        self.sample_rate = sample_rate
        self.audio = self.container.add_stream("aac", rate=sample_rate) if audio is not None else None
        if self.audio is not None:
            self.audio.layout = "mono"

    def write(self, frame: np.ndarray) -> None:
        if self.colour is not None:
            raise InputError("this VideoWriter takes 4:2:0 planes (it was opened with a colour); call write_yuv420")
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[..., :3]), format="rgb24")
        for packet in self.video.encode(vf):
            self.container.mux(packet)

    def write_yuv420(self, buffer: np.ndarray) -> None:
        """One frame from a (height·3/2, width) uint8 buffer of 4:2:0 planes (see frame_yuv420)."""
        if self.colour is None:
            raise InputError("this VideoWriter takes RGB frames (it was opened without a colour); call write")
        if buffer.shape != (self.height * 3 // 2, self.width) or buffer.dtype != np.uint8:
            raise InputError(f"a {self.width}×{self.height} 4:2:0 frame is a ({self.height * 3 // 2}, {self.width}) "
                             f"uint8 buffer, got {buffer.dtype} {buffer.shape}")
        vf = self._av.VideoFrame.from_ndarray(buffer, format=self._pix_fmt)
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
