"""Start-up and throughput of the commands a user types (issue 24), each against a baseline in the same run,
as medians of alternating runs (this machine is shared and noisy):

- `python -c pass` (the interpreter's own start) beside `talkies --help`;
- `talkies lipsync` on 1 s of audio, process start to output written (warm caches);
- `talkies lipsync` on N minutes of audio to Live Link CSV: real-time factor by wall clock and by the
  child's CPU time (steadier on a shared machine), median of --long-runs, and peak RSS.

    python -m talkies.benchmarks.startup [--runs 7] [--minutes 60] [--long-runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from talkies.paths import shared_data_dir

TALKIES = [sys.executable, "-m", "talkies"]


def _wall(cmd: list[str]) -> float:
    return _timed(cmd)[0]


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's CPU seconds (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _speech(path: Path, seconds: float) -> Path:
    """`seconds` of real speech: a LibriVox recording looped."""
    source = sorted((shared_data_dir() / "speech" / "librivox").glob("*.wav"))[0]
    with wave.open(str(source)) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    n = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.tile(pcm, n // len(pcm) + 1)[:n].tobytes())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--long-runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="talkies-startup-") as tmp:  # the long run's files are ~300 MB
        _measure(args, Path(tmp))
    return 0


def _measure(args: argparse.Namespace, work: Path) -> None:
    one = _speech(work / "one.wav", 1.0)
    long = _speech(work / "long.wav", args.minutes * 60)
    lipsync = [*TALKIES, "lipsync", str(one), "-o", str(work / "one.json")]
    _wall(lipsync)  # warm: the auto-backend measurement, the page cache
    python, helps, shorts = [], [], []
    for _ in range(args.runs):
        python.append(_wall([sys.executable, "-c", "pass"]))
        helps.append(_wall([*TALKIES, "--help"]))
        shorts.append(_wall(lipsync))
    print(f"python -c pass        {statistics.median(python):.3f} s (median of {args.runs})")
    print(f"talkies --help        {statistics.median(helps):.3f} s (goal <= 0.2 s)")
    print(f"talkies lipsync 1 s   {statistics.median(shorts):.3f} s (goal <= 0.6 s)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    runs = [_timed([*TALKIES, "lipsync", str(long), "--format", "livelink", "-o", str(work / "long.csv")])
            for _ in range(args.long_runs)]
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    audio = args.minutes * 60
    wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    print(f"talkies lipsync {args.minutes:g} min to livelink: {wall:.1f} s wall = {audio / wall:.0f}x real time "
          f"(goal >= 400x), {cpu:.1f} s CPU = {audio / cpu:.0f}x (median of {len(runs)}; runs "
          f"{', '.join(f'{audio / r[0]:.0f}x' for r in runs)} wall), peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    raise SystemExit(main())
