"""What every studio job shares: a fresh output folder per job, progress and cancel, one-line errors.

- :func:`job_dir`: each run writes into its own folder under the studio's work folder, so two jobs (two
  tabs, two browsers) never write to the same file.
- :func:`run_job`: runs one API call; a :class:`~talkies.errors.TalkiesError` becomes ``gr.Error`` with
  exactly the message the CLI prints after ``talkies: error:`` (``str(exc)``), never a traceback.
- Progress: the runtime reports its long loops (frames rendered, frames tracked) through
  ``talkies.log.track``; each job observes them (``talkies.log.observe_progress``, in its own context
  only) to drive Gradio's progress bar, and raises :class:`Cancelled` at the next step once the job's
  cancel button was pressed (the partial output is discarded by the runtime's atomic writes).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from talkies.errors import InputError, TalkiesError
from talkies.log import get_logger, observe_progress

log = get_logger(__name__)

class Cancelled(TalkiesError):
    """The user pressed cancel: the job stops at its next step and writes nothing."""


@dataclass(eq=False)
class Job:
    """One running job: its folder, its cancel flag and where its progress goes."""

    folder: Path
    session: str = ""
    progress: Callable[..., Any] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def step(self, description: str, done: int, total: float | None) -> None:
        """A step of a long loop (frames): the runtime's progress observer."""
        self._report((done, int(total)) if total else done, desc=description, unit="frames")

    def stage(self, fraction: float, description: str) -> None:
        """A coarse step between the long loops (speaking, finding the face, exporting)."""
        self._report(fraction, desc=description)

    def _report(self, *args: Any, **kwargs: Any) -> None:
        if self.cancelled.is_set():
            raise Cancelled("cancelled; nothing was written")
        if self.progress is not None:
            self.progress(*args, **kwargs)

    def path(self, name: str) -> Path:
        return self.folder / name


_running: dict[str, set[Job]] = {}
_running_lock = threading.Lock()
_counter = itertools.count(1)
_root: Path | None = None


def work_root() -> Path:
    """The studio's work folder (created on first use, removed by :func:`cleanup`)."""
    global _root
    if _root is None:
        _root = Path(tempfile.mkdtemp(prefix="talkies-studio-"))
    return _root


def cleanup() -> None:
    global _root
    if _root is not None:
        shutil.rmtree(_root, ignore_errors=True)
        _root = None


def job_dir(kind: str) -> Path:
    """A new, empty folder for one job's outputs."""
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{next(_counter):04d}-", dir=work_root()))


def session_of(request: Any) -> str:
    return str(getattr(request, "session_hash", "") or "")


@contextmanager
def job(kind: str, *, progress: Callable[..., Any] | None = None, request: Any = None) -> Iterator[Job]:
    """A job in its own folder with progress and cancel; TalkiesError → a one-line ``gr.Error``."""
    current = Job(job_dir(kind), session=session_of(request), progress=progress)
    with _running_lock:
        _running.setdefault(current.session, set()).add(current)
    try:
        with observe_progress(current.step):
            yield current
    except TalkiesError as exc:
        log.info("studio %s job failed: %s", kind, exc)
        raise gr.Error(one_line(exc), print_exception=False) from None
    finally:
        with _running_lock:
            _running.get(current.session, set()).discard(current)


def one_line(exc: TalkiesError) -> str:
    """The message the CLI prints for this error (after ``talkies: error:``), on one line, with the
    studio's own folders (Gradio's upload folder, the job folders) left out of file paths: the user sees
    the name of the file they gave, not where the server keeps it."""
    import re

    text = " ".join(str(exc).split())
    for root in _private_roots():
        text = re.sub(re.escape(root) + r"/(?:[^/\s]+/)*", "", text)
    return text


def _private_roots() -> list[str]:
    roots = [str(work_root())]
    try:
        from gradio.utils import get_upload_folder

        roots.append(str(get_upload_folder()))
    except ImportError:  # pragma: no cover - an older Gradio
        pass
    return [r.rstrip("/") for r in roots]


def cancel(request: Any = None) -> str:
    """Cancel every job of this browser session (the cancel buttons)."""
    with _running_lock:
        jobs = list(_running.get(session_of(request), ()))
    for j in jobs:
        j.cancelled.set()
    return "cancelled" if jobs else "nothing to cancel"


def cancel_handler(request: gr.Request) -> str:
    """The cancel buttons' handler (Gradio passes the request, by its annotation)."""
    return cancel(request)


def need(value: Any, what: str) -> Any:
    """InputError (shown as one line) when a required input was not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"no {what} given; {'upload' if 'photo' in what or 'file' in what else 'give'} one")
    return value


__all__ = ["Cancelled", "Job", "cancel", "cleanup", "job", "job_dir", "need", "one_line", "work_root"]
