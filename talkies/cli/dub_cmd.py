"""`talkies dub`: re-lip-sync a real talking video to new speech; flags over :mod:`talkies.runtime.dub`."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import backend_option, choices, one_speech_source, output_option, speech_options
from talkies.io import check_writable
from talkies.log import get_logger
from talkies.runtime.dub.frames import Fit

log = get_logger(__name__)


@cli.command("dub")
@click.argument("video", type=click.Path(path_type=Path))
@output_option("Output MP4.")
@speech_options
@click.option("--face", "face", type=click.IntRange(0, None), default=None,
              help="Which face to dub, numbered in order of appearance [default: the largest].")
@click.option("--fit", type=choices(Fit), default="loop", show_default=True,
              help="Speech longer than the video: loop it back and forth, or freeze the last frame; trim: "
                   "end with the shorter of the two.")
@click.option("--mix-original", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Gain of the video's own audio under the new speech (0 drops it).")
@backend_option(extra=("auto", "mediapipe"),
                help="Face tracking models: mediapipe = the original .tflite in LiteRT; auto = the fastest "
                     "installed and verified choice (`talkies doctor`).")
@click.option("--no-watermark", is_flag=True,
              help="Leave out the small visible 'AI-generated' mark (the metadata still says it was synthesised).")
def dub_command(video: Path, output: Path, audio: Path | None, text: str | None, voice: str | None, language: str,
                rate: int, pitch: int, face: int | None, fit: str, mix_original: float, backend: str,
                no_watermark: bool) -> None:
    """Dub VIDEO: its face speaks --audio FILE or --text "..." with a mouth that matches.

    Head, eyes, brows and expression stay the source's; only the jaw and mouth follow the new speech.
    Frames where the face is lost pass through. A photo as VIDEO makes a talking photo.
    """
    one_speech_source(audio, text)
    check_writable(output, inputs=(video, audio))
    from talkies.bundles import face_models
    from talkies.runtime.dub import VideoDubber, VideoDubberOptions

    options = VideoDubberOptions(fit=fit, mix_original=mix_original, face=face, watermark=not no_watermark)
    with VideoDubber(options, models=face_models(backend)) as dubber:
        if audio is not None:
            report = dubber.dub_audio(video, audio, output)
        else:
            from talkies.runtime import tts

            report = dubber.dub_text(video, text, output, voice=voice or tts.default_voice(language), rate=rate,
                                     pitch=pitch)
    click.echo(str(report.path))
    if report.subtitles:
        click.echo(str(report.subtitles))
    w, h = report.size
    log.info("%d frames %dx%d, %.2f s of video in %.1f s", report.frames, w, h, report.duration, report.seconds)
