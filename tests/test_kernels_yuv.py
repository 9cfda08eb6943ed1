"""YUV 4:2:0 region ↔ RGB vs NumPy references written from the standards' matrices, and vs FFmpeg."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from talkies.errors import InputError
from talkies.kernels import rgb_into_yuv420, yuv420_to_rgb, yuv_matrix
from talkies.kernels.yuv import STANDARDS

from talkies.tests.helpers.kernels import SETTINGS, rgb_into_yuv420_ref, small, yuv420_to_rgb_ref


def random_planes(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ch, cw = (h + 1) // 2, (w + 1) // 2
    return (rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (ch, cw), dtype=np.uint8),
            rng.integers(0, 256, (ch, cw), dtype=np.uint8))


def box_in(h: int, w: int, x0: int, y0: int, bw: int, bh: int) -> tuple[int, int, int, int]:
    """An even box inside an h×w frame starting at about (x0, y0)."""
    x0, y0 = min(x0, w // 2 * 2) // 2 * 2, min(y0, h // 2 * 2) // 2 * 2
    x1 = x0 + min(bw, (w - x0) // 2 * 2) // 2 * 2
    y1 = y0 + min(bh, (h - y0) // 2 * 2) // 2 * 2
    return x0, y0, x1, y1


@SETTINGS
@given(h=st.integers(2, 24), w=st.integers(2, 24), x0=st.integers(0, 24), y0=st.integers(0, 24),
       bw=st.integers(0, 24), bh=st.integers(0, 24), standard=st.sampled_from(sorted(STANDARDS)),
       full=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_to_rgb_matches_reference(h: int, w: int, x0: int, y0: int, bw: int, bh: int, standard: str, full: bool,
                                  seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, u, v = random_planes(rng, h, w)
    box = box_in(h, w, x0, y0, bw, bh)
    got = yuv420_to_rgb(y, u, v, box, matrix=yuv_matrix(standard, full_range=full))
    want = yuv420_to_rgb_ref(y, u, v, box, *STANDARDS[standard], full)
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want).max(initial=0) <= 1  # a value on a .5 boundary may round either way


@SETTINGS
@given(h=st.integers(2, 24), w=st.integers(2, 24), x0=st.integers(0, 24), y0=st.integers(0, 24),
       bw=st.integers(0, 24), bh=st.integers(0, 24), standard=st.sampled_from(sorted(STANDARDS)),
       full=st.booleans(), edit=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_into_yuv_matches_reference(h: int, w: int, x0: int, y0: int, bw: int, bh: int, standard: str, full: bool,
                                    edit: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    planes = random_planes(rng, h, w)
    box = box_in(h, w, x0, y0, bw, bh)
    m = yuv_matrix(standard, full_range=full)
    before = yuv420_to_rgb(*planes, box, matrix=m)
    rgb = before.copy()
    touched = rng.random(rgb.shape[:2]) < edit
    rgb[touched] = rng.integers(0, 256, (int(touched.sum()), 3), dtype=np.uint8)
    for unchanged in (before, None):
        got = [p.copy() for p in planes]
        want = [p.copy() for p in planes]
        rgb_into_yuv420(rgb, *got, box[:2], matrix=m, unchanged=unchanged)
        rgb_into_yuv420_ref(rgb, unchanged, *want, box[:2], *STANDARDS[standard], full)
        for g, e in zip(got, want):
            assert np.abs(g.astype(int) - e).max() <= 1


def test_unedited_region_stays_bit_exact() -> None:
    rng = np.random.default_rng(5)
    planes = random_planes(rng, small(720, 40), small(1280, 64))
    m = yuv_matrix("bt709")
    box = (small(500, 10), small(300, 8), small(820, 40), small(560, 30))
    rgb = yuv420_to_rgb(*planes, box, matrix=m)
    copies = [p.copy() for p in planes]
    assert rgb_into_yuv420(rgb, *copies, box[:2], matrix=m, unchanged=rgb.copy()) == 0
    for p, c in zip(planes, copies):
        np.testing.assert_array_equal(p, c)
    # one edited pixel rewrites its own luma and its block's chroma, nothing else
    edited = rgb.copy()
    edited[3, 5] = (250, 10, 10)
    assert rgb_into_yuv420(edited, *copies, box[:2], matrix=m, unchanged=rgb) == 1
    changed_y = np.argwhere(copies[0] != planes[0])
    assert changed_y.tolist() in ([[box[1] + 3, box[0] + 5]], [])
    assert (copies[2] != planes[2]).sum() <= 1 and (copies[2] != planes[2])[(box[1] + 3) // 2, (box[0] + 5) // 2]


@pytest.mark.parametrize("standard, colorspace", [("bt601", "ITU601"), ("bt709", "ITU709")])
def test_agrees_with_ffmpeg(standard: str, colorspace: str) -> None:
    """FFmpeg's own conversion (libswscale through PyAV, in its accurate mode) of frames with flat
    chroma, so its chroma interpolation cannot differ from the kernel's repetition."""
    import av
    from av.video.reformatter import Interpolation

    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT

    rng = np.random.default_rng(9)
    h, w = 32, 48
    for cb, cr in ((128, 128), (90, 170), (160, 100), (110, 140)):
        y = rng.integers(20, 230, (h, w), dtype=np.uint8)
        u = np.full((h // 2, w // 2), cb, np.uint8)
        v = np.full((h // 2, w // 2), cr, np.uint8)
        frame = av.VideoFrame.from_ndarray(np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w),
                                           format="yuv420p")
        ffmpeg = frame.to_ndarray(format="rgb24", src_colorspace=colorspace, dst_colorspace=colorspace,
                                  interpolation=accurate)
        ours = yuv420_to_rgb(y, u, v, (0, 0, w, h), matrix=yuv_matrix(standard))
        assert np.abs(ours.astype(int) - ffmpeg).max() <= 1


def test_bad_inputs() -> None:
    y, u, v = random_planes(np.random.default_rng(0), 8, 8)
    m = yuv_matrix()
    with pytest.raises(InputError, match="even"):
        yuv420_to_rgb(y, u, v, (1, 0, 5, 4), matrix=m)
    with pytest.raises(InputError, match="does not fit"):
        yuv420_to_rgb(y, u, v, (0, 0, 10, 4), matrix=m)
    with pytest.raises(TypeError, match="uint8"):
        yuv420_to_rgb(y.astype(np.float32), u, v, (0, 0, 4, 4), matrix=m)
    with pytest.raises(InputError, match="4:2:0"):
        yuv420_to_rgb(y, u[:2], v, (0, 0, 4, 4), matrix=m)
    with pytest.raises(InputError, match="unknown YUV standard"):
        yuv_matrix("bt999")
    with pytest.raises(InputError, match="writeable"):
        frozen = y.copy()
        frozen.flags.writeable = False
        rgb_into_yuv420(np.zeros((2, 2, 3), np.uint8), frozen, u, v, (0, 0), matrix=m)
    with pytest.raises(InputError, match="shaped like rgb"):
        rgb_into_yuv420(np.zeros((2, 2, 3), np.uint8), y, u, v, (0, 0), matrix=m,
                        unchanged=np.zeros((4, 4, 3), np.uint8))
