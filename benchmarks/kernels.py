"""Kernel benchmarks: each talkies kernel against its usual peer, measured in the same run, 1 thread.

Run: ``python -m talkies.benchmarks.kernels [--json OUT] [--quick]``. Prints a table of medians,
speed-ups and goals, and writes every figure as JSON. The pytest-benchmark suite
(``benchmarks/test_bench_kernels.py``) reuses the scenarios built here.

Times are medians over repeats of the per-call time. The headline clock is the calling thread's CPU
time (``time.thread_time``): on a shared machine it leaves out time spent descheduled, which wall
time would charge to whichever side happened to be running. Wall-clock medians are in the JSON too.
Everything runs on one thread: numba kernels are serial (``config.PARALLEL`` is False), OpenCV gets
``setNumThreads(1)`` and BLAS is limited to one thread.
"""

from __future__ import annotations

import os

# Before numpy, numba or cv2 load: one thread everywhere (threadpoolctl re-applies it below for BLAS
# when numpy was imported earlier, as under pytest).
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from talkies.kernels import (  # noqa: E402
    BlendshapeRig,
    BoundedSolver,
    OneEuroFilter,
    SparseDeltas,
    crop,
    moved_bbox,
    rgb_into_yuv420,
    warp,
    yuv420_to_rgb,
    yuv_matrix,
)
from talkies.kernels.warp import _warp_into  # noqa: E402  (also counts the pixels a warp rasterises)
from talkies.benchmarks.common import cpu_model, markdown_table  # noqa: E402
from talkies.benchmarks.kernel_inputs import (N_LANDMARKS, N_SHAPES, FaceFrame, Rig, coordinate_maps,  # noqa: E402
                                              face_frame, face_rig, synthetic_frame, weight_track)
from talkies.io import write_text_atomic  # noqa: E402
from talkies.log import get_logger, track  # noqa: E402

log = get_logger(__name__)



def single_thread() -> Any:
    """Limit numba, BLAS and OpenCV to one thread; returns the threadpoolctl limiter (keep it alive)."""
    import numba

    numba.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - cv2 is a benchmark-only dependency
        pass
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except ImportError:  # pragma: no cover
        return None


# ----------------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Timing:
    cpu_s: float  # median per-call thread CPU time
    wall_s: float  # median per-call wall time
    calls: int  # calls per repeat
    repeats: int


def measure(fn: Callable[[], object], *, per_call: int = 1, target_s: float = 0.05, repeats: int = 7,
            max_calls: int = 100_000) -> Timing:
    """Median per-call time of ``fn`` (which does ``per_call`` units of work) over ``repeats`` repeats,
    each running enough calls to last about ``target_s``."""
    fn()  # warm-up: compilation, caches, first allocations
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    calls = int(min(max_calls, max(1, target_s / once)))
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.thread_time(), time.perf_counter()
        for _ in range(calls):
            fn()
        cpu.append((time.thread_time() - c0) / calls / per_call)
        wall.append((time.perf_counter() - w0) / calls / per_call)
    return Timing(statistics.median(cpu), statistics.median(wall), calls, repeats)


@dataclass
class Row:
    kernel: str
    case: str
    talkies: Timing
    baselines: dict[str, Timing] = field(default_factory=dict)
    unit: str = "call"
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Goal:
    """A target from the kernels issue, judged on thread CPU time and, separately, on wall time."""

    text: str
    measured: str
    holds: bool
    measured_wall: str
    holds_wall: bool


def time_goal(text: str, timing: Timing, limit_s: float, scale: float, unit: str, digits: int = 1) -> Goal:
    """A "takes at most limit_s" goal; ``scale``/``unit``/``digits`` format the figures."""
    cpu, wall = timing.cpu_s, timing.wall_s
    return Goal(text, f"{cpu * scale:.{digits}f} {unit}", cpu <= limit_s, f"{wall * scale:.{digits}f} {unit}",
                wall <= limit_s)


@dataclass
class Scenario:
    """Zero-argument callables for one kernel, "talkies…" and its peers, on the same inputs.

    ``per_call`` gives the units of work (frames) a call does when it is not 1; ``slow`` names peers
    timed with one call per repeat (scikit-image takes seconds); ``info`` holds facts for the report.
    """

    calls: dict[str, Callable[[], object]]
    per_call: dict[str, int] = field(default_factory=dict)
    slow: frozenset[str] = frozenset()
    info: dict[str, Any] = field(default_factory=dict)


#: Scenario names and their callables' names: the pytest-benchmark suite parametrises over these.
CASES: dict[str, tuple[str, ...]] = {
    "warp": ("talkies", "cv2.remap full frame", "cv2.remap moved bbox", "scikit-image"),
    "crop": ("talkies", "cv2.warpAffine + normalise", "cv2.warpAffine"),
    "blendshapes": ("talkies dense", "talkies sparse", "talkies clip", "numpy tensordot", "numpy einsum",
                    "numpy sgemm clip"),
    "solve": ("talkies warm", "talkies cold", "talkies solve_many", "scipy bvls", "scipy trf"),
    "one-euro": ("talkies", "numpy"),
    "yuv": ("talkies region to RGB", "talkies region back", "PyAV frame to RGB", "PyAV frame back",
            "cv2 frame to RGB"),
}

#: The region the yuv case converts: about what a dubbed 720p face's moving triangles cover.
YUV_REGION = (480, 300, 880, 620)


def warp_scenario() -> Scenario:
    import cv2
    from skimage.transform import PiecewiseAffineTransform
    from skimage.transform import warp as sk_warp

    frame = face_frame()
    out = np.empty_like(frame.image)
    x0, y0, x1, y1 = moved_bbox(frame.src, frame.dst, frame.triangles, frame.image.shape[:2])
    mapx, mapy = coordinate_maps(frame)
    bx, by = mapx[y0:y1, x0:x1].copy(), mapy[y0:y1, x0:x1].copy()
    # skimage maps output coordinates to input ones, so it is estimated from dst to src.
    tform = PiecewiseAffineTransform.from_estimate(frame.dst.astype(np.float64), frame.src.astype(np.float64))
    calls: dict[str, Callable[[], object]] = {
        "talkies": lambda: warp(frame.image, frame.src, frame.dst, frame.triangles, out=out),
        "cv2.remap full frame": lambda: cv2.remap(frame.image, mapx, mapy, cv2.INTER_LINEAR,
                                                  borderMode=cv2.BORDER_REPLICATE),
        "cv2.remap moved bbox": lambda: cv2.remap(frame.image, bx, by, cv2.INTER_LINEAR,
                                                  borderMode=cv2.BORDER_REPLICATE),
        "scikit-image": lambda: sk_warp(frame.image, tform, order=1, preserve_range=True),
    }
    h, w = frame.image.shape[:2]
    info = {"frame": frame, "bbox": (x0, y0, x1, y1), "frame_pixels": h * w, "bbox_pixels": (x1 - x0) * (y1 - y0),
            "rasterised_pixels": _warp_into(frame.image, frame.image.copy(), frame.src, frame.dst,
                                            frame.triangles, 0.0)}
    return Scenario(calls, slow=frozenset({"scikit-image"}), info=info)


def crop_scenario() -> Scenario:
    import cv2

    image = synthetic_frame()
    centre, size, rot = (640.0, 380.0), (420.0, 420.0), 0.25
    out = np.empty((256, 256, 3), np.float32)
    _, m = crop(image, centre, size, rotation=rot, out_size=(256, 256))
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP

    def cv2_pipeline() -> np.ndarray:  # what the kernel replaces: crop, then normalise to float32
        patch = cv2.warpAffine(image, m, (256, 256), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return patch.astype(np.float32) * np.float32(1 / 255)

    calls: dict[str, Callable[[], object]] = {
        "talkies": lambda: crop(image, centre, size, rotation=rot, out_size=(256, 256), out=out)[0],
        "cv2.warpAffine + normalise": cv2_pipeline,
        "cv2.warpAffine": lambda: cv2.warpAffine(image, m, (256, 256), flags=flags, borderMode=cv2.BORDER_CONSTANT),
    }
    return Scenario(calls)


def blendshapes_scenario(rig: Rig) -> Scenario:
    weights = weight_track(100).astype(np.float32)
    w = weights[10]
    dense = BlendshapeRig(rig.base, rig.deltas)
    sparse_deltas = SparseDeltas.from_dense(rig.deltas)
    sparse = BlendshapeRig(rig.base, sparse_deltas)
    out1 = np.empty_like(rig.base)
    outb = np.empty((len(weights), *rig.base.shape), np.float32)
    flat = rig.deltas.reshape(N_SHAPES, -1)
    calls: dict[str, Callable[[], object]] = {
        "talkies dense": lambda: dense.apply(w, out=out1),
        "talkies sparse": lambda: sparse.apply(w, out=out1),
        "talkies clip": lambda: dense.apply(weights, out=outb),
        "numpy tensordot": lambda: rig.base + np.tensordot(w, rig.deltas, axes=1),
        "numpy einsum": lambda: rig.base + np.einsum("k,knd->nd", w, rig.deltas),
        "numpy sgemm clip": lambda: rig.base + (weights @ flat).reshape(len(weights), *rig.base.shape),
    }
    density = sparse_deltas.indices.size / (N_SHAPES * N_LANDMARKS)
    return Scenario(calls, per_call={"talkies clip": len(weights), "numpy sgemm clip": len(weights)},
                    info={"density": density})


def solve_scenario(rig: Rig) -> Scenario:
    from scipy.optimize import lsq_linear

    basis = rig.basis
    truth = weight_track(60)
    rng = np.random.default_rng(3)
    noise = rng.normal(scale=0.3, size=(len(truth), basis.shape[0]))
    targets = (truth @ basis.T.astype(np.float64) + noise).astype(np.float32)
    l2 = 1e-2
    solver = BoundedSolver(basis, l2=l2)
    # scipy on the same ridge problem, written as one least squares: [B; √λ I] x ≈ [t; 0].
    aug = np.vstack([basis.astype(np.float64), np.sqrt(l2) * np.eye(N_SHAPES)])
    rhs = np.concatenate([targets[7], np.zeros(N_SHAPES)])

    def warm_clip() -> list[int]:
        x, iters = None, []
        for t in targets:
            x = solver.solve(t, x0=x)
            iters.append(solver.iterations)
        return iters

    calls: dict[str, Callable[[], object]] = {
        "talkies warm": warm_clip,
        "talkies cold": lambda: solver.solve(targets[7]),
        "talkies solve_many": lambda: solver.solve_many(targets),
        "scipy bvls": lambda: lsq_linear(aug, rhs, bounds=(0, 1), method="bvls"),
        "scipy trf": lambda: lsq_linear(aug, rhs, bounds=(0, 1)),
    }
    exact = lsq_linear(aug, rhs, bounds=(0, 1), method="bvls", tol=1e-12).x
    info = {"l2": l2, "mean_iterations_warm": float(np.mean(warm_clip())),
            "gram_condition_number": float(np.linalg.cond(aug.T @ aug)),
            "max_abs_diff_vs_bvls_tight": float(np.abs(solver.solve(targets[7]) - exact).max())}
    return Scenario(calls, per_call={"talkies warm": len(targets), "talkies solve_many": len(targets)}, info=info)


def one_euro_numpy_step(state: dict[str, Any], x: np.ndarray, t: float, min_cutoff: float = 0.05,
                        beta: float = 80.0, d_cutoff: float = 1.0) -> np.ndarray:
    """The same MediaPipe step written with numpy array operations (the peer for the step)."""
    if "raw" not in state:
        state.update(raw=x.astype(np.float64), xhat=x.astype(np.float64), dxhat=np.zeros(x.shape), t=t)
        return x
    dt = t - state["t"]
    state["t"] = t
    dx = (x - state["raw"]) / dt
    alpha_d = 1.0 / (1.0 + 1.0 / (2 * np.pi * d_cutoff * dt))
    state["dxhat"] += alpha_d * (dx - state["dxhat"])
    wc = 2 * np.pi * dt * (min_cutoff + beta * np.abs(state["dxhat"]))
    state["xhat"] += wc / (wc + 1.0) * (x - state["xhat"])
    state["raw"] = x.astype(np.float64)
    return state["xhat"].astype(np.float32)


def one_euro_scenario() -> Scenario:
    rng = np.random.default_rng(4)
    xs = (rng.normal(size=(1000, N_LANDMARKS * 3)).cumsum(0) * 0.01).astype(np.float32)
    f = OneEuroFilter()
    out = np.empty(xs.shape[1], np.float32)
    state: dict[str, Any] = {}
    ticks = {"talkies": 0, "numpy": 0}

    def ours() -> np.ndarray:
        i = ticks["talkies"] = ticks["talkies"] + 1
        return f.step(xs[i % 1000], i / 30.0, out=out)

    def peer() -> np.ndarray:
        i = ticks["numpy"] = ticks["numpy"] + 1
        return one_euro_numpy_step(state, xs[i % 1000], i / 30.0)

    return Scenario({"talkies": ours, "numpy": peer})


def yuv_scenario() -> Scenario:
    """A region of a 720p 4:2:0 frame to RGB and back (the dubber's edit), against whole-frame conversions
    (what the dubber did before: decode to RGB, then RGB to yuv420p for the encoder)."""
    import av

    rgb = synthetic_frame()
    h, w = rgb.shape[:2]
    buffer = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
    flat = buffer.reshape(-1)
    y = flat[:h * w].reshape(h, w)
    u = flat[h * w:h * w * 5 // 4].reshape(h // 2, w // 2)
    v = flat[h * w * 5 // 4:].reshape(h // 2, w // 2)
    m = yuv_matrix("bt709")
    x0, y0, x1, y1 = YUV_REGION
    before = yuv420_to_rgb(y, u, v, YUV_REGION, matrix=m)
    edited = before.copy()
    edited[100:220, 120:300] //= 2  # a mouth-sized edit: the rest of the region is written back as it was
    region = np.empty_like(before)
    planes = [p.copy() for p in (y, u, v)]
    frame = av.VideoFrame.from_ndarray(buffer, format="yuv420p")
    calls: dict[str, Callable[[], object]] = {
        "talkies region to RGB": lambda: yuv420_to_rgb(y, u, v, YUV_REGION, matrix=m, out=region),
        "talkies region back": lambda: rgb_into_yuv420(edited, *planes, (x0, y0), matrix=m, unchanged=before),
        "PyAV frame to RGB": lambda: frame.to_ndarray(format="rgb24", threads=1),
        "PyAV frame back": lambda: av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p",
                                                                                           threads=1),
    }
    try:
        import cv2

        calls["cv2 frame to RGB"] = lambda: cv2.cvtColor(buffer, cv2.COLOR_YUV2RGB_I420)
    except ImportError:  # pragma: no cover
        pass
    return Scenario(calls, info={"region_pixels": (x1 - x0) * (y1 - y0), "frame_pixels": h * w})


def scenario(name: str) -> Scenario:
    """Build the named scenario (see :data:`CASES`)."""
    if name in ("blendshapes", "solve"):
        rig = face_rig(face_frame())
        return blendshapes_scenario(rig) if name == "blendshapes" else solve_scenario(rig)
    return {"warp": warp_scenario, "crop": crop_scenario, "one-euro": one_euro_scenario, "yuv": yuv_scenario}[name]()


def measure_all(sc: Scenario, quick: bool) -> dict[str, Timing]:
    return {name: measure(fn, per_call=sc.per_call.get(name, 1), target_s=0.0 if name in sc.slow else 0.05,
                          repeats=(1 if quick else 3) if name in sc.slow else 7)
            for name, fn in sc.calls.items()}


def bench_warp(quick: bool) -> tuple[list[Row], list[Goal]]:
    sc = warp_scenario()
    t = measure_all(sc, quick)
    frame: FaceFrame = sc.info["frame"]
    got = np.asarray(sc.calls["talkies"]())
    remap = np.asarray(sc.calls["cv2.remap full frame"]())
    sk_img = np.asarray(sc.calls["scikit-image"]())
    ours = t["talkies"]
    pixels, frame_px, bbox_px = sc.info["rasterised_pixels"], sc.info["frame_pixels"], sc.info["bbox_pixels"]
    ns_ours = ours.cpu_s / pixels * 1e9
    ns_full = t["cv2.remap full frame"].cpu_s / frame_px * 1e9
    ns_bbox = t["cv2.remap moved bbox"].cpu_s / bbox_px * 1e9
    sk = t["scikit-image"].cpu_s
    row = Row("warp", f"1280×720 RGB, {frame.src.shape[0]} pts / {frame.triangles.shape[0]} tris, mouth opening",
              ours, {"scikit-image PiecewiseAffineTransform + warp": t["scikit-image"],
                     "cv2.remap, full frame, precomputed maps": t["cv2.remap full frame"],
                     "cv2.remap, moved bbox only, precomputed maps": t["cv2.remap moved bbox"]},
              notes={"face_fraction_of_frame": np.pi * frame.axes[0] * frame.axes[1] / frame_px,
                     "pixels_rasterised": pixels, "moved_bbox": list(sc.info["bbox"]), "moved_bbox_pixels": bbox_px,
                     "ns_per_pixel_talkies": ns_ours, "ns_per_pixel_cv2_full": ns_full,
                     "ns_per_pixel_cv2_bbox": ns_bbox,
                     "max_abs_diff_vs_cv2_remap": int(np.abs(got.astype(int) - remap).max()),
                     # skimage triangulates the points itself (another mesh), so only the mean is comparable.
                     "mean_abs_diff_vs_skimage": float(np.abs(got - sk_img).mean())})
    ns_wall = ours.wall_s / pixels * 1e9
    ns_full_wall = t["cv2.remap full frame"].wall_s / frame_px * 1e9
    ns_bbox_wall = t["cv2.remap moved bbox"].wall_s / bbox_px * 1e9
    sk_wall = t["scikit-image"].wall_s
    goals = [
        time_goal("warp ≤ 4 ms", ours, 4e-3, 1e3, "ms", 2),
        Goal("warp ≥ 30× scikit-image", f"{sk / ours.cpu_s:.0f}×", sk / ours.cpu_s >= 30,
             f"{sk_wall / ours.wall_s:.0f}×", sk_wall / ours.wall_s >= 30),
        Goal("warp ≤ 2× cv2.remap per pixel",
             f"{ns_ours:.1f} ns per rewritten pixel vs {ns_full:.1f} (full frame) / {ns_bbox:.1f} (bbox): "
             f"{ns_ours / ns_full:.2f}× / {ns_ours / ns_bbox:.2f}×", ns_ours <= 2 * min(ns_full, ns_bbox),
             f"{ns_wall:.1f} vs {ns_full_wall:.1f} / {ns_bbox_wall:.1f} ns: {ns_wall / ns_full_wall:.2f}× / "
             f"{ns_wall / ns_bbox_wall:.2f}×", ns_wall <= 2 * min(ns_full_wall, ns_bbox_wall)),
    ]
    return [row], goals


def bench_crop(quick: bool) -> tuple[list[Row], list[Goal]]:
    sc = crop_scenario()
    t = measure_all(sc, quick)
    diff = float(np.abs(np.asarray(sc.calls["talkies"]()) - np.asarray(sc.calls["cv2.warpAffine + normalise"]())).max())
    ours = t["talkies"]
    row = Row("crop", "720p RGB → 256×256×3 float32 [0, 1], 420 px ROI rotated 0.25 rad", ours,
              {"cv2.warpAffine + normalise": t["cv2.warpAffine + normalise"],
               "cv2.warpAffine alone (uint8 out)": t["cv2.warpAffine"]},
              notes={"max_abs_diff_vs_cv2": diff})
    return [row], [time_goal("crop to 256² ≤ 0.3 ms", ours, 0.3e-3, 1e3, "ms", 3)]


def bench_blendshapes(quick: bool) -> tuple[list[Row], list[Goal]]:
    sc = scenario("blendshapes")
    t = measure_all(sc, quick)
    peers = {"numpy base + tensordot": t["numpy tensordot"], "numpy base + einsum": t["numpy einsum"]}
    rows = [
        Row("blendshapes", "52×478×3 dense, one frame", t["talkies dense"], peers, unit="frame"),
        Row("blendshapes", f"52×478×3 sparse ({sc.info['density']:.0%} of vertices per shape), one frame",
            t["talkies sparse"], peers, unit="frame"),
        Row("blendshapes", "52×478×3 dense, clip of 100 frames in one call", t["talkies clip"],
            {"numpy base + W @ Δ (sgemm)": t["numpy sgemm clip"]}, unit="frame"),
    ]
    return rows, [time_goal("blendshapes ≤ 10 µs/frame (one frame per call)", t["talkies dense"], 10e-6, 1e6, "µs")]


def bench_solve(quick: bool) -> tuple[list[Row], list[Goal]]:
    sc = scenario("solve")
    t = measure_all(sc, quick)
    peers = {"scipy lsq_linear bvls (cold)": t["scipy bvls"], "scipy lsq_linear trf (cold)": t["scipy trf"]}
    warm = t["talkies warm"]
    rows = [Row("solve", "52 weights from 478×3 targets, L2 1e-2, warm-started per frame", warm, peers, unit="frame",
                notes=sc.info),
            Row("solve", "same, cold start (x0 = 0)", t["talkies cold"], peers, unit="frame"),
            Row("solve", "same, solve_many over a 60-frame clip", t["talkies solve_many"], {}, unit="frame")]
    return rows, [time_goal("solve ≤ 100 µs/frame warm-started", warm, 100e-6, 1e6, "µs")]


def bench_one_euro(quick: bool) -> tuple[list[Row], list[Goal]]:
    t = measure_all(one_euro_scenario(), quick)
    ours = t["talkies"]
    row = Row("one-euro", "streaming step, 1434 values (478×3 landmarks)", ours, {"numpy array step": t["numpy"]},
              unit="step")
    return [row], [time_goal("One-Euro step ≤ 5 µs for 1434 values", ours, 5e-6, 1e6, "µs", 2)]


def bench_yuv(quick: bool) -> tuple[list[Row], list[Goal]]:
    sc = yuv_scenario()
    t = measure_all(sc, quick)
    size = f"{YUV_REGION[2] - YUV_REGION[0]}×{YUV_REGION[3] - YUV_REGION[1]}"
    to_peers = {name: t[key] for name, key in (("PyAV (libswscale) whole 720p frame to RGB", "PyAV frame to RGB"),
                                               ("cv2.cvtColor I420 whole 720p frame", "cv2 frame to RGB"))
                if key in t}
    rows = [Row("yuv", f"{size} region of a 720p 4:2:0 frame to RGB (BT.709)", t["talkies region to RGB"], to_peers,
                notes=sc.info),
            Row("yuv", "same region back, a mouth-sized part of it edited", t["talkies region back"],
                {"PyAV (libswscale) whole 720p frame RGB to yuv420p": t["PyAV frame back"]})]
    return rows, []


# ----------------------------------------------------------------------------------------------------
# Report


def _fmt(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def table_lines(rows: list[Row]) -> list[list[str]]:
    """One line per (kernel, peer): kernel, case, talkies CPU, talkies wall, peer, peer CPU, speed-up."""
    lines = []
    for row in rows:
        ours = [f"{_fmt(row.talkies.cpu_s)}/{row.unit}", _fmt(row.talkies.wall_s)]
        if not row.baselines:
            lines.append([row.kernel, row.case, *ours, "", "", ""])
        for i, (name, t) in enumerate(row.baselines.items()):
            first = i == 0
            lines.append([row.kernel if first else "", row.case if first else "", *(ours if first else ["", ""]),
                          name, f"{_fmt(t.cpu_s)}/{row.unit}", f"{t.cpu_s / row.talkies.cpu_s:.1f}×"])
    return lines


HEADER = ["kernel", "case", "talkies (CPU)", "talkies (wall)", "peer", "peer (CPU)", "speed-up (CPU)"]
GOAL_HEADER = ["goal (1 thread)", "measured (CPU)", "holds", "measured (wall)", "holds (wall)"]


def _goal_line(g: Goal) -> list[str]:
    return [g.text, g.measured, "yes" if g.holds else "no", g.measured_wall, "yes" if g.holds_wall else "no"]


def markdown(rows: list[Row], goals: list[Goal], machine: dict[str, Any]) -> str:
    """The whole ``benchmarks/KERNELS.md``: tables, goals and what was measured."""
    notes = {row.kernel: row.notes for row in rows if row.notes}
    warp_n, solve_n = notes.get("warp", {}), notes.get("solve", {})
    out = ["# Kernel benchmarks", "",
           "Generated by `python -m talkies.benchmarks.kernels --json OUT --markdown benchmarks/KERNELS.md`; the",
           "pytest-benchmark suite `benchmarks/test_bench_kernels.py` runs the same scenarios.", "",
           f"Measured on {machine['cpu']} ({machine['cores']} cores), 1 thread everywhere, Python {machine['python']}, "
           f"numpy {machine['numpy']}, numba {machine['numba']}, OpenCV {machine['opencv']}, scikit-image "
           f"{machine['skimage']}, SciPy {machine['scipy']}. Load average during the run: "
           f"{machine['load_average'][0]:.1f} (other jobs shared the cores).", "",
           "Figures are medians per call. **CPU** is the calling thread's CPU time, which leaves out time spent "
           "descheduled by other jobs; **wall** is wall-clock time on the same run: equal to CPU time on an idle "
           "core, up to 2× higher here where other jobs shared the machine. Peers get the same inputs in the same "
           "run.", "",
           markdown_table(HEADER, table_lines(rows)), "", markdown_table(GOAL_HEADER, map(_goal_line, goals))]
    if warp_n:
        out += ["", "What the cases are:", "",
                f"- **warp**: a synthetic 720p frame; the face is an ellipse covering "
                f"{warp_n['face_fraction_of_frame']:.0%} of it, filled with 478 jittered points, Delaunay-"
                "triangulated with 16 border anchors; the jaw drops 28 px and the upper lip lifts 6 px. The kernel "
                f"rewrites {warp_n['pixels_rasterised']:,} pixels (the moved triangles) inside a "
                f"{warp_n['moved_bbox_pixels']:,}-pixel bounding box and copies the rest of the frame; its time "
                "includes that full-frame copy. Per-pixel figures divide by those rewritten pixels, and cv2.remap's by "
                "the pixels of its map. cv2.remap gets maps of exactly the same transform (max difference "
                f"{warp_n['max_abs_diff_vs_cv2_remap']} grey level); scikit-image triangulates the points itself, so "
                f"its output differs slightly (mean {warp_n['mean_abs_diff_vs_skimage']:.2f} levels).",
                "- **crop**: rotated 420 px ROI of a 720p frame to 256×256×3 float32 in [0, 1]. The peer is what the "
                "kernel replaces in the tracker: `cv2.warpAffine` (WARP_INVERSE_MAP, constant border) then "
                "normalisation to float32.",
                "- **blendshapes**: 52 localised, smooth shapes on the 478-point mesh (left/right pairs mirrored); "
                "weights from smooth curves in [0, 1], about half of them at 0 at any time.",
                f"- **solve**: basis = the blend-shape deltas (1434×52, Gram condition number "
                f"{solve_n.get('gram_condition_number', float('nan')):.0f} with L2 1e-2); targets = smooth weights "
                "through the basis plus noise; warm starts from the previous frame take "
                f"{solve_n.get('mean_iterations_warm', float('nan')):.1f} projected-Newton iterations on average; "
                "the answer matches a tight scipy BVLS solve to "
                f"{solve_n.get('max_abs_diff_vs_bvls_tight', float('nan')):.0e}. scipy cannot warm-start.",
                "- **one-euro**: one streaming step over 478×3 landmark values; the peer is the same step written "
                "with numpy array operations."]
    return "\n".join(out) + "\n"


def print_report(rows: list[Row], goals: list[Goal]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="talkies kernels vs peers (1 thread, medians per call)")
    for name in HEADER:
        table.add_column(name, overflow="fold")
    for line in table_lines(rows):
        table.add_row(*line)
    goal_table = Table(title="goals")
    for name in GOAL_HEADER:
        goal_table.add_column(name, overflow="fold")
    for g in goals:
        goal_table.add_row(*_goal_line(g))
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=170)
    console.print(table)
    console.print(goal_table)


def machine_info() -> dict[str, Any]:
    import numba
    import scipy
    import skimage

    try:
        import cv2

        opencv = cv2.__version__
    except ImportError:  # pragma: no cover
        opencv = "missing"
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "opencv": opencv, "skimage": skimage.__version__,
            "scipy": scipy.__version__, "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run(quick: bool = False) -> tuple[list[Row], list[Goal], dict[str, Any]]:
    limiter = single_thread()  # noqa: F841  (keeps the BLAS limit active until we return)
    rows: list[Row] = []
    goals: list[Goal] = []
    for bench in track([bench_warp, bench_crop, bench_blendshapes, bench_solve, bench_one_euro, bench_yuv],
                       "benchmarking kernels"):
        got, step_goals = bench(quick)
        rows += got
        goals += step_goals
    return rows, goals, machine_info()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.benchmarks.kernels", description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write all figures to this JSON file")
    parser.add_argument("--markdown", type=Path, help="write the table as a markdown snippet")
    parser.add_argument("--quick", action="store_true", help="fewer scikit-image/scipy repeats")
    args = parser.parse_args(argv)
    rows, goals, machine = run(args.quick)
    print_report(rows, goals)
    if args.json:
        payload = {"clock": "median per-call thread CPU time (cpu_s); wall-clock median in wall_s",
                   "machine": machine, "rows": [asdict(r) for r in rows], "goals": [asdict(g) for g in goals]}
        write_text_atomic(args.json, json.dumps(payload, indent=2, ensure_ascii=False))
    if args.markdown:
        write_text_atomic(args.markdown, markdown(rows, goals, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
