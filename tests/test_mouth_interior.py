"""The mouth interior (runtime/mouth_interior.py): teeth with texture and gaps, a cavity that darkens
towards the back, a tongue that rises on TH/L/DD, closed mouths untouched; measured over the mouth of
open-mouth frames rendered from real photos, against the flat band of the previous renderer
(kernels.fill_mouth)."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.blendshapes import Blendshape
from talkies.runtime.mouth_interior import UPPER_BAND, MouthPalette, render_interior
from talkies.runtime.rig import INNER_LIP_LOOP, LIPS_LOWER_INNER, LIPS_UPPER_INNER, polygon_mask
from talkies.tests.helpers.media import astronaut_path, grace_hopper_path, video_still

LUMA = np.array([0.299, 0.587, 0.114])


def mouth_metrics(frame: np.ndarray, face: np.ndarray) -> dict[str, float]:
    """Over the opening between the inner lips of `face` (478 image points) in `frame`:
    - teeth_std: luminance spread along the upper teeth (half a band below the upper lip, middle 70%);
    - gaps: dark dips along that line (tooth gaps), per 10 teeth-widths of a 12-tooth row;
    - gradient: mean luminance of the cavity next to the lips minus that of its back (deep) part."""
    lum = frame[..., :3].astype(np.float64) @ LUMA
    up, lo = face[list(LIPS_UPPER_INNER), :2], face[list(LIPS_LOWER_INNER), :2]
    x0, x1 = face[list(INNER_LIP_LOOP), 0].min(), face[list(INNER_LIP_LOOP), 0].max()
    width = x1 - x0
    xs = np.arange(int(np.ceil(x0 + 0.15 * width)), int(x1 - 0.15 * width))
    top = np.interp(xs, *up[np.argsort(up[:, 0])].T)
    bot = np.interp(xs, *lo[np.argsort(lo[:, 0])].T)
    row = np.round(top + 0.5 * UPPER_BAND * width).astype(int)
    line = lum[row, xs]
    dips = (line[2:-2] < line[:-4] - 6) & (line[2:-2] < line[4:] - 6)
    starts = np.flatnonzero(dips[1:] & ~dips[:-1]).size + int(dips[:1].sum())
    ys, xx = np.mgrid[int(top.min()):int(bot.max()) + 1, xs[0]:xs[-1] + 1]
    inside = polygon_mask(np.stack([xx.ravel(), ys.ravel()], 1).astype(float), face[list(INNER_LIP_LOOP), :2])
    depth = np.minimum(ys - np.interp(xx, xs, top), np.interp(xx, xs, bot) - ys).ravel()
    vals = lum[ys.ravel(), xx.ravel()]
    cavity = inside & (vals < 0.5 * np.percentile(line, 90)) & (depth >= 2)
    near = cavity & (depth < 0.06 * width)
    far = cavity & (depth >= 0.12 * width)
    gradient = float(vals[near].mean() - vals[far].mean()) if near.any() and far.any() else 0.0
    return {"teeth_std": float(line.std()), "gaps": float(starts), "gradient": gradient}


def synthetic_mouth(open_px: float = 55.0):
    xs = np.linspace(10, 190, 11)
    u = (xs - 100) / 90
    upper = np.stack([xs, 26 + 6 * u ** 2], 1)
    lower = np.stack([xs, 30 + open_px * (1 - u ** 2) ** 0.8], 1)
    return upper, lower


PALETTE = MouthPalette.from_colours((40, 14, 16), (225, 215, 200), (170, 90, 95))


def test_interior_layers_on_a_synthetic_mouth() -> None:
    patch = np.full((110, 200, 3), 200, np.float32)
    upper, lower = synthetic_mouth()
    colour, cover = render_interior(patch, upper, lower, PALETTE, tongue=0.0, softness=1.5)
    lum = colour @ LUMA
    assert cover.max() == pytest.approx(1.0) and cover[:20].max() == 0.0  # nothing above the upper lip
    # upper teeth: bright, with gaps between them along the band, darker towards the corners
    band = lum[26 + 10, 40:160]
    assert band.max() > 180 and band.std() > 8
    assert (np.diff(np.sign(np.diff(band))) > 0).sum() >= 6  # local minima: tooth gaps
    assert lum[36, 106] > lum[36 + 4, 30] + 40  # front teeth lit, back ones in shadow
    # cavity: lighter next to the lips than at the back
    assert lum[55, 40] < 60 and lum[55, 100] < 60
    # a raised tongue lights the lower middle of the mouth and hides the lower teeth
    raised, _ = render_interior(patch, upper, lower, PALETTE, tongue=1.0, softness=1.5)
    r_lum = raised @ LUMA
    assert r_lum[60, 100] > lum[60, 100] + 30
    assert raised[60, 100, 0] > raised[60, 100, 1] * 1.3  # tongue pink
    # closed lips: nothing covered
    closed = lower.copy()
    closed[:, 1] = upper[:, 1] - 0.5
    assert render_interior(patch, upper, closed, PALETTE)[1].max() == 0.0


@pytest.mark.parametrize("photo", ["grace_hopper", "astronaut", "d14", "d18", "s18"])
def test_open_mouth_frames_show_teeth_texture_gaps_and_depth(photo, face_models, tmp_path) -> None:
    """On the demo and test portraits and a still of each shared video (the stills are skipped where the
    shared videos are not)."""
    from talkies.kernels import fill_mouth
    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions

    stills = {"grace_hopper": grace_hopper_path(), "astronaut": astronaut_path(tmp_path)}
    path = stills[photo] if photo in stills else video_still(photo)
    if path is None:
        pytest.skip(f"the shared video {photo}.mp4 is not here")
    new = PhotoAnimator(path, PhotoAnimatorOptions(watermark=False), models=face_models)
    bare = PhotoAnimator(path, PhotoAnimatorOptions(watermark=False, mouth_fill=False), models=face_models)
    w = np.zeros(52, np.float32)
    w[Blendshape.jawOpen.value] = 0.8
    frame = new.render_frame(w).copy()
    face = new.landmarks_for(w)
    got = mouth_metrics(frame, face)
    # the previous renderer: a flat cavity and a flat band of teeth on the same warped frame
    poly = face[list(INNER_LIP_LOOP), :2]
    flat = fill_mouth(bare.render_frame(w), poly, cavity_colour=new.cavity_colour, teeth_colour=new.teeth_colour,
                      teeth_size=0.11, softness=max(1.0, 0.015 * new.fitted.scale))
    old = mouth_metrics(flat, face)
    if photo != "astronaut":  # the astronaut's own teeth are kept, so only the depth is ours there
        assert got["teeth_std"] > max(6.0, 2 * old["teeth_std"]), (got, old)
        assert got["gaps"] >= 4 > old["gaps"], (got, old)
    assert got["gradient"] > max(3.0, old["gradient"] + 3.0), (got, old)
