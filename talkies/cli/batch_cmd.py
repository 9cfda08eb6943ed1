"""`talkies batch JOBS -o OUTDIR`: many animate, dub, lipsync and track jobs from one CSV or JSON Lines
file, on a local process pool or a Ray cluster; flags over :func:`talkies.batch.run_batch`."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import MAX_THREADS, output_option


@cli.command("batch")
@click.argument("jobs", type=click.Path(path_type=Path))
@output_option("Output folder: each job's output is a path inside it; batch.csv records every job.", folder=True)
@click.option("--workers", type=click.IntRange(1, MAX_THREADS), default=None,
              help="Worker processes (with --ray: most jobs at once) [default: the CPU count].")
@click.option("--ray", "ray_address", default=None, metavar="auto|local|ADDRESS",
              help="Run on a Ray cluster: auto (the running one), local (start one here) or its address. "
                   "Needs pip install 'talkies[ray]'; every node must see the inputs and OUTDIR.")
@click.option("--no-resume", is_flag=True, help="Run every job, even those batch.csv shows done and verified.")
def batch_command(jobs: Path, output: Path, workers: int | None, ray_address: str | None, no_resume: bool) -> None:
    """Run every job of JOBS: a CSV with a header row, or JSON Lines, one job a row.

    Columns: command (animate, dub, lipsync, track), input (its photo, video or audio), output (a path
    inside OUTDIR) and any of the command's options without the dashes (format, audio, text, voice, face,
    resolution, with_head, ...); an empty cell is the default. Relative inputs are read from JOBS's folder.
    Every row is checked before any job runs. A failed job is recorded in OUTDIR/batch.csv and the batch
    goes on (exit code 1 at the end); a rerun skips the jobs whose outputs still verify.

    \b
    command,input,output,format,audio
    lipsync,speech.wav,curves/speech.json,visemes,
    animate,photo.jpg,videos/photo.mp4,,speech.wav
    """
    from talkies.batch import run_batch

    report = run_batch(jobs, output, workers=workers, ray=ray_address, resume=not no_resume)
    summary = (f"{report.count('ok')} done, {report.count('skipped')} skipped (done before), "
               f"{len(report.failed)} failed in {report.seconds:.1f} s; see {report.path}")
    if report.failed:
        raise JobsFailed(summary)
    click.echo(summary, err=True)


class JobsFailed(click.ClickException):
    """Some jobs failed (each is logged, and recorded in batch.csv): exit code 1, after the whole batch."""

    exit_code = 1
