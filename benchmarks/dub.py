"""Dubbing benchmark: end-to-end wall time and peak memory of ``talkies dub`` on the shared real videos.

Run: ``python -m talkies.benchmarks.dub [--json OUT] [--repeats 3] [--long-minutes 10]``.

- **end to end**: ``s18.mp4`` (1280×720, 30 fps, 9.4 s) dubbed with 10 s of new speech (espeak-ng, as a
  WAV file; the video loops back for the last 0.6 s) through ``VideoDubber.dub_audio``: decoding, tracking,
  lip-sync, warping and encoding all counted (goal ≤ 10 s). Median of the repeats, after a warm-up.
- **memory**: a 10-minute 720p video, made by looping ``s18.mp4`` back and forth, dubbed with 10 s of
  speech (the rest plays with the mouth closed), in a child process; its peak RSS (goal ≤ 1.5 GB).

Numba, BLAS and the face models run on one thread; libx264 picks its own. Wall time is the headline; the
process CPU time is printed beside it, since a shared machine inflates wall time.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TALKIES_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from talkies.benchmarks.animate import _wav, speech_clip  # noqa: E402
from talkies.benchmarks.common import emit_report  # noqa: E402
from talkies.log import track  # noqa: E402

GOAL_END_TO_END_S = 10.0
GOAL_PEAK_RSS_GB = 1.5
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "s18.mp4"


def end_to_end(workdir: Path, seconds: float, repeats: int) -> dict:
    from talkies.bundles import face_models
    from talkies.runtime.dub import VideoDubber

    pcm, rate = speech_clip(seconds)
    wav = _wav(workdir / "speech.wav", pcm, rate)
    walls, cpus, result = [], [], None
    with VideoDubber(models=face_models("auto")) as dubber:
        dubber.dub_audio(SOURCE, wav, workdir / "warmup.mp4")  # compile/caches
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            result = dubber.dub_audio(SOURCE, wav, workdir / "out.mp4")
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    wall = statistics.median(walls)
    w, h = result.size
    return {"source": SOURCE.name, "size": f"{w}x{h}", "fps": result.fps, "speech_s": seconds,
            "frames": result.frames, "repeats": repeats, "wall_s": round(wall, 2), "walls_s": [round(x, 2) for x in walls],
            "cpu_s": round(statistics.median(cpus), 2), "track_s": result.extras["track_s"],
            "render_s": result.extras["render_s"], "goal_wall_s": GOAL_END_TO_END_S,
            "meets_goal": wall <= GOAL_END_TO_END_S}


def long_video(path: Path, minutes: float) -> Path:
    """`minutes` of 720p video: s18 played back and forth (no audio), encoded fast."""
    from talkies.runtime.media import VideoWriter, iter_video, video_info

    frames = [f for _, f in iter_video(SOURCE)]  # 9.4 s of 720p, about 780 MB once: only in this helper
    info = video_info(SOURCE)
    total = int(minutes * 60 * round(info.fps))
    period = 2 * len(frames) - 2
    with VideoWriter(path, width=info.width, height=info.height, fps=round(info.fps), crf=28,
                     preset="ultrafast") as writer:
        for j in track(range(total), f"making a {minutes:g}-minute video", total=total):
            k = j % period
            writer.write(frames[k if k < len(frames) else period - k])
    return path


def peak_memory(workdir: Path, minutes: float) -> dict:
    video = workdir / f"long_{minutes:g}min.mp4"
    if not video.exists():
        long_video(video, minutes)
    pcm, rate = speech_clip(10.0)
    wav = _wav(workdir / "speech10.wav", pcm, rate)
    # VmHWM, not getrusage: ru_maxrss carries the forking parent's peak across exec on Linux
    code = ("import time\n"
            "from talkies.runtime.dub import VideoDubber\n"
            "from talkies.bundles import face_models\n"
            "t0 = time.perf_counter()\n"
            f"with VideoDubber(models=face_models('auto')) as d: r = d.dub_audio({str(video)!r}, {str(wav)!r}, "
            f"{str(workdir / 'long_out.mp4')!r})\n"
            "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
            "print(r.frames, time.perf_counter() - t0, hwm.split()[1])\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    frames, wall, rss_kb = int(out[-3]), float(out[-2]), int(out[-1])
    return {"video_minutes": minutes, "frames": frames, "wall_s": round(wall, 1),
            "peak_rss_gb": round(rss_kb / 1024 ** 2, 3), "goal_gb": GOAL_PEAK_RSS_GB,
            "meets_goal": rss_kb / 1024 ** 2 <= GOAL_PEAK_RSS_GB}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="Write the figures as JSON here.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of the new speech.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, default=10.0, help="Length of the memory test's video (0 skips).")
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the inputs and outputs here.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = {"end_to_end": end_to_end(workdir, args.seconds, args.repeats),
                  "cpus": os.cpu_count(), "parent_peak_rss_gb": None}
        if args.long_minutes > 0:
            report["memory"] = peak_memory(workdir, args.long_minutes)
        report["parent_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3)
    emit_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
