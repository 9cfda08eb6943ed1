"""`talkies lipsync AUDIO --format … -o OUT`: audio → visemes / ARKit / Live Link / Rhubarb curves."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.io import check_writable
from talkies.runtime.formats import FORMATS


@cli.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="visemes", show_default=True,
              help="visemes: OVR JSON at 100 fps; arkit: 52-weight JSON; livelink: Unreal CSV; rhubarb: mouth cues.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output file.")
@click.option("--backend", default="onnx", show_default=True, help="onnx, openvino or litert.")
@click.option("--precision", default="fp32", show_default=True, help="fp32, fp16 or int8.")
@click.option("--intensity", type=click.FloatRange(0, 2), default=1.0, show_default=True)
@click.option("--expression", default="neutral", show_default=True, help="neutral, happy, sad or surprised.")
@click.option("--no-smooth", is_flag=True, help="Turn coarticulation smoothing off.")
@click.option("--bundle-dir", type=click.Path(path_type=Path), default=None, help="Folder with lipsync bundles.")
@click.option("--threads", type=int, default=1, show_default=True)
def lipsync(audio: Path, fmt: str, output: Path, backend: str, precision: str, intensity: float,
            expression: str, no_smooth: bool, bundle_dir: Path | None, threads: int) -> None:
    """Lip-sync AUDIO (any file PyAV reads: wav, mp3, m4a, flac, ogg, mp4, mov; any rate or channels)."""
    from talkies.runtime.lipsync import LipSync, LipSyncOptions

    check_writable(output)
    options = LipSyncOptions(backend=backend, precision=precision, intensity=intensity, expression=expression,
                             smoothing=not no_smooth, bundle_dir=bundle_dir, threads=threads)
    with LipSync(options) as task:
        motion = task.process_file(audio)
    kwargs = {"sound_file": str(audio)} if fmt == "rhubarb" else {}
    motion.save(output, fmt, **kwargs)
    click.echo(f"wrote {output} ({len(motion)} frames, {motion.duration:.2f} s)", err=True)
