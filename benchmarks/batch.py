"""Batch benchmark: `talkies batch` against separate CLI runs, and an hour of audio through `talkies lipsync`.

Run: ``python -m talkies.benchmarks.batch [--jobs 40] [--workers 2] [--repeats 3] [--minutes 60] [--json OUT]``.

- **batch vs CLI**: `--jobs` short real utterances (TIMIT, 2-4 s each, from ../shared/data/speech) lip-synced
  to OVR viseme JSON, once as one ``talkies batch JOBS -o OUT --workers N`` and once as that many
  ``talkies lipsync`` runs one after another (and again `--workers` at a time, as ``xargs -P`` would), each
  a child process, timed from outside (start-up, model loading and writing all counted). The two alternate in each repeat, so they share the machine's load;
  medians of the repeats (goal: the batch in ≤ 0.6× the time). The outputs of the two are checked equal.
- **an hour of audio**: a shared recording looped to `--minutes` (16 kHz mono WAV) through ``talkies
  lipsync`` in a child process: its wall time and peak RSS (goal ≤ 1 GB).

Numeric libraries run on one thread (as `talkies lipsync` does); wall time is the headline.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import wave  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from talkies.benchmarks.common import emit_report  # noqa: E402
from talkies.paths import shared_data_dir  # noqa: E402

GOAL_RATIO = 0.6
GOAL_PEAK_RSS_GB = 1.0
TALKIES = [sys.executable, "-m", "talkies"]
#: The recording looped into the long audio (LibriVox, 16 kHz mono).
LONG_SOURCE = "librivox/sense_and_sensibility_01_austen_64kb-0870.wav"


def _env() -> dict[str, str]:
    return {**os.environ, "TALKIES_PROGRESS": "0"}


def _timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def short_jobs(workdir: Path, count: int) -> tuple[Path, list[Path]]:
    wavs = sorted((shared_data_dir() / "speech" / "timit").glob("*.wav"))[:count]
    if len(wavs) < count:
        raise SystemExit(f"only {len(wavs)} TIMIT utterances in {shared_data_dir() / 'speech' / 'timit'}")
    jobs = workdir / "jobs.csv"
    with open(jobs, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["command", "input", "output", "format"])
        writer.writerows(["lipsync", str(w), f"{w.stem}.json", "visemes"] for w in wavs)
    return jobs, wavs


def batch_vs_cli(workdir: Path, count: int, workers: int, repeats: int) -> dict:
    jobs, wavs = short_jobs(workdir, count)
    seconds = sum(wave.open(str(w)).getnframes() / 16000 for w in wavs)
    batch_s, cli_s, parallel_s = [], [], []
    for r in range(repeats):
        out_batch, out_cli = workdir / f"batch{r}", workdir / f"cli{r}"
        out_cli.mkdir()
        batch_s.append(_timed([*TALKIES, "batch", str(jobs), "-o", str(out_batch), "--workers", str(workers)]))
        t0 = time.perf_counter()
        for w in wavs:
            subprocess.run([*TALKIES, "lipsync", str(w), "-o", str(out_cli / f"{w.stem}.json")], check=True,
                           env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:  # the same runs, `workers` at a time (as xargs -P would)
            list(pool.map(lambda w: _timed([*TALKIES, "lipsync", str(w), "-o", str(out_cli / f"{w.stem}.p.json")]),
                          wavs))
        parallel_s.append(time.perf_counter() - t0)
        same = all((out_batch / f"{w.stem}.json").read_bytes() == (out_cli / f"{w.stem}.json").read_bytes()
                   for w in wavs)
        if not same:
            raise SystemExit("the batch and the CLI wrote different outputs")
        shutil.rmtree(out_batch), shutil.rmtree(out_cli)
    batch, cli = statistics.median(batch_s), statistics.median(cli_s)
    return {"jobs": count, "audio_s": round(seconds, 1), "workers": workers, "repeats": repeats,
            "batch_s": round(batch, 2), "batch_runs_s": [round(x, 2) for x in batch_s],
            "cli_s": round(cli, 2), "cli_runs_s": [round(x, 2) for x in cli_s],
            "cli_parallel_s": round(statistics.median(parallel_s), 2),
            "cli_parallel_runs_s": [round(x, 2) for x in parallel_s],
            "ratio": round(batch / cli, 3), "ratio_to_parallel": round(batch / statistics.median(parallel_s), 3), "goal_ratio": GOAL_RATIO, "meets_goal": batch / cli <= GOAL_RATIO,
            "same_outputs": True,
            "batch_command": f"talkies batch jobs.csv -o OUT --workers {workers}",
            "cli_command": "talkies lipsync UTTERANCE.wav -o OUT/UTTERANCE.json  (x jobs, one after another)"}


def long_audio(path: Path, minutes: float) -> Path:
    """`minutes` of 16 kHz mono speech: one shared recording, looped, written a copy at a time."""
    with wave.open(str(shared_data_dir() / "speech" / LONG_SOURCE)) as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
        width, channels = src.getsampwidth(), src.getnchannels()
    total = int(minutes * 60 * rate) * width * channels
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(channels), dst.setsampwidth(width), dst.setframerate(rate)
        written = 0
        while written < total:
            piece = frames[:total - written]
            dst.writeframes(piece)
            written += len(piece)
    return path


def hour_of_audio(workdir: Path, minutes: float, fmt: str = "visemes") -> dict:
    audio = long_audio(workdir / f"speech_{minutes:g}min.wav", minutes)
    output = workdir / f"long.{'csv' if fmt == 'livelink' else 'json'}"
    argv = [*TALKIES, "lipsync", str(audio), "--format", fmt, "-o", str(output)]
    # A fresh interpreter whose only child is the command: its RUSAGE_CHILDREN peak is that command's.
    code = ("import resource, subprocess, sys, time\n"
            "t0 = time.perf_counter()\n"
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", code, *argv], check=True, capture_output=True, text=True,
                         env=_env()).stdout.split()
    wall, rss_kb = float(out[-2]), int(out[-1])
    return {"minutes": minutes, "format": fmt, "command": f"talkies lipsync speech_{minutes:g}min.wav --format "
            f"{fmt} -o {output.name}", "wall_s": round(wall, 1), "real_time_x": round(minutes * 60 / wall, 1),
            "peak_rss_gb": round(rss_kb / 1024 ** 2, 3), "output_mb": round(output.stat().st_size / 1e6, 1),
            "goal_gb": GOAL_PEAK_RSS_GB, "meets_goal": rss_kb / 1024 ** 2 <= GOAL_PEAK_RSS_GB}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=60.0, help="Length of the long audio (0 skips it).")
    parser.add_argument("--formats", default="visemes", help="Comma list of the long audio's output formats.")
    parser.add_argument("--json", type=Path, default=None, help="Write the figures as JSON here.")
    args = parser.parse_args(argv)
    report: dict = {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.jobs > 0:
            report["batch_vs_cli"] = batch_vs_cli(workdir, args.jobs, args.workers, args.repeats)
        if args.minutes > 0:
            report["long_audio"] = [hour_of_audio(workdir, args.minutes, f) for f in args.formats.split(",")]
    emit_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
