"""The flag vocabulary every command shares, so the same flag means and checks the same thing everywhere:
`-o/--output`, `--target`/`--precision` (one value, a comma list or `all`), `--backend`, `--threads`
and `--bundle-dir`. Choices come from the enums in :mod:`talkies.types`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path

import click

from talkies.errors import InputError
from talkies.types import Backend, Precision

MAX_THREADS = 256


def choices(enum: type[Enum], *extra: str) -> click.Choice:
    """A click choice of the enum's values (plus `extra` words such as "auto")."""
    return click.Choice([*extra, *(m.value for m in enum)])


class ChoiceList(click.ParamType):
    """'all', one value, or a comma-separated list of an enum's values → its members, in order, no repeats.
    A bad value is an InputError, so the CLI answers it in one line like every other input error."""

    def __init__(self, enum: type[Enum], what: str) -> None:
        self.enum, self.what = enum, what
        self.name = f"{what} list"

    def convert(self, value, param, ctx) -> list:
        if isinstance(value, list):
            return value
        valid = [m.value for m in self.enum]
        if str(value).strip().lower() == "all":
            return list(self.enum)
        out = []
        for item in (v.strip().lower() for v in str(value).split(",")):
            if item not in valid:
                raise InputError(f"unknown {self.what} {item!r}; valid: {', '.join(valid)}, all")
            member = self.enum(item)
            if member not in out:
                out.append(member)
        return out


class OneOf(click.Choice):
    """A click choice whose bad value is an InputError, so the CLI answers an unknown --format in one line
    like every other input error (click's own answer is a three-line usage block)."""

    def __init__(self, values: Sequence[str], what: str) -> None:
        super().__init__(list(values))
        self.what = what

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            raise InputError(f"unknown {self.what} {value!r}; valid: {', '.join(self.choices)}") from None


class IntList(click.ParamType):
    """One integer or a comma-separated list, each within [low, high]."""

    name = "integer list"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value, param, ctx) -> list[int]:
        if isinstance(value, list):
            return value
        out = []
        for item in str(value).split(","):
            try:
                n = int(item.strip())
            except ValueError:
                raise InputError(f"{param.opts[-1]}: {item.strip()!r} is not a whole number") from None
            if not self.low <= n <= self.high:
                raise InputError(f"{param.opts[-1]}: {n} is not in the range {self.low}-{self.high}")
            out.append(n)
        return out


Decorator = Callable[[Callable], Callable]


def output_option(help: str, *, folder: bool = False, required: bool = True, default=None) -> Decorator:
    return click.option("-o", "--output", "output", type=click.Path(path_type=Path, file_okay=not folder),
                        required=required, default=default, help=help)


AUTO = "auto"
AUTO_HELP = " auto: the fastest installed and verified choice within the accuracy budget (see `talkies doctor`)."


def backend_option(*, default: str = AUTO, extra: Sequence[str] = (AUTO,), help: str = "Inference backend." + AUTO_HELP
                   ) -> Decorator:
    backends = [b.value for b in Backend if b is not Backend.COREML]  # Core ML predicts on macOS only
    return click.option("--backend", type=click.Choice([*extra, *backends]), default=default, show_default=True,
                        help=help)


def precision_option(*, default: str = AUTO, auto: bool = True, help: str = "Precision of the model bundles."
                     ) -> Decorator:
    return click.option("--precision", type=choices(Precision, *((AUTO,) if auto else ())), default=default,
                        show_default=True, help=help)


def targets_option(enum: type[Enum], *, default: str = "all", help: str) -> Decorator:
    return click.option("-t", "--target", "target", type=ChoiceList(enum, "target"), default=default,
                        show_default=True, help=help)


def precisions_option(*, default: str = "all") -> Decorator:
    return click.option("-p", "--precision", "precision", type=ChoiceList(Precision, "precision"), default=default,
                        show_default=True, help="fp32, fp16, int8, a comma-separated list, or all.")


def threads_option(*, default: int = 1, help: str = "Inference threads.") -> Decorator:
    return click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=default, show_default=True,
                        help=help)


def bundle_dir_option(help: str = "Folder of model bundles [default: $TALKIES_HOME/bundles].") -> Decorator:
    return click.option("--bundle-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=help)


def speech_options(func: Callable) -> Callable:
    """What a video says: --audio FILE or --text with --voice/--language/--rate/--pitch (animate, dub)."""
    for decorator in reversed([
        click.option("--audio", type=click.Path(path_type=Path), default=None,
                     help="The speech: any audio or video file FFmpeg reads (a video's audio track is used)."),
        click.option("--text", default=None, help="A script to speak instead (writes OUT.srt subtitles too)."),
        click.option("--voice", default=None,
                     help="TTS voice (see `talkies voices`): a Kokoro voice (af_heart), ENGINE:NAME (espeak:en-us+f3) "
                          "or a bare espeak-ng voice. [default: Kokoro's voice for --language, af_heart for en-us; "
                          "espeak-ng's for a language Kokoro lacks]"),
        click.option("--language", default="en-us", show_default=True,
                     help="Language of the script, when no --voice is given (e.g. fr, pt-br, de)."),
        click.option("--rate", type=click.IntRange(80, 450), default=175, show_default=True,
                     help="TTS words per minute."),
        click.option("--pitch", type=click.IntRange(0, 99), default=50, show_default=True, help="TTS pitch, 0-99."),
    ]):
        func = decorator(func)
    return func


def one_speech_source(audio: Path | None, text: str | None) -> None:
    if (audio is None) == (text is None):
        raise click.UsageError('give exactly one of --audio FILE or --text "..."')
