"""PhotoAnimator.write encodes 4:2:0 planes converted once from the photo and, per frame, only inside the
box render_frame reports as changed: a frame never differs from the photo (with its watermark) outside
that box, and the video decodes as close to the rendered frames as the full-frame RGB encoding did."""

from __future__ import annotations

import numpy as np
import pytest

from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions, stamp_watermark
from talkies.tests.helpers.media import TEXT, astronaut_path, grace_hopper_path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


@pytest.mark.parametrize("portrait", ["grace_hopper", "astronaut"])
def test_frames_change_only_inside_the_box_and_encode_as_rendered(portrait, face_models, tmp_path) -> None:
    from talkies.runtime import espeak
    from talkies.runtime.media import VideoWriter, iter_video
    from talkies.runtime.speech import motion_from_phones

    photo = grace_hopper_path() if portrait == "grace_hopper" else astronaut_path(tmp_path)
    animator = PhotoAnimator(photo, PhotoAnimatorOptions(head_motion=2.0), models=face_models)
    plan = animator.plan(motion_from_phones(espeak.synthesize(TEXT)), 3.0)
    still = animator.image.copy()
    stamp_watermark(still, animator._wm)
    rendered, areas = [], []
    for frame in animator.iter_frames(plan):
        x0, y0, x1, y1 = animator.changed
        assert x0 % 2 == y0 % 2 == x1 % 2 == y1 % 2 == 0
        outside = np.ones(frame.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(frame[outside], still[outside])
        areas.append((x1 - x0) * (y1 - y0) / outside.size)
        rendered.append(frame.copy())
    assert np.mean(areas) < 0.9  # the point of it: most of the photo is converted once
    decoded = [f for _, f in iter_video(animator.write(plan, tmp_path / "boxes.mp4").path)]
    with VideoWriter(tmp_path / "rgb.mp4", width=animator.width, height=animator.height, fps=25, crf=20) as writer:
        for frame in rendered:
            writer.write(frame)
    whole = [f for _, f in iter_video(tmp_path / "rgb.mp4")]
    assert len(decoded) == len(rendered)
    got = np.mean([psnr(a, b) for a, b in zip(decoded, rendered)])
    before = np.mean([psnr(a, b) for a, b in zip(whole, rendered)])
    assert got >= 34.0 and got >= before - 0.3, (got, before)
