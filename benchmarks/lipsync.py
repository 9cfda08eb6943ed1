"""Lip-sync benchmark: accuracy on real speech and speed, for every lip-sync bundle and the peers, in one run.

Run: ``python -m talkies.benchmarks.lipsync [--json OUT] [--bundle-dir DIR]``.

- **Accuracy** on the real LibriVox validation speech (shared/data/speech/librivox beside the checkout, pocketsphinx
  phone alignments) and, beside it, on TIMIT (shared/data/speech/timit: 80 utterances of 8 speakers, hand
  labels, scored by TIMIT's rules and judged by its own goals), through the LipSync task with each bundle's
  backend and precision, scored by ``talkies.models.lipsync.evaluate`` (frames at 100 Hz, frames within
  10 ms of a phone boundary left out): coarse accuracy (5 mouth classes), closure recall (p/b/m), open
  recall, round recall. A row's ``metrics`` are LibriVox's, its ``timit`` TIMIT's (None without the set).
  ``lipsync`` bundles run offline (AUDIO_CLIPS), ``lipsync_stream`` bundles run streaming
  (AUDIO_STREAM, one 10 ms hop per push).
- **Speed**, one inference thread: offline real-time factor (seconds of audio per second of wall time,
  the LipSync task on the validation speech repeated to ≥ 2 min) and streaming compute per 10 ms hop (one ``push``).
  Process CPU time is kept beside wall time; a shared machine inflates wall time.
- **Peers** in the same run: ``pylipsync`` 0.2.1 (uLipSync's MFCC templates; aa/ee/ih/oh/ou/silence,
  mapped to OVR visemes aa/E/ih/oh/ou/sil; it has no closed-lips class, so its closure recall is 0 by
  construction), in its own venv (it pins numpy below 2.4); and the loudness-only baseline.

Every lip-sync bundle found in --bundle-dir (default $TALKIES_HOME/bundles), the shipped bundles and the
harness's parity-failed folder is measured; the cross-target harness (``talkies bench``) builds missing
ones and calls :func:`bundle_row` for its lip-sync rows. Without any bundle (the model not trained yet)
the talkies rows say so and the peers still run.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from talkies.benchmarks.common import (PARITY_FAILED_DIR, fmt, inner_progress_off, machine_info, markdown_table,
                                       model_bytes, peer_python, run_peer, time_calls)
from talkies.io import write_text_atomic
from talkies.log import get_logger, track
from talkies.models.lipsync import evaluate
from talkies.types import Backend, Precision

log = get_logger(__name__)

MODELS = ("lipsync", "lipsync_stream")
BACKENDS = tuple(b.value for b in Backend)
PRECISIONS = tuple(p.value for p in Precision)
FIGURES = ("coarse_accuracy", "closure_recall", "open_recall", "round_recall")
GOALS = {k: evaluate.GOALS[k] for k in FIGURES}
TIMIT_GOALS = {k: evaluate.TIMIT_GOALS[k] for k in FIGURES}
TIMIT = str(evaluate.TIMIT_DATA)
GOAL_INT8_POINTS = 2.0  # int8 within 2 percentage points of fp32 on every figure
GOAL_OFFLINE_RTF = 1000.0  # ONNX Runtime fp32, 1 thread
GOAL_STREAM_MS_PER_HOP = 0.5
HOP = 160
SAMPLE_RATE = 16000
PYLIPSYNC_REQUIREMENT = "pylipsync==0.2.1"
#: pylipsync's phoneme templates → OVR visemes.
PYLIPSYNC_VISEMES = {"aa": "aa", "ee": "E", "ih": "ih", "oh": "oh", "ou": "ou", "silence": "sil"}

# Runs inside the pylipsync venv: argv = output JSON, then the WAV files (16 kHz mono 16-bit).
PYLIPSYNC_SCRIPT = r'''
import json, sys, time, wave
from importlib import metadata
import numpy as np
from pylipsync import PhonemeAnalyzer

out_path, files = sys.argv[1], sys.argv[2:]
analyzer = PhonemeAnalyzer()
result = {"version": metadata.version("pylipsync"), "files": {}}
for k, path in enumerate(files):
    with wave.open(path) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
    if k == 0:
        analyzer.extract_phoneme_segments(x[:16000], 16000, fps=100)  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    segments = analyzer.extract_phoneme_segments(x, 16000, fps=100)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    names = ["silence" if max(p.target for p in s.phonemes) <= 0 else s.dominant_phoneme.name for s in segments]
    result["files"][path] = {"names": names, "wall_s": wall, "cpu_s": cpu, "audio_s": len(x) / 16000}
with open(out_path, "w") as f:
    json.dump(result, f)
'''


@dataclass(frozen=True)
class LipSyncBundle:
    model: str  # lipsync | lipsync_stream
    backend: str
    precision: str
    path: Path

    @property
    def streaming(self) -> bool:
        return self.model == "lipsync_stream"


@functools.lru_cache(maxsize=4)
def validation_set(data_dir: str = str(evaluate.DEFAULT_DATA)) -> tuple[tuple[str, np.ndarray, list], ...]:
    """(name, audio float32 16 kHz, phones) of each validation utterance."""
    return tuple(evaluate.load_dataset(data_dir))


def timit_set(timit_dir: str | None = TIMIT) -> str | None:
    """The TIMIT folder when it is here (the bench reports its figures beside LibriVox's), else None."""
    return timit_dir if timit_dir and Path(timit_dir).is_dir() else None


def validation_info(data_dir: str = str(evaluate.DEFAULT_DATA), timit_dir: str | None = TIMIT) -> dict[str, Any]:
    """What the accuracy figures were measured on: the LibriVox folder, and TIMIT's under "timit"."""
    def info(d: str) -> dict[str, Any]:
        data = validation_set(d)
        return {"data": d, "utterances": len(data), "audio_s": round(sum(len(a) for _, a, _ in data) / SAMPLE_RATE, 2)}

    timit = timit_set(timit_dir)
    return {**info(data_dir), "timit": info(timit) if timit else None}


def search_dirs(bundle_dir: Path | None) -> list[Path]:
    """Where lip-sync bundles are looked up: --bundle-dir, $TALKIES_HOME/bundles, the shipped bundles, and
    the harness's parity-failed folders."""
    from talkies.runtime.bundle import default_bundle_dir
    from talkies.runtime.bundle import shipped_bundle_dir

    roots = [Path(bundle_dir)] if bundle_dir is not None else []
    roots += [r for r in (default_bundle_dir(), shipped_bundle_dir()) if r not in roots]
    return roots + [r / PARITY_FAILED_DIR for r in roots]


def find_bundles(bundle_dir: Path | None = None, *, backends=BACKENDS, precisions=PRECISIONS) -> list[LipSyncBundle]:
    from talkies.runtime.bundle import locate_bundle

    found = []
    for model in MODELS:
        for backend in backends:
            for precision in precisions:
                path = locate_bundle(model, backend, precision, search_dirs(bundle_dir))
                if path is not None:
                    found.append(LipSyncBundle(model, backend, precision, Path(path)))
    return found


def _row(implementation: str, **fields: Any) -> dict[str, Any]:
    row = {"implementation": implementation, "model": None, "backend": None, "precision": None, "mode": None,
           "status": "ok", "reason": None, "note": None, "metrics": None, "timit": None, "speed": None,
           "size_bytes": None}
    row.update(fields)
    return row


def _scored(data_dir: str, predictions: list[np.ndarray]) -> dict[str, Any]:
    """The figures of per-utterance `predictions` on a set, by the set's rules, each judged by its goals."""
    rules = evaluate.rules_for(data_dir)
    data = validation_set(data_dir)
    out = evaluate.score([(p, phones) for p, (_, _, phones) in zip(predictions, data)], rules=rules).as_dict()
    out["meets_goals"] = {k: bool(out[k] >= rules.goals[k]) for k in FIGURES}
    return out


def _accuracy(predict, data_dir: str, timit_dir: str | None) -> dict[str, Any]:
    """`metrics` (LibriVox) and `timit` row fields of `predict` (audio → viseme probabilities)."""
    timit = timit_set(timit_dir)
    return {"metrics": _scored(data_dir, [predict(a) for _, a, _ in validation_set(data_dir)]),
            "timit": _scored(timit, [predict(a) for _, a, _ in validation_set(timit)]) if timit else None}


def bundle_row(bundle: LipSyncBundle, *, threads: int = 1, data_dir: str = str(evaluate.DEFAULT_DATA),
               timit_dir: str | None = TIMIT, repeats: int = 7, stream_hops: int = 1000) -> dict[str, Any]:
    """Accuracy and speed of one bundle through the LipSync task (offline or streaming, by its model)."""
    from talkies.runtime.bundle import Bundle
    from talkies.runtime.lipsync import LipSync, LipSyncOptions, RunningMode

    with Bundle(bundle.path) as opened:
        manifest = opened.manifest
    status = "parity failed" if manifest.parity.passed is False else "ok"
    row = _row(f"talkies {bundle.model} ({bundle.backend} {bundle.precision})", model=bundle.model,
               backend=bundle.backend, precision=bundle.precision,
               mode="stream" if bundle.streaming else "offline", status=status, size_bytes=model_bytes(manifest),
               bundle=str(bundle.path), threads=threads)
    from talkies.runtime.session import backend_available

    reason = backend_available(bundle.backend)
    if reason is not None:
        row.update(status="skipped" if bundle.backend != "coreml" else "needs macOS", reason=reason)
        return row
    data = validation_set(data_dir)
    mode = RunningMode.AUDIO_STREAM if bundle.streaming else RunningMode.AUDIO_CLIPS
    options = LipSyncOptions(running_mode=mode, backend=bundle.backend, precision=bundle.precision,
                             bundle_dir=bundle.path.parent, threads=threads)
    with inner_progress_off(), LipSync(options) as task:
        if bundle.streaming:
            row.update(_accuracy(lambda audio: _stream(task, audio), data_dir, timit_dir))
            speed = _stream_speed(task, np.concatenate([a for _, a, _ in data]), stream_hops)
        else:
            row.update(_accuracy(lambda audio: task.process(audio).visemes, data_dir, timit_dir))
            speed = _offline_speed(task, np.concatenate([a for _, a, _ in data]), repeats)
    row["speed"] = speed
    return row


def _stream(task, audio: np.ndarray) -> np.ndarray:
    task.reset()
    parts = [task.push(audio[i:i + HOP]).visemes for i in range(0, len(audio), HOP)]
    parts.append(task.flush().visemes)
    return np.concatenate(parts)


def _stream_speed(task, audio: np.ndarray, hops: int) -> dict[str, float]:
    """One push of 10 ms after 20 warm-up pushes, for up to `hops` hops of real speech."""
    task.reset()
    n = min(hops, len(audio) // HOP - 20)
    stats = time_calls(lambda i: task.push(audio[i * HOP:(i + 1) * HOP]), iterations=n, warmup=20)
    return {"ms_per_hop_p50": stats.p50_ms, "ms_per_hop_p95": stats.p95_ms, "cpu_ms_per_hop_p50": stats.cpu_p50_ms,
            "hops": stats.iterations, "ms_per_audio_s": stats.p50_ms * SAMPLE_RATE / HOP,
            "rtf": HOP / SAMPLE_RATE * 1000 / stats.p50_ms}


OFFLINE_SECONDS = 120.0  # long enough that the zero-padded tail of the last window is a few % of the work


def _offline_speed(task, audio: np.ndarray, repeats: int) -> dict[str, float]:
    """The LipSync task on the validation speech repeated to ≥ 2 minutes, median of `repeats` after a
    warm-up; and the model alone on one window of that speech (`model_rtf`: the window's new audio per call)."""
    audio = np.tile(audio, int(np.ceil(OFFLINE_SECONDS * SAMPLE_RATE / max(len(audio), 1))))
    seconds = len(audio) / SAMPLE_RATE
    stats = time_calls(lambda i: task.process(audio), iterations=repeats, warmup=1)
    window = np.zeros(task.total, np.float32)
    window[:min(task.total, len(audio))] = audio[:task.total]
    feeds = {task.session.input_names[0]: window[None]}
    model = time_calls(lambda i: task.session.run(feeds), iterations=10, warmup=2)
    return {"audio_s": seconds, "wall_ms": stats.p50_ms, "cpu_ms": stats.cpu_p50_ms,
            "rtf": seconds * 1000 / stats.p50_ms, "rtf_cpu": seconds * 1000 / max(stats.cpu_p50_ms, 1e-9),
            "ms_per_audio_s": stats.p50_ms / seconds, "repeats": stats.iterations,
            "model_rtf": task.window / SAMPLE_RATE * 1000 / model.p50_ms}


def loudness_row(data_dir: str = str(evaluate.DEFAULT_DATA), repeats: int = 3,
                 timit_dir: str | None = TIMIT) -> dict[str, Any]:
    """The loudness-only baseline (quiet → sil, medium → DD, loud → aa)."""
    data = validation_set(data_dir)
    audio = np.concatenate([a for _, a, _ in data])
    stats = time_calls(lambda i: evaluate.loudness_baseline(audio), iterations=repeats, warmup=1)
    seconds = len(audio) / SAMPLE_RATE
    return _row("loudness baseline (peer)", mode="offline", **_accuracy(evaluate.loudness_baseline, data_dir, timit_dir),
                speed={"audio_s": seconds, "wall_ms": stats.p50_ms, "cpu_ms": stats.cpu_p50_ms,
                       "rtf": seconds * 1000 / stats.p50_ms, "ms_per_audio_s": stats.p50_ms / seconds})


def pylipsync_row(python: str | None, reason: str, data_dir: str = str(evaluate.DEFAULT_DATA),
                  timit_dir: str | None = TIMIT) -> dict[str, Any]:
    """pylipsync in its own interpreter on the validation WAVs, LibriVox's and TIMIT's (`python` None: a
    skipped row with `reason`); its speed on the LibriVox WAVs, as the other rows'."""
    name = f"pylipsync {PYLIPSYNC_REQUIREMENT.split('==')[1]} (peer)"
    if python is None:
        return _row(name, mode="offline", status="skipped", reason=reason)
    sets = [d for d in (data_dir, timit_set(timit_dir)) if d]
    wavs = {d: [str(Path(d) / f"{name_}.wav") for name_, _, _ in validation_set(d)] for d in sets}
    with tempfile.TemporaryDirectory(prefix="talkies-pylipsync-") as tmp:
        out = Path(tmp) / "pylipsync.json"
        ok, last = run_peer(python, PYLIPSYNC_SCRIPT, [str(out), *(w for d in sets for w in wavs[d])], Path(tmp))
        if not ok:
            return _row(name, mode="offline", status="error", reason=f"pylipsync failed: {last}")
        result = json.loads(out.read_text())
    from talkies.runtime.visemes import VISEME_INDEX, VISEMES

    eye = np.eye(len(VISEMES), dtype=np.float32)
    figures = {d: _scored(d, [eye[[VISEME_INDEX[PYLIPSYNC_VISEMES[n]] for n in result["files"][w]["names"]]]
                              for w in wavs[d]]) for d in sets}
    files = [result["files"][w] for w in wavs[data_dir]]
    seconds = sum(f["audio_s"] for f in files)
    wall, cpu = sum(f["wall_s"] for f in files), sum(f["cpu_s"] for f in files)
    return _row(f"pylipsync {result['version']} (peer)", mode="offline", metrics=figures[data_dir],
                timit=figures.get(timit_set(timit_dir)),
                speed={"audio_s": seconds, "wall_ms": 1000 * wall, "cpu_ms": 1000 * cpu, "rtf": seconds / wall,
                       "ms_per_audio_s": 1000 * wall / seconds},
                note="no closed-lips class: LibriVox closure recall is 0 by construction (TIMIT's counts silence "
                     "as closed)")


def peer_rows(*, pylipsync_python: str | None = None, install: bool = False,
              data_dir: str = str(evaluate.DEFAULT_DATA)) -> list[dict[str, Any]]:
    python, how = (pylipsync_python, "given") if pylipsync_python else peer_python(
        "pylipsync", PYLIPSYNC_REQUIREMENT, install=install)
    return [pylipsync_row(python, how, data_dir), loudness_row(data_dir)]


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lip-sync issues' goals, judged on the rows: accuracy per ONNX fp32 bundle on LibriVox and on
    TIMIT (each by its goals), int8 vs fp32 per backend on both sets, offline real-time factor (ONNX
    Runtime fp32, 1 thread), streaming ms per hop."""
    ours = {(r["model"], r["backend"], r["precision"]): r for r in rows
            if r["model"] and r["metrics"] and r.get("threads", 1) == 1}
    sets = {"metrics": ("", GOALS), "timit": ("TIMIT ", TIMIT_GOALS)}
    out: list[dict[str, Any]] = []
    for model in MODELS:
        ref = ours.get((model, "onnx", "fp32"))
        for field, (label, wanted) in sets.items():
            if field == "timit" and ref is not None and not ref.get("timit"):
                continue  # TIMIT not here
            for k in FIGURES:
                value = ref[field][k] if ref else None
                out.append({"goal": f"{model} {label}{k} ≥ {wanted[k]:.2f} (onnx fp32)", "measured": fmt(value, ".3f"),
                            "holds": None if value is None else bool(value >= wanted[k])})
        for backend in BACKENDS:
            fp32, int8 = ours.get((model, backend, "fp32")), ours.get((model, backend, "int8"))
            if fp32 and int8:
                deltas = {f"{label}{k}": 100 * (int8[field][k] - fp32[field][k])
                          for field, (label, _) in sets.items() if fp32.get(field) and int8.get(field)
                          for k in FIGURES}
                worst = max(deltas, key=lambda k: abs(deltas[k]))
                out.append({"goal": f"{model} {backend} int8 within {GOAL_INT8_POINTS:.0f} points of fp32",
                            "measured": f"largest change {worst}: {deltas[worst]:+.1f} points (int8 − fp32)",
                            "holds": all(abs(d) <= GOAL_INT8_POINTS for d in deltas.values())})
    offline = ours.get(("lipsync", "onnx", "fp32"))
    speed = (offline or {}).get("speed") or {}
    rtf = speed.get("rtf")
    out.append({"goal": f"offline ≥ {GOAL_OFFLINE_RTF:.0f}× real time (onnx fp32, 1 thread)",
                "measured": (f"{rtf:.0f}× through the LipSync task (the model alone: {speed['model_rtf']:.0f}×)"
                             if rtf else "–"),
                "holds": None if rtf is None else rtf >= GOAL_OFFLINE_RTF})
    stream = ours.get(("lipsync_stream", "onnx", "fp32"))
    hop = stream["speed"]["ms_per_hop_p50"] if stream and stream["speed"] else None
    out.append({"goal": f"streaming ≤ {GOAL_STREAM_MS_PER_HOP} ms per 10 ms hop (onnx fp32, 1 thread)",
                "measured": f"{hop:.3f} ms" if hop else "–",
                "holds": None if hop is None else hop <= GOAL_STREAM_MS_PER_HOP})
    return out


def run(bundle_dir: Path | None = None, *, backends=BACKENDS, precisions=PRECISIONS, peers: bool = True,
        pylipsync_python: str | None = None, install_peers: bool = False,
        data_dir: str = str(evaluate.DEFAULT_DATA)) -> dict[str, Any]:
    bundles = find_bundles(bundle_dir, backends=backends, precisions=precisions)
    rows = []
    for bundle in track(bundles, "lip-sync bundles"):
        rows.append(safe_bundle_row(bundle, data_dir=data_dir))
    if not bundles:
        rows.append(no_bundle_row(bundle_dir))
    if peers:
        rows += peer_rows(pylipsync_python=pylipsync_python, install=install_peers, data_dir=data_dir)
    return {"benchmark": "lipsync", "machine": machine_info(), "validation": validation_info(data_dir),
            "rows": rows, "goals": goals(rows)}


def safe_bundle_row(bundle: LipSyncBundle, **kwargs: Any) -> dict[str, Any]:
    """bundle_row, with a failure of the backend on this bundle reported in the row instead of raised."""
    try:
        return bundle_row(bundle, **kwargs)
    except Exception as exc:  # a bundle that does not load or run is a result, not a crash of the run
        log.warning("%s: %s", bundle.path, exc)
        return _row(f"talkies {bundle.model} ({bundle.backend} {bundle.precision})", model=bundle.model,
                    backend=bundle.backend, precision=bundle.precision, status="error",
                    reason=f"{type(exc).__name__}: {exc}", bundle=str(bundle.path))


def no_bundle_row(bundle_dir: Path | None) -> dict[str, Any]:
    return _row("talkies lipsync", model="lipsync", mode="offline", status="skipped",
                reason=no_bundle_reason(bundle_dir))


def no_bundle_reason(bundle_dir: Path | None) -> str:
    from talkies.models.lipsync.model import default_weights_path

    weights = default_weights_path()
    where = ", ".join(str(d) for d in search_dirs(bundle_dir) if d.name != PARITY_FAILED_DIR)
    if not weights.exists():
        return f"no lip-sync bundle in {where}, and the model is not trained yet ({weights} is missing)"
    return f"no lip-sync bundle in {where}; build them with `talkies bench lipsync lipsync_stream`"


def markdown(report: dict[str, Any]) -> str:
    """The accuracy/speed table (LibriVox's figures, then TIMIT's) and the goals table."""
    header = ["implementation", "mode", "status", "coarse", "closure", "open", "round", "TIMIT coarse",
              "TIMIT closure", "TIMIT open", "TIMIT round", "real-time factor", "ms / 10 ms hop", "size"]
    lines = []
    for r in report["rows"]:
        m, t, s = r["metrics"] or {}, r.get("timit") or {}, r["speed"] or {}
        status = r["status"] if r["status"] == "ok" else f"**{r['status']}**"
        detail = r["reason"] if r["reason"] and r["reason"] != r["status"] else r["note"]
        if detail:
            status += f" ({detail})"
        lines.append([r["implementation"], r["mode"] or "–", status,
                      *(fmt(m.get(k), ".3f") for k in FIGURES), *(fmt(t.get(k), ".3f") for k in FIGURES),
                      f"{fmt(s.get('rtf'), '.0f')}×" if s.get("rtf") else "–",
                      fmt(s.get("ms_per_hop_p50"), ".3f"),
                      f"{r['size_bytes'] / 1e6:.2f} MB" if r["size_bytes"] else "–"])
    goals_table = markdown_table(["goal", "measured", "holds"],
                                 [[g["goal"], g["measured"], {True: "yes", False: "**no**", None: "–"}[g["holds"]]]
                                  for g in report["goals"]])
    v = report["validation"]
    intro = (f"Lip-sync on {v['utterances']} real LibriVox utterances ({v['audio_s']} s), frames at 100 Hz, "
             f"frames within 10 ms of a phone boundary left out; goals: coarse ≥ {GOALS['coarse_accuracy']}, "
             f"closure ≥ {GOALS['closure_recall']}, open ≥ {GOALS['open_recall']}, "
             f"round ≥ {GOALS['round_recall']}. " + _timit_intro(v.get("timit")) +
             "Speed: 1 thread, wall-clock medians (offline: whole set per call; streaming: one 10 ms push).")
    return "\n\n".join([intro, markdown_table(header, lines), goals_table]) + "\n"


def _timit_intro(timit: dict[str, Any] | None) -> str:
    if not timit:
        return "TIMIT: not here (no shared/data/speech/timit). "
    return (f"TIMIT: {timit['utterances']} hand-labelled utterances of 8 speakers ({timit['audio_s']} s), a stop's "
            "closure joined to its release, closure hit by sil or PP, open counting aa ae aw ay, round also w; "
            f"goals: coarse ≥ {TIMIT_GOALS['coarse_accuracy']}, closure ≥ {TIMIT_GOALS['closure_recall']}, "
            f"open ≥ {TIMIT_GOALS['open_recall']}, round ≥ {TIMIT_GOALS['round_recall']}. ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkies.benchmarks.lipsync", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this JSON file")
    parser.add_argument("--bundle-dir", type=Path, default=None, help="extra folder of lip-sync bundles")
    parser.add_argument("--data", default=str(evaluate.DEFAULT_DATA), help="folder of *.wav + *.phone.json")
    parser.add_argument("--pylipsync-python", default=None, help="interpreter of a venv with pylipsync")
    parser.add_argument("--install-peers", action="store_true", help="create the pylipsync venv when missing")
    parser.add_argument("--no-peers", action="store_true", help="leave pylipsync and the loudness baseline out")
    args = parser.parse_args(argv)
    if args.json is not None:
        from talkies.io import check_writable

        check_writable(args.json)
    report = run(args.bundle_dir, peers=not args.no_peers, pylipsync_python=args.pylipsync_python,
                 install_peers=args.install_peers, data_dir=args.data)
    print(markdown(report))  # the benchmark's report is its output
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(report, indent=2, default=_json_default) + "\n")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
