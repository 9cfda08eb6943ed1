"""`talkies dub` on the real videos of ../shared/data/video (cut to 2-3 s so the suite stays fast): the
closed loop through FaceTracker (the new speech drives the mouth, not the old; lips close on p/b/m),
pixels outside the lower face kept, the length rules, and the bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkies.runtime.blendshapes import Blendshape
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.media import TEXT, grace_hopper_path, speech, write_wav

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
JAW = Blendshape.jawOpen.value
#: (file, start s) of each cut: a stretch where the person moves their mouth
CUTS = {"d18": 0.0, "d14": 3.0, "s18": 0.0}


def cut(name: str, folder: Path, seconds: float = 3.0, start: float | None = None) -> Path:
    """`seconds` of a shared video (with its audio), re-encoded near-losslessly from its own planes, with
    its colour tags (s18: BT.709)."""
    from itertools import chain

    from talkies.runtime.media import VideoColour, VideoWriter, frame_yuv420, iter_video_frames, read_audio, \
        video_info

    start = CUTS[name] if start is None else start
    path = folder / f"{name}_{start:g}_{seconds:g}.mp4"
    if path.exists():
        return path
    src = VIDEOS / f"{name}.mp4"
    if not src.exists():
        pytest.skip(f"{src} is missing (see ../shared/data/video/README.md)")
    info = video_info(src)
    rate = 16000
    audio = read_audio(src, sample_rate=rate)[int(start * rate):int((start + seconds) * rate)]
    frames = iter_video_frames(src)
    first = next(frames)
    with VideoWriter(path, width=info.width, height=info.height, fps=round(info.fps), audio=audio, sample_rate=rate,
                     crf=10, colour=VideoColour.of_frame(first[1])) as writer:
        for t, frame in chain([first], frames):
            if start - 1e-3 <= t < start + seconds - 1e-3:
                writer.write_yuv420(frame_yuv420(frame, info.width, info.height))
    return path


def colour_tags(path: Path) -> tuple[int, int, int, int]:
    import av

    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        return ctx.colorspace, ctx.color_range, ctx.color_primaries, ctx.color_trc


def decoded(path: Path) -> list[np.ndarray]:
    from talkies.runtime.media import iter_video

    return [frame for _, frame in iter_video(path)]


def tracked(path: Path, models):
    from talkies.runtime.face import FaceTrackerOptions, track_video

    return track_video(path, FaceTrackerOptions(smoothing=False), models=models)[0]


def face_height(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[..., 152, 1] - landmarks[..., 10, 1]


def lip_gap(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip opening / face height, per frame."""
    return (landmarks[..., 14, 1] - landmarks[..., 13, 1]) / face_height(landmarks)


def probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        out = {"metadata": dict(c.metadata), "codecs": sorted(s.codec_context.name for s in c.streams),
               "frames": sum(1 for _ in c.decode(video=0))}
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        out["audio"] = sum(f.samples for f in c.decode(audio=0)) / a.codec_context.sample_rate
    return out


# ---------------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dub")


@pytest.fixture(scope="module")
def new_speech(workdir):
    """espeak-ng saying TEXT (p/b/m closures), as a WAV file, and its phone timings."""
    sp = speech(TEXT)
    return write_wav(workdir / "new_speech.wav", sp.float32(), sp.sample_rate), sp


@pytest.fixture(scope="module", params=sorted(CUTS))
def dubbed(request, workdir, new_speech, face_models):
    from talkies.runtime.dub import VideoDubber, VideoDubberOptions

    clip = cut(request.param, workdir)
    with VideoDubber(VideoDubberOptions(watermark=False), models=face_models) as dubber:
        result = dubber.dub_audio(clip, new_speech[0], workdir / f"{request.param}_dubbed.mp4")
    return request.param, clip, result


# ---------------------------------------------------------------------------------------------------
# closed loop, pixels
# ---------------------------------------------------------------------------------------------------


def test_closed_loop_new_speech_drives_the_mouth(dubbed, face_models):
    name, clip, result = dubbed
    out, src = tracked(result.path, face_models), tracked(clip, face_models)
    n = result.frames
    assert len(out.weights) == n and result.dubbed.all()
    target = result.target.weights[:, JAW]
    new = np.corrcoef(out.weights[:, JAW], target)[0, 1]
    old = np.corrcoef(out.weights[:, JAW], src.weights[result.source_index, JAW])[0, 1]
    print(f"{name}: jawOpen r(target) = {new:.3f}, r(source) = {old:.3f}")
    assert new >= 0.7, f"{name}: re-tracked jawOpen vs the LipSync target: r = {new:.2f}"
    assert old <= 0.3, f"{name}: re-tracked jawOpen vs the source's own: r = {old:.2f}"


def test_lips_close_on_p_b_m(dubbed, face_models):
    from talkies.runtime.blendshapes import VISEME_NAMES

    name, clip, result = dubbed
    # the target's closures: frames where LipSync's most likely viseme is PP (p, b, m)
    visemes = result.motion.sample(result.target.timestamps).visemes
    inside = visemes.argmax(axis=1) == VISEME_NAMES.index("PP")
    assert inside.sum() >= 4  # "Peter picked a pepper ... Bob may buy a big map"
    out = tracked(result.path, face_models)
    src = tracked(clip, face_models)
    rest = np.percentile(lip_gap(src.extras["landmarks"]), 10)  # the source's closed mouth
    gap = lip_gap(out.extras["landmarks"])
    closed = (gap[inside] <= max(rest, 0.0) + 0.01) | (out.weights[inside, Blendshape.mouthClose.value] > 0.1)
    opened = gap[result.target.weights[:, JAW] > 0.3]
    print(f"{name}: p/b/m gap {np.round(gap[inside], 3)}, rest {rest:.3f}, open {opened.mean():.3f}")
    assert closed.mean() >= 0.75, f"{name}: lips apart on p/b/m: {np.round(gap[inside], 3)} (rest {rest:.3f})"
    assert opened.mean() > 3 * max(gap[inside].mean(), 0.005)


def test_outside_the_lower_face_frames_match_the_source(dubbed, face_models):
    name, clip, result = dubbed
    src = tracked(clip, face_models).extras["landmarks"]
    source, out = decoded(clip), decoded(result.path)
    errors, pixels = 0.0, 0
    worst = np.inf
    for j, frame in enumerate(out):
        k = result.source_index[j]
        lm = src[k]
        height = face_height(lm)
        margin = 0.12 * height
        keep = np.ones(frame.shape[:2], bool)  # leave out jaw, lips and chin (nose tip down) plus a margin
        y0, y1 = int(lm[1, 1] - margin), int(lm[152, 1] + 0.35 * height)
        x0, x1 = int(lm[:, 0].min() - margin), int(lm[:, 0].max() + margin)
        keep[max(y0, 0):y1, max(x0, 0):x1] = False
        diff = (frame.astype(np.float64) - source[k])[keep]
        sq = float((diff ** 2).sum())
        errors, pixels = errors + sq, pixels + diff.size
        worst = min(worst, 10 * np.log10(255.0 ** 2 * diff.size / max(sq, 1e-9)))
    psnr = 10 * np.log10(255.0 ** 2 * pixels / errors)
    print(f"{name}: PSNR outside the lower face {psnr:.2f} dB (worst frame {worst:.2f})")
    assert psnr >= 40.0, f"{name}: PSNR {psnr:.2f} dB outside the lower face"
    # the source's planes were encoded as they are: its colour tags go with them (s18 is BT.709)
    assert colour_tags(result.path) == colour_tags(clip)
    assert name != "s18" or colour_tags(clip) == (1, 1, 1, 1)


# ---------------------------------------------------------------------------------------------------
# length rules, audio, the CLI
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fit, seconds, frames", [("loop", 2.8, 84), ("freeze", 2.8, 84), ("trim", 2.8, 60),
                                                  ("loop", 1.0, 60), ("trim", 1.0, 30)])
def test_length_rules(workdir, new_speech, face_models, fit, seconds, frames):
    from talkies.runtime.dub import VideoDubber, VideoDubberOptions
    from talkies.runtime.talking_photo import load_audio

    clip = cut("d18", workdir, seconds=2.0)  # 60 frames
    pcm, rate = load_audio(new_speech[0])
    wav = write_wav(workdir / f"speech_{seconds:g}.wav", pcm[:int(seconds * rate)], rate)
    out = workdir / f"length_{fit}_{seconds:g}.mp4"
    with VideoDubber(VideoDubberOptions(fit=fit, watermark=False, mix_original=1.0), models=face_models) as dubber:
        result = dubber.dub_audio(clip, wav, out)
    info = probe(out)
    assert result.frames == frames and info["frames"] == frames
    assert abs(info["audio"] - frames / 30) <= 0.05  # AAC pads to whole 1024-sample frames
    index = result.source_index
    if fit == "loop" and seconds > 2:
        assert index[:62].tolist() == [*range(60), 58, 57]  # back and forth
        # the reversed frame really is source frame 57 (upper half: the mouth is dubbed)
        a, b = decoded(out)[61][:240], decoded(clip)[57][:240]
        assert np.abs(a.astype(int) - b).mean() < 2.0
    if fit == "freeze":
        assert (index[60:] == 59).all()
    if seconds < 2:  # after the speech the mouth rests, and the mixed-in source audio goes on
        assert (result.target.weights[30:, JAW] == 0).all()
        tail = load_audio(out)[0]
        assert np.sqrt(np.mean(tail[int(1.2 * 16000):int(1.9 * 16000)] ** 2)) > 1e-3


def test_cli_text_writes_video_subtitles_mark_and_tag(workdir):
    clip = cut("d18", workdir, seconds=2.0)
    out = workdir / "cli_text.mp4"
    rc = run_cli("dub", clip, "--text", "Bob may buy a map.", "--voice", "espeak:en-us", "-o", out,
                 "--backend", "mediapipe", "--fit", "trim")
    assert rc == 0
    info = probe(out)
    assert info["codecs"] == ["aac", "h264"]
    assert info["metadata"]["comment"].startswith("synthesised by talkies")
    assert "Bob may buy a map." in out.with_suffix(".srt").read_text()
    first, source = decoded(out)[0], decoded(clip)[0]
    corner = np.abs(first[-40:, -120:].astype(int) - source[-40:, -120:]).mean()
    assert corner > 5  # the visible AI mark
    assert not list(workdir.glob(".cli_text*"))


def test_cli_photo_as_video_makes_a_talking_photo(workdir, new_speech):
    out = workdir / "photo.mp4"
    assert run_cli("dub", grace_hopper_path(), "--audio", new_speech[0], "-o", out, "--backend", "mediapipe") == 0
    info = probe(out)
    assert info["codecs"] == ["aac", "h264"] and abs(info["frames"] / 25 - new_speech[1].duration) < 0.1


# ---------------------------------------------------------------------------------------------------
# bad input: one line, exit code 2, nothing at -o
# ---------------------------------------------------------------------------------------------------


def _faceless(folder: Path) -> Path:
    from talkies.runtime.media import VideoWriter

    path = folder / "faceless.mp4"
    y, x = np.mgrid[0:128, 0:128]
    with VideoWriter(path, width=128, height=128, fps=10) as writer:
        for i in range(10):
            writer.write(np.stack([(x + i) % 256, y, (x + y) % 256], -1).astype(np.uint8))
    return path


@pytest.mark.parametrize("case", ["no face", "unknown face", "corrupt video", "audio-only video", "empty audio",
                                  "silent audio", "corrupt audio", "output is a directory", "output under a file"])
def test_bad_input_one_line_and_no_output(workdir, new_speech, capsys, case):
    folder = workdir / case.replace(" ", "_")
    folder.mkdir()
    video, audio, out = cut("d18", workdir, seconds=2.0), new_speech[0], folder / "out.mp4"
    extra: list[str] = []
    if case == "no face":
        video = _faceless(folder)
    elif case == "unknown face":
        extra = ["--face", "3"]
    elif case == "corrupt video":
        video = folder / "broken.mp4"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    elif case == "audio-only video":
        video = audio
    elif case == "empty audio":
        audio = write_wav(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    elif case == "silent audio":
        audio = write_wav(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    elif case == "corrupt audio":
        audio = folder / "broken.wav"
        audio.write_bytes(b"RIFF....WAVEfmt " + bytes(range(256)))
    elif case == "output is a directory":
        out = folder
    elif case == "output under a file":
        (folder / "file").write_text("x")
        out = folder / "file" / "out.mp4"
    capsys.readouterr()
    rc = run_cli("dub", video, "--audio", audio, "-o", out, "--backend", "mediapipe", *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("talkies: error:"), (rc, err)
    assert out.is_dir() or not out.exists()
    assert not list(folder.glob(".out.mp4*"))


def test_interrupt_leaves_no_partial_output(workdir, new_speech, monkeypatch, capsys):
    from talkies.runtime import media

    written = []

    def interrupted(self, frame):
        written.append(1)
        if len(written) == 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(media.VideoWriter, "write_yuv420", interrupted)
    out = workdir / "interrupted" / "out.mp4"
    rc = run_cli("dub", cut("d18", workdir, seconds=2.0), "--audio", new_speech[0], "-o", out,
                 "--backend", "mediapipe")
    assert rc == 130 and capsys.readouterr().err.strip() == "talkies: aborted"
    assert len(written) == 10 and not out.exists() and not list(out.parent.glob(".out.mp4*"))
