"""`talkies animate` (a talking photo from audio or a script), `talkies reenact` (a photo driven by
another face's video) and `talkies voices` (the TTS voices): flags over :mod:`talkies.runtime.talking_photo`."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import backend_option, choices, one_speech_source, output_option, speech_options
from talkies.io import check_sidecar, check_writable
from talkies.log import get_logger
from talkies.types import Expression, Resolution

log = get_logger(__name__)

def render_options(func):
    """Options shared by `animate` and `reenact`."""
    for decorator in reversed([
        click.option("--resolution", type=choices(Resolution), default="source",
                     show_default=True, help="Output height: the photo's own, 720 or 1080 pixels (aspect kept)."),
        click.option("--fps", type=click.Choice(["25", "30"]), default="25", show_default=True,
                     help="Frame rate."),
        click.option("--expression", type=choices(Expression), default="neutral", show_default=True,
                     help="Expression preset."),
        click.option("--intensity", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
                     help="Strength of the expression, 0-2."),
        click.option("--face", "face", type=click.IntRange(0, None), default=None,
                     help="Which face to animate (numbered as in `talkies faces PHOTO`) [default: the largest]."),
        backend_option(default="auto", extra=("auto", "mediapipe"),
                       help="Face tracking models: mediapipe = the original .tflite in LiteRT; auto = the ONNX "
                            "bundles when installed, else mediapipe."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of blinks and idle motion."),
        click.option("--head-motion", "head_motion", type=click.FloatRange(0.0, 3.0), default=1.0, show_default=True,
                     help="Scale of the head's idle motion and of its nods and tilts with the voice, 0-3 (0: still)."),
        click.option("--no-watermark", is_flag=True,
                     help="Leave out the small visible 'AI-generated' mark (the file's metadata still says it "
                          "was synthesised). Only for uses where viewers know the video is synthetic."),
    ]):
        func = decorator(func)
    return func


def _options(resolution, fps, expression, intensity, face, seed, no_watermark, head_motion=1.0, **extra):
    from talkies.runtime.animator import PhotoAnimatorOptions

    return PhotoAnimatorOptions(resolution=resolution, fps=int(fps), expression=expression, intensity=intensity,
                                face=face, seed=seed, watermark=not no_watermark, head_motion=head_motion,
                                **extra)


def _report(report) -> None:
    w, h = report.size
    click.echo(str(report.path))
    for sidecar in (report.subtitles, report.extras.get("audio")):
        if sidecar:
            click.echo(str(sidecar))
    if report.extras.get("format"):
        log.info("%d frames of a talking head, %.2f s, in %.1f s", report.frames, report.duration, report.seconds)
    else:
        log.info("%d frames %dx%d, %.2f s of video in %.1f s", report.frames, w, h, report.duration, report.seconds)


@cli.command("animate")
@click.argument("photo", type=click.Path(path_type=Path))
@output_option("Output MP4; a .glb or .gltf name writes the photo's talking head instead (3-D face, photo "
               "texture, 52 ARKit morph targets, the animation).")
@speech_options
@render_options
def animate_command(photo: Path, output: Path, audio: Path | None, text: str | None, voice: str | None,
                    language: str, rate: int, pitch: int, backend: str, **render) -> None:
    """Make a talking-photo video: PHOTO speaks --audio FILE or --text "...".

    The video is H.264 + AAC, as long as the speech, with a small "AI-generated" mark (see
    --no-watermark) and a "synthesised by talkies" metadata tag. A silent audio track gives a video of
    the face at rest (blinks and idle head motion).

    With -o NAME.glb (or .gltf) the output is the photo's talking head for Blender, three.js or any glTF
    viewer: the face in 3-D, textured with the photo, playing the same frames as the video would; a
    script's speech is written beside it as NAME.wav.
    """
    from talkies.runtime.talking_photo import HEAD_SUFFIXES

    one_speech_source(audio, text)
    check_writable(output, inputs=(photo, audio))
    if text is not None:
        check_sidecar(output, output.with_suffix(".srt"), inputs=(photo,))
        if output.suffix.lower() in HEAD_SUFFIXES:
            check_sidecar(output, output.with_suffix(".wav"), inputs=(photo,))
    from talkies.bundles import face_models
    from talkies.runtime import media
    from talkies.runtime.talking_photo import animate_audio, animate_text

    media.read_image(photo)  # InputError for a missing or unreadable photo, before any other work
    if text is not None and voice is None:
        from talkies.runtime import tts

        voice = tts.default_voice(language)
    options = _options(**render)
    models = face_models(backend)
    if audio is not None:
        report = animate_audio(photo, audio, output, options, models=models)
    else:
        report = animate_text(photo, text, output, options, voice=voice, rate=rate, pitch=pitch, models=models)
    _report(report)


@cli.command("reenact")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--driver", type=click.Path(path_type=Path), required=True,
              help="Video of another face whose expressions and head motion drive the photo (its audio is kept).")
@output_option("Output MP4.")
@render_options
def reenact_command(photo: Path, driver: Path, output: Path, backend: str, **render) -> None:
    """Drive PHOTO with the face in a --driver video (tracked with FaceTracker)."""
    from talkies.bundles import face_models
    from talkies.runtime import media
    from talkies.runtime.talking_photo import reenact

    check_writable(output, inputs=(photo, driver))
    media.read_image(photo)
    media.video_info(driver)
    report = reenact(photo, driver, output, _options(**render), models=face_models(backend))
    _report(report)


@cli.command("voices")
@click.option("--language", default=None, help="Only voices for this language prefix (e.g. en, de).")
def voices_command(language: str | None) -> None:
    """List every engine's voices for `talkies animate --text ... --voice NAME`: engine, the name to pass
    as --voice, language, gender and description. Kokoro's voices sound natural; espeak-ng's are robotic
    but cover about 140 languages."""
    from talkies.runtime import tts

    voices = tts.list_voices(language)
    click.echo(f"{'engine':<8} {'voice':<18} {'language':<12} {'gender':<7} description")
    for v in sorted(voices, key=lambda v: (v.engine != "kokoro", v.language)):  # Kokoro first
        selector = v.identifier if v.engine == "kokoro" else v.language
        click.echo(f"{v.engine:<8} {selector:<18} {v.language:<12} {v.gender or '-':<7} {v.name}")
    click.echo(f"{len(voices)} voices; espeak-ng voices take a variant with +NAME (espeak:en-us+f3)", err=True)
