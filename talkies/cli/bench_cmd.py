"""`talkies bench`: every model on every target and precision side by side, with the pipelines and peers
(the harness is the package `talkies.benchmarks.harness`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from talkies.benchmarks.harness.config import PIPELINE_PARTS, PRECISIONS, REBUILD, TARGETS, BenchConfig, PipelinePart
from talkies.cli import cli
from talkies.cli.options import MAX_THREADS, ChoiceList, IntList, bundle_dir_option, output_option, precisions_option, \
    targets_option
from talkies.types import Precision, TargetName


@cli.command("bench")
@click.argument("models", nargs=-1)
@targets_option(TargetName, default=",".join(TARGETS), help="Comma-separated targets, or all.")
@precisions_option(default=",".join(PRECISIONS))
@click.option("--threads", "threads", type=IntList(1, MAX_THREADS), default="1", show_default=True,
              help="Comma-separated inference thread counts; each bundle is measured at each.")
@bundle_dir_option("Where bundles are found and built [default: $TALKIES_HOME/bundles].")
@output_option("Folder for results.json, report.md, performance.md and the plots.", folder=True)
@click.option("--iterations", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed calls per bundle (at most).")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Warm-up calls per bundle.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Time budget of one bundle's timed loop (at least 3 calls run).")
@click.option("--no-build", is_flag=True, help="Measure existing bundles only; never export.")
@click.option("--rebuild", type=click.Choice(REBUILD), default="none", show_default=True,
              help="Export again the bundles already in the bundle folder that failed parity, or all of them.")
@click.option("--pipeline", "pipeline", default=",".join(PIPELINE_PARTS), show_default=True,
              help="End-to-end parts to run (comma-separated), 'all' or 'none'.")
@click.option("--skip-peers", is_flag=True, help="Leave out MediaPipe, pylipsync and the kernel peers.")
@click.option("--install-peers/--no-install-peers", default=True, show_default=True,
              help="Create the peers' own venvs (MediaPipe, pylipsync) when missing.")
@click.option("--animate-seconds", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Audio length of the end-to-end animate run.")
def bench_command(models: tuple[str, ...], target: list[TargetName], precision: list[Precision], threads: list[int],
                  bundle_dir: Path | None, output: Path, iterations: int, warmup: int, max_seconds: float,
                  no_build: bool, rebuild: str, pipeline: str, skip_peers: bool, install_peers: bool,
                  animate_seconds: float) -> None:
    """Benchmark MODELS (default: every registered model) on each target and precision.

    Builds missing bundles, measures load time, latency p50/p95, throughput, peak RSS, size, parity and
    the task metric of each, runs the end-to-end pipelines and the peers, and writes results.json,
    report.md, latency_vs_size.png, accuracy_vs_latency.png and performance.md (a README section) into
    the -o folder.
    """
    from talkies.benchmarks.harness.report import bundle_table
    from talkies.benchmarks.harness.run import run_bench

    parts = () if pipeline.strip().lower() == "none" else tuple(
        p.value for p in ChoiceList(PipelinePart, "pipeline part").convert(pipeline, None, None))
    config = BenchConfig(models=models, targets=tuple(target), precisions=tuple(precision),
                         threads=tuple(threads), bundle_dir=bundle_dir, out_dir=output, iterations=iterations,
                         warmup=warmup, max_seconds=max_seconds, build=not no_build, rebuild=rebuild, pipeline=parts,
                         peers=not skip_peers, install_peers=install_peers and not skip_peers,
                         animate_seconds=animate_seconds, command=_command_line(click.get_current_context()))
    result = run_bench(config)
    click.echo(bundle_table(result.rows))
    click.echo("")
    for name, path in result.files.items():
        click.echo(f"{name}: {path}")
    click.echo(f"took {result.results['timing']['total_s']:.0f} s")


def _command_line(ctx: click.Context) -> str:
    """The command as typed (from a shell), else rebuilt from the options that differ from the defaults."""
    if Path(sys.argv[0]).name == "talkies" and "bench" in sys.argv:
        return shlex.join(["talkies", *sys.argv[1:]])
    from click.core import ParameterSource

    words = ["talkies", "bench", *ctx.params["models"]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name == "models" or ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT:
            continue
        flag = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.is_flag:
            words.append(flag if value else (param.secondary_opts or [flag])[0])
        elif isinstance(value, list):  # a parsed comma list, written back as one
            words += [flag, ",".join(map(str, value))]
        else:
            words += [flag, str(value)]
    return shlex.join(words)
