"""The pipeline rows: end-to-end cases and their peers (int8 speed-up, face tracking, lip-sync, animate,
kernels), each reusing the benchmark script beside the harness."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from talkies.benchmarks.common import inner_progress_off, time_calls
from talkies.benchmarks.harness.config import PIPELINE_PARTS, BenchConfig
from talkies.benchmarks.harness.progress import Phase
from talkies.benchmarks.harness.rows import LIPSYNC_FIGURES, PipelineRow, Row, Status, failure_reason
from talkies.log import get_logger

log = get_logger(__name__)

TRACKING_PASSES = 5  # timed passes over the clip per tracker (the best is reported, as for MediaPipe)
INT8_ROUNDS, INT8_CALLS = 15, 20  # int8 speed-up: rounds of fp32 then int8 calls, one process
INT8_SPEEDUP_GOALS = {"face_landmarks": 1.3}  # DESIGN's goal, on at least one CPU backend


def pipeline_rows(config: BenchConfig, rows: list[Row], progress, work: Path) -> tuple[list[PipelineRow], dict]:
    """End-to-end cases and peers; returns the rows and the lip-sync benchmark's report."""
    parts = [p for p in PIPELINE_PARTS if p in config.pipeline]
    phase = Phase(progress, "pipelines and peers", len(parts))
    out: list[PipelineRow] = []
    lipsync_report: dict = {}
    for part in parts:
        phase.step(part)
        try:
            with inner_progress_off():
                if part == "int8":
                    out += int8_speedup_rows(rows)
                elif part == "tracking":
                    out += tracking_rows(config, work)
                elif part == "lipsync":
                    got, lipsync_report = lipsync_rows(config, rows)
                    out += got
                elif part == "animate":
                    out += animate_rows(config, work)
                else:
                    out += kernel_rows(config)
        except Exception as exc:  # one broken pipeline must not lose the rest of the report
            log.warning("pipeline %s failed: %s", part, exc)
            out.append(PipelineRow(part, f"talkies {part}", None, "", status=Status.ERROR.value,
                                   reason=failure_reason(exc)))
        phase.advance()
    phase.done()
    return out, lipsync_report


def int8_speedup_rows(rows: list[Row]) -> list[PipelineRow]:
    """int8 against fp32 per model and backend, both sessions in this process (1 thread), timed in
    alternating rounds so both sample the same spells of a shared machine: the median of the per-round
    ratios of median call times. The bundle rows time each bundle at a different moment."""
    from talkies.export.parity import unstack_samples
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.session import open_session

    found = {(r.model, r.target, r.precision): r for r in rows
             if r.threads == 1 and r.bundle and r.latency is not None}
    out = []
    for (model, target, precision), int8 in found.items():
        fp32 = found.get((model, target, "fp32"))
        if precision != "int8" or fp32 is None:
            continue
        with Bundle(fp32.bundle) as a, Bundle(int8.bundle) as b:
            samples = unstack_samples(a.test_vectors()[0])
            sessions = [open_session(x.manifest, x.root, threads=1) for x in (a, b)]
            ratios = []
            for _ in range(INT8_ROUNDS):
                medians = [time_calls(lambda i, s=s: s.run(samples[i % len(samples)]), iterations=INT8_CALLS,
                                      warmup=2).p50_ms for s in sessions]
                ratios.append(medians[0] / medians[1])
        note = "" if int8.status == Status.OK.value else f"int8 bundle: {int8.status}"
        out.append(PipelineRow("int8 speed-up", f"{model} {target} int8 vs fp32", float(np.median(ratios)),
                               "× (fp32 time / int8 time)", backend=target, precision="int8",
                               goal=INT8_SPEEDUP_GOALS.get(model), reason=note or None,
                               details={"round_ratios": [round(r, 3) for r in ratios]}))
    return out


def tracking_rows(config: BenchConfig, work: Path) -> list[PipelineRow]:
    """FaceTracker (VIDEO mode, 1 thread) on a clip made from real photos, per backend/precision whose face
    bundles are there, the MediaPipe .tflite reference set, and MediaPipe's own FaceLandmarker."""
    from talkies.benchmarks import tracking
    from talkies.models.mediapipe.assets import fetch_face_models
    from talkies.runtime.face.model_files import mediapipe_dir

    fetch_face_models()
    clip_dir = work / "tracking"
    clip_dir.mkdir(exist_ok=True)
    photos, clip, stamps = tracking.make_inputs(clip_dir)
    mp_out, mp_reason = None, "peers turned off (--skip-peers)"
    if config.peers:
        python, mp_reason = tracking.mediapipe_python(install=config.install_peers)
        if python is not None:
            mp_out = tracking.run_mediapipe(python, mediapipe_dir() / "face_landmarker.task", clip_dir,
                                            TRACKING_PASSES)
            mp_reason = "MediaPipe run failed (see the log)"
    unit = f"frames/s ({len(clip)} frames {clip.shape[2]}×{clip.shape[1]})"
    out = []
    sets = [s for s in tracking.model_sets(config.bundle_dir, config.precisions)
            if s[0].startswith("litert (") or s[0] in config.targets]
    for label, precision, load in sets:
        models = load()
        try:
            got = tracking.bench_models(label, precision, models, photos, clip, stamps, mp_out, TRACKING_PASSES)
        finally:
            models.close()
        video = got["video"]
        out.append(PipelineRow("tracking", f"talkies FaceTracker ({label})", video["fps_wall"], unit,
                               backend=label.split()[0], precision=precision,
                               details={"fps_cpu": video["fps_cpu"], "tracked_frames": video["tracked_frames"],
                                        "landmark_mean_px_vs_mediapipe": video.get("landmark_mean_px_vs_mediapipe"),
                                        "image_ms": got["photos"].get("grace_hopper", {}).get("ms")}))
    if mp_out is not None:  # MediaPipe again after talkies' runs: both sides sample the machine's slow spells
        again = tracking.run_mediapipe(python, mediapipe_dir() / "face_landmarker.task", clip_dir, TRACKING_PASSES)
        if again is not None:
            mp_out["video"]["passes"] += again["video"]["passes"]
        mp = tracking.mediapipe_row(mp_out)
        out.append(PipelineRow("tracking", f"{mp['backend']} (peer)", mp["video"]["fps_wall"], unit,
                               backend="mediapipe", precision=mp["precision"],
                               details={"fps_cpu": mp["video"]["fps_cpu"],
                                        "tracked_frames": mp["video"]["tracked_frames"]}))
    else:
        out.append(PipelineRow("tracking", "MediaPipe FaceLandmarker (peer)", None, unit, backend="mediapipe",
                               status=Status.SKIPPED.value, reason=mp_reason))
    return out


def lipsync_rows(config: BenchConfig, rows: list[Row]) -> tuple[list[PipelineRow], dict]:
    """Offline real-time factor and streaming ms per hop per lip-sync bundle (taken from the bundle rows'
    LipSync task runs, or run here for bundles the bundle rows did not cover), and the peers."""
    from talkies.benchmarks import lipsync as lipsync_bench

    results = [r.lipsync for r in rows if r.lipsync is not None and r.threads == 1]
    covered = {(r["model"], r["backend"], r["precision"]) for r in results}
    for bundle in lipsync_bench.find_bundles(config.bundle_dir, backends=config.targets,
                                             precisions=config.precisions):
        if (bundle.model, bundle.backend, bundle.precision) not in covered:
            results.append(lipsync_bench.safe_bundle_row(bundle, threads=1))
    if not results:
        results.append(lipsync_bench.no_bundle_row(config.bundle_dir))
    if config.peers:
        results += lipsync_bench.peer_rows(install=config.install_peers)
    else:
        results.append(lipsync_bench.loudness_row())
    report = {"benchmark": "lipsync", "validation": lipsync_bench.validation_info(),
              "rows": results, "goals": lipsync_bench.goals(results)}
    out = []
    for r in results:
        speed, metrics = r.get("speed") or {}, r.get("metrics") or {}
        details = {k: metrics.get(k) for k in LIPSYNC_FIGURES if metrics}
        if r.get("note"):
            details["note"] = r["note"]
        peer = r["model"] is None
        onnx_fp32 = (r["backend"], r["precision"]) == ("onnx", "fp32")
        if r["mode"] == "stream":
            out.append(PipelineRow("lip-sync streaming", r["implementation"], speed.get("ms_per_hop_p50"),
                                   "ms per 10 ms hop", backend=r["backend"], precision=r["precision"],
                                   higher_is_better=False,
                                   goal=lipsync_bench.GOAL_STREAM_MS_PER_HOP if onnx_fp32 else None,
                                   status=r["status"], reason=r["reason"],
                                   details={**details, "p95": speed.get("ms_per_hop_p95"),
                                            "cpu_p50": speed.get("cpu_ms_per_hop_p50")}))
        else:
            out.append(PipelineRow("lip-sync offline" + (" (peer)" if peer else ""), r["implementation"],
                                   speed.get("rtf"), "× real time (1 thread)", backend=r["backend"],
                                   precision=r["precision"], goal=lipsync_bench.GOAL_OFFLINE_RTF if onnx_fp32 else None,
                                   status=r["status"], reason=r["reason"],
                                   details={**details, "rtf_cpu": speed.get("rtf_cpu"),
                                            "model_rtf": speed.get("model_rtf")}))
    return out, report


def animate_rows(config: BenchConfig, work: Path) -> list[PipelineRow]:
    """`animate`: speech (a WAV) → 1280×720 25 fps MP4, end to end, 1 thread (benchmarks/animate.py)."""
    from talkies.benchmarks import animate
    from talkies.bundles import face_models
    from talkies.runtime.bundle import default_bundle_dir, locate_bundle
    from talkies.runtime.bundle import shipped_bundle_dir

    models = face_models("auto", bundle_dir=config.bundle_dir, threads=1)
    animate_dir = work / "animate"
    animate_dir.mkdir(exist_ok=True)
    try:
        e2e = animate.end_to_end(animate_dir, config.animate_seconds, models)
    finally:
        models.close()
    mouth = ("lip-sync model (onnx fp32)"
             if locate_bundle("lipsync", "onnx", "fp32", [default_bundle_dir(), shipped_bundle_dir()])
             else "loudness fallback (no lip-sync bundle installed)")
    return [PipelineRow("animate 720p", "talkies animate (audio → MP4)", e2e["realtime_factor"], "× real time",
                        backend=models.source, goal=e2e["audio_s"] / e2e["goal_wall_s"],
                        details={**e2e, "mouth": mouth})]


def kernel_rows(config: BenchConfig) -> list[PipelineRow]:
    """The numba kernels against OpenCV / scikit-image / SciPy / NumPy (benchmarks/kernels.py, quick)."""
    from talkies.benchmarks import kernels

    got, _goals, _machine = kernels.run(quick=True)
    out = []
    for r in got:
        case = f"kernel {r.kernel}: {r.case}"
        out.append(PipelineRow(case, "talkies (numba)", 1000 * r.talkies.cpu_s, f"ms CPU per {r.unit}",
                               higher_is_better=False, details={"wall_ms": 1000 * r.talkies.wall_s}))
        if config.peers:
            for name, t in r.baselines.items():
                out.append(PipelineRow(case, f"{name} (peer)", 1000 * t.cpu_s, f"ms CPU per {r.unit}",
                                       higher_is_better=False, details={"wall_ms": 1000 * t.wall_s}))
    return out
