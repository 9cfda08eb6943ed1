"""PhotoAnimator: one photo + a FaceMotion → frames → H.264/AAC MP4 (MediaPipe-style task).

Per frame: 52 ARKit weights → the blend-shape kernel deforms the face rig fitted to the photo →
a small head rotation/translation moves the mesh → the mesh is projected to the image → the warp
kernel moves the photo's pixels with it (piecewise-affine over a fixed triangle list: the 468-point
face mesh, three rings around the face outline and the image border, so hair, neck and background
stay put) → where the lips part, the mouth kernel paints a cavity and teeth. Frames are generated and
encoded one at a time, so memory does not grow with the clip length.

    animator = PhotoAnimator("photo.jpg", PhotoAnimatorOptions(fps=25, expression="happy"))
    plan = animator.plan(speech_motion, duration=audio_seconds)   # blinks, head motion, expression
    animator.write(plan, "out.mp4", audio=pcm, sample_rate=16000)

A FaceMotion's head_pose drives the head *relative to the photo* (yaw, pitch, roll in radians with the
tracker's conventions, translation in cm).

The parts live beside it: face choice in runtime.face.selection, the rig in runtime.rig, the warp mesh
in runtime.warp_mesh, blinks, head motion and expressions in runtime.performance, and speech → motion
in runtime.speech_motion.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkies import __version__
from talkies.errors import InputError
from talkies.kernels import warp
from talkies.log import get_logger, track
from talkies.runtime.blendshapes import NUM_BLENDSHAPES, Blendshape, Viseme
from talkies.runtime.eyes import EyeLayers
from talkies.runtime.face.selection import MIN_FACE_SIZE, detect_faces, select_face
from talkies.runtime.motion import FaceMotion
from talkies.runtime.mouth_interior import MouthPalette, render_interior
from talkies.runtime.performance import add_performance, expression_weights, finish_weights
from talkies.runtime.rig import INNER_LIP_LOOP, LIPS_LOWER_INNER, LIPS_UPPER_INNER, FaceRig, FittedFace, polygon_mask
from talkies.runtime.warp_mesh import RINGS, build_mesh
from talkies.types import Expression, Resolution

log = get_logger(__name__)

WATERMARK_TEXT = "AI-generated"
METADATA_COMMENT = f"synthesised by talkies {__version__}"
_TONGUE = Blendshape.tongueOut.value
_BLINK_LEFT, _BLINK_RIGHT = Blendshape.eyeBlinkLeft.value, Blendshape.eyeBlinkRight.value
#: Outer and inner lip points whose midpoints lie on the lips' red.
_LIP_BODY = ((37, 267, 84, 314, 0, 17), (81, 311, 87, 317, 13, 14))
_TONGUE_VISEMES = [Viseme.TH.value, Viseme.nn.value, Viseme.DD.value]
#: Mesh points that move less than this (px) leave their triangles' pixels as the photo's.
_MIN_MOTION = 0.02
MAX_INTENSITY = 2.0


#: Output height per resolution (the photo's aspect ratio is kept; sizes are rounded to even numbers).
RESOLUTION_HEIGHT = {Resolution.HD: 720, Resolution.FULL_HD: 1080}


@dataclass(kw_only=True)
class PhotoAnimatorOptions:
    fps: int = 25
    """Output frame rate (25 or 30 are usual)."""
    resolution: Resolution = Resolution.SOURCE
    """Output height: the photo's own ("source", beyond 4K downscaled on load), 720 or 1080 pixels."""
    expression: Expression = Expression.NEUTRAL
    intensity: float = 1.0
    """Strength of the expression preset, 0–2."""
    face: int | None = None
    """Which face to animate: its index in `talkies faces` order (detector order); None = the largest."""
    blinks: bool = True
    """Natural blinks at random intervals (seeded)."""
    head_motion: float = 1.0
    """Scale of the idle head motion and speech-driven nods (0 keeps the head still)."""
    seed: int = 0
    watermark: bool = True
    """A small visible "AI-generated" mark in the bottom-right corner."""
    watermark_text: str = WATERMARK_TEXT
    mouth_fill: bool = True
    """Paint a mouth cavity and teeth where the lips part."""
    eye_layers: bool = True
    """Draw blinks as a lid layer and move the iris with the gaze (runtime.eyes); False warps the lids."""
    min_face_size: int = MIN_FACE_SIZE
    """Smallest face (landmark box height, source pixels) that can be animated."""
    crf: int = 20
    preset: str = "veryfast"
    threads: int = 0
    """Encoder threads (0: libx264 decides)."""

    def __post_init__(self) -> None:
        self.expression = Expression.parse(self.expression)
        self.resolution = Resolution.parse(self.resolution)
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, np.integer)) or not 1 <= self.fps <= 120:
            raise InputError(f"fps must be an integer from 1 to 120, got {self.fps!r}")
        if not 0.0 <= float(self.intensity) <= MAX_INTENSITY:
            raise InputError(f"intensity must be in [0, {MAX_INTENSITY}], got {self.intensity!r}")
        if not 0.0 <= float(self.head_motion) <= 3.0:
            raise InputError(f"head_motion must be in [0, 3], got {self.head_motion!r}")
        if self.face is not None and (isinstance(self.face, bool) or not isinstance(self.face, (int, np.integer))
                                      or self.face < 0):
            raise InputError(f"face must be a face index >= 0 (see `talkies faces PHOTO`), got {self.face!r}")
        if self.min_face_size < 1:
            raise InputError(f"min_face_size must be >= 1, got {self.min_face_size!r}")


@dataclass
class AnimationResult:
    path: Path
    frames: int
    duration: float
    size: tuple[int, int]
    """(width, height)."""
    plan: FaceMotion
    """The weights and head pose of every rendered frame."""
    motion: FaceMotion | None = None
    """The driving FaceMotion before planning (100 fps speech motion, or the retargeted driver)."""
    subtitles: Path | None = None
    """The .srt written beside the video (a script's words at their spoken times), if any."""
    seconds: float = 0.0
    """Wall time of the whole call that made the video."""
    extras: dict = field(default_factory=dict)


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def output_size(width: int, height: int, resolution: Resolution) -> tuple[int, int]:
    """(width, height) of the video for a photo of this size: even numbers, aspect kept."""
    target = RESOLUTION_HEIGHT.get(resolution)
    if target is None:
        return width - width % 2, height - height % 2
    w = int(round(width * target / height))
    return w - w % 2, target


def mouth_colours(image: np.ndarray, landmarks: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Cavity and teeth colours that suit the photo: a dark lip tone, and the photo's own teeth when
    its mouth is open, else a tooth shade as light as the skin allows."""
    h, w = image.shape[:2]

    def sample(ids) -> np.ndarray:
        xy = np.round(landmarks[list(ids), :2]).astype(int)
        xy[:, 0] = np.clip(xy[:, 0], 0, w - 1)
        xy[:, 1] = np.clip(xy[:, 1], 0, h - 1)
        return image[xy[:, 1], xy[:, 0]].astype(np.float32).mean(0)

    body = np.round(0.5 * (landmarks[list(_LIP_BODY[0]), :2] + landmarks[list(_LIP_BODY[1]), :2])).astype(int)
    body = np.clip(body, 0, [w - 1, h - 1])
    lips = 0.5 * (sample(INNER_LIP_LOOP) + image[body[:, 1], body[:, 0]].astype(np.float32).mean(0))
    skin = sample((50, 280, 101, 330, 151, 9, 8))
    cavity = lips * 0.22
    lum = float(skin @ np.array([0.299, 0.587, 0.114]))
    grey = np.full(3, lum)
    tint = grey + 0.35 * (skin - grey)  # a little of the skin's hue
    teeth = tint * (np.clip(1.05 * lum, 100.0, 200.0) / max(lum, 1.0))
    poly = landmarks[list(INNER_LIP_LOOP), :2]
    x0, y0 = np.maximum(np.floor(poly.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(poly.max(0)).astype(int) + 1, [w, h])
    if lip_gap(landmarks) > 0.04 * scale and x1 > x0 and y1 > y0:  # teeth may show
        ys, xs = np.mgrid[y0:y1, x0:x1]
        inside = polygon_mask(np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64), poly)
        pixels = image[y0:y1, x0:x1].reshape(-1, 3)[inside].astype(np.float32)
        if len(pixels) >= 20:
            bright = pixels @ np.array([0.299, 0.587, 0.114])
            top = pixels[bright >= np.percentile(bright, 70)]
            if float(top.mean(0) @ np.array([0.299, 0.587, 0.114])) > 1.1 * lum * 0.6:
                teeth = top.mean(0) * 0.92
    return np.clip(cavity, 0, 255), np.clip(teeth, 0, 255)


def watermark_patch(text: str, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB patch, alpha) of the visible mark, scaled to the frame height."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(10, int(round(height * 0.025)))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=font)
    pad = max(2, size // 4)
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    alpha = Image.new("L", (w, h), 0)
    ImageDraw.Draw(alpha).rounded_rectangle((0, 0, w - 1, h - 1), radius=pad, fill=110)
    colour = Image.new("RGB", (w, h), (0, 0, 0))
    text_mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(text_mask).text((pad - x0, pad - y0), text, font=font, fill=235)
    colour.paste((255, 255, 255), mask=text_mask)
    a = np.maximum(np.asarray(alpha, np.float32), np.asarray(text_mask, np.float32)) / 255.0
    return np.asarray(colour, np.float32), a[:, :, None]


def lip_gap(points: np.ndarray) -> float:
    """Mean inner-lip opening of 478 face points (px, y down)."""
    up = points[list(LIPS_UPPER_INNER[2:-2]), 1]
    lo = points[list(LIPS_LOWER_INNER[2:-2]), 1]
    return float(np.mean(lo - up))


def paint_mouth(frame: np.ndarray, face: np.ndarray, *, gap0: float, scale: float, cavity_colour: np.ndarray,
                teeth_colour: np.ndarray, tongue: float = 0.0, palette: MouthPalette | None = None) -> None:
    """Paint the mouth interior (runtime.mouth_interior: cavity, tongue, lower and upper teeth), in place,
    where the lips of `face` (478 image points) part wider than `gap0` (the pixels' own opening, px);
    `scale` is the face size (px per eye-corner distance), `tongue` 0-1 raises the tongue (TH, L, DD)."""
    opening = lip_gap(face) - gap0
    full = 0.035 * scale  # px of extra opening at which the painted mouth is opaque
    if opening <= 0.5:
        return
    alpha = min(1.0, (opening - 0.5) / max(full, 1.0))
    poly = face[list(INNER_LIP_LOOP), :2]
    x0 = max(0, int(math.floor(poly[:, 0].min())) - 2)
    y0 = max(0, int(math.floor(poly[:, 1].min())) - 2)
    x1 = min(frame.shape[1], int(math.ceil(poly[:, 0].max())) + 3)
    y1 = min(frame.shape[0], int(math.ceil(poly[:, 1].max())) + 3)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    patch = frame[y0:y1, x0:x1]
    origin = np.array([x0, y0], np.float64)
    pal = palette or MouthPalette.from_colours(cavity_colour, teeth_colour)
    colour, cover = render_interior(patch, face[list(LIPS_UPPER_INNER), :2] - origin,
                                    face[list(LIPS_LOWER_INNER), :2] - origin, pal, tongue=tongue,
                                    softness=max(1.0, 0.015 * scale))
    mask = alpha * cover
    if gap0 > 1.0:
        # The photo's own mouth is open (teeth showing): keep its warped interior as deep as the
        # photo's opening below the upper lip, and paint the interior only further down.
        upper = face[list(LIPS_UPPER_INNER), :2]
        order = np.argsort(upper[:, 0])
        top = np.interp(np.arange(x0, x1), upper[order, 0], upper[order, 1])
        depth = np.arange(y0, y1)[:, None] - top[None, :]
        ramp = np.clip((depth - 0.8 * gap0) / (0.5 * gap0 + 1.0), 0.0, 1.0)
        mask = mask * (ramp * ramp * (3 - 2 * ramp))
    m = mask[:, :, None]
    patch[...] = (patch * (1.0 - m) + colour * m + 0.5).astype(np.uint8)


def stamp_watermark(frame: np.ndarray, patch: tuple[np.ndarray, np.ndarray]) -> None:
    """Blend a watermark_patch into the bottom-right corner of `frame`, in place."""
    colour, alpha = patch
    height, width = frame.shape[:2]
    ph, pw = alpha.shape[:2]
    margin = max(4, height // 60)
    y0, x0 = height - ph - margin, width - pw - margin
    if y0 < 0 or x0 < 0:
        return
    region = frame[y0:y0 + ph, x0:x0 + pw]
    region[...] = (region * (1.0 - alpha) + colour * alpha + 0.5).astype(np.uint8)


class PhotoAnimator:
    """Animate one face of one photo. See the module docstring for the pipeline."""

    def __init__(self, photo: np.ndarray | str | os.PathLike, options: PhotoAnimatorOptions | None = None, *,
                 models=None, landmarks: np.ndarray | list[np.ndarray] | None = None, rig: FaceRig | None = None):
        from talkies.runtime.face.tracker import as_image

        self.options = options or PhotoAnimatorOptions()
        source = str(photo) if isinstance(photo, (str, os.PathLike)) else "the photo"
        image = as_image(photo)
        if landmarks is None:
            faces = detect_faces(image, models)
        else:
            faces = [landmarks] if isinstance(landmarks, np.ndarray) and landmarks.ndim == 2 else list(landmarks)
        chosen = select_face(faces, self.options.face, min_size=self.options.min_face_size, source=source)
        src_h, src_w = image.shape[:2]
        out_w, out_h = output_size(src_w, src_h, self.options.resolution)
        if min(out_w, out_h) < 16:
            raise InputError(f"{source} is too small ({src_w}×{src_h}) to make a video from")
        scale_x, scale_y = out_w / src_w, out_h / src_h
        self.image = np.ascontiguousarray(_resize(image, out_w, out_h))
        lm = chosen.astype(np.float64).copy()
        lm[:, 0] *= scale_x
        lm[:, 1] *= scale_y
        lm[:, 2] *= (scale_x + scale_y) / 2
        self.width, self.height = out_w, out_h
        self.fitted: FittedFace = (rig or FaceRig.load()).fit(lm)
        self.mesh = build_mesh(self.fitted.landmarks, self.fitted.rig.triangles, out_w, out_h)
        self._dst = self.mesh.src.copy()
        self._verts = np.empty((self.fitted.neutral.shape[0], 3), np.float32)
        self._frame = np.empty_like(self.image)
        #: (x0, y0, x1, y1), even: where the last rendered frame may differ from the photo with its watermark
        self.changed = (0, 0, out_w, out_h)
        # per mesh point, the source box of the triangles around it: what a move of the point redraws
        tris, src = self.mesh.triangles, self.mesh.src
        self._reach = (np.full_like(src, np.inf), np.full_like(src, -np.inf))
        for k in range(3):
            np.minimum.at(self._reach[0], tris[:, k], src[tris].min(1))
            np.maximum.at(self._reach[1], tris[:, k], src[tris].max(1))
        self._oval_neutral = self.fitted.neutral[self.mesh.oval].astype(np.float64)
        self.cavity_colour, self.teeth_colour = mouth_colours(self.image, self.fitted.landmarks, self.fitted.scale)
        self._gap0 = self._lip_gap(self.fitted.landmarks)
        self._eyes = EyeLayers(self.image, self.fitted.landmarks) if self.options.eye_layers else None
        self._wm = watermark_patch(self.options.watermark_text, out_h) if self.options.watermark else None

    # --- planning -------------------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def frame_count(self, duration: float) -> int:
        return max(1, int(round(duration * self.options.fps)))

    def plan(self, motion: FaceMotion | None, duration: float | None = None, *, synthesize: bool = True
             ) -> FaceMotion:
        """The per-frame performance: `motion` sampled at the video's frame times, plus (with
        `synthesize`) blinks, idle head motion and speech nods, plus the expression preset."""
        opts = self.options
        if duration is None:
            if motion is None:
                raise InputError("plan() needs a motion or a duration")
            duration = motion.duration
        if not duration or duration <= 0:
            raise InputError("nothing to render: the duration is 0 s (empty audio or motion)")
        n = self.frame_count(duration)
        times = np.arange(n) / opts.fps
        if motion is not None and len(motion):
            sampled = motion.sample(times)
            weights, pose, visemes = sampled.weights.copy(), sampled.head_pose.copy(), sampled.visemes
        else:
            weights, pose, visemes = np.zeros((n, NUM_BLENDSHAPES), np.float32), np.zeros((n, 6), np.float32), None
        if synthesize:
            stress = motion.extras.get("stress") if motion is not None else None  # where the speech says
            add_performance(weights, pose, times, fps=opts.fps, seed=opts.seed, blinks=opts.blinks,
                            head_motion=opts.head_motion, stress=stress)
        if visemes is not None:  # the tongue rises to the teeth on TH, L (nn) and DD
            weights[:, _TONGUE] = np.maximum(weights[:, _TONGUE], visemes[:, _TONGUE_VISEMES].sum(1))
        weights += expression_weights(Expression.parse(opts.expression).value, float(opts.intensity))[None]
        return FaceMotion(times, finish_weights(weights), pose, visemes, fps=float(opts.fps),
                          extras={"synthesized": synthesize})

    # --- rendering ------------------------------------------------------------------------------

    @staticmethod
    def _lip_gap(points: np.ndarray) -> float:
        return lip_gap(points)

    def landmarks_for(self, weights: np.ndarray, pose: np.ndarray | None = None) -> np.ndarray:
        """(478, 3) image landmarks of the animated face for one frame."""
        self.fitted.deform(weights, out=self._verts)
        return self.fitted.project(self._verts, pose)

    def render_frame(self, weights: np.ndarray, pose: np.ndarray | None = None) -> np.ndarray:
        """One RGB uint8 frame (an internal buffer, overwritten by the next call)."""
        dst = self._dst
        a, b = self.fitted.pose_transform(pose)
        blinks = {"left": float(weights[_BLINK_LEFT]), "right": float(weights[_BLINK_RIGHT])}
        if self._eyes is not None and (blinks["left"] > 0 or blinks["right"] > 0):
            weights = weights.copy()  # the lids close as a layer (runtime.eyes), not by moving the mesh
            weights[[_BLINK_LEFT, _BLINK_RIGHT]] = 0.0
        self.fitted.deform(weights, out=self._verts)
        face = self._verts @ a.T.astype(np.float32) + b.astype(np.float32)
        n = face.shape[0]
        dst[:n] = face[:, :2]
        # rings follow part of the head motion and part of the jaw
        oval = self.mesh.oval
        head = (self._oval_neutral @ a.T + b)[:, :2] - self.mesh.src[oval]
        expr = face[oval, :2] - self.mesh.src[oval] - head
        for sl, (_, _, follow_head, follow_jaw) in zip(self.mesh.ring_slices, RINGS):
            dst[sl] = self.mesh.src[sl] + follow_head * head + follow_jaw * expr
        frame = warp(self.image, self.mesh.src, dst, self.mesh.triangles, min_motion=_MIN_MOTION, out=self._frame)
        self.changed = self._changed_box(dst, face)
        if self._eyes is not None:
            self._eyes.draw(frame, face, self.fitted.landmarks, blinks)
        if self.options.mouth_fill:
            self._fill_mouth(frame, face, float(weights[_TONGUE]))
        if self._wm is not None:
            self._stamp(frame)
        return frame

    def _changed_box(self, dst: np.ndarray, face: np.ndarray) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), even: where this frame may differ from the photo (with its watermark): the
        triangles the warp moved (their corners' source boxes, and where the moved points went) and the
        face, where the eye and mouth layers draw; elsewhere the warp leaves the photo's pixels."""
        d = dst - self.mesh.src
        moved = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] > _MIN_MOTION ** 2
        lo, hi = face[:, :2].min(0), face[:, :2].max(0)
        if moved.any():
            reach_lo, reach_hi = self._reach
            lo = np.minimum(lo, np.minimum(reach_lo[moved].min(0), dst[moved].min(0)))
            hi = np.maximum(hi, np.maximum(reach_hi[moved].max(0), dst[moved].max(0)))
        lo = np.floor(lo) - 4  # the resampling's reach, and the layers' anti-aliased edges
        hi = np.ceil(hi) + 5
        x0, y0 = (max(0, int(v)) // 2 * 2 for v in lo)
        x1 = min(self.width, (int(hi[0]) + 1) // 2 * 2)
        y1 = min(self.height, (int(hi[1]) + 1) // 2 * 2)
        return x0, y0, max(x0, x1), max(y0, y1)

    def _fill_mouth(self, frame: np.ndarray, face: np.ndarray, tongue: float = 0.0) -> None:
        paint_mouth(frame, face, gap0=self._gap0, scale=self.fitted.scale, cavity_colour=self.cavity_colour,
                    teeth_colour=self.teeth_colour, tongue=tongue)

    def _stamp(self, frame: np.ndarray) -> None:
        stamp_watermark(frame, self._wm)

    def iter_frames(self, plan: FaceMotion) -> Iterator[np.ndarray]:
        """Render the plan's frames one at a time (each yielded array is reused by the next frame)."""
        for i in range(len(plan)):
            yield self.render_frame(plan.weights[i], plan.head_pose[i])

    def write(self, plan: FaceMotion, path: str | os.PathLike, *, audio: np.ndarray | None = None,
              sample_rate: int = 16000, metadata: dict[str, str] | None = None,
              description: str = "rendering") -> AnimationResult:
        """Render `plan` to an H.264 MP4 (with AAC `audio` when given), written atomically.

        The encoder takes 4:2:0 planes: the photo's (with the watermark) are converted once, and each
        frame converts only the box where it differs from them (render_frame's `changed`), where a
        full-frame RGB conversion cost as much as the rest of the rendering at 720p."""
        from talkies.io import atomic_path
        from talkies.kernels import rgb_into_yuv420
        from talkies.runtime.media import VideoColour, VideoWriter, yuv420_planes

        tags = {"comment": METADATA_COMMENT, "description": METADATA_COMMENT, "encoder": f"talkies {__version__}"}
        tags.update(metadata or {})
        opts = self.options
        colour = VideoColour()  # BT.601, limited range: what the RGB path's conversion gave
        matrix = colour.matrix()
        still = self.image.copy()
        if self._wm is not None:
            stamp_watermark(still, self._wm)
        base = np.empty((self.height * 3 // 2, self.width), np.uint8)
        rgb_into_yuv420(still, *yuv420_planes(base), (0, 0), matrix=matrix)
        buffer = base.copy()
        planes, base_planes = yuv420_planes(buffer), yuv420_planes(base)
        last = None
        with atomic_path(path, suffix=".mp4") as tmp:
            with VideoWriter(tmp, width=self.width, height=self.height, fps=opts.fps, audio=audio,
                             sample_rate=sample_rate, crf=opts.crf, preset=opts.preset, metadata=tags,
                             threads=opts.threads, colour=colour) as writer:
                for frame in track(self.iter_frames(plan), description, total=len(plan)):
                    if last is not None:  # the previous frame's box back to the photo
                        _copy_box(base_planes, planes, last)
                    x0, y0, x1, y1 = last = self.changed
                    if x1 > x0 and y1 > y0:
                        rgb_into_yuv420(frame[y0:y1, x0:x1], *planes, (x0, y0), matrix=matrix)
                    writer.write_yuv420(buffer)
        return AnimationResult(path=Path(path), frames=len(plan), duration=len(plan) / opts.fps,
                               size=self.size, plan=plan)


def _copy_box(src: tuple[np.ndarray, ...], dst: tuple[np.ndarray, ...], box: tuple[int, int, int, int]) -> None:
    """Copy the (even) box of 4:2:0 planes `src` into `dst`."""
    x0, y0, x1, y1 = box
    dst[0][y0:y1, x0:x1] = src[0][y0:y1, x0:x1]
    for k in (1, 2):
        dst[k][y0 // 2:y1 // 2, x0 // 2:x1 // 2] = src[k][y0 // 2:y1 // 2, x0 // 2:x1 // 2]


__all__ = ["AnimationResult", "METADATA_COMMENT", "PhotoAnimator", "PhotoAnimatorOptions", "WATERMARK_TEXT",
           "lip_gap", "mouth_colours", "output_size", "paint_mouth", "stamp_watermark", "watermark_patch"]
