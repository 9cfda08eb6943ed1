"""Gaze and head motion from the voice (runtime/performance.py): idle saccades between fixations, nods
on stressed syllables (better than a shuffled baseline), --head-motion 0 keeps the head still."""

from __future__ import annotations

import numpy as np

from talkies.runtime.blendshapes import Blendshape as B
from talkies.runtime.performance import add_performance, idle_gaze, speech_nods, stressed_syllables

FPS = 25.0


def test_idle_gaze_fixates_and_jumps() -> None:
    t = np.arange(0, 20, 1 / FPS)
    g = idle_gaze(t, np.random.default_rng(1))
    steps = np.abs(np.diff(g, axis=0)).max(1)
    jumps = np.flatnonzero(steps > 0.05)
    assert 5 <= len(np.unique(jumps // 3)) <= 40  # saccades every 0.4-3 s
    assert np.mean(steps < 1e-6) > 0.8  # still between them (fixations)
    assert np.abs(g).max() <= 0.7


def test_nods_follow_stressed_syllables_better_than_shuffled() -> None:
    from talkies.runtime import espeak
    from talkies.runtime.speech import motion_from_phones
    from talkies.tests.helpers.media import TEXT

    sp = espeak.synthesize(TEXT, rate=165)
    t = np.arange(0, sp.duration, 1 / FPS)
    jaw = motion_from_phones(sp).sample(t).weights[:, B.jawOpen.value]
    marks = stressed_syllables(jaw, FPS)
    assert marks.sum() >= 3
    dip = -speech_nods(jaw, FPS)[:, 1]
    near = np.convolve(marks, np.ones(5), "same")
    r = np.corrcoef(dip, near)[0, 1]
    rng = np.random.default_rng(0)
    shuffled = [np.corrcoef(dip, np.convolve(rng.permutation(marks), np.ones(5), "same"))[0, 1] for _ in range(50)]
    assert r > np.percentile(shuffled, 95) and r > 0.3, (r, np.percentile(shuffled, 95))


def test_head_motion_zero_keeps_the_head_still() -> None:
    t = np.arange(0, 4, 1 / FPS)
    w = np.zeros((len(t), 52), np.float32)
    w[:, B.jawOpen.value] = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    pose = np.zeros((len(t), 6), np.float32)
    add_performance(w, pose, t, fps=FPS, seed=0, head_motion=0.0)
    assert not pose.any()
    add_performance(w, pose, t, fps=FPS, seed=0, head_motion=1.0)
    assert np.ptp(pose[:, 1]) > np.radians(0.5)
