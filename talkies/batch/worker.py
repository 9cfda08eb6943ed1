"""Running one job in a worker process (a local pool's, or a Ray worker's) through the Python API.

Each worker keeps the tasks and models it has opened (`_CACHE`, per process), keyed by the options that
shape them, so a thousand lip-sync jobs open the lip-sync model once per worker, not a thousand times.
A job never raises: a failure comes back as a `failed` JobRecord with one line, and the batch goes on.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from talkies.batch.jobs import Job, task_options
from talkies.errors import TalkiesError
from talkies.log import get_logger

log = get_logger(__name__)

#: Per process: tasks and models opened by earlier jobs, keyed by what shapes them.
_CACHE: dict[tuple, Any] = {}


@dataclass
class JobRecord:
    """One line of batch.csv."""

    job: int
    command: str
    output: str
    status: str
    """ok, failed, skipped (verified from an earlier run) or not run (the batch was stopped first)."""
    error: str = ""
    seconds: float = 0.0
    sha256: str = ""
    spec: str = ""


def _cached(key: tuple, factory):
    if key not in _CACHE:
        _CACHE[key] = factory()
    return _CACHE[key]


def _face_models(backend: str, precision: str = "auto", bundle_dir=None):
    from talkies.bundles import face_models

    return _cached(("face", backend, precision, bundle_dir), lambda: face_models(backend, precision, bundle_dir))


def _curve_kwargs(job: Job) -> dict[str, Any]:
    if job.options["apply_to"] is not None:
        from talkies.runtime.gltf_anim import check_avatar

        check_avatar(job.options["apply_to"])  # a corrupt avatar, or one without ARKit names, fails before any work
        return {"apply_to": job.options["apply_to"]}
    return {"with_head": True} if job.options["with_head"] else {}


def _lipsync(job: Job) -> None:
    from talkies.runtime.formats import write_curves
    from talkies.runtime.lipsync import LipSync

    options = task_options("lipsync", job.options)
    key = ("lipsync", *(str(getattr(options, f)) for f in ("backend", "precision", "bundle_dir", "intensity",
                                                           "expression", "smoothing", "threads")))
    kwargs = _curve_kwargs(job)
    motion = _cached(key, lambda: LipSync(options)).process_file(job.input)
    if job.options["format"] in ("rhubarb", "papagayo"):
        kwargs["sound_file"] = job.raw["input"]
    write_curves(motion, job.output, job.options["format"], **kwargs)


def _track(job: Job) -> None:
    from talkies.io import write_text_atomic
    from talkies.runtime import media
    from talkies.runtime.face import track_image, track_video
    from talkies.runtime.formats import tracking_json, write_curves
    from talkies.runtime.talking_head import with_photo_heads

    fmt, kwargs = job.options["format"], _curve_kwargs(job)
    models = _face_models(job.options["backend"], job.options["precision"], job.options["bundle_dir"])
    options = task_options("track", job.options)
    if media.is_image(job.input):
        motions = track_image(job.input, options, models=models).motions()
    else:
        motions = track_video(job.input, options, models=models, calibrate_frames=job.options["calibrate_frames"],
                              keep_landmarks=fmt == "json")
    if fmt == "json":
        write_text_atomic(job.output, tracking_json(motions, source=job.input.name))
        return
    heads = with_photo_heads(job.input, motions, kwargs) if media.is_image(job.input) else [kwargs] * len(motions)
    for motion, head in zip(motions, heads):
        face = job.output if motion.face_id == 0 else \
            job.output.with_name(f"{job.output.stem}.face{motion.face_id}{job.output.suffix}")
        write_curves(motion, face, fmt, **head)


def _voice(options: dict[str, Any]) -> str:
    from talkies.runtime import tts

    return options["voice"] or tts.default_voice(options["language"])


def _default_lipsync():
    """The default offline LipSync task, opened once per worker (None without its bundle: each job then
    falls back to the loudness, with its warning)."""
    from talkies.errors import BundleError
    from talkies.runtime.lipsync import LipSync

    try:
        return _cached(("animate-lipsync",), LipSync)
    except BundleError:
        return None


def _animate(job: Job) -> None:
    from talkies.runtime.talking_photo import animate_audio, animate_text

    options, models = task_options("animate", job.options), _face_models(job.options["backend"])
    if job.options["audio"] is not None:
        animate_audio(job.input, job.options["audio"], job.output, options, models=models,
                      lipsync=_default_lipsync())
    else:
        animate_text(job.input, job.options["text"], job.output, options, voice=_voice(job.options),
                     rate=job.options["rate"], pitch=job.options["pitch"], models=models)


def _dub(job: Job) -> None:
    from talkies.runtime.dub import VideoDubber

    with VideoDubber(task_options("dub", job.options), models=_face_models(job.options["backend"]),
                     lipsync=_default_lipsync()) as dubber:
        if job.options["audio"] is not None:
            dubber.dub_audio(job.input, job.options["audio"], job.output)
        else:
            dubber.dub_text(job.input, job.options["text"], job.output, voice=_voice(job.options))


RUNNERS = {"lipsync": _lipsync, "track": _track, "animate": _animate, "dub": _dub}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_job(job: Job) -> JobRecord:
    """Run one job; a failure is a `failed` record with one line (a bug's traceback goes to the log)."""
    from talkies.runtime.bundle import sha256_file

    started = time.perf_counter()
    record = JobRecord(job.index, job.command, job.name, "failed", spec=job.spec)
    try:
        RUNNERS[job.command](job)
        record.sha256, record.status = sha256_file(job.output), "ok"
    except TalkiesError as exc:
        record.error = one_line(exc)
    except Exception as exc:  # a bug in one job must not stop the batch
        log.error("job %d (%s) failed:\n%s", job.index, job.name, traceback.format_exc())
        record.error = one_line(f"internal error: {type(exc).__name__}: {exc}")
    record.seconds = round(time.perf_counter() - started, 3)
    return record


def _on_sigterm(signum, frame) -> None:
    sys.exit(128 + signum)  # unwinds every `finally`: no half-written temporary output is left


def init_worker() -> None:
    """A pool worker: no nested progress bars, and SIGTERM unwinds like the command line's."""
    os.environ["TALKIES_PROGRESS"] = "0"
    signal.signal(signal.SIGTERM, _on_sigterm)


def ray_run_job(job: Job) -> JobRecord:
    """The Ray task: the same job, in a Ray worker (which keeps its cache between tasks)."""
    os.environ["TALKIES_PROGRESS"] = "0"
    return run_job(job)
