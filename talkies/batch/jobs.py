"""Reading and checking a batch's job list: a CSV file with a header row, or JSON Lines, one job a row.

Every row names a `command` (animate, dub, lipsync, track), its `input` and its `output` (a path inside
the output folder), and optionally any of that command's options, named as on its command line without
the dashes (`format`, `audio`, `text`, `with_head` or `with-head`, ...). An empty cell (or a JSON null)
means the option's default. Relative input paths are taken from the job file's folder.

All rows are checked before any job runs: a bad row is one line naming it (`jobs.csv row 3: ...`).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkies.errors import InputError, TalkiesError
from talkies.io import check_writable
from talkies.types import Backend, Expression, Precision, Resolution

#: The file every batch writes into its output folder: one line per job (see runner.RECORD_FIELDS).
RECORDS_NAME = "batch.csv"
#: The columns every row has.
REQUIRED = ("command", "input", "output")

_TRUE, _FALSE = {"1", "true", "yes", "y", "on"}, {"0", "false", "no", "n", "off"}


# --- column converters: a cell's text (or a JSON value) → the option's value ----------------------------


@dataclass(frozen=True)
class Column:
    """One option column: how its cell converts, and its default (an empty cell)."""

    convert: Callable[[Any, Path], Any]
    default: Any = None


def _text(value: Any, base: Path) -> str:
    return str(value)


def _flag(value: Any, base: Path) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InputError(f"{value!r} is not true or false")


def _number(kind: type, low: float | None, high: float | None) -> Callable[[Any, Path], Any]:
    def convert(value: Any, base: Path):
        if isinstance(value, bool):
            raise InputError(f"{value!r} is not a number")
        try:
            number = kind(value) if kind is float or isinstance(value, int) else int(str(value).strip())
        except (TypeError, ValueError):
            raise InputError(f"{value!r} is not a {'whole ' if kind is int else ''}number") from None
        if not math.isfinite(number):
            raise InputError(f"{value!r} is not a finite number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise InputError(f"{number} is not in the range {low if low is not None else ''}-"
                             f"{high if high is not None else ''}")
        return number
    return convert


def _choice(values: tuple[str, ...]) -> Callable[[Any, Path], str]:
    def convert(value: Any, base: Path) -> str:
        word = str(value).strip().lower()
        if word not in values:
            raise InputError(f"{value!r} is not one of {', '.join(values)}")
        return word
    return convert


def _existing(kind: str) -> Callable[[Any, Path], Path]:
    def convert(value: Any, base: Path) -> Path:
        path = (base / Path(str(value).strip()).expanduser()).absolute()
        if not path.exists():
            raise InputError(f"{value}: no such {kind}")
        if (kind == "folder") != path.is_dir():
            raise InputError(f"{value}: not a {kind}")
        return path
    return convert


def _values(enum) -> tuple[str, ...]:
    return tuple(m.value for m in enum)


def _columns() -> dict[str, dict[str, Column]]:
    """Per command, its option columns and their defaults (those of the command line)."""
    from talkies.runtime.dub.frames import Fit
    from talkies.runtime.formats import ANIMATION_FORMATS, FORMATS

    backends = tuple(b for b in _values(Backend) if b != Backend.COREML.value)  # Core ML predicts on macOS only
    face_backends = ("auto", "mediapipe", *backends)
    curves = {"with_head": Column(_flag, False), "apply_to": Column(_existing("file")),
              "backend": Column(_choice(("auto", *backends)), "auto"),
              "precision": Column(_choice(("auto", *_values(Precision))), "auto"),
              "bundle_dir": Column(_existing("folder")), "no_smooth": Column(_flag, False)}
    speech = {"audio": Column(_existing("file")), "text": Column(_text), "voice": Column(_text),
              "language": Column(_text, "en-us"), "face": Column(_number(int, 0, None)),
              "backend": Column(_choice(face_backends), "auto"), "no_watermark": Column(_flag, False)}
    expression = {"expression": Column(_choice(_values(Expression)), "neutral"),
                  "intensity": Column(_number(float, 0.0, 2.0), 1.0)}
    return {
        "lipsync": {"format": Column(_choice(FORMATS), "visemes"), **curves, **expression,
                    "threads": Column(_number(int, 1, 256), 1)},
        "track": {"format": Column(_choice(("json", "arkit", "livelink", *ANIMATION_FORMATS)), "json"), **curves,
                  "backend": Column(_choice(face_backends), "auto"),
                  "faces": Column(_number(int, 1, 16), 1), "calibrate_frames": Column(_number(int, 0, None), 0)},
        "animate": {**speech, **expression, "rate": Column(_number(int, 80, 450), 175),
                    "pitch": Column(_number(int, 0, 99), 50),
                    "resolution": Column(_choice(_values(Resolution)), "source"),
                    "fps": Column(_number(int, 25, 30), 25), "seed": Column(_number(int, None, None), 0)},
        "dub": {**speech, "fit": Column(_choice(_values(Fit)), "loop"),
                "mix_original": Column(_number(float, 0.0, 1.0), 0.0)},
    }


# --- a job ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One checked row: everything a worker needs, with absolute paths (it pickles for a process or Ray)."""

    index: int
    """1-based row number in the job file (the `job` column of batch.csv)."""
    command: str
    input: Path
    output: Path
    name: str
    """The output as the row gives it, relative to the output folder (the `output` column of batch.csv)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Every option of the command, defaults filled in."""
    raw: dict[str, str] = field(default_factory=dict)
    """The non-empty cells as written."""
    spec: str = ""
    """sha256 of the command, its options and the size and mtime of its input files: a changed job redoes."""

    def inputs(self) -> list[Path]:
        return [self.input, *(v for v in self.options.values() if isinstance(v, Path))]


def _spec(command: str, options: dict[str, Any], inputs: list[Path]) -> str:
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in inputs if p.is_file()]
    text = json.dumps({"command": command, "options": {k: str(v) for k, v in sorted(options.items())},
                       "inputs": stats}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _normal(column: str) -> str:
    return str(column).strip().lstrip("-").replace("-", "_").lower()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_row(index: int, cells: dict[str, Any], base: Path, outdir: Path,
              columns: dict[str, dict[str, Column]] | None = None) -> Job:
    """One row → a Job; InputError (without the row's name) when it is bad."""
    columns = columns or _columns()
    cells = {_normal(k): v for k, v in cells.items() if not _empty(v)}
    for name in REQUIRED:
        if name not in cells:
            raise InputError(f"the {name} column is empty")
    command = str(cells["command"]).strip().lower()
    if command not in columns:
        raise InputError(f"unknown command {cells['command']!r}; valid: {', '.join(columns)}")
    spec = columns[command]
    unknown = [c for c in cells if c not in spec and c not in REQUIRED]
    if unknown:
        raise InputError(f"{command} has no option {', '.join(unknown)}; its options: {', '.join(spec)}")
    options: dict[str, Any] = {}
    for name, column in spec.items():
        try:
            options[name] = column.default if name not in cells else column.convert(cells[name], base)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    source = _existing("file")(cells["input"], base)
    _check_options(command, options)
    output = _output(str(cells["output"]), outdir)
    job = Job(index, command, source, output, str(cells["output"]).strip(), options,
              {k: str(v) for k, v in cells.items()})
    check_writable(output, inputs=job.inputs())
    return dataclasses.replace(job, spec=_spec(command, options, job.inputs()))


def _check_options(command: str, options: dict[str, Any]) -> None:
    """What one column alone cannot tell: the combinations, and the task options' own checks."""
    if command in ("animate", "dub") and (options["audio"] is None) == (options["text"] is None):
        raise InputError(f"{command} needs exactly one of the audio and text columns")
    if command in ("lipsync", "track"):
        if (options["with_head"] or options["apply_to"] is not None) and options["format"] not in ("glb", "gltf"):
            raise InputError(f"with_head and apply_to go with format glb (or gltf), not {options['format']}")
        if options["with_head"] and options["apply_to"] is not None:
            raise InputError("give with_head or apply_to, not both")
    if command == "animate" and options["fps"] not in (25, 30):
        raise InputError(f"fps: {options['fps']} is not one of 25, 30")
    task_options(command, options)  # the Options dataclass validates its fields


def task_options(command: str, options: dict[str, Any]):
    """The task's own Options for a job's options (which validate them); None for a command without one."""
    if command == "lipsync":
        from talkies.runtime.autoselect import select
        from talkies.runtime.lipsync import LipSyncOptions

        chosen = select("lipsync", options["backend"], options["precision"], options["bundle_dir"])  # auto: measured
        return LipSyncOptions(backend=chosen.backend, precision=chosen.precision,
                              intensity=options["intensity"], expression=options["expression"],
                              smoothing=not options["no_smooth"], bundle_dir=options["bundle_dir"],
                              threads=options["threads"])
    if command == "animate":
        from talkies.runtime.animator import PhotoAnimatorOptions

        return PhotoAnimatorOptions(resolution=options["resolution"], fps=options["fps"],
                                    expression=options["expression"], intensity=options["intensity"],
                                    face=options["face"], seed=options["seed"], watermark=not options["no_watermark"])
    if command == "dub":
        from talkies.runtime.dub import VideoDubberOptions

        return VideoDubberOptions(fit=options["fit"], mix_original=options["mix_original"], face=options["face"],
                                  watermark=not options["no_watermark"])
    from talkies.runtime.face import FaceTrackerOptions

    return FaceTrackerOptions(num_faces=options["faces"], smoothing=not options["no_smooth"])  # models: see worker


def _output(name: str, outdir: Path) -> Path:
    """`name` inside `outdir`: never absolute, never escaping it (.., a link), never the batch's record."""
    relative = Path(name.strip())
    if not name.strip() or relative.is_absolute():
        raise InputError(f"output {name!r} must be a path relative to the output folder")
    root = outdir.resolve()
    path = (root / relative).resolve()
    if path == root or not path.is_relative_to(root):
        raise InputError(f"output {name!r} is outside the output folder")
    if path == root / RECORDS_NAME:
        raise InputError(f"output {name!r} is the batch's own record; choose another name")
    return path


# --- the job file --------------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(row number, cells) per job; cells is an error message for a row that cannot be read."""
    text = path.read_text(encoding="utf-8-sig")
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith("{")
    if jsonl:
        index = 0
        for line in text.splitlines():
            if not line.strip():
                continue
            index += 1
            try:
                cells = json.loads(line)
            except json.JSONDecodeError as exc:
                yield index, f"not JSON ({exc.msg})"
                continue
            yield index, cells if isinstance(cells, dict) else "not a JSON object"
        return
    reader = csv.DictReader(text.splitlines())
    header = [_normal(c) for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path}: the header row has no {', '.join(missing)} column; it needs "
                         f"{', '.join(REQUIRED)} and any options")
    for index, row in enumerate(reader, 1):
        if None in row:
            yield index, f"{len(header) + len(row[None])} cells under a header of {len(header)}"
        elif any(not _empty(v) for v in row.values()):
            yield index, row


def read_jobs(path: str | os.PathLike, outdir: str | os.PathLike) -> list[Job]:
    """Every job of the file, checked; one InputError listing each bad row (a line each) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such job file")
    outdir = Path(outdir)
    try:
        rows = list(_rows(path))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a CSV or JSON Lines file ({exc})") from None
    columns, base = _columns(), path.parent.absolute()
    known = {c for spec in columns.values() for c in spec} | set(REQUIRED)
    jobs, errors, outputs = [], [], {}
    for index, cells in rows:
        where = f"{path.name} row {index}"
        if isinstance(cells, dict):
            strange = sorted({_normal(c) for c in cells} - known)
            if strange:  # a misspelt header: name the column, not every command's options
                errors.append(f"{where}: unknown column {', '.join(strange)}")
                continue
        try:
            if isinstance(cells, str):
                raise InputError(cells)
            job = parse_row(index, cells, base, outdir, columns)
        except TalkiesError as exc:
            errors.append(f"{where}: {exc}")
            continue
        for name in (job.output, *_sidecars(job)):
            if name in outputs:
                errors.append(f"{where}: output {job.name!r} is also written by row {outputs[name]}")
            outputs.setdefault(name, index)
        jobs.append(job)
    if errors:
        raise InputError("\n".join(errors))
    if not jobs:
        raise InputError(f"{path}: no jobs in the file")
    return jobs


def _sidecars(job: Job) -> list[Path]:
    """Files a job writes beside its output: a script's subtitles, and beside a talking-head GLB its speech."""
    if job.options.get("text") is None:
        return []
    head = job.command == "animate" and job.output.suffix.lower() in (".glb", ".gltf")
    return [job.output.with_suffix(".srt"), *([job.output.with_suffix(".wav")] if head else [])]
