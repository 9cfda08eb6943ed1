"""`talkies dub`: re-lip-sync a real talking video to new speech; flags over :mod:`talkies.runtime.dub`."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import backend_option, choices, output_option
from talkies.io import check_writable
from talkies.log import get_logger
from talkies.runtime.dub.frames import Fit

log = get_logger(__name__)


@cli.command("dub")
@click.argument("video", type=click.Path(path_type=Path))
@output_option("Output MP4.")
@click.option("--audio", type=click.Path(path_type=Path), default=None,
              help="The new speech: any audio or video file FFmpeg reads (a video's audio track is used).")
@click.option("--text", default=None, help="A script to speak instead (writes OUT.srt subtitles too).")
@click.option("--voice", default=None,
              help="TTS voice for --text (see `talkies voices`) [default: Kokoro's voice for --language].")
@click.option("--language", default="en-us", show_default=True,
              help="Language of the script, when no --voice is given (e.g. fr, pt-br, de).")
@click.option("--face", "face", type=click.IntRange(0, None), default=None,
              help="Which face to dub, numbered in order of appearance [default: the largest].")
@click.option("--fit", type=choices(Fit), default="loop", show_default=True,
              help="Speech longer than the video: loop it back and forth, or freeze the last frame; trim: "
                   "end with the shorter of the two.")
@click.option("--mix-original", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Gain of the video's own audio under the new speech (0 drops it).")
@backend_option(default="auto", extra=("auto", "mediapipe"),
                help="Face tracking models: mediapipe = the original .tflite in LiteRT; auto = the ONNX "
                     "bundles when installed, else mediapipe.")
@click.option("--no-watermark", is_flag=True,
              help="Leave out the small visible 'AI-generated' mark (the metadata still says it was synthesised).")
def dub_command(video: Path, output: Path, audio: Path | None, text: str | None, voice: str | None, language: str,
                face: int | None, fit: str, mix_original: float, backend: str, no_watermark: bool) -> None:
    """Dub VIDEO: its face speaks --audio FILE or --text "..." with a mouth that matches.

    Head, eyes, brows and expression stay the source's; only the jaw and mouth follow the new speech.
    Frames where the face is lost pass through. A photo as VIDEO makes a talking photo.
    """
    if (audio is None) == (text is None):
        raise click.UsageError("give exactly one of --audio FILE or --text \"...\"")
    check_writable(output)
    from talkies.bundles import face_models
    from talkies.runtime.dub import VideoDubber, VideoDubberOptions

    options = VideoDubberOptions(fit=fit, mix_original=mix_original, face=face, watermark=not no_watermark)
    with VideoDubber(options, models=face_models(backend)) as dubber:
        if audio is not None:
            report = dubber.dub_audio(video, audio, output)
        else:
            from talkies.runtime import tts

            report = dubber.dub_text(video, text, output, voice=voice or tts.default_voice(language))
    click.echo(str(report.path))
    if report.subtitles:
        click.echo(str(report.subtitles))
    w, h = report.size
    log.info("%d frames %dx%d, %.2f s of video in %.1f s", report.frames, w, h, report.duration, report.seconds)
