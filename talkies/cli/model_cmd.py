"""`talkies train lipsync` and `talkies evaluate lipsync`: flags over :func:`talkies.models.lipsync.train.train`
and :func:`talkies.models.lipsync.evaluate.evaluate_sets` (training and the torch weights need the export
extra: torch; a bundle is scored with the runtime alone)."""

from __future__ import annotations

from pathlib import Path

import click

from talkies.cli import cli
from talkies.cli.options import backend_option, bundle_dir_option, output_option, precision_option
from talkies.log import get_logger

log = get_logger(__name__)

_FILE = click.Path(dir_okay=False, path_type=Path)


@cli.group("train")
def train_group() -> None:
    """Train a model family here, on the CPU."""


@train_group.command("lipsync")
@click.option("--steps", type=click.IntRange(1), default=12000, show_default=True, help="Optimiser steps.")
@click.option("--minutes", type=click.FloatRange(0, min_open=True), default=None,
              help="Time budget: stop after this many minutes, and anneal the learning rate by time when that "
                   "comes before --steps (the run is then no longer exactly reproducible).")
@output_option("Weights .npz to write [default: the shipped weights, models/lipsync/weights/lipsync.npz].",
               required=False)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--utterances", type=click.IntRange(1), default=6000, show_default=True,
              help="Synthetic utterances in the corpus.")
@click.option("--festival-fraction", type=click.FloatRange(0, 1), default=None,
              help="Share of the utterances from the human-recorded Festival and flite voices (0: espeak only) "
                   "[default: the corpus's].")
@click.option("--init", type=_FILE, default=None, help="Start from these weights (.npz) instead of random ones.")
@click.option("--recorded", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Also train on real speech: a festvox voice folder (wav/ + lab/, e.g. festvox-ru's "
                   "/usr/share/festival/voices/russian/msu_ru_nsh_clunits) or your own recordings, NAME.wav "
                   "(or any audio) with NAME.txt (aligned with pocketsphinx) or NAME.phone.json.")
@click.option("--recorded-fraction", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Share of training crops from --recorded.")
@click.option("--kokoro-fraction", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of training crops from Kokoro-82M's speech (54 voices; built and cached on first use).")
@click.option("--kokoro-utterances", type=click.IntRange(1), default=800, show_default=True,
              help="Kokoro utterances in its corpus (whole blocks of 20).")
@click.option("--clean-fraction", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of training crops left clean (gain only) instead of augmented.")
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True)
@click.option("--crop-seconds", type=click.FloatRange(0, min_open=True), default=3.0, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=2e-3, show_default=True)
@click.option("--closure-weight", type=float, default=2.0, show_default=True, help="Loss weight of PP frames.")
@click.option("--open-weight", type=float, default=1.0, show_default=True,
              help="Loss weight of aa (open-vowel) frames.")
@click.option("--coarse-weight", type=float, default=0.5, show_default=True,
              help="Loss weight of the 5-class mouth loss.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Processes for speech synthesis (data only).")
@click.option("--eval-every", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--no-validate", is_flag=True, help="Skip the validation metrics at checkpoints.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus cache [default: $TALKIES_HOME/lipsync-data].")
@click.option("--channels", type=click.IntRange(1), default=None, help="Width of the network [default: the model's].")
def train_lipsync(output: Path | None, batch: int, no_validate: bool, festival_fraction: float | None,
                  **options) -> None:
    """Train the lip-sync model on synthetic speech (espeak-ng, Festival, flite) and optional recordings."""
    from talkies.models.lipsync import DEFAULT_WEIGHTS
    from talkies.models.lipsync.train import train

    if festival_fraction is not None:
        options["festival_fraction"] = festival_fraction
    result = train(out=output or DEFAULT_WEIGHTS, batch_size=batch, validate=not no_validate, **options)
    log.warning("done: %d steps, loss %.4f, weights %s", result["steps"], result["loss"], result["weights"])


@cli.group("evaluate")
def evaluate_group() -> None:
    """Score a model family on real validation speech."""


@evaluate_group.command("lipsync")
@click.option("--weights", type=_FILE, default=None,
              help="Weights .npz, run in PyTorch (--backend torch) [default: the shipped weights].")
@backend_option(default="torch", extra=("torch",),
                help="torch: the weights in PyTorch; any other: the lipsync bundle of that backend and --precision "
                     "(shipped, in --bundle-dir or $TALKIES_HOME/bundles) through the LipSync task.")
@precision_option(help="Precision of the bundle (with a backend other than torch).")
@bundle_dir_option()
@click.option("--data", multiple=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder of *.wav + *.phone.json, *.wav + TIMIT *.phn, or + a Sphinx *.transcription (repeatable) "
                   "[default: the LibriVox, cards and TIMIT sets under shared/data/speech].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--synthetic", type=click.IntRange(0), default=0, metavar="N",
              help="Also score N held-out synthetic utterances, clean and augmented (built once).")
def evaluate_lipsync(weights: Path | None, backend: str, precision: str, bundle_dir: Path | None,
                     data: tuple[Path, ...], as_json: bool, synthetic: int) -> None:
    """The lip-sync model beside a loudness-only baseline: coarse accuracy, closure, open and round recall."""
    from talkies.models.lipsync.evaluate import evaluate_sets, report_json, report_text

    report = evaluate_sets(weights, [str(d) for d in data] or None, synthetic=synthetic, backend=backend,
                           precision=precision, bundle_dir=bundle_dir)
    click.echo(report_json(report) if as_json else report_text(report, synthetic))
