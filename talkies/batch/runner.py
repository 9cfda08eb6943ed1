"""Running a batch: resume, a local process pool or a Ray cluster, a progress bar, and OUTDIR/batch.csv.

- Resume: a job whose output exists, whose sha256 matches the one batch.csv recorded for it, and whose
  settings and input files are those of that run (the `spec` column) is skipped.
- Local: a process pool (spawned workers, each keeping its models between jobs); a worker that dies (out
  of memory, a crash) fails the jobs it was running, and a fresh pool carries on with the rest.
- Ray: one task per job on the cluster Ray connects to (`auto`, an address, or `local` to start one on
  this machine); Ray's workers keep their models between tasks the same way. Every node must see the
  job file's inputs and the output folder at the same paths (a shared file system).
- batch.csv is rewritten atomically as jobs finish (at most once a second) and at the end, also when the
  batch is interrupted, so a later run resumes from it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from talkies.batch.jobs import RECORDS_NAME, Job, read_jobs
from talkies.batch.worker import JobRecord, init_worker, one_line, ray_run_job, run_job
from talkies.errors import InputError, require
from talkies.io import check_writable, write_text_atomic
from talkies.log import get_logger, make_progress

log = get_logger(__name__)

RECORD_FIELDS = [f.name for f in dataclasses.fields(JobRecord)]
#: Least seconds between two rewrites of batch.csv while jobs finish.
WRITE_EVERY_S = 1.0


@dataclass
class BatchReport:
    outdir: Path
    records: list[JobRecord] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def failed(self) -> list[JobRecord]:
        return [r for r in self.records if r.status == "failed"]

    @property
    def path(self) -> Path:
        return self.outdir / RECORDS_NAME


def read_records(path: str | os.PathLike) -> dict[str, JobRecord]:
    """An earlier batch.csv, by output name; empty when there is none or it cannot be read."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        return {row["output"]: JobRecord(**{**row, "job": int(row["job"]), "seconds": float(row["seconds"] or 0)})
                for row in rows}
    except (ValueError, TypeError, KeyError, csv.Error, UnicodeDecodeError) as exc:
        log.warning("%s cannot be read (%s): every job runs again", path, exc)
        return {}


def write_records(path: Path, records: list[JobRecord]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RECORD_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in sorted(records, key=lambda r: r.job):
        writer.writerow(dataclasses.asdict(record))
    write_text_atomic(path, buffer.getvalue())


def _verified(job: Job, earlier: JobRecord | None) -> JobRecord | None:
    """The skipped record of a job an earlier run already did, or None when it must run."""
    from talkies.runtime.bundle import sha256_file

    if earlier is None or earlier.status not in ("ok", "skipped") or earlier.spec != job.spec:
        return None
    if not job.output.is_file() or sha256_file(job.output) != earlier.sha256:
        return None
    return JobRecord(job.index, job.command, job.name, "skipped", seconds=0.0, sha256=earlier.sha256,
                     spec=job.spec)


def run_batch(jobs: str | os.PathLike | list[Job], outdir: str | os.PathLike, *, workers: int | None = None,
              ray: str | None = None, resume: bool = True) -> BatchReport:
    """Run every job of a job file (see :mod:`talkies.batch.jobs`) into `outdir`.

    `workers`: processes of the local pool (default: the CPU count), or the most Ray tasks at once.
    `ray`: None runs on the local pool; "auto" or an address connects to a Ray cluster, "local" starts one
    here (when Ray is already initialised in this process, it is used as it is).
    `resume`: skip the jobs that batch.csv in `outdir` shows done, whose outputs still verify.
    """
    started = time.perf_counter()
    outdir = check_writable(outdir, is_dir=True)
    if workers is not None and workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    jobs = jobs if isinstance(jobs, list) else read_jobs(jobs, outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(outdir)
    earlier = read_records(report.path) if resume else {}
    records: dict[int, JobRecord] = {}
    todo = []
    for job in jobs:
        skipped = _verified(job, earlier.get(job.name))
        if skipped is None:
            todo.append(job)
        else:
            records[job.index] = skipped
    last_write = 0.0
    results = _on_ray(todo, ray, workers) if ray is not None else _on_pool(todo, workers)
    try:
        with make_progress(transient=False) as progress:
            bar = progress.add_task("batch", total=len(jobs), completed=len(records))
            for record in results:
                records[record.job] = record
                failed = sum(r.status == "failed" for r in records.values())
                progress.update(bar, advance=1, description=f"batch ({failed} failed)" if failed else "batch")
                if record.status == "failed":
                    log.warning("job %d (%s): %s", record.job, record.output, record.error)
                if time.perf_counter() - last_write >= WRITE_EVERY_S:
                    write_records(report.path, list(records.values()))
                    last_write = time.perf_counter()
    finally:  # also on Ctrl-C or SIGTERM: the workers stop, what is done is recorded, the rest marked not run
        results.close()
        for job in jobs:
            records.setdefault(job.index, JobRecord(job.index, job.command, job.name, "not run", spec=job.spec))
        report.records = sorted(records.values(), key=lambda r: r.job)
        write_records(report.path, report.records)
    report.seconds = time.perf_counter() - started
    return report


# --- the local process pool ----------------------------------------------------------------------------


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn: a fork of this process would copy the progress bar's thread and any open models' state
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Terminate the workers (SIGTERM: each unwinds and removes its temporary output) and wait for them."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _on_pool(todo: list[Job], workers: int | None) -> Iterator[JobRecord]:
    if not todo:
        return
    workers = min(workers or os.cpu_count() or 1, len(todo))
    queue, running = deque(todo), {}
    pool = _pool(workers)
    try:
        while queue or running:
            while queue and len(running) < workers:  # at most one job per worker: a crash fails only those
                job = queue.popleft()
                running[pool.submit(run_job, job)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                record, dead = _result(future, running.pop(future))
                broken |= dead
                yield record
            if broken:
                for future in list(running):  # the pool is gone: the jobs still running with it failed too
                    yield _result(future, running.pop(future))[0]
                pool.shutdown(wait=True, cancel_futures=True)
                pool = _pool(workers)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _result(future: Future, job: Job) -> tuple[JobRecord, bool]:
    try:
        return future.result(), False
    except BrokenProcessPool:
        return _failed(job, "its worker process died (out of memory, or a crash)"), True


def _failed(job: Job, error: str) -> JobRecord:
    return JobRecord(job.index, job.command, job.name, "failed", error=error, spec=job.spec)


# --- Ray ------------------------------------------------------------------------------------------------


def _on_ray(todo: list[Job], address: str, workers: int | None) -> Iterator[JobRecord]:
    ray = require("ray", "ray")
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise InputError(f"cannot reach a Ray cluster at {address!r} ({one_line(exc)[:200]}); start one with "
                             "`ray start --head`, give its address, or 'local' for one on this machine") from None
    queue, running, limit = deque(todo), {}, workers or len(todo)
    try:
        task: Callable = ray.remote(num_cpus=1, max_retries=0)(ray_run_job)
        while queue or running:
            while queue and len(running) < limit:
                job = queue.popleft()
                running[task.remote(job)] = job
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                job = running.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # the worker died, or the node was lost
                    yield _failed(job, one_line(f"Ray: {type(exc).__name__}: {exc}")[:300])
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
