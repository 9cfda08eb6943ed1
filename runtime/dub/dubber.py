"""VideoDubber: a real talking video re-lip-synced to new speech (audio, or a script voiced by TTS) → MP4.

Two streaming passes over the source, so memory stays bounded whatever the clip's length (only the
tracked landmarks, about 6 KB a frame, are kept):

1. track the chosen face frame by frame (FaceTracker, VIDEO mode);
2. decode again, and per frame re-shape the tracked mesh's jaw and mouth to the new speech's weights
   (runtime.dub.mouth), warp the pixels with it (the warp kernel touches only the triangles that move),
   paint the mouth's cavity and teeth where it opens wider than the source's, stamp the AI mark and
   encode. Frames where the face is lost pass through unchanged, and the effect fades in and out
   around them.

    with VideoDubber(VideoDubberOptions(fit="loop")) as dubber:
        result = dubber.dub_audio("talk.mp4", "new_speech.wav", "dubbed.mp4")

A photo as the source is animated as a talking photo instead (runtime.talking_photo).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from talkies import __version__
from talkies.errors import InputError
from talkies.io import atomic_path, check_writable, write_text_atomic
from talkies.kernels import warp
from talkies.log import get_logger, track
from talkies.runtime import media
from talkies.runtime.animator import METADATA_COMMENT, WATERMARK_TEXT, lip_gap, mouth_colours, paint_mouth, \
    stamp_watermark, watermark_patch
from talkies.runtime.blendshapes import Blendshape
from talkies.runtime.dub.frames import Fit, SourceFrames, output_frames, schedule
from talkies.runtime.dub.mouth import MouthRetarget
from talkies.runtime.face.selection import MIN_FACE_SIZE
from talkies.runtime.motion import FaceMotion
from talkies.runtime.talking_photo import SILENCE_RMS, load_audio
from talkies.runtime.visemes import ARKIT_MOUTH, VISEME_INDEX, VISEME_POSES
from talkies.runtime.warp_mesh import RINGS, build_mesh

log = get_logger(__name__)

#: Faces tracked at once while choosing one (more only when a higher index is asked for).
TRACKED_FACES = 4


@dataclass(kw_only=True)
class VideoDubberOptions:
    fit: Fit = Fit.LOOP
    """Length rule when the speech and the video differ (see Fit)."""
    mix_original: float = 0.0
    """Gain of the source's own audio mixed under the new speech (0 leaves it out, 1 keeps it whole)."""
    face: int | None = None
    """Which face to dub: its tracking id (faces numbered in order of appearance); None = the largest."""
    mouth_fill: bool = True
    """Paint a mouth cavity and teeth where the new mouth opens wider than the source's."""
    watermark: bool = True
    """A small visible "AI-generated" mark in the bottom-right corner."""
    watermark_text: str = WATERMARK_TEXT
    min_face_size: int = MIN_FACE_SIZE
    """Smallest face (landmark box height, pixels) that can be dubbed."""
    ramp_frames: int = 4
    """Frames over which the new mouth fades in after, and out before, a frame where the face is lost."""
    crf: int = 18
    """H.264 quality: low enough that the untouched pixels stay within about 40 dB of the source."""
    preset: str = "superfast"
    """x264 preset: at 720p superfast encodes twice as fast as veryfast at the same quality (larger files)."""
    threads: int = 0
    """Encoder threads (0: libx264 decides)."""

    def __post_init__(self) -> None:
        self.fit = Fit.parse(self.fit)
        face = self.face
        bad_face = face is not None and (isinstance(face, bool) or not isinstance(face, (int, np.integer)) or face < 0)
        for broken, rule, value in ((not 0.0 <= float(self.mix_original) <= 1.0, "mix_original must be in [0, 1]",
                                     self.mix_original),
                                    (bad_face, "face must be a face index >= 0", face),
                                    (self.min_face_size < 1, "min_face_size must be >= 1", self.min_face_size),
                                    (self.ramp_frames < 0, "ramp_frames must be >= 0", self.ramp_frames),
                                    (not 0 <= self.crf <= 51, "crf must be in [0, 51]", self.crf)):
            if broken:
                raise InputError(f"{rule}, got {value!r}")


@dataclass
class VideoDubberResult:
    path: Path
    frames: int
    duration: float
    size: tuple[int, int]
    """(width, height)."""
    fps: float
    target: FaceMotion
    """Per output frame: the speech weights the mouth was given (closures held on p/b/m; 0 after the speech)."""
    source_index: np.ndarray
    """(frames,) the source frame each output frame shows."""
    dubbed: np.ndarray
    """(frames,) bool: False where the face was lost and the source frame passed through."""
    motion: FaceMotion | None = None
    """The driving speech motion (100 fps) before sampling at the frame times."""
    subtitles: Path | None = None
    seconds: float = 0.0
    """Wall time of the whole call."""
    extras: dict = field(default_factory=dict)


@dataclass
class _Track:
    timestamps: np.ndarray
    landmarks: np.ndarray
    tracked: np.ndarray
    fps: float


def close_bilabials(weights: np.ndarray, visemes: np.ndarray | None) -> np.ndarray:
    """Lips that meet on p, b and m: where PP is the likeliest viseme, the mouth goes to the PP pose (in
    proportion to its probability) and mouthClose at least matches jawOpen. LipSync alone often leaves
    the jaw a little open there, and a real face's lips still touch."""
    if visemes is None or not len(weights):
        return weights
    pp = VISEME_INDEX["PP"]
    k = np.where(visemes.argmax(axis=1) == pp, np.clip((visemes[:, pp] - 0.4) / 0.4, 0.0, 1.0), 0.0)[:, None]
    cols = [Blendshape[n].value for n in ARKIT_MOUTH]
    out = weights.copy()
    out[:, cols] += k * (VISEME_POSES[pp][None] - out[:, cols])
    close, jaw = Blendshape.mouthClose.value, Blendshape.jawOpen.value
    out[:, close] = np.maximum(out[:, close], k[:, 0] * out[:, jaw])
    return out


def _strength(tracked: np.ndarray, ramp: int) -> np.ndarray:
    """Per source frame, 0 where the face is lost rising to 1 `ramp` frames away from any such frame."""
    if tracked.all() or ramp == 0:
        return tracked.astype(np.float32)
    lost = np.flatnonzero(~tracked)
    i = np.arange(len(tracked))
    pos = np.clip(np.searchsorted(lost, i), 1, len(lost)) - 1
    near = np.minimum(np.abs(i - lost[pos]), np.abs(i - lost[np.minimum(pos + 1, len(lost) - 1)]))
    return np.clip(near / ramp, 0.0, 1.0).astype(np.float32)


class VideoDubber:
    """Re-lip-sync one face of a video to new speech. See the module docstring for the pipeline."""

    def __init__(self, options: VideoDubberOptions | None = None, *, models=None):
        from talkies.runtime.face.sessions import FaceModels

        self.options = options or VideoDubberOptions()
        self._owns_models = models is None
        self.models = models or FaceModels.from_mediapipe()

    def close(self) -> None:
        if self._owns_models:
            self.models.close()

    def __enter__(self) -> "VideoDubber":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the pipelines ------------------------------------------------------------------------------

    def dub_audio(self, video: str | os.PathLike, audio: str | os.PathLike, output: str | os.PathLike
                  ) -> VideoDubberResult:
        """Dub `video` with the speech of any audio or video file (its audio track), lip-synced by LipSync."""
        from talkies.runtime.speech_motion import motion_from_audio

        t0 = time.perf_counter()
        output = check_writable(output)
        if media.is_image(video):
            return self._photo(video, output, audio=audio)
        info = media.video_info(video)
        pcm, rate = load_audio(audio)
        if float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) < SILENCE_RMS:
            raise InputError(f"{audio}: the new audio is silent; give a recording of the new speech")
        face = self._track(video, info)
        return self.dub(video, output, motion_from_audio(pcm, rate), pcm, rate, track_=face, started=t0,
                        source=Path(audio).name)

    def dub_text(self, video: str | os.PathLike, text: str, output: str | os.PathLike, *, voice: str = "af_heart",
                 rate: int = 175, pitch: int = 50, srt: bool = True) -> VideoDubberResult:
        """Dub `video` with a script voiced by text to speech; its phone timings drive the mouth, and an .srt
        subtitle file is written beside the video (unless `srt` is False)."""
        from talkies.runtime import tts
        from talkies.runtime.formats import srt_subtitles
        from talkies.runtime.speech import motion_from_phones

        t0 = time.perf_counter()
        output = check_writable(output)
        srt_path = check_writable(output.with_suffix(".srt")) if srt else None
        if media.is_image(video):
            return self._photo(video, output, text=text, voice=voice, rate=rate, pitch=pitch, srt=srt)
        info = media.video_info(video)
        speech = tts.synthesize(text, voice=voice, rate=rate, pitch=pitch)
        face = self._track(video, info)
        result = self.dub(video, output, motion_from_phones(speech), speech.float32(), speech.sample_rate,
                          track_=face, started=t0, source=text[:60])
        if srt_path is not None:
            result.subtitles = write_text_atomic(srt_path, srt_subtitles(text, speech))
        return result

    def dub(self, video: str | os.PathLike, output: str | os.PathLike, motion: FaceMotion, audio: np.ndarray,
            sample_rate: int, *, track_: _Track | None = None, started: float | None = None,
            source: str = "") -> VideoDubberResult:
        """Dub `video` with any speech FaceMotion and the audio to play with it."""
        t0 = time.perf_counter() if started is None else started
        output = check_writable(output)
        info = media.video_info(video)
        face = track_ or self._track(video, info)
        t_track = time.perf_counter()
        opts = self.options
        fps = face.fps
        n_out = output_frames(len(face.timestamps), len(audio) / sample_rate, fps, opts.fit)
        index = schedule(len(face.timestamps), n_out, opts.fit)
        times = np.arange(n_out) / fps
        sampled = motion.sample(times)
        target = close_bilabials(sampled.weights, sampled.visemes)
        target[times >= motion.duration] = 0.0  # after the speech, the mouth rests closed
        strength = _strength(face.tracked, opts.ramp_frames)
        soundtrack = self._soundtrack(audio, sample_rate, n_out / fps, video, info.has_audio)
        renderer = _Renderer(face, opts, info.width, info.height)
        width, height = renderer.width, renderer.height
        tags = {"comment": METADATA_COMMENT, "description": METADATA_COMMENT, "encoder": f"talkies {__version__}",
                "title": f"talkies: dubbed {Path(video).name}" + (f" with {source}" if source else "")}
        with SourceFrames(video, face.timestamps) as frames:
            renderer.pick_colours(frames)
            with atomic_path(output, suffix=".mp4") as tmp:
                with media.VideoWriter(tmp, width=width, height=height, fps=Fraction(fps).limit_denominator(1001),
                                       audio=soundtrack, sample_rate=sample_rate, crf=opts.crf, preset=opts.preset,
                                       metadata={k: v[:120] for k, v in tags.items()}, threads=opts.threads
                                       ) as writer:
                    for j in track(range(n_out), "dubbing", total=n_out):
                        k = int(index[j])
                        writer.write(renderer.frame(frames.get(k), k, target[j], float(strength[k])))
        dubbed = strength[index] > 0
        end = time.perf_counter()
        return VideoDubberResult(
            path=output, frames=n_out, duration=n_out / fps, size=(width, height), fps=fps,
            target=FaceMotion(times, target, fps=fps, tracked=dubbed), source_index=index, dubbed=dubbed,
            motion=motion, seconds=end - t0,
            extras={"source_frames": len(face.timestamps), "speech_s": len(audio) / sample_rate,
                    "track_s": round(t_track - t0, 3), "render_s": round(end - t_track, 3)})

    # --- parts --------------------------------------------------------------------------------------

    def _track(self, video: str | os.PathLike, info: media.VideoInfo) -> _Track:
        """Track the chosen face through the whole clip (NoFaceError when there is none)."""
        from talkies.runtime.face import FaceTrackerOptions, track_video
        from talkies.runtime.face.selection import face_height

        index = self.options.face
        options = FaceTrackerOptions(num_faces=max(TRACKED_FACES, (index or 0) + 1))
        motions = track_video(video, options, models=self.models, keep_landmarks=True)
        if index is None:
            chosen = max(motions, key=lambda m: float(np.mean(np.ptp(m.extras["landmarks"][:, :, 1], axis=1)))
                         * float(np.mean(m.tracked)))
        else:
            chosen = next((m for m in motions if m.face_id == index), None)
            if chosen is None:
                raise InputError(f"face {index}: {video} has {len(motions)} face(s), numbered 0-{len(motions) - 1} "
                                 "in order of appearance")
        landmarks = chosen.extras["landmarks"]
        size = float(np.median([face_height(landmarks[i]) for i in np.flatnonzero(chosen.tracked)]))
        if size < self.options.min_face_size:
            raise InputError(f"the face in {video} is only {size:.0f} px tall; talkies needs at least "
                             f"{self.options.min_face_size} px to dub it: use a closer or higher-resolution video")
        return _Track(np.asarray(chosen.timestamps), landmarks, np.asarray(chosen.tracked, bool), info.fps)

    def _soundtrack(self, pcm: np.ndarray, rate: int, seconds: float, video: str | os.PathLike,
                    has_audio: bool) -> np.ndarray:
        """The new speech, cut or padded with silence to the video, with the source's audio mixed under it."""
        n = int(round(seconds * rate))
        out = np.zeros(n, np.float32)
        out[:min(n, len(pcm))] = pcm[:n]
        gain = float(self.options.mix_original)
        if gain > 0 and has_audio:
            original = media.read_audio(video, sample_rate=rate)[:n]
            out[:len(original)] += gain * original
        elif gain > 0:
            log.warning("%s has no audio track to mix under the new speech", video)
        return np.clip(out, -1.0, 1.0)

    def _photo(self, photo, output: Path, *, audio=None, text: str | None = None, **speech) -> VideoDubberResult:
        """A photo as the source: a talking photo (the length rules and audio mix do not apply)."""
        from talkies.runtime.animator import PhotoAnimatorOptions
        from talkies.runtime.talking_photo import animate_audio, animate_text

        opts = PhotoAnimatorOptions(face=self.options.face, watermark=self.options.watermark,
                                    watermark_text=self.options.watermark_text, mouth_fill=self.options.mouth_fill,
                                    min_face_size=self.options.min_face_size, crf=self.options.crf,
                                    preset=self.options.preset, threads=self.options.threads)
        if text is None:
            report = animate_audio(photo, audio, output, opts, models=self.models)
        else:
            report = animate_text(photo, text, output, opts, models=self.models, **speech)
        fps = float(opts.fps)
        return VideoDubberResult(path=report.path, frames=report.frames, duration=report.duration, size=report.size,
                                 fps=fps, target=report.plan, source_index=np.zeros(report.frames, np.int64),
                                 dubbed=np.ones(report.frames, bool), motion=report.motion,
                                 subtitles=report.subtitles, seconds=report.seconds, extras={"photo": True})


class _Renderer:
    """One dubbed frame from a source frame, its tracked landmarks and the new mouth weights."""

    def __init__(self, face: _Track, options: VideoDubberOptions, width: int, height: int):
        from talkies.runtime.rig import FaceRig

        self.face, self.options = face, options
        self.width, self.height = width - width % 2, height - height % 2  # H.264 needs even sizes
        self.rig = FaceRig.load()
        self.retarget = MouthRetarget(self.rig, face.landmarks, face.tracked)
        self._wm = watermark_patch(options.watermark_text, self.height) if options.watermark else None
        self._out = np.empty((self.height, self.width, 3), np.uint8)
        self.cavity = self.teeth = None

    def pick_colours(self, frames: SourceFrames) -> None:
        """Cavity and teeth colours from the frame where the source's mouth is most open (its own teeth)."""
        tracked = np.flatnonzero(self.face.tracked)
        gaps = np.array([lip_gap(self.face.landmarks[i]) for i in tracked])
        k = int(tracked[int(np.argmax(gaps))])
        points = self.face.landmarks[k]
        self.cavity, self.teeth = mouth_colours(frames.get(k), points, self.retarget.scale(points))

    def frame(self, image: np.ndarray, k: int, weights: np.ndarray, strength: float) -> np.ndarray:
        image = image[:self.height, :self.width]
        if strength > 0:
            points = self.face.landmarks[k]
            face, scale = self.retarget.retarget(points, weights, strength)
            mesh = build_mesh(points, self.rig.triangles, self.width, self.height)
            dst = mesh.src.copy()
            dst[:len(face)] = face[:, :2]
            jaw = dst[mesh.oval] - mesh.src[mesh.oval]  # the skin just outside the face follows the jaw a little
            for sl, (_, _, _, follow_jaw) in zip(mesh.ring_slices, RINGS):
                dst[sl] = mesh.src[sl] + follow_jaw * jaw
            out = warp(image, mesh.src, dst, mesh.triangles, min_motion=0.02, out=self._out)
            if self.options.mouth_fill:
                paint_mouth(out, face, gap0=lip_gap(points), scale=scale, cavity_colour=self.cavity,
                            teeth_colour=self.teeth)
        else:
            out = self._out
            out[...] = image
        if self._wm is not None:
            stamp_watermark(out, self._wm)
        return out


__all__ = ["Fit", "VideoDubber", "close_bilabials", "VideoDubberOptions", "VideoDubberResult"]
