"""`talkies batch`: many jobs (animate, dub, lipsync, track) from one CSV or JSON Lines file, on a local
process pool or a Ray cluster, through the Python API; failures recorded, finished jobs skipped on a rerun.

    from talkies.batch import run_batch
    report = run_batch("jobs.csv", "out/", workers=2)       # or ray="auto"
    print(report.count("ok"), [r.error for r in report.failed])

The job file's format is in :mod:`talkies.batch.jobs`; running, resume and batch.csv in
:mod:`talkies.batch.runner`; one job in a worker in :mod:`talkies.batch.worker`.
"""

from __future__ import annotations

from talkies.batch.jobs import Job, read_jobs
from talkies.batch.runner import BatchReport, read_records, run_batch
from talkies.batch.worker import JobRecord

__all__ = ["BatchReport", "Job", "JobRecord", "read_jobs", "read_records", "run_batch"]
