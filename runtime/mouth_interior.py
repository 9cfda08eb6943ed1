"""The inside of an open mouth, drawn as shaded layers behind the lips (used by PhotoAnimator and dub).

Back to front, in the opening between the inner lips of one frame:

1. **cavity**: the photo's inner-lip tone near the lips, falling into darkness towards the back and
   the corners;
2. **tongue**: low and dark at rest; on TH, L and DD (the `tongue` amount) it rises towards the upper
   teeth, lit, with a groove down its middle;
3. **lower teeth**: attached to the lower lip (they move with the jaw), mostly hidden by it, only their
   tips showing, in the upper lip's shadow;
4. **upper teeth**: attached to the upper lip, with gum papillae between them at the top;
5. the lips: the layers are feathered inwards only, so the lip line stays the photo's and the lips
   occlude everything, with a soft contact shadow under the upper lip and above the lower one.

The teeth sit on an arch seen from the front: tooth k spans an arc of the dental arch (central and
lateral incisors, canine, premolars, molar, with real relative widths), projected to the image so the
teeth narrow and darken towards the corners; each tooth has a rounded edge, a convex shading and a dark
gap to its neighbours. Colours come from the photo (:func:`mouth_palette`): its lip tone (cavity, gums,
tongue), and its skin's brightness or its own visible teeth for the enamel.

Everything is vectorised NumPy over the mouth's bounding box (a few thousand pixels at 720p).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative widths (mm) of the teeth from the midline back, upper and lower arch (incisors, canine,
#: two premolars, first molar); the arch seen from the front spans the mouth slightly past its corners.
UPPER_WIDTHS = (8.5, 6.6, 7.6, 7.0, 6.6, 10.0)
LOWER_WIDTHS = (5.4, 5.9, 6.9, 7.0, 7.1, 11.0)
#: Visible length of each tooth (fraction of the band): incisors long, back teeth shorter.
UPPER_LENGTH = (1.0, 0.86, 0.97, 0.82, 0.74, 0.62)
LOWER_LENGTH = (1.0, 1.0, 0.95, 0.8, 0.7, 0.6)
ARCH_ANGLE = 1.2  # radians of the half arch in view (≈ 69°)
ARCH_REACH = 1.1  # the half arch's projected end, in half mouth widths (hidden behind the corners)
UPPER_BAND = 0.15  # upper teeth visible length, fraction of the mouth width
LOWER_BAND = 0.05  # lower teeth tips above the lower lip, fraction of the mouth width
GUM_DEPTH = 0.008  # gum papillae depth below the upper lip, fraction of the mouth width
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class MouthPalette:
    """RGB colours (0-255 floats) of the mouth interior's layers."""

    cavity: np.ndarray
    teeth: np.ndarray
    lips: np.ndarray
    gums: np.ndarray
    tongue: np.ndarray

    @classmethod
    def from_colours(cls, cavity, teeth, lips=None) -> MouthPalette:
        """A palette from a cavity and a teeth colour (the lip tone is taken as the cavity's, lighter)."""
        cav = np.asarray(cavity, np.float32)[:3]
        tee = np.asarray(teeth, np.float32)[:3]
        lip = np.asarray(lips, np.float32)[:3] if lips is not None else np.clip(cav / 0.22, 0, 255)
        red = np.array([1.18, 0.82, 0.86], np.float32)  # mucosa: redder than the outer lip
        gums = np.clip(lip * red * 1.08 + 12.0, 0, 255)
        pink = lip * np.array([1.1, 0.84, 0.88], np.float32)
        grey = float(pink @ _LUMA)
        tongue = np.clip(grey + 0.65 * (pink - grey) + 6.0, 0, 255)
        return cls(cav, tee, lip, gums, tongue)


def mouth_palette(lips: np.ndarray, cavity: np.ndarray, teeth: np.ndarray) -> MouthPalette:
    """The palette for a photo, given its inner-lip tone and the cavity and teeth colours."""
    return MouthPalette.from_colours(cavity, teeth, lips)


def _smooth(e0, e1, v):
    """Smoothstep from 0 at e0 to 1 at e1 (e1 < e0 makes a falling step)."""
    span = np.asarray(e1 - e0, np.float64)
    span = np.where(np.abs(span) < 1e-6, np.where(span < 0, -1e-6, 1e-6), span)
    t = np.clip((v - e0) / span, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _lip_curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0], kind="stable")
    return np.interp(xs, points[order, 0], points[order, 1])


@dataclass(frozen=True)
class _Arch:
    edges: np.ndarray  # tooth boundaries in arch units (0 at the midline, 1 at the molar's back)
    lengths: np.ndarray

    @classmethod
    def of(cls, widths, lengths) -> _Arch:
        w = np.asarray(widths, np.float64)
        return cls(np.concatenate([[0.0], np.cumsum(w) / w.sum()]), np.asarray(lengths, np.float64))

    def columns(self, u: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per column at mouth coordinate u (-1..1 corner to corner): tooth index, position across the
        tooth (0..1), the tooth's width (px) and the arch coordinate |s| (0 midline .. 1 back)."""
        sin_a = np.sin(ARCH_ANGLE)
        s = np.arcsin(np.clip(np.abs(u) / ARCH_REACH * sin_a, -1.0, 1.0)) / ARCH_ANGLE
        k = np.clip(np.searchsorted(self.edges, s, side="right") - 1, 0, len(self.lengths) - 1)
        lo, hi = self.edges[k], self.edges[k + 1]
        f = np.clip((s - lo) / (hi - lo), 0.0, 1.0)
        px_per_s = half * ARCH_REACH * ARCH_ANGLE * np.cos(s * ARCH_ANGLE) / sin_a
        return k, f, (hi - lo) * px_per_s, s


UPPER_ARCH = _Arch.of(UPPER_WIDTHS, UPPER_LENGTH)
LOWER_ARCH = _Arch.of(LOWER_WIDTHS, LOWER_LENGTH)


def _teeth(arch: _Arch, u: np.ndarray, half: float, band: float, gap_px: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column: the tooth edge's depth from its lip (px), the tooth's shade, the gap darkening and the
    gum papilla depth (fraction of the gum depth)."""
    k, f, width, s = arch.columns(u, half)
    centred = np.abs(2.0 * f - 1.0)
    canine = k == 2
    rounding = np.where(canine, 0.15 * centred ** 1.4, 0.08 * centred ** 4)  # canines come to a point
    depth = band * arch.lengths[k] * (1.0 - rounding) * (1.0 - 0.25 * s * s)
    dist = np.minimum(f, 1.0 - f) * width  # px to the nearest gap
    gap = 1.0 - 0.25 * (1.0 - _smooth(0.0, gap_px, dist)) * np.minimum(1.0, width / (2.5 * gap_px))
    shade = (0.8 + 0.2 * np.sin(np.pi * f)) * (1.0 - 0.7 * s ** 1.5) * gap
    papilla = 1.0 - np.sin(np.pi * f) ** 0.7
    return depth, shade, gap, papilla


def render_interior(patch: np.ndarray, upper: np.ndarray, lower: np.ndarray, palette: MouthPalette, *,
                    tongue: float = 0.0, softness: float = 1.0, teeth: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The mouth interior over `patch` (h×w×C) between the inner lips.

    Args:
        upper, lower: (P, 2) inner upper and lower lip points (x, y in patch pixels), corner to corner.
        palette: the layers' colours.
        tongue: 0 (resting, low in the mouth) to 1 (raised to the teeth: TH, L, DD).
        softness: px of the inward feather at the lips.
        teeth: draw the teeth (False where the photo's own teeth are kept).

    Returns (colour h×w×3 float32, cover h×w float32 in 0..1: 0 outside the opening).
    """
    h, w = patch.shape[:2]
    colour = np.zeros((h, w, 3), np.float32)
    cover = np.zeros((h, w), np.float32)
    x_min = float(min(upper[:, 0].min(), lower[:, 0].min()))
    x_max = float(max(upper[:, 0].max(), lower[:, 0].max()))
    width = x_max - x_min
    if width < 2.0:
        return colour, cover
    c0, c1 = max(0, int(np.ceil(x_min))), min(w, int(np.floor(x_max)) + 1)
    if c1 <= c0:
        return colour, cover
    xs = np.arange(c0, c1, dtype=np.float64)
    top = _lip_curve(upper, xs)
    bot = _lip_curve(lower, xs)
    if not np.any(bot - top > 0.25):
        return colour, cover
    half = 0.5 * width
    cx = 0.5 * (x_min + x_max)
    u = (xs - cx) / half
    y = np.arange(h, dtype=np.float64)[:, None]
    d_top = y - top[None, :]  # px below the upper lip
    d_bot = bot[None, :] - y  # px above the lower lip
    opening = np.maximum(bot - top, 0.0)
    centre_open = float(np.interp(cx, xs, opening))
    aa = 0.6  # anti-aliasing width (px) of layer edges

    # 1. cavity: mucosa tone at the lips, darkness at the back and in the corners
    lip_dist = np.minimum(d_top, d_bot)
    depth = _smooth(0.0, max(0.16 * width, 1.0), lip_dist) * (0.55 + 0.45 * (1.0 - np.abs(u) ** 2))[None, :]
    edge_tone = palette.lips * 0.6
    deep = palette.cavity * 0.8
    corner = (1.0 - 0.45 * _smooth(0.55, 1.0, np.abs(u)))[None, :, None]
    col = (edge_tone + (deep - edge_tone) * depth[..., None]) * corner

    # 2. tongue: an ellipse resting on the lower lip; raised (brighter) with `tongue`
    t = float(np.clip(tongue, 0.0, 1.0))
    t_half = 0.52 + 0.1 * t
    t_height = (0.45 + 0.45 * t) * centre_open + 0.01 * width
    base = bot[None, :] + 0.02 * centre_open
    ex = (u / t_half)[None, :]
    ey = (base - y) / max(t_height, 0.5)
    r2 = ex * ex + ey * ey
    inside_t = _smooth(1.0, 1.0 - aa / max(t_height, 1.0), np.sqrt(r2)) * (ey >= -0.2)
    light = (0.4 + 0.25 * t) + (0.2 + 0.3 * t) * np.clip(ey, 0, 1) - 0.35 * np.clip(r2 - 0.4, 0, 1)
    groove = 1.0 - 0.22 * np.exp(-(ex / 0.12) ** 2) * (ey > 0.3)
    t_col = palette.tongue * (light * groove)[..., None]
    col += (t_col - col) * inside_t[..., None]

    if teeth:
        gap_px = max(0.5, 0.005 * width)
        # 3. lower teeth: tips above the lower lip, behind the tongue when it is raised
        l_depth, l_shade, _, _ = _teeth(LOWER_ARCH, u, half, LOWER_BAND * width, gap_px)
        l_depth = l_depth * (1.0 - _smooth(0.3, 0.75, np.abs(u)))  # hidden by the lower lip further back
        lower_t = _smooth(l_depth[None, :] + aa, l_depth[None, :] - aa, d_bot) * (1.0 - inside_t * t)
        shadow = 0.72 + 0.28 * _smooth(0.0, 0.04 * width, d_bot)  # the lower lip's contact shadow
        l_col = palette.teeth * 0.72 * (l_shade[None, :] * shadow)[..., None]
        col += (l_col - col) * lower_t[..., None]
        # 4. upper teeth, gum papillae at the top, edge a little translucent
        u_depth, u_shade, _, papilla = _teeth(UPPER_ARCH, u, half, UPPER_BAND * width, gap_px)
        upper_t = _smooth(u_depth[None, :] + aa, u_depth[None, :] - aa, d_top)
        lip_shadow = 0.7 + 0.3 * _smooth(0.0, 0.05 * width, d_top)
        tip = _smooth(0.7, 1.0, d_top / np.maximum(u_depth[None, :], 1e-3))
        u_col = palette.teeth * (u_shade[None, :] * lip_shadow * (1.0 - 0.12 * tip))[..., None]
        u_col += (palette.cavity * 0.6 - u_col) * (0.25 * tip)[..., None]
        gum = _smooth(GUM_DEPTH * width * papilla[None, :] + aa, GUM_DEPTH * width * papilla[None, :] - aa, d_top)
        u_col += (palette.gums * 0.8 * lip_shadow[..., None] - u_col) * gum[..., None]
        col += (u_col - col) * upper_t[..., None]

    inside = (d_top > 0) & (d_bot > 0)
    feather = _smooth(0.0, max(softness, 1e-3), lip_dist) * inside
    colour[:, c0:c1] = col
    cover[:, c0:c1] = feather
    return colour, cover


__all__ = ["MouthPalette", "mouth_palette", "render_interior"]
