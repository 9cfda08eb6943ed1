"""`talkies lipsync AUDIO --format … -o OUT`: audio → visemes / ARKit / Live Link / Rhubarb curves, or keyed
curves for animation tools (glTF/GLB, Unity, VRMA, Live2D, Godot, Moho, Papagayo)."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import OneOf, backend_option, bundle_dir_option, choices, output_option, \
    precision_option, threads_option
from talkies.cli.track_cmd import head_kwargs, head_options
from talkies.io import check_writable
from talkies.runtime.formats import FORMATS, STREAMING, write_curves
from talkies.types import Expression


@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=OneOf(FORMATS, "format"), default="visemes", show_default=True,
              help="visemes: OVR JSON at 100 fps; arkit: 52-weight JSON; livelink: Unreal CSV; rhubarb: mouth cues; "
                   "gltf/glb: morph-target animation; unity: .anim; vrma: VRM animation; live2d: motion3.json; "
                   "godot: .tres; moho: switch .dat; papagayo: .pgo.")
@head_options
@output_option("Output file.")
@backend_option()
@precision_option(help="Precision of the lip-sync bundle.")
@click.option("--intensity", type=click.FloatRange(0, 2), default=1.0, show_default=True,
              help="Strength of the expression, 0-2.")
@click.option("--expression", type=choices(Expression), default="neutral", show_default=True,
              help="Expression preset added to the mouth weights.")
@click.option("--no-smooth", is_flag=True, help="Turn coarticulation smoothing off.")
@bundle_dir_option("Folder with lip-sync bundles [default: $TALKIES_HOME/bundles, then the shipped ones].")
@threads_option()
def lipsync(audio: Path, fmt: str, output: Path, backend: str, precision: str, intensity: float,
            expression: str, no_smooth: bool, bundle_dir: Path | None, threads: int, with_head: bool,
            apply_to: Path | None) -> None:
    """Lip-sync AUDIO (any file PyAV reads: wav, mp3, m4a, flac, ogg, mp4, mov; any rate or channels)."""
    from talkies.runtime.lipsync import LipSync, LipSyncOptions

    check_writable(output, inputs=(audio,))
    kwargs = head_kwargs(fmt, with_head, apply_to)
    from talkies.runtime.autoselect import select

    chosen = select("lipsync", backend, precision, bundle_dir)
    options = LipSyncOptions(backend=chosen.backend, precision=chosen.precision, intensity=intensity,
                             expression=expression, smoothing=not no_smooth, bundle_dir=bundle_dir, threads=threads)
    frames, duration = 0, 0.0
    with LipSync(options) as task:
        if fmt in STREAMING:  # written piece by piece as the audio decodes: an hour is never held whole

            def pieces():
                nonlocal frames, duration
                for piece in task.stream_file(audio):
                    frames, duration = frames + len(piece), piece.duration
                    yield piece

            write_curves(pieces(), output, fmt, **kwargs)
        else:
            motion = task.process_file(audio)
            if fmt in ("rhubarb", "papagayo"):
                kwargs["sound_file"] = str(audio)
            write_curves(motion, output, fmt, **kwargs)
            frames, duration = len(motion), motion.duration
    click.echo(f"wrote {output} ({frames} frames, {duration:.2f} s)", err=True)
