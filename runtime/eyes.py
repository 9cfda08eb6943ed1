"""The eyes of an animated photo, drawn as layers after the warp: the iris moved by the gaze, and the
upper lid closed over the eye for a blink.

- **Gaze.** The rig's eyeLook* shapes move the 5 iris points. The warp leaves the iris where the photo
  has it (the iris points are not in the warp mesh), so :class:`EyeLayers` repaints it: the old iris
  is covered with the eye's own white (shaded darker under the upper lid), and the photo's iris disc is
  pasted, unscaled, at the new centre, cut by the lids. Iris pixels the photo's lids hid take the iris'
  mean colour.
- **Blinks.** The mesh's lids are not moved by eyeBlink (the renderer zeroes those weights before the
  warp). Instead the upper lid comes down as a layer: the band of the photo holding the lashes moves
  down rigidly by the closure (so the lashes stay sharp), and the lid skin above them follows,
  unfolding from the crease, taut and smooth. The unfolding skin is only what the photo shows of the
  lid: it stops at a glasses rim or a brow (lid_skin), which stay put. Closed, the lash line lies a
  little past the lower lid's, with a thin dark line where the lids meet. The closed lid takes the tone
  of the lit skin under the eye, brightest mid-lid where it bulges over the eyeball.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.runtime.rig import EYES, polygon_mask

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
IRIS_RING = {"right": (469, 470, 471, 472), "left": (474, 475, 476, 477)}
IRIS_CENTRE = {"right": 468, "left": 473}
#: The lid band that moves rigidly (lashes and lid margin), as a fraction of the eye's width.
LASH_BAND = 0.12
#: How far past the lower lid's line the closed lid margin comes (1 = onto it): the lashes then lie over
#: the lower lashes, as in a real closed eye. FaceTracker reads a lid that only meets the lower one as
#: half shut (eyeBlink about 0.5); at 1.4 the astronaut's closed eyes read 0.70/0.68.
LID_REACH = 1.4
#: An iris the gaze moves less than this (px) from where the warp carried it is left alone: a head
#: turning moves the rig's iris and the warped one apart by about this much.
GAZE_STILL = 0.1
#: Lid skin that unfolds above the lash band: at most this many eye openings, and only as far up as the
#: photo shows skin (it stops at a dark edge: a glasses rim or a brow, which must not slide over the eye).
FOLD = 0.9
#: A row darker than this fraction of the lid skin's brightness ends the unfolding skin.
SKIN_EDGE = 0.6
#: How far along the lid (eye widths) stretched lid skin is blurred, to hide the streaks of stretching.
LID_BLUR = 0.04
#: How much of the closed lid takes one smooth skin tone per column (a taut lid: the photo's fold
#: lines, stretched, would draw a second lid line above the closed one).
LID_SMOOTH = 0.6
#: How far the closed lid's tone goes from its own skin strip towards the lit skin below the eye
#: (lit_skin), at the middle of the lid. The photo's open lid is often in shadow (deep-set or hooded
#: eyes), and a copy of that tone reads as a dark socket, not a closed lid: d18's closed eyes re-tracked
#: 0.44/0.47 with it and 0.53/0.56 lit, as his own closed eyes in the video (0.58/0.57, one frame).
LID_LIT = 1.0
#: Where the lid's tone fades into the photo's at its ends (eye widths): a hard vertical edge otherwise.
LID_ENDS = 0.15
#: The shadow line where the closed lids meet: its half-width (eye widths) and darkness (0-1), a thin
#: dark line like the lashes of a closed eye.
LID_LINE = 0.02
LID_SHADOW = 0.7


def _loops(eye: dict) -> tuple[list[int], list[int]]:
    c0, c1 = eye["corners"]
    return [c0, *eye["upper"], c1], [c0, *eye["lower"], c1]


def _curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0], kind="stable")
    return np.interp(xs, points[order, 0], points[order, 1])


def _box_filter(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Mean over 2k+1 samples along `axis` (edges repeated)."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (k + 1, k)
    c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis)
    n = x.shape[axis]
    return (np.take(c, np.arange(2 * k + 1, 2 * k + 1 + n), axis=axis)
            - np.take(c, np.arange(n), axis=axis)) / (2 * k + 1)


def _bilinear_rows(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """image sampled at float rows `ys` (h×w) and integer columns `xs` (w)."""
    y0 = np.clip(np.floor(ys).astype(np.int64), 0, image.shape[0] - 2)
    f = np.clip(ys - y0, 0.0, 1.0)[..., None]
    cols = np.broadcast_to(xs[None, :], ys.shape)
    return image[y0, cols] * (1.0 - f) + image[y0 + 1, cols] * f


@dataclass
class _Eye:
    side: str
    upper: list[int]
    lower: list[int]
    centre: np.ndarray  # the photo's iris centre (px)
    radius: float
    patch: np.ndarray  # (2R+1, 2R+1, 3) float32 iris disc of the photo, hidden parts filled
    offset: np.ndarray  # the iris centre less the patch's central pixel (px, x y)
    sclera: np.ndarray
    skin: float = 1.0  # the lid skin strip above the lash band, in eye widths (see lid_skin)
    lit: np.ndarray | None = None  # the lit skin below the eye (RGB, see lit_skin)


def lid_skin(lum: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> float:
    """Height (in eye widths) of the lid skin strip above the lash band of one eye of the photo: per
    column of the middle of the lid, from the band's top upwards until a row is darker than SKIN_EDGE
    times the strip's brightest first rows (a glasses rim, a brow); the median over the columns."""
    width = float(upper[:, 0].max() - upper[:, 0].min())
    lash = max(1.5, LASH_BAND * width)
    opening = float(np.max(_curve(lower, upper[:, 0]) - upper[:, 1]))
    reach = int(np.ceil(FOLD * max(opening, 0.1 * width))) + 1
    x0, x1 = upper[:, 0].min() + 0.25 * width, upper[:, 0].max() - 0.25 * width
    heights = []
    for x in range(int(np.ceil(x0)), int(x1) + 1):
        start = int(np.floor(_curve(upper, np.array([float(x)]))[0] - lash))
        if start - reach < 0 or not 0 <= x < lum.shape[1] or start >= lum.shape[0]:
            continue
        column = lum[start - reach:start + 1, x][::-1]  # upwards from the band's top
        bright = column[:3].max()
        dark = np.flatnonzero(column < SKIN_EDGE * bright)
        heights.append(dark[0] if len(dark) else reach)
    return float(np.median(heights)) / width if heights else FOLD * 0.3


def lit_skin(image: np.ndarray, lum: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray | None:
    """The skin just below one eye of the photo (the top of the cheek, 0.12-0.3 eye widths under the
    middle of the lower lid), the mean of its brighter half (RGB); None where that is off the photo."""
    width = float(upper[:, 0].max() - upper[:, 0].min())
    xs = np.arange(int(np.ceil(upper[:, 0].min() + 0.2 * width)), int(upper[:, 0].max() - 0.2 * width) + 1)
    xs = xs[(xs >= 0) & (xs < lum.shape[1])]
    if len(xs) == 0:
        return None
    ys = np.round(_curve(lower, xs.astype(np.float64))[None, :]
                  + np.linspace(0.12, 0.3, 5)[:, None] * width).astype(np.int64)
    ok = (ys >= 0) & (ys < lum.shape[0])
    if ok.sum() < 4:
        return None
    cols = np.broadcast_to(xs[None, :], ys.shape)
    px, l = image[ys[ok], cols[ok]].astype(np.float32), lum[ys[ok], cols[ok]]
    return px[l >= np.median(l)].mean(0)


class EyeLayers:
    """Per-photo eye data and the per-frame gaze and blink layers (see the module docstring)."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray):
        self.image = image
        self.eyes: list[_Eye] = []
        h, w = image.shape[:2]
        luma = image.astype(np.float32) @ _LUMA
        for side, eye in EYES.items():
            upper, lower = _loops(eye)
            centre = landmarks[IRIS_CENTRE[side], :2].astype(np.float64)
            radius = float(np.mean(np.linalg.norm(landmarks[list(IRIS_RING[side]), :2] - centre, axis=1)))
            opening = np.concatenate([landmarks[upper, :2], landmarks[lower[::-1], :2]])
            r_int = int(np.ceil(radius)) + 1
            if radius < 1.5 or not (r_int <= centre[0] < w - r_int - 1 and r_int <= centre[1] < h - r_int - 1):
                continue
            cx, cy = int(round(centre[0])), int(round(centre[1]))
            ys, xs = np.mgrid[cy - r_int:cy + r_int + 1, cx - r_int:cx + r_int + 1]
            pts = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
            visible = polygon_mask(pts, opening).reshape(xs.shape)
            disc = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius ** 2
            patch = image[ys, xs].astype(np.float32)
            shown = visible & disc
            fill = patch[shown].mean(0) if shown.sum() >= 3 else patch[disc].mean(0)
            patch[~visible] = fill
            # the white of the eye: bright pixels of the opening away from the iris
            x0, x1 = int(opening[:, 0].min()), int(np.ceil(opening[:, 0].max())) + 1
            y0, y1 = int(opening[:, 1].min()), int(np.ceil(opening[:, 1].max())) + 1
            ys2, xs2 = np.mgrid[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
            p2 = np.stack([xs2.ravel(), ys2.ravel()], 1).astype(np.float64)
            inside = polygon_mask(p2, opening) & (np.hypot(p2[:, 0] - centre[0], p2[:, 1] - centre[1]) > 1.25 * radius)
            px = image[ys2.ravel()[inside], xs2.ravel()[inside]].astype(np.float32)
            if len(px) >= 4:
                lum = px @ _LUMA
                sclera = px[lum >= np.percentile(lum, 60)].mean(0)
            else:
                sclera = patch[~disc].mean(0) if (~disc).any() else fill
            skin = lid_skin(luma, landmarks[upper, :2].astype(np.float64), landmarks[lower, :2].astype(np.float64))
            lit = lit_skin(image, luma, landmarks[upper, :2].astype(np.float64),
                           landmarks[lower, :2].astype(np.float64))
            self.eyes.append(_Eye(side, upper, lower, centre, radius, patch, centre - [cx, cy],
                                  sclera.astype(np.float32), skin, lit))

    def draw(self, frame: np.ndarray, face: np.ndarray, source: np.ndarray, blinks: dict[str, float]) -> None:
        """Repaint both eyes of `frame` in place. `face`: the frame's 478 points (lids without the
        blink, iris with the gaze); `source`: the photo's points (where the warp left the iris);
        `blinks`: closure 0-1 per side ("left"/"right")."""
        for eye in self.eyes:
            self._gaze(frame, face, source, eye)
            closure = float(blinks.get(eye.side, 0.0))
            if closure > 0.02:
                self._lid(frame, face, eye, closure)

    @staticmethod
    def _box(frame: np.ndarray, pts: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
        h, w = frame.shape[:2]
        x0, y0 = np.floor(pts.min(0) - pad).astype(int)
        x1, y1 = np.ceil(pts.max(0) + pad).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        return None if x1 - x0 < 3 or y1 - y0 < 3 else (x0, y0, x1, y1)

    def _gaze(self, frame: np.ndarray, face: np.ndarray, source: np.ndarray, eye: _Eye) -> None:
        ring = eye.upper + eye.lower[1:-1]
        moved = face[ring, :2].astype(np.float64) - source[ring, :2]
        old = eye.centre + moved.mean(0)  # where the warp carried the photo's iris
        new = face[IRIS_CENTRE[eye.side], :2].astype(np.float64)
        step = float(np.hypot(*(new - old)))
        if step < GAZE_STILL:
            return
        up, lo = face[eye.upper, :2].astype(np.float64), face[eye.lower, :2].astype(np.float64)
        box = self._box(frame, np.concatenate([up, lo]), 1.0)
        if box is None:
            return
        x0, y0, x1, y1 = box
        xs = np.arange(x0, x1, dtype=np.float64)
        top, bot = _curve(up, xs), _curve(lo, xs)
        y = np.arange(y0, y1, dtype=np.float64)[:, None]
        inside = np.clip(np.minimum(y - top, bot - y) + 0.5, 0.0, 1.0) * ((xs >= up[:, 0].min()) & (xs <= up[:, 0].max()))
        if not inside.any():
            return
        region = frame[y0:y1, x0:x1].astype(np.float32)
        r = eye.radius
        # 1. the old iris under the eye's white, shaded under the upper lid
        d_old = np.hypot(xs[None, :] - old[0], y - old[1])
        cover_old = np.clip(1.2 * r + 1.0 - d_old, 0.0, 1.0)
        shade = 0.72 + 0.28 * np.clip((y - top) / max(0.45 * float(np.max(bot - top)), 1.0), 0.0, 1.0)
        white = eye.sclera * shade[..., None]
        out = region + (white - region) * cover_old[..., None]
        # 2. the photo's iris, unscaled, at the new centre
        # sampled between pixels: a driver's small eye movements are fractions of a pixel on a photo
        rr = (eye.patch.shape[0] - 1) // 2
        fy = np.broadcast_to(y - new[1] + eye.offset[1] + rr, inside.shape)
        fx = np.broadcast_to(xs[None, :] - new[0] + eye.offset[0] + rr, inside.shape)
        ok = (fy >= 0) & (fy <= 2 * rr) & (fx >= 0) & (fx <= 2 * rr)
        d_new = np.hypot(xs[None, :] - new[0], y - new[1])
        cover_new = np.clip(r + 0.5 - d_new, 0.0, 1.0) * ok
        iy = np.clip(np.floor(fy).astype(np.int64), 0, 2 * rr - 1)
        ix = np.clip(np.floor(fx).astype(np.int64), 0, 2 * rr - 1)
        ty = np.clip(fy - iy, 0.0, 1.0)[..., None]
        tx = np.clip(fx - ix, 0.0, 1.0)[..., None]
        p = eye.patch
        iris = ((p[iy, ix] * (1 - tx) + p[iy, ix + 1] * tx) * (1 - ty)
                + (p[iy + 1, ix] * (1 - tx) + p[iy + 1, ix + 1] * tx) * ty)
        iris = iris * (0.8 + 0.2 * np.clip((y - top) / max(r, 1.0), 0.0, 1.0))[..., None]  # lid shadow
        out += (iris - out) * cover_new[..., None]
        # fade the repaint in over the next 0.4 px of motion, so a gaze near rest does not pop
        m = (inside * min(1.0, (step - GAZE_STILL) / 0.4))[..., None]
        frame[y0:y1, x0:x1] = (region + (out - region) * m + 0.5).astype(np.uint8)

    def _lid(self, frame: np.ndarray, face: np.ndarray, eye: _Eye, closure: float) -> None:
        up, lo = face[eye.upper, :2].astype(np.float64), face[eye.lower, :2].astype(np.float64)
        width = float(up[:, 0].max() - up[:, 0].min())
        opening = float(np.max(_curve(lo, up[:, 0]) - up[:, 1]))
        lash = max(1.5, LASH_BAND * width)  # the band that moves rigidly: lashes and the lid margin
        # lid skin above it, unfolding from the crease (or from a glasses rim that stays put)
        fold = max(1.0, min(FOLD * max(opening, 0.1 * width), eye.skin * width))
        below = max(0.0, LID_REACH - 1.0) * opening + 1.0  # the closed margin passes the lower lid
        box = self._box(frame, np.concatenate([up - [0, lash + fold + 1], lo + [0, below]]), 1.0)
        if box is None:
            return
        x0, y0, x1, y1 = box
        xs = np.arange(x0, x1)
        xf = xs.astype(np.float64)
        top, bot = _curve(up, xf), _curve(lo, xf)
        within = (xf >= up[:, 0].min()) & (xf <= up[:, 0].max())
        shift = np.where(within, closure * np.maximum(bot - top, 0.0) * LID_REACH, 0.0)
        y = np.arange(y0, y1, dtype=np.float64)[:, None]
        edge = top + shift  # the lid margin now
        a = top - lash - fold  # the crease: fixed
        # destination → source rows: the lash band moves rigidly, the skin between the crease and it stretches
        stretch = (top - lash - a) / np.maximum(edge - lash - a, 1e-6)
        skin = y < edge - lash
        src = np.where(skin, a + (y - a) * stretch, y - shift)
        take = (y >= a) & (y <= edge + 0.5) & within
        if not take.any():
            return
        base = frame.astype(np.float32, copy=False) if frame.dtype == np.float32 else frame
        region = frame[y0:y1, x0:x1].astype(np.float32)
        moved = _bilinear_rows(base, np.clip(src, 0, frame.shape[0] - 1), xs)
        # a few rows of skin stretched far show as vertical streaks: blur them along the lid as much as
        # they are stretched
        k = int(round(LID_BLUR * width))
        if k >= 1:
            mix = np.clip((1.0 / np.maximum(stretch, 1e-6) - 1.0) / 3.0, 0.0, 1.0) * skin
            moved += (_box_filter(moved, k, axis=1) - moved) * mix[..., None]
        if LID_SMOOTH:
            # the lid's tone per column: the brighter rows of its skin strip (skin, not folds), smoothed
            # along the lid; shaded a little towards the margin
            rows = a[None, :] + np.linspace(0.0, 1.0, 6)[:, None] * (top - lash - a)[None, :]
            strip = _bilinear_rows(base, np.clip(rows, 0, frame.shape[0] - 1), xs)
            order = np.argsort(strip @ _LUMA, axis=0)
            tone = np.take_along_axis(strip, order[[-2, -3]][..., None], axis=0).mean(0)
            tone = _box_filter(tone, max(1, int(round(0.12 * width))), axis=0)
            v = np.clip((y - a) / np.maximum(edge - lash - a, 1e-6), 0.0, 1.0)
            shade = 1.0 - 0.1 * (1.0 - np.sin(np.pi * v)) * (v > 0.5)
            colour = tone[None] * shade[..., None]
            if LID_LIT and eye.lit is not None:
                # a closed lid bulges over the eyeball and catches the light: brightest mid-lid
                bulge = LID_LIT * np.sqrt(np.sin(np.pi * v))
                colour += (eye.lit[None, None] * shade[..., None] - colour) * bulge[..., None]
            # the crease end keeps the photo, and so do the lid's ends, faded in along it
            ends = np.clip(np.minimum(xf - up[:, 0].min(), up[:, 0].max() - xf) / max(LID_ENDS * width, 1.0), 0.0, 1.0)
            blend = LID_SMOOTH * closure * np.clip(v / 0.3, 0.0, 1.0) * skin * ends[None, :]
            moved += (colour - moved) * blend[..., None]
        # the closed lid: a little shading over it, and the shadow where the lids meet
        depth = np.clip((y - top) / max(opening, 1.0), 0, 1)
        line = np.exp(-(((y - edge + 0.25 * lash) / max(LID_LINE * width, 0.7)) ** 2)) * closure ** 3
        moved = moved * ((1.0 - 0.06 * closure * depth) * (1.0 - LID_SHADOW * line))[..., None]
        alpha = np.clip(edge + 0.5 - y, 0.0, 1.0) * take  # anti-aliased lower edge
        frame[y0:y1, x0:x1] = (region + (moved - region) * alpha[..., None] + 0.5).astype(np.uint8)


__all__ = ["EyeLayers", "LASH_BAND", "LID_REACH", "lid_skin"]
