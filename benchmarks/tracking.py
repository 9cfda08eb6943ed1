"""Face tracking benchmark: talkies' FaceTracker per backend against MediaPipe's own FaceLandmarker.

Run: ``python -m talkies.benchmarks.tracking [--json OUT] [--mediapipe-python PYTHON]``.
With ``--video VIDEO``: the real-video mode of benchmarks/tracking_video.py (`talkies track VIDEO` with no
flags against MediaPipe's FaceLandmarker in VIDEO mode, alternating passes; issue 24's goal).

- **Speed**: frames/s of the whole pipeline (tracking, landmarks, blend-shapes, pose, smoothing) in
  VIDEO mode on a clip made from real photos (pans, zooms, rolls), one inference thread; and IMAGE-mode
  latency per photo with a per-stage split. Frames/s are given by wall clock and by process CPU time (on
  a shared machine the CPU figure is the steadier one).
- **Parity**: IMAGE-mode landmarks (mean px over 478) and blend-shape scores (max abs over 52) on
  grace_hopper and astronaut against MediaPipe's FaceLandmarker with the same face_landmarker.task;
  the VIDEO-mode landmarks against MediaPipe's on the clip; the head pose against MediaPipe's facial
  transformation matrix.

MediaPipe never enters the talkies environment (it pins protobuf below 5 and breaks onnx): it runs in a
separate interpreter, by default the peers' venv ``$TALKIES_HOME/peers/mediapipe`` that ``talkies bench``
creates, fed the same decoded frames through .npy files. Without one, the MediaPipe columns are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.common import PORTABLE_BACKENDS, fmt, median_ms, peer_python, run_peer
from talkies.io import write_text_atomic
from talkies.log import get_logger, track
from talkies.types import Precision

log = get_logger(__name__)

MEDIAPIPE_REQUIREMENT = "mediapipe==1.2.2"
PHOTOS = ("grace_hopper", "astronaut")
CLIP_FRAMES = 60
#: DESIGN's parity goals against MediaPipe.
GOAL_LANDMARK_MEAN_PX = 1.0
GOAL_BLENDSHAPE_MAX_ABS = 0.02

# Runs inside the MediaPipe interpreter: argv = task file, work dir (photos/clip .npy), passes.
MEDIAPIPE_SCRIPT = r'''
import json, sys, time
import numpy as np
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

task, work, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])

def make(mode):
    return vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=task), running_mode=mode, num_faces=1,
        output_face_blendshapes=True, output_facial_transformation_matrixes=True))

def unpack(result, w, h):
    if not result.face_landmarks:
        return None
    lm = [[p.x * w, p.y * h, p.z * w] for p in result.face_landmarks[0]]
    scores = [c.score for c in result.face_blendshapes[0]]
    names = [c.category_name for c in result.face_blendshapes[0]]
    return {"landmarks": lm, "scores": scores, "names": names,
            "matrix": np.asarray(result.facial_transformation_matrixes[0]).tolist()}

out = {"version": mp.__version__, "photos": {}, "image_ms": {}}
landmarker = make(vision.RunningMode.IMAGE)
for name in ("grace_hopper", "astronaut"):
    img = np.ascontiguousarray(np.load(f"{work}/{name}.npy"))
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=img)
    out["photos"][name] = unpack(landmarker.detect(image), img.shape[1], img.shape[0])
    wall, cpu = [], []
    for _ in range(10 * passes):
        w0, c0 = time.perf_counter(), time.process_time()
        landmarker.detect(image)
        wall.append(time.perf_counter() - w0); cpu.append(time.process_time() - c0)
    out["image_ms"][name] = {"wall": 1000 * float(np.median(wall)), "cpu": 1000 * float(np.median(cpu))}
landmarker.close()
clip = np.load(f"{work}/clip.npy")
stamps = np.load(f"{work}/clip_ms.npy")
frames = [mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(f)) for f in clip]
passes_out, video = [], None
for p in range(passes + 1):
    landmarker = make(vision.RunningMode.VIDEO)
    w0, c0 = time.perf_counter(), time.process_time()
    results = [landmarker.detect_for_video(f, int(t)) for f, t in zip(frames, stamps)]
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    landmarker.close()
    if p == 0:  # the first pass warms up, and its results are kept
        video = [unpack(r, clip.shape[2], clip.shape[1]) for r in results]
    else:
        passes_out.append({"wall": wall, "cpu": cpu})
out["video"] = {"frames": len(frames), "passes": passes_out,
                "landmarks": [v["landmarks"] if v else None for v in video]}
json.dump(out, open(f"{work}/mediapipe.json", "w"))
'''


def mediapipe_python(*, install: bool = False) -> tuple[str | None, str]:
    """The interpreter of MediaPipe's own venv (created when `install`), or None and why there is none."""
    return peer_python("mediapipe", MEDIAPIPE_REQUIREMENT, install=install)


def run_mediapipe(python: str, task: Path, work: Path, passes: int) -> dict[str, Any] | None:
    """MediaPipe's FaceLandmarker on the photos and clip in `work`, run by another interpreter."""
    if not Path(python).is_file():
        log.warning("no MediaPipe interpreter at %s: MediaPipe columns left out", python)
        return None
    ok, last_line = run_peer(python, MEDIAPIPE_SCRIPT, [str(task), str(work), str(passes)], work, one_thread=False)
    if not ok:
        log.warning("MediaPipe side failed: %s", last_line)
        return None
    return json.loads((work / "mediapipe.json").read_text())


def model_sets(bundle_dir: Path | None, precisions: tuple[str, ...]) -> list[tuple[str, str, Callable[[], Any]]]:
    """(backend label, precision, loader) for the MediaPipe tflite reference and every bundle present."""
    from talkies.runtime.face.sessions import FaceModels, default_bundle_dir, missing_bundles
    from talkies.runtime.session import backend_available

    root = bundle_dir or default_bundle_dir()
    sets: list[tuple[str, str, Callable[[], Any]]] = [
        ("litert (MediaPipe .tflite)", "fp32", lambda: FaceModels.from_mediapipe(threads=1))]
    for backend in PORTABLE_BACKENDS:
        for precision in precisions:
            if not missing_bundles(root, backend, precision) and backend_available(backend) is None:
                sets.append((backend, precision, lambda b=backend, p=precision: FaceModels.from_bundles(
                    root, b, p, threads=1)))
    return sets


def mean_px(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a)[:, :2] - np.asarray(b)[:, :2], axis=1).mean())


def bench_models(label: str, precision: str, models: Any, photos: dict[str, np.ndarray], clip: np.ndarray,
                 stamps: np.ndarray, mp_out: dict | None, passes: int) -> dict[str, Any]:
    from talkies.runtime.face import FaceTracker, FaceTrackerOptions, RunningMode
    from talkies.runtime.face.pose import euler_from_matrix, estimate_pose
    from talkies.runtime.face.roi import roi_from_detection

    row: dict[str, Any] = {"backend": label, "precision": precision, "photos": {}}
    with FaceTracker(FaceTrackerOptions(running_mode=RunningMode.IMAGE), models=models) as tracker:
        for name, image in photos.items():
            result = tracker.detect(image)
            entry: dict[str, Any] = {"faces": len(result)}
            if len(result):
                face = result[0]
                det = tracker.detector.detect(image)[0]
                roi = roi_from_detection(det.box, det.keypoints)
                lms = tracker.landmark_model.run(image, roi).landmarks
                entry["ms"] = {
                    "total": median_ms(lambda: tracker.detect(image), 10 * passes),
                    "detector": median_ms(lambda: tracker.detector.detect(image), 10 * passes),
                    "landmarks": median_ms(lambda: tracker.landmark_model.run(image, roi), 10 * passes),
                    "blendshapes": median_ms(lambda: tracker.blendshape_model.scores(lms), 10 * passes),
                    "pose": median_ms(lambda: estimate_pose(lms, image.shape[:2]), 10 * passes)}
                entry["head_pose_deg"] = np.degrees(face.head_pose[:3]).round(2).tolist()
                ref = (mp_out or {}).get("photos", {}).get(name)
                if ref:
                    scores = tracker.blendshape_model.scores(face.landmarks)
                    entry["landmark_mean_px"] = mean_px(face.landmarks, np.array(ref["landmarks"]))
                    entry["blendshape_max_abs"] = float(np.abs(scores - np.array(ref["scores"])).max())
                    mp_angles = np.degrees(euler_from_matrix(np.array(ref["matrix"])[:3, :3]))
                    entry["pose_deg_vs_mediapipe"] = (np.degrees(face.head_pose[:3]) - mp_angles).round(2).tolist()
            row["photos"][name] = entry
    with FaceTracker(FaceTrackerOptions(running_mode=RunningMode.VIDEO), models=models) as tracker:
        runs, first = [], None
        for p in range(passes + 1):
            tracker.reset()
            w0, c0 = time.perf_counter(), time.process_time()
            results = [tracker.detect_for_video(f, int(t)) for f, t in zip(clip, stamps)]
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if p == 0:
                first = results  # warm-up pass; its landmarks are compared
            else:
                runs.append({"wall": wall, "cpu": cpu})
    n = len(clip)
    row["video"] = {"frames": n, "tracked_frames": sum(1 for r in first if len(r)), **_fps(n, runs)}
    if mp_out and mp_out.get("video"):
        errs = [mean_px(r[0].landmarks, np.array(m)) for r, m in zip(first, mp_out["video"]["landmarks"])
                if len(r) and m is not None]
        row["video"]["landmark_mean_px_vs_mediapipe"] = float(np.mean(errs)) if errs else None
    return row


def mediapipe_row(mp_out: dict) -> dict[str, Any]:
    video = mp_out["video"]
    return {"backend": f"MediaPipe {mp_out['version']} FaceLandmarker", "precision": "fp32 (fp16 weights)",
            "photos": {name: {"ms": {"total": mp_out["image_ms"][name]}} for name in PHOTOS},
            "video": {"frames": video["frames"],
                      "tracked_frames": sum(1 for v in video["landmarks"] if v is not None),
                      **_fps(video["frames"], video["passes"])}}


def _fps(frames: int, passes: list[dict[str, float]]) -> dict[str, float]:
    """Frames/s of the best pass (fps_wall, fps_cpu: the table's figures) and of the median pass."""
    out = {}
    for clock in ("wall", "cpu"):
        seconds = [p[clock] for p in passes]
        out[f"fps_{clock}"] = frames / min(seconds)
        out[f"fps_{clock}_median"] = frames / float(np.median(seconds))
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| backend | precision | landmarks mean px vs MP (grace / astronaut / clip) | blend-shapes max abs vs MP "
            "(grace / astronaut) | video fps wall | video fps CPU | image ms (CPU) |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        g, a = r["photos"].get("grace_hopper", {}), r["photos"].get("astronaut", {})
        px = " / ".join(fmt(x.get("landmark_mean_px"), ".3f") for x in (g, a))
        px += " / " + fmt(r["video"].get("landmark_mean_px_vs_mediapipe"), ".3f")
        bs = " / ".join(fmt(x.get("blendshape_max_abs"), ".4f") for x in (g, a))
        ms = " / ".join(fmt(x.get("ms", {}).get("total", {}).get("cpu"), ".2f") for x in (g, a))
        lines.append(f"| {r['backend']} | {r['precision']} | {px} | {bs} | {r['video']['fps_wall']:.1f} | "
                     f"{r['video']['fps_cpu']:.1f} | {ms} |")
    stage_rows = [r for r in rows if "detector" in r["photos"].get("grace_hopper", {}).get("ms", {})]
    if stage_rows:
        lines += ["", "| backend | precision | detector ms | landmarks ms | blend-shapes ms | pose ms (CPU, grace) |",
                  "|---|---|---|---|---|---|"]
        for r in stage_rows:
            ms = r["photos"]["grace_hopper"]["ms"]
            lines.append(f"| {r['backend']} | {r['precision']} | " + " | ".join(
                f"{ms[k]['cpu']:.2f}" for k in ("detector", "landmarks", "blendshapes", "pose")) + " |")
    return "\n".join(lines)


def make_inputs(work: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The two photos and the clip (encoded to H.264, then decoded, so both sides see the same frames)."""
    from talkies.runtime.media import iter_video
    from talkies.tests.helpers.faces import make_clip
    from talkies.tests.helpers.media import photo

    photos = {name: photo(name) for name in PHOTOS}
    clip = make_clip(work / "clip.mp4", frames=CLIP_FRAMES)
    decoded = list(iter_video(clip.path))
    frames = np.stack([f for _, f in decoded])
    stamps = np.array([round(t * 1000) for t, _ in decoded], np.int64)
    for name, image in photos.items():
        np.save(work / f"{name}.npy", image)
    np.save(work / "clip.npy", frames)
    np.save(work / "clip_ms.npy", stamps)
    return photos, frames, stamps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.benchmarks.tracking", description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="Write every figure to this JSON file.")
    parser.add_argument("--mediapipe-python", default=None,
                        help="Interpreter of a separate venv with mediapipe installed [default: the peers' venv].")
    parser.add_argument("--bundle-dir", type=Path, default=None, help="Face bundles [default: $TALKIES_HOME/bundles].")
    parser.add_argument("--precisions", default=",".join(p.value for p in Precision), help="Bundle precisions to include when present.")
    parser.add_argument("--passes", type=int, default=3, help="Timed passes (the clip: best kept; --video: the median, per side).")
    parser.add_argument("--video", type=Path, default=None,
                        help="Real-video mode (benchmarks/tracking_video.py): `talkies track VIDEO` with no flags "
                             "against MediaPipe's FaceLandmarker on this video's frames, alternating passes.")
    parser.add_argument("--cpu", type=int, default=0,
                        help="Real-video mode: pin both sides to this core (-1: no pinning) [default: 0].")
    parser.add_argument("--cli-runs", type=int, default=3,
                        help="Real-video mode: runs of the real `talkies track VIDEO -o OUT.json` [default: 3].")
    args = parser.parse_args(argv)
    if args.json is not None:
        from talkies.io import check_writable

        check_writable(args.json)
    os.environ.setdefault("TALKIES_THREADS", "1")
    if args.video is not None:
        return _video_mode(args)
    from talkies.cli.options import ChoiceList
    from talkies.models.mediapipe.assets import fetch_face_models
    from talkies.runtime.face.model_files import mediapipe_dir

    fetch_face_models()
    with tempfile.TemporaryDirectory(prefix="talkies-bench-tracking-") as tmp:
        work = Path(tmp)
        photos, clip, stamps = make_inputs(work)
        python, how = (args.mediapipe_python, "given") if args.mediapipe_python else mediapipe_python()
        mp_out = None
        if python is None:
            log.warning("%s: MediaPipe columns left out", how)
        else:
            mp_out = run_mediapipe(python, mediapipe_dir() / "face_landmarker.task", work, args.passes)
    rows = []
    precisions = tuple(p.value for p in ChoiceList(Precision, "precision").convert(args.precisions, None, None))
    for label, precision, load in track(model_sets(args.bundle_dir, precisions),
                                        "benchmarking face tracking"):
        models = load()
        try:
            rows.append(bench_models(label, precision, models, photos, clip, stamps, mp_out, args.passes))
        finally:
            models.close()
    if mp_out:
        rows.append(mediapipe_row(mp_out))
    report = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                          "load_avg": os.getloadavg()},
              "clip": {"frames": int(len(clip)), "size": list(clip.shape[1:3])},
              "goals": {"landmark_mean_px": GOAL_LANDMARK_MEAN_PX, "blendshape_max_abs": GOAL_BLENDSHAPE_MAX_ABS},
              "mediapipe": None if mp_out is None else {"version": mp_out["version"],
                                                        "photos": {k: {"matrix": v["matrix"]} if v else None
                                                                   for k, v in mp_out["photos"].items()}},
              "rows": rows}
    table = markdown(rows)
    print(table)  # the benchmark's report is its output
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")
    return 0


def _video_mode(args: argparse.Namespace) -> int:
    from talkies.benchmarks import tracking_video

    python, how = (args.mediapipe_python, "given") if args.mediapipe_python else mediapipe_python(install=True)
    if python is None:
        raise SystemExit(f"no MediaPipe interpreter: {how}")
    with tempfile.TemporaryDirectory(prefix="talkies-bench-video-") as tmp:
        report = tracking_video.run(args.video, passes=args.passes, cpu=None if args.cpu < 0 else args.cpu,
                                    cli=args.cli_runs, mediapipe_python=python, work=Path(tmp))
    print(tracking_video.summary(report))  # the benchmark's report is its output
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
