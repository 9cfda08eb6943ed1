"""Dubbing benchmark: end-to-end wall time and peak memory of ``talkies dub`` on the shared real videos.

Run: ``python -m talkies.benchmarks.dub [--json OUT] [--rounds 3] [--repeats 2] [--against TREE]
[--long-minutes 10] [--long-speech-seconds S]``.

- **end to end**: ``s18.mp4`` (1280×720, 30 fps, 9.4 s) dubbed with 10 s of new speech (espeak-ng, as a
  WAV file; the video loops back for the last 0.6 s) through ``VideoDubber.dub_audio``: decoding, tracking,
  lip-sync, warping and encoding all counted (goal ≤ 10 s). Each round is a fresh child process: a warm-up
  dub, then ``--repeats`` timed ones; the figures are medians over all timed dubs.
- **against another tree** (``--against DIR``): the same rounds on the talkies source tree in DIR (say an
  older commit, from ``git archive REV | tar -x -C DIR``), alternating with this one round by round
  (ABBA), so that both see the same load; the ratios are this tree's over DIR's.
- **memory**: a ``--long-minutes`` 720p video, made in the work folder (a temporary folder unless
  ``--workdir``) by looping ``s18.mp4`` back and forth, dubbed in a child process with
  ``--long-speech-seconds`` of speech (default: as long as the video); its peak RSS (VmHWM; goal
  ≤ 1.5 GB at 10 minutes), wall and CPU time. ``--long-minutes 0`` skips it.

Numba, BLAS and the face models run on one thread; libx264 picks its own. Wall time is the headline; the
process CPU time is printed beside it, since a shared machine inflates wall time.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TALKIES_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from talkies.benchmarks.animate import _wav, speech_clip  # noqa: E402
from talkies.benchmarks.common import emit_report  # noqa: E402
from talkies.log import track  # noqa: E402

GOAL_END_TO_END_S = 10.0
GOAL_PEAK_RSS_GB = 1.5
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "s18.mp4"

# A child's first lines when it runs another source tree: `talkies` and each `talkies.<folder>` (the
# layout setup.py maps) are found in that tree, ahead of this venv's editable install.
_TREE_FINDER = """
import sys
from importlib.machinery import PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path
ROOT = Path({root!r})
FOLDERS = {{"talkies": ROOT / "talkies", **{{f"talkies.{{p.name}}": p for p in ROOT.iterdir()
                                           if (p / "__init__.py").is_file() and p.name != "talkies"}}}}
class TreeFinder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in FOLDERS:
            return spec_from_file_location(name, FOLDERS[name] / "__init__.py",
                                           submodule_search_locations=[str(FOLDERS[name])])
        parent = name.rpartition(".")[0]
        if parent in FOLDERS:
            return PathFinder.find_spec(name, [str(FOLDERS[parent])])
        return None
sys.meta_path.insert(0, TreeFinder)
import talkies
assert Path(talkies.__file__).resolve().is_relative_to(ROOT.resolve()), talkies.__file__
"""

# One round: a warm-up dub (compiled kernels, caches), then `repeats` timed dubs; one JSON line out.
# It uses only the API every version of the dubber has.
_ROUND = """
import json, time
from talkies.bundles import face_models
from talkies.runtime.dub import VideoDubber
runs = []
with VideoDubber(models=face_models("auto")) as dubber:
    dubber.dub_audio({source!r}, {wav!r}, {warmup!r})
    for _ in range({repeats}):
        t0, c0 = time.perf_counter(), time.process_time()
        r = dubber.dub_audio({source!r}, {wav!r}, {out!r})
        runs.append({{"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "frames": r.frames,
                     "size": list(r.size), "fps": r.fps, "track_s": r.extras["track_s"],
                     "render_s": r.extras["render_s"]}})
print(json.dumps(runs))
"""


def _child(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


def _round(workdir: Path, wav: Path, repeats: int, tree: Path | None) -> list[dict]:
    name = "this" if tree is None else "against"
    code = _ROUND.format(source=str(SOURCE), wav=str(wav), warmup=str(workdir / f"warmup_{name}.mp4"),
                         out=str(workdir / f"out_{name}.mp4"), repeats=repeats)
    if tree is not None:
        code = _TREE_FINDER.format(root=str(tree.resolve())) + code
    return json.loads(_child(code))


def _summary(runs: list[dict]) -> dict:
    med = {k: round(statistics.median(r[k] for r in runs), 2) for k in ("wall_s", "cpu_s", "track_s", "render_s")}
    return {**med, "walls_s": [round(r["wall_s"], 2) for r in runs], "cpus_s": [round(r["cpu_s"], 2) for r in runs]}


def end_to_end(workdir: Path, seconds: float, rounds: int, repeats: int, against: Path | None) -> dict:
    pcm, rate = speech_clip(seconds)
    wav = _wav(workdir / "speech.wav", pcm, rate)
    runs: dict[str, list[dict]] = {"this": [], "against": []}
    loads = []
    for i in track(range(rounds), "dubbing s18 (rounds)", total=rounds):
        order = [None] if against is None else ([None, against] if i % 2 == 0 else [against, None])
        for tree in order:
            runs["this" if tree is None else "against"] += _round(workdir, wav, repeats, tree)
        loads.append(round(os.getloadavg()[0], 2))
    first = runs["this"][0]
    this = _summary(runs["this"])
    report = {"source": SOURCE.name, "size": "x".join(map(str, first["size"])), "fps": first["fps"],
              "speech_s": seconds, "frames": first["frames"], "rounds": rounds, "repeats": repeats, **this,
              "load_average": loads, "goal_wall_s": GOAL_END_TO_END_S,
              "meets_goal": this["wall_s"] <= GOAL_END_TO_END_S}
    if against is not None:
        other = _summary(runs["against"])
        report["against"] = {"tree": str(against), **other,
                             "ratio_wall": round(this["wall_s"] / other["wall_s"], 2),
                             "ratio_cpu": round(this["cpu_s"] / other["cpu_s"], 2)}
    return report


def long_video(path: Path, minutes: float) -> Path:
    """`minutes` of 720p video: s18 played back and forth (no audio), from its own planes, encoded fast."""
    from talkies.runtime.media import VideoColour, VideoWriter, frame_yuv420, iter_video_frames, video_info

    info = video_info(SOURCE)
    width, height = info.width - info.width % 2, info.height - info.height % 2
    frames, colour = [], None
    for _, frame in iter_video_frames(SOURCE):  # 9.4 s of 720p, about 390 MB: only in this helper
        colour = colour or VideoColour.of_frame(frame)
        frames.append(frame_yuv420(frame, width, height))
    total = int(minutes * 60 * round(info.fps))
    period = 2 * len(frames) - 2
    with VideoWriter(path, width=width, height=height, fps=round(info.fps), crf=28, preset="ultrafast",
                     colour=colour) as writer:
        for j in track(range(total), f"making a {minutes:g}-minute video", total=total):
            k = j % period
            writer.write_yuv420(frames[k if k < len(frames) else period - k])
    return path


def peak_memory(workdir: Path, minutes: float, speech_s: float | None) -> dict:
    video = workdir / f"long_{minutes:g}min.mp4"
    if not video.exists():
        long_video(video, minutes)
    seconds = minutes * 60 if speech_s is None else speech_s
    pcm, rate = speech_clip(seconds)
    wav = _wav(workdir / f"speech_{seconds:g}s.wav", pcm, rate)
    del pcm
    # VmHWM, not getrusage: ru_maxrss carries the forking parent's peak across exec on Linux
    code = ("import json, resource, time\n"
            "from talkies.runtime.dub import VideoDubber\n"
            "from talkies.bundles import face_models\n"
            "t0 = time.perf_counter()\n"
            f"with VideoDubber(models=face_models('auto')) as d: r = d.dub_audio({str(video)!r}, {str(wav)!r}, "
            f"{str(workdir / 'long_out.mp4')!r})\n"
            "hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
            "use = resource.getrusage(resource.RUSAGE_SELF)\n"
            "print(json.dumps({'frames': r.frames, 'wall_s': time.perf_counter() - t0, 'rss_kb': int(hwm.split()[1]),"
            " 'cpu_s': use.ru_utime + use.ru_stime, 'track_s': r.extras['track_s'],"
            " 'render_s': r.extras['render_s']}))\n")
    out = json.loads(_child(code))
    peak = out["rss_kb"] / 1024 ** 2
    return {"video_minutes": minutes, "speech_s": seconds, "frames": out["frames"], "wall_s": round(out["wall_s"], 1),
            "cpu_s": round(out["cpu_s"], 1), "track_s": round(out["track_s"], 1),
            "render_s": round(out["render_s"], 1), "peak_rss_gb": round(peak, 3), "goal_gb": GOAL_PEAK_RSS_GB,
            "meets_goal": peak <= GOAL_PEAK_RSS_GB, "load_average": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="Write the figures as JSON here.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of the new speech.")
    parser.add_argument("--rounds", type=int, default=3, help="Child processes (per tree); 0 skips end to end.")
    parser.add_argument("--repeats", type=int, default=2, help="Timed dubs per round, after a warm-up.")
    parser.add_argument("--against", type=Path, default=None,
                        help="Another talkies source tree to measure alternately (e.g. an older commit).")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="Length of the memory test's video (0 skips).")
    parser.add_argument("--long-speech-seconds", type=float, default=None,
                        help="Speech for the memory test (default: as long as its video).")
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the inputs and outputs here.")
    args = parser.parse_args(argv)
    if args.against is not None and not (args.against / "runtime" / "dub").is_dir():
        parser.error(f"--against {args.against}: not a talkies source tree with runtime/dub")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = {"end_to_end": end_to_end(workdir, args.seconds, args.rounds, args.repeats, args.against)
                  if args.rounds > 0 else None, "cpus": os.cpu_count(), "parent_peak_rss_gb": None}
        if args.long_minutes > 0:
            report["memory"] = peak_memory(workdir, args.long_minutes, args.long_speech_seconds)
        report["parent_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3)
    emit_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
