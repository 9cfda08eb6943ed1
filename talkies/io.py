"""Atomic writes and early output checks, shared by every writer (curves, bundles, MP4)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from talkies.errors import OutputError

# What a full, read-only or forbidden destination raises while the output is being written.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO,
                 errno.EXDEV}


def check_writable(path: str | os.PathLike, *, is_dir: bool = False,
                   inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Fail before any work when `path` (a file, or a directory with is_dir) cannot be written, is not a
    plain file or folder (a device, a FIFO, a link), or is one of the `inputs` (an output never replaces
    what it was made from)."""
    path = Path(path)
    if path.is_symlink():
        raise OutputError(f"cannot write to {path}: it is a symbolic link; give the path of a new or plain file")
    if path.exists():
        if is_dir and not path.is_dir():
            raise OutputError(f"cannot write to {path}: it is a file, not a folder")
        if not is_dir and path.is_dir():
            raise OutputError(f"cannot write to {path}: it is a directory; give a file name")
        if not is_dir and not path.is_file():
            raise OutputError(f"cannot write to {path}: it is a device, FIFO or socket, not a file; "
                              "give the path of a plain file")
        for source in inputs:
            if source is not None and Path(source).exists() and os.path.samefile(path, source):
                raise OutputError(f"cannot write to {path}: it is an input of this run; choose another output path")
    parent = path if is_dir and path.exists() else path.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK) or _virtual_fs(probe):
        raise OutputError(f"cannot write to {path}: {probe} is not a writable directory; choose another "
                          "output path")
    return path


def check_sidecar(output: str | os.PathLike, sidecar: str | os.PathLike, **kwargs) -> Path:
    """A file written beside `output` (an .srt beside the video): writable, and not `output` itself."""
    if Path(sidecar).resolve() == Path(output).resolve():
        raise OutputError(f"{output}: the video and its {Path(sidecar).suffix} file would be the same file; "
                          f"give the video another extension (e.g. {Path(output).with_suffix('.mp4').name})")
    return check_writable(sidecar, **kwargs)


def _virtual_fs(folder: Path) -> bool:
    """/proc and /sys take writes of their own kind only: never a place for an output."""
    resolved = folder.resolve()
    return any(resolved == Path(v) or resolved.is_relative_to(v) for v in ("/proc", "/sys", "/dev"))


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path beside `dest`; rename it onto `dest` only if the block succeeds. A file
    it replaces keeps its permissions; a failed write (full disk, read-only) is a one-line OutputError."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix, dir=dest.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write to {dest}: {exc.strerror or exc}") from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        mode = stat.S_IMODE(dest.stat().st_mode) if dest.is_file() else 0o666 & ~_umask()
        os.chmod(tmp_path, mode)  # mkstemp makes 0600
        os.replace(tmp_path, dest)
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise  # e.g. an input that failed to decode inside the block: not this output's fault
        raise OutputError(f"cannot write to {dest}: {exc.strerror or exc}") from exc
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside `dest`; it replaces `dest` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(dest: str | os.PathLike, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)
