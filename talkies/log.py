"""Logging and progress bars. One logger per module: `log = get_logger(__name__)`."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # rich loads on the first bar or log line, not at start-up
    from rich.progress import Progress

T = TypeVar("T")


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def configure_logging(verbose: int = 0) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(message)s",
                        handlers=[RichHandler(show_path=False, console=Console(stderr=True))], force=True)


def progress_enabled() -> bool:
    """Bars go to stderr when it is a terminal, unless TALKIES_PROGRESS=0/1 forces it."""
    forced = os.environ.get("TALKIES_PROGRESS")
    if forced is not None:
        return forced not in ("0", "", "false")
    return sys.stderr.isatty()


def make_progress(transient: bool = True) -> Progress:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    # The bar writes to the stderr of its creation time, so SDK output captured by a later
    # redirect_stdout/redirect_stderr (the toolchain silences converters that way) cannot swallow it.
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), transient=transient,
                    console=Console(file=sys.stderr), disable=not progress_enabled())


#: (description, steps done, total or None) -> None; it may raise to stop the loop (a cancel button).
ProgressObserver = Callable[[str, int, "float | None"], None]
_observer: contextvars.ContextVar[ProgressObserver | None] = contextvars.ContextVar("talkies_progress",
                                                                                    default=None)


@contextmanager
def observe_progress(observer: ProgressObserver) -> Iterator[None]:
    """Send every :func:`track` step in this context (this thread or task only) to `observer` instead of
    a progress bar: how an app (the studio) shows the runtime's long loops and cancels them."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def track(items: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """Iterate with a progress bar (silent when not on a terminal), or report each step to the
    context's :func:`observe_progress` observer."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    observer = _observer.get()
    if observer is not None:
        observer(description, 0, total)
        for done, item in enumerate(items, 1):
            yield item
            observer(description, done, total)
        return
    with make_progress() as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
