"""Which source frame each dubbed frame shows (the length rules), and a reader that serves them in that
order, backwards too, with a bounded number of decoded frames in memory.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from talkies.errors import InputError
from talkies.runtime.media import frame_yuv420
from talkies.types import _Choice


class Fit(_Choice):
    """What happens when the new speech and the video differ in length."""

    LOOP = "loop"
    """Speech longer: the video continues back and forth (0 … N-1, N-2 … 0, 1 …). Shorter: the rest plays
    with the mouth closed."""
    FREEZE = "freeze"
    """Speech longer: the last frame is held (its mouth still speaking). Shorter: as LOOP."""
    TRIM = "trim"
    """The video ends where the shorter of the two ends."""


def output_frames(source_frames: int, speech_s: float, fps: float, fit: Fit) -> int:
    """How many frames the dubbed video has."""
    speech = max(1, int(round(speech_s * fps)))
    return min(source_frames, speech) if fit is Fit.TRIM else max(source_frames, speech)


def schedule(source_frames: int, frames: int, fit: Fit) -> np.ndarray:
    """(frames,) int64: the source frame shown at each output frame."""
    j = np.arange(frames, dtype=np.int64)
    if fit is Fit.LOOP and source_frames > 1:
        period = 2 * source_frames - 2
        k = j % period
        return np.where(k < source_frames, k, period - k)
    return np.minimum(j, source_frames - 1)


class SourceFrames:
    """Random access to a video's frames by index, as 4:2:0 buffers (media.frame_yuv420), cheap in playing
    order.

    Frames the caller already holds (`kept`: index → buffer, from its own decoding pass) are served
    from memory and the file is opened only for the others. Decoded frames are kept in a bounded cache.
    A frame behind the decoder (a backwards loop) is found by seeking to the keyframe before a window of
    `window` frames that ends at it and decoding that window forward, so playing backwards costs about
    one extra decode per frame and memory stays at `2 × window` frames whatever the clip's length or
    keyframe spacing.
    """

    def __init__(self, path: str | os.PathLike, timestamps: np.ndarray, size: tuple[int, int], *,
                 kept: Mapping[int, np.ndarray] | None = None, window: int = 48):
        self.path = Path(path)
        self.timestamps = np.asarray(timestamps, np.float64)
        self.size = size
        self.kept = kept or {}
        self.window = window
        self.container = None
        self._cache: OrderedDict[int, object] = OrderedDict()
        self._decoder = None
        self._next = 0  # index of the frame the decoder yields next

    def _open(self) -> None:
        import av

        self._av = av
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, ValueError) as exc:
            raise InputError(f"{self.path}: not a readable video file ({exc})") from exc
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"

    def close(self) -> None:
        if self.container is not None:
            self.container.close()

    def __enter__(self) -> "SourceFrames":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _index(self, frame, fallback: int) -> int:
        if frame.pts is None:
            return fallback
        t = float(frame.pts * self.stream.time_base)
        i = int(np.searchsorted(self.timestamps, t - 5e-4))
        return min(i, len(self.timestamps) - 1)

    def _seek(self, index: int) -> None:
        """Restart decoding at the keyframe at or before frame `index`."""
        if index == 0:
            self.container.seek(0, stream=self.stream, backward=True)
        else:
            pts = int(self.timestamps[index] / self.stream.time_base)
            self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        self._decoder = self.container.decode(self.stream)
        self._next = -1  # unknown until the first frame comes

    def _decode_to(self, index: int, keep_from: int) -> None:
        av = self._av
        while True:
            try:
                frame = next(self._decoder)
            except StopIteration:
                raise InputError(f"{self.path}: frame {index} could not be decoded (the file ends early)") from None
            except av.error.FFmpegError as exc:
                raise InputError(f"{self.path}: video could not be decoded ({exc})") from exc
            i = self._index(frame, self._next if self._next >= 0 else 0)
            self._next = i + 1
            if i >= keep_from:
                self._cache[i] = frame
                self._cache.move_to_end(i)
                while len(self._cache) > 2 * self.window:
                    self._cache.popitem(last=False)
            if i >= index:
                return

    def get(self, index: int) -> np.ndarray:
        """The (height·3/2, width) uint8 4:2:0 buffer of frame `index`; read it, never write it (a kept
        frame is served itself)."""
        buffer = self.kept.get(index)
        if buffer is not None:
            return buffer
        if self.container is None:
            self._open()
        frame = self._cache.get(index)
        if frame is None:
            if self._decoder is None or index < self._next or index > self._next + self.window:
                start = index if self._decoder is None or index >= self._next else max(0, index - self.window + 1)
                self._seek(start)
                self._decode_to(index, start)
            else:
                self._decode_to(index, self._next)
            frame = self._cache.get(index)
            if frame is None:
                raise InputError(f"{self.path}: frame {index} is missing from the stream")
        return frame_yuv420(frame, *self.size)


__all__ = ["Fit", "SourceFrames", "output_frames", "schedule"]
