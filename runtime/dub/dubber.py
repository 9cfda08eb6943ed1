"""VideoDubber: a real talking video re-lip-synced to new speech (audio, or a script voiced by TTS) → MP4.

A short source is decoded once, and memory stays bounded whatever the clip's length:

1. decode and track the chosen face frame by frame (FaceTracker, VIDEO mode, landmarks only: about 6 KB
   a frame are kept), keeping the decoded frames' own 4:2:0 planes if they all fit in `frame_cache_mb`
   (a longer source is decoded again to render, so memory stays bounded whatever its length);
2. per output frame, take the source frame's planes, re-shape the tracked mesh's jaw and mouth to the
   new speech's weights (runtime.dub.mouth), and edit in RGB only the region that changes: read it out
   of the planes, warp its pixels with the mesh (only the triangles that move), paint the mouth's cavity
   and teeth where it opens wider than the source's, and write back the pixels the edit changed. The AI mark is blended
   into the planes, which go to the encoder as they are, tagged with the source's colour: everything
   else in the frame is the source's own decoded pixels, with no colour conversion either way. Frames
   where the face is lost pass through unchanged, and the effect fades in and out around them.

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
from talkies.kernels import rgb_into_yuv420, warp, yuv420_to_rgb
from talkies.log import get_logger, track
from talkies.runtime import media
from talkies.runtime.animator import METADATA_COMMENT, WATERMARK_TEXT, lip_gap, mouth_colours, paint_mouth, \
    watermark_patch
from talkies.runtime.blendshapes import Blendshape
from talkies.runtime.dub.frames import Fit, SourceFrames, output_frames, schedule
from talkies.runtime.dub.mouth import MouthRetarget
from talkies.runtime.face.selection import MIN_FACE_SIZE
from talkies.runtime.rig import INNER_LIP_LOOP
from talkies.runtime.motion import FaceMotion
from talkies.runtime.talking_photo import SILENCE_RMS, load_audio
from talkies.runtime.visemes import ARKIT_MOUTH, VISEME_INDEX, VISEME_POSES
from talkies.runtime.warp_mesh import RINGS, build_mesh

log = get_logger(__name__)

#: Faces tracked at once while choosing one (more only when a higher index is asked for).
TRACKED_FACES = 4
#: While fewer faces than that are in view, look for more every this many frames (a second at 30 fps:
#: a face that comes into view is found within it; the tracker's default, 10, runs the detector 3 times
#: as often for the same choice).
REDETECT_FRAMES = 30


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
    frame_cache_mb: int = 512
    """A source whose decoded frames fit in this many MB (4:2:0: 12 s of 720p) is decoded once, its frames
    kept from the tracking pass for rendering; a longer one is decoded twice (to track, then to render),
    which keeps memory bounded at little cost: its second decode is a small share of its time. 0 always
    decodes twice."""
    crf: int = 18
    """H.264 quality: low enough that the untouched pixels stay within about 40 dB of the source."""
    preset: str = "ultrafast"
    """x264 preset: at 720p ultrafast takes half superfast's CPU time (1.05 s against 1.90 s for 282 frames
    of s18 here) at 43.9 dB PSNR against 46.0 dB, for files 2.5 times larger (4.4 Mbit/s)."""
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
                                    (self.frame_cache_mb < 0, "frame_cache_mb must be >= 0", self.frame_cache_mb),
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
    colour: media.VideoColour
    size: tuple[int, int]
    """(width, height) of the output: the source's, cut to even numbers (H.264)."""
    kept: dict[int, np.ndarray] = field(default_factory=dict)
    """Source frame index → its 4:2:0 planes, kept from the tracking pass."""


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

    def __init__(self, options: VideoDubberOptions | None = None, *, models=None, lipsync=None):
        """`models` (face bundles) and `lipsync` (an open offline LipSync task) may be shared with other
        work, e.g. a batch worker's jobs; they are then not closed here."""
        from talkies.runtime.face.sessions import FaceModels

        self.options = options or VideoDubberOptions()
        self._owns_models = models is None
        self.models = models or FaceModels.from_mediapipe()
        self.lipsync = lipsync

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
        # lip-sync first: its working memory (about 400 MB for 10 minutes of speech) is freed before the
        # tracked landmarks (and, for a short source, its kept frames) take theirs
        motion = motion_from_audio(pcm, rate, self.lipsync)
        face = self._track(video, info)
        return self.dub(video, output, motion, pcm, rate, track_=face, started=t0, source=Path(audio).name)

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
        renderer = _Renderer(face, opts)
        width, height = face.size
        tags = {"comment": METADATA_COMMENT, "description": METADATA_COMMENT, "encoder": f"talkies {__version__}",
                "title": f"talkies: dubbed {Path(video).name}" + (f" with {source}" if source else "")}
        with SourceFrames(video, face.timestamps, face.size, kept=face.kept) as frames:
            renderer.pick_colours(frames)
            with atomic_path(output, suffix=".mp4") as tmp:
                with media.VideoWriter(tmp, width=width, height=height, fps=Fraction(fps).limit_denominator(1001),
                                       audio=soundtrack, sample_rate=sample_rate, crf=opts.crf, preset=opts.preset,
                                       metadata={k: v[:120] for k, v in tags.items()}, threads=opts.threads,
                                       colour=face.colour) as writer:
                    for j in track(range(n_out), "dubbing", total=n_out):
                        k = int(index[j])
                        writer.write_yuv420(renderer.frame(frames.get(k), k, target[j], float(strength[k])))
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
        options = FaceTrackerOptions(num_faces=max(TRACKED_FACES, (index or 0) + 1), output_face_blendshapes=False,
                                     redetect_interval=REDETECT_FRAMES)
        width, height = info.width - info.width % 2, info.height - info.height % 2  # H.264 needs even sizes
        kept: dict[int, np.ndarray] = {}
        colour: list[media.VideoColour] = []
        budget = self.options.frame_cache_mb * 2 ** 20
        frame_bytes = width * height * 3 // 2
        keep = budget >= frame_bytes * (info.frames or 1)

        def decoded():
            """The frames in RGB for the tracker, keeping their own planes on the way if they all fit."""
            nonlocal keep
            for i, (t, frame) in enumerate(media.iter_video_frames(video)):
                if not colour:
                    colour.append(media.VideoColour.of_frame(frame))
                if keep and (i + 1) * frame_bytes > budget:  # longer than its header said: decode it twice
                    keep = False
                    kept.clear()
                if keep:
                    kept[i] = media.frame_yuv420(frame, width, height)
                yield t, frame.to_ndarray(format="rgb24", threads=1)  # the tracker is one thread too

        motions = track_video(video, options, models=self.models, keep_landmarks=True, frames=decoded())
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
        return _Track(np.asarray(chosen.timestamps), landmarks, np.asarray(chosen.tracked, bool), info.fps,
                      colour[0], (width, height), kept)

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
            report = animate_audio(photo, audio, output, opts, models=self.models, lipsync=self.lipsync)
        else:
            report = animate_text(photo, text, output, opts, models=self.models, **speech)
        fps = float(opts.fps)
        return VideoDubberResult(path=report.path, frames=report.frames, duration=report.duration, size=report.size,
                                 fps=fps, target=report.plan, source_index=np.zeros(report.frames, np.int64),
                                 dubbed=np.ones(report.frames, bool), motion=report.motion,
                                 subtitles=report.subtitles, seconds=report.seconds, extras={"photo": True})


class _Renderer:
    """One dubbed frame, as 4:2:0 planes, from a source frame's planes, its tracked landmarks and the new
    mouth weights (see the module docstring)."""

    #: Vertices moving less than this (px) count as still: the warp leaves their triangles alone.
    MIN_MOTION = 0.02

    def __init__(self, face: _Track, options: VideoDubberOptions):
        from talkies.runtime.rig import FaceRig

        self.face, self.options = face, options
        self.width, self.height = face.size
        self.matrix = face.colour.matrix()
        self.rig = FaceRig.load()
        self.retarget = MouthRetarget(self.rig, face.landmarks, face.tracked)
        self._wm = _PlanarMark(watermark_patch(options.watermark_text, self.height), self.width, self.height,
                               self.matrix) if options.watermark else None
        self._out = np.empty((self.height * 3 // 2, self.width), np.uint8)
        self.cavity = self.teeth = None

    def pick_colours(self, frames: SourceFrames) -> None:
        """Cavity and teeth colours from the frame where the source's mouth is most open (its own teeth)."""
        tracked = np.flatnonzero(self.face.tracked)
        gaps = np.array([lip_gap(self.face.landmarks[i]) for i in tracked])
        k = int(tracked[int(np.argmax(gaps))])
        points = self.face.landmarks[k]
        image = yuv420_to_rgb(*media.yuv420_planes(frames.get(k)), (0, 0, self.width, self.height),
                              matrix=self.matrix)
        self.cavity, self.teeth = mouth_colours(image, points, self.retarget.scale(points))

    def frame(self, source: np.ndarray, k: int, weights: np.ndarray, strength: float) -> np.ndarray:
        out = self._out
        out[...] = source
        planes = media.yuv420_planes(out)
        if strength > 0:
            points = self.face.landmarks[k]
            face, scale = self.retarget.retarget(points, weights, strength)
            mesh = build_mesh(points, self.rig.triangles, self.width, self.height)
            dst = mesh.src.copy()
            dst[:len(face)] = face[:, :2]
            jaw = dst[mesh.oval] - mesh.src[mesh.oval]  # the skin just outside the face follows the jaw a little
            for sl, (_, _, _, follow_jaw) in zip(mesh.ring_slices, RINGS):
                dst[sl] = mesh.src[sl] + follow_jaw * jaw
            box = self._edit_box(mesh.src, dst, mesh.triangles, face)
            if box is not None:
                x0, y0 = box[:2]
                before = yuv420_to_rgb(*planes, box, matrix=self.matrix)
                shift = np.array([x0, y0], np.float32)
                edited = warp(before, mesh.src - shift, dst - shift, mesh.triangles, min_motion=self.MIN_MOTION)
                if self.options.mouth_fill:
                    local = face.copy()
                    local[:, :2] -= shift
                    paint_mouth(edited, local, gap0=lip_gap(points), scale=scale, cavity_colour=self.cavity,
                                teeth_colour=self.teeth)
                rgb_into_yuv420(edited, *planes, (x0, y0), matrix=self.matrix, unchanged=before)
        if self._wm is not None:
            self._wm.stamp(*planes)
        return out

    def _edit_box(self, src: np.ndarray, dst: np.ndarray, triangles: np.ndarray, face: np.ndarray
                  ) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1), even, of what the edit reads and writes: the moving triangles where they
        come from and go to (with the bilinear taps' reach) and the painted mouth; None when still."""
        moving = ((dst.astype(np.float64) - src) ** 2).sum(axis=1) > self.MIN_MOTION ** 2  # as the warp tests
        moved = moving[triangles].any(axis=1)
        if not moved.any():
            return None
        corners = triangles[moved].ravel()
        pts = np.concatenate([src[corners], dst[corners], face[list(INNER_LIP_LOOP), :2]])
        lo = np.floor(pts.min(axis=0)).astype(int) - 3
        hi = np.ceil(pts.max(axis=0)).astype(int) + 4
        x0, y0 = max(0, int(lo[0]) & ~1), max(0, int(lo[1]) & ~1)
        x1, y1 = min(self.width, (int(hi[0]) + 1) & ~1), min(self.height, (int(hi[1]) + 1) & ~1)
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


class _PlanarMark:
    """The visible AI mark (animator.watermark_patch, placed as stamp_watermark places it) blended
    straight into 4:2:0 planes. Blending commutes with the affine RGB → YUV map, so this is the RGB blend
    followed by the 2×2 chroma average, without converting the region: luma takes each pixel's alpha,
    chroma each block's mean alpha and mean of alpha × the mark's chroma."""

    def __init__(self, patch: tuple[np.ndarray, np.ndarray], width: int, height: int, matrix: np.ndarray):
        colour, alpha = patch
        ph, pw = alpha.shape[:2]
        margin = max(4, height // 60)
        y0, x0 = height - ph - margin, width - pw - margin
        self.box = None
        if y0 < 0 or x0 < 0:
            return
        # pad to whole 2×2 blocks; the padding has alpha 0
        bx0, by0 = x0 & ~1, y0 & ~1
        bx1, by1 = min(width, (x0 + pw + 1) & ~1), min(height, (y0 + ph + 1) & ~1)
        a = np.zeros((by1 - by0, bx1 - bx0), np.float64)
        a[y0 - by0:y0 - by0 + ph, x0 - bx0:x0 - bx0 + pw] = alpha[..., 0]
        rgb = np.zeros((by1 - by0, bx1 - bx0, 3), np.float64)
        rgb[y0 - by0:y0 - by0 + ph, x0 - bx0:x0 - bx0 + pw] = colour
        kr, kg, kb, y_off, y_scale, c_scale, db, dr = matrix
        lum = rgb @ np.array([kr, kg, kb])
        cb = 128.0 + c_scale * (rgb[..., 2] - lum) / db
        cr = 128.0 + c_scale * (rgb[..., 0] - lum) / dr

        def blocks(v: np.ndarray) -> np.ndarray:
            return v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))

        self.box = (bx0, by0, bx1, by1)
        self.y_keep, self.y_add = 1.0 - a, a * (y_off + y_scale * lum) + 0.5  # +0.5: round on the uint8 store
        self.c_keep = 1.0 - blocks(a)
        self.u_add, self.v_add = blocks(a * cb) + 0.5, blocks(a * cr) + 0.5

    def stamp(self, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        region = y[y0:y1, x0:x1]
        region[...] = region * self.y_keep + self.y_add
        for plane, add in ((u, self.u_add), (v, self.v_add)):
            region = plane[y0 // 2:y1 // 2, x0 // 2:x1 // 2]
            region[...] = region * self.c_keep + add


__all__ = ["Fit", "VideoDubber", "close_bilabials", "VideoDubberOptions", "VideoDubberResult"]
