"""Talking-photo benchmark: end-to-end wall time and render throughput, 1 thread where possible.

Run: ``python -m talkies.benchmarks.animate [--json OUT] [--seconds 10]``, or
``python -m talkies.benchmarks.animate --against REV [--rounds 4]`` for the end-to-end case alone, on this
checkout and on git revision REV taking turns (see ``against``).

- **end to end**: 10 s of speech (espeak-ng, as a WAV file) → 1280×720, 25 fps H.264/AAC MP4 through
  ``talkies.runtime.talking_photo.animate_audio``: reading the audio, finding the face, lip-sync, planning,
  rendering and encoding, all counted (goal ≤ 10 s). The 16:9 photo is Grace Hopper on a blurred
  backdrop of herself.
- **script**: the CLI as a user runs it, process start to file written: ``talkies animate PHOTO --text
  SCRIPT --resolution 720p`` with the default Kokoro voice (af_heart), a script of about 10 s of speech;
  synthesis, face, rendering and encoding all counted (goal ≤ 12 s). Median of 3 runs.
- **render**: frames/s of ``PhotoAnimator.render_frame`` on 512×512 astronaut frames (speech, blinks and
  head motion; no encoding), median of repeats (goal ≥ 100 frames/s).

Numba, BLAS and the face models run on one thread; libx264 is given one thread too. The first run
after an install compiles the kernels (cached afterwards); a warm-up run excludes that from the figures.
Wall time is the headline; the process CPU time is printed beside it, since a shared machine inflates
wall time.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TALKIES_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from talkies.io import write_text_atomic  # noqa: E402
from talkies.runtime.media import write_wav  # noqa: E402

GOAL_END_TO_END_S = 10.0
GOAL_SCRIPT_S = 12.0
SCRIPT = ("Welcome back. Today we are looking at how a small computer can read a face, listen to a voice, "
          "and move a photo's lips in time, without the cloud.")
GOAL_RENDER_FPS = 100.0
SPEECH = ("Computers are not magic. They follow instructions one step at a time, very quickly, and a "
          "compiler turns the words we write into those steps. Never stop asking why it is done this way.")


def speech_clip(seconds: float) -> tuple[np.ndarray, int]:
    """`seconds` of espeak speech (repeated or cut to length)."""
    from talkies.runtime import espeak

    sp = espeak.synthesize(SPEECH, rate=165)
    pcm = sp.float32()
    n = int(round(seconds * sp.sample_rate))
    reps = int(np.ceil(n / len(pcm)))
    return np.tile(pcm, reps)[:n], sp.sample_rate


def widescreen_photo(path: Path, width: int = 1280, height: int = 720) -> Path:
    """Grace Hopper centred on a blurred, stretched copy of herself: a 16:9 photo."""
    import matplotlib.cbook as cbook
    from PIL import Image, ImageFilter

    img = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    back = img.resize((width, height)).filter(ImageFilter.GaussianBlur(25))
    fg = img.resize((round(img.width * height / img.height), height), Image.Resampling.LANCZOS)
    back.paste(fg, ((width - fg.width) // 2, 0))
    back.save(path, quality=92)
    return path


def end_to_end(workdir: Path, seconds: float, models) -> dict:
    from talkies.runtime.talking_photo import animate_audio
    from talkies.runtime.animator import PhotoAnimatorOptions

    pcm, rate = speech_clip(seconds)
    wav = write_wav(workdir / "speech.wav", pcm, rate)
    photo = widescreen_photo(workdir / "photo.jpg")
    options = PhotoAnimatorOptions(resolution="720p", fps=25, threads=1)
    animate_audio(photo, wav, workdir / "warmup.mp4", options, models=models)  # compile/caches
    t0, c0 = time.perf_counter(), time.process_time()
    report = animate_audio(photo, wav, workdir / "out.mp4", options, models=models)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    w, h = report.size
    return {"audio_s": seconds, "frames": report.frames, "size": f"{w}x{h}", "fps": 25, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "realtime_factor": round(seconds / wall, 2), "goal_wall_s": GOAL_END_TO_END_S,
            "meets_goal": wall <= GOAL_END_TO_END_S, "bytes": os.path.getsize(report.path)}


#: The end-to-end case in a child process, on the talkies tree given (argv: package folder or "" for this
#: checkout, WAV, photo, output folder, timed runs); prints one JSON line of wall and CPU seconds.
_CHILD = """
import json, os, resource, sys, time
for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TALKIES_THREADS"):
    os.environ.setdefault(var, "1")
tree, wav, photo, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if tree:  # the other revision's package first, ahead of this checkout's editable install
    sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in repr(f)]
    sys.path.insert(0, tree)
import talkies.runtime.talking_photo as tp
from talkies.runtime.animator import PhotoAnimatorOptions
assert not tree or tp.__file__.startswith(os.path.realpath(tree)) or os.path.realpath(tp.__file__).startswith(
    os.path.realpath(os.path.join(tree, "talkies", "runtime"))), tp.__file__
try:
    from talkies.bundles import face_models
    models = face_models("auto", threads=1)
except (ImportError, TypeError):
    from talkies.runtime.face.sessions import FaceModels
    models = FaceModels.from_mediapipe()
options = PhotoAnimatorOptions(resolution="720p", fps=25, threads=1)
tp.animate_audio(photo, wav, os.path.join(out, "warmup.mp4"), options, models=models)
walls, cpus = [], []
for k in range(runs):
    c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    tp.animate_audio(photo, wav, os.path.join(out, "out.mp4"), options, models=models)
    walls.append(time.perf_counter() - t0)
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    cpus.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
print(json.dumps({"walls": walls, "cpus": cpus}))
"""


def _package_of(tree: Path, folder: Path) -> Path:
    """A folder holding a `talkies` package made of `tree`'s folders, as setup.py maps them."""
    pkg = folder / "talkies"
    pkg.mkdir(parents=True)
    for entry in (tree / "talkies").iterdir():
        (pkg / entry.name).symlink_to(entry)
    from talkies.paths import SUBPACKAGES

    for sub in SUBPACKAGES:
        if (tree / sub).is_dir():
            (pkg / sub).symlink_to(tree / sub)
    return folder


def against(rev: str, workdir: Path, seconds: float = 10.0, rounds: int = 4, runs: int = 2) -> dict:
    """The end-to-end case on this checkout and on git revision `rev` (a worktree made for it), in child
    processes that take turns `rounds` times, `runs` timed runs each, on the same WAV and photo: medians
    of wall and CPU seconds per side, and their ratio. Measured in one run, so both see the same load."""
    import subprocess
    import sys

    from talkies.errors import InputError
    from talkies.paths import repo_root

    repo = repo_root()
    tree = workdir / "rev"
    made = subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), rev],
                          capture_output=True, text=True)
    if made.returncode:
        raise InputError(f"cannot check out {rev!r} beside {repo}: {made.stderr.strip().splitlines()[-1:]}")
    try:
        pcm, rate = speech_clip(seconds)
        wav = write_wav(workdir / "speech.wav", pcm, rate)
        photo = widescreen_photo(workdir / "photo.jpg")
        sides = {"this": "", rev: str(_package_of(tree, workdir / "pkg"))}
        got: dict[str, dict[str, list[float]]] = {name: {"walls": [], "cpus": []} for name in sides}
        for _ in range(rounds):
            for name, package in sides.items():
                out = subprocess.run([sys.executable, "-c", _CHILD, package, str(wav), str(photo), str(workdir), str(runs)],
                                     capture_output=True, text=True, check=True)
                line = json.loads(out.stdout.strip().splitlines()[-1])
                got[name]["walls"] += line["walls"]
                got[name]["cpus"] += line["cpus"]
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], capture_output=True)
    result = {"audio_s": seconds, "rounds": rounds, "runs": runs, "load_average": os.getloadavg()[0]}
    for name, times in got.items():
        wall = statistics.median(times["walls"])
        result[name] = {"wall_s": round(wall, 3), "cpu_s": round(statistics.median(times["cpus"]), 3),
                        "realtime_factor": round(seconds / wall, 2), "walls_s": [round(w, 2) for w in times["walls"]]}
    result["wall_ratio"] = round(result["this"]["wall_s"] / result[rev]["wall_s"], 3)
    return result


def script_to_video(workdir: Path, runs: int = 3) -> dict:
    import subprocess
    import sys

    from talkies.runtime.media import video_info

    photo = widescreen_photo(workdir / "photo.jpg")
    talkies = Path(sys.executable).with_name("talkies")
    walls, cpus = [], []
    for k in range(runs):
        out = workdir / f"script{k}.mp4"
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([str(talkies), "animate", str(photo), "--text", SCRIPT, "--resolution", "720p",
                        "-o", str(out)], check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    info = video_info(out)
    wall = statistics.median(walls)
    return {"voice": "af_heart", "speech_s": round(info.duration, 2), "size": f"{info.width}x{info.height}",
            "walls_s": [round(w, 2) for w in walls], "wall_s": round(wall, 2),
            "cpu_s": round(statistics.median(cpus), 2),
            "realtime_factor": round(info.duration / wall, 2), "goal_wall_s": GOAL_SCRIPT_S,
            "meets_goal": wall <= GOAL_SCRIPT_S}


def render_throughput(models, seconds: float = 4.0, repeats: int = 5) -> dict:
    import skimage.data

    from talkies.runtime.animator import PhotoAnimator, PhotoAnimatorOptions
    from talkies.runtime.speech_motion import loudness_motion

    pcm, rate = speech_clip(seconds)
    animator = PhotoAnimator(skimage.data.astronaut(), PhotoAnimatorOptions(fps=25), models=models)
    plan = animator.plan(loudness_motion(pcm, rate), seconds)
    for _ in animator.iter_frames(plan):  # warm-up
        pass
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in animator.iter_frames(plan):
            pass
        rates.append(len(plan) / (time.perf_counter() - t0))
        cpu_rates.append(len(plan) / max(time.thread_time() - c0, 1e-9))
    fps = statistics.median(rates)
    return {"size": "512x512", "frames": len(plan), "repeats": repeats, "fps_wall": round(fps, 1),
            "fps_cpu": round(statistics.median(cpu_rates), 1), "ms_per_frame": round(1000 / fps, 2),
            "goal_fps": GOAL_RENDER_FPS, "meets_goal": fps >= GOAL_RENDER_FPS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.benchmarks.animate", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length of the end-to-end run [10]")
    parser.add_argument("--against", metavar="REV", help="only the end-to-end case, here and on git revision REV, "
                        "taking turns")
    parser.add_argument("--rounds", type=int, default=4, help="turns each side takes with --against [4]")
    args = parser.parse_args(argv)
    if args.against:
        with tempfile.TemporaryDirectory(prefix="talkies-bench-") as tmp:
            res = against(args.against, Path(tmp), args.seconds, args.rounds)
        for name in ("this", args.against):
            r = res[name]
            print(f"{name:>12}: {r['wall_s']:.2f} s wall ({r['realtime_factor']:.2f}x real time), {r['cpu_s']:.2f} s CPU,"
                  f" runs {r['walls_s']}")
        print(f"wall ratio this/{args.against}: {res['wall_ratio']:.3f} (load average {res['load_average']:.1f})")
        if args.json:
            write_text_atomic(args.json, json.dumps({"benchmark": "animate", "against": res}, indent=2) + "\n")
        return 0

    from talkies.bundles import face_models

    models = face_models("auto", threads=1)
    with tempfile.TemporaryDirectory(prefix="talkies-bench-") as tmp:
        e2e = end_to_end(Path(tmp), args.seconds, models)
        script = script_to_video(Path(tmp))
    render = render_throughput(models)
    results = {"benchmark": "animate", "machine": {"python": platform.python_version(), "cpu": platform.processor()
                                                   or platform.machine(), "cores": os.cpu_count()},
               "face_models": models.source, "end_to_end": e2e, "script": script,
               "render": render}
    rows = [
        ("end to end", f"{e2e['audio_s']:.0f} s audio → {e2e['size']} {e2e['fps']} fps MP4",
         f"{e2e['wall_s']:.2f} s wall, {e2e['cpu_s']:.2f} s CPU ({e2e['realtime_factor']:.1f}× real time)", f"≤ {GOAL_END_TO_END_S:.0f} s",
         "yes" if e2e["meets_goal"] else "NO"),
        ("script", f"`animate --text` ({script['speech_s']:.1f} s of Kokoro speech) → {script['size']} MP4",
         f"{script['wall_s']:.2f} s wall, {script['cpu_s']:.2f} s CPU, process start to file "
        f"({script['realtime_factor']:.1f}× real time)",
         f"≤ {GOAL_SCRIPT_S:.0f} s", "yes" if script["meets_goal"] else "NO"),
        ("render", "512×512 frames, no encoding", f"{render['fps_wall']:.0f} frames/s ({render['ms_per_frame']:.1f} ms)",
         f"≥ {GOAL_RENDER_FPS:.0f} frames/s", "yes" if render["meets_goal"] else "NO"),
    ]
    widths = [max(len(r[i]) for r in rows + [("case", "what", "measured", "goal", "met")]) for i in range(5)]
    for row in [("case", "what", "measured", "goal", "met")] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    if args.json:
        write_text_atomic(args.json, json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
