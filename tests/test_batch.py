"""`talkies batch`: the job file (CSV and JSON Lines, defaults, bad rows named before anything runs), a
failing job that does not stop the batch, resume (verified outputs skipped, changed ones redone), models
kept per worker, outputs equal to the single commands', and the same outputs on the process pool and on
a local Ray cluster."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from talkies.batch import read_jobs, read_records, run_batch
from talkies.batch import worker
from talkies.errors import InputError
from talkies.paths import shared_data_dir
from talkies.runtime import media
from talkies.tests.helpers.cli import run_cli
from talkies.tests.helpers.media import grace_hopper_path, write_wav

CARD = shared_data_dir() / "speech" / "cards" / "001.wav"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder with a 1 s and a 1.5 s cut of real speech, a photo and a file that is no audio."""
    folder = tmp_path_factory.mktemp("inputs")
    speech = media.read_audio(CARD)
    write_wav(folder / "one.wav", speech[:16000], 16000)
    write_wav(folder / "long.wav", np.tile(speech, 2)[:24000], 16000)
    shutil.copy(grace_hopper_path(), folder / "face.jpg")
    (folder / "noise.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    return folder


def _csv(folder: Path, rows: list[dict], name: str = "jobs.csv") -> Path:
    header = list(dict.fromkeys(k for row in rows for k in row))
    with open(folder / name, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return folder / name


def _digests(report) -> dict[str, str]:
    return {r.output: r.sha256 for r in report.records}


# --- the job file ---------------------------------------------------------------------------------------


def test_csv_and_jsonl_give_the_same_jobs(inputs, tmp_path):
    rows = [{"command": "lipsync", "input": "one.wav", "output": "a/one.json", "format": "", "with-head": ""},
            {"command": "track", "input": "face.jpg", "output": "face.glb", "format": "glb", "with-head": "yes"}]
    jobs_csv = read_jobs(_csv(inputs, rows), tmp_path)
    lines = [json.dumps({k: v or None for k, v in row.items()}) for row in rows]
    (inputs / "jobs.jsonl").write_text("\n".join(lines) + "\n\n")
    jobs_jsonl = read_jobs(inputs / "jobs.jsonl", tmp_path)
    assert [(j.command, j.input, j.output, j.options) for j in jobs_csv] == \
        [(j.command, j.input, j.output, j.options) for j in jobs_jsonl]
    lipsync, track = jobs_csv
    assert lipsync.input == inputs / "one.wav"  # relative to the job file's folder
    assert lipsync.output == tmp_path.resolve() / "a" / "one.json"
    assert lipsync.options["format"] == "visemes" and lipsync.options["threads"] == 1  # the command's defaults
    assert track.options["with_head"] is True and track.options["faces"] == 1
    assert lipsync.spec != track.spec


def test_bad_rows_are_named_before_anything_runs(inputs, tmp_path, capsys):
    rows = [{"command": "lipsync", "input": "one.wav", "output": "ok.json"},
            {"command": "sing", "input": "one.wav", "output": "b.json"},
            {"command": "lipsync", "input": "gone.wav", "output": "c.json"},
            {"command": "lipsync", "input": "one.wav", "output": "../d.json"},
            {"command": "lipsync", "input": "one.wav", "output": "/tmp/e.json"},
            {"command": "lipsync", "input": "one.wav", "output": "ok.json"},
            {"command": "lipsync", "input": "one.wav", "output": "f.json", "fit": "loop"},
            {"command": "lipsync", "input": "one.wav", "output": "g.json", "intensity": "3"},
            {"command": "animate", "input": "face.jpg", "output": "h.mp4", "audio": "one.wav", "text": "Hi."},
            {"command": "animate", "input": "face.jpg", "output": "i.mp4"},
            {"command": "lipsync", "input": "one.wav", "output": "j.json", "format": "arkit", "with_head": "1"},
            {"command": "lipsync", "input": "one.wav", "output": "batch.csv"}]
    jobs = _csv(inputs, rows, "bad.csv")
    with pytest.raises(InputError) as info:
        read_jobs(jobs, tmp_path)
    lines = str(info.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"bad.csv row {i}" for i in range(2, 13)]
    for needle in ("unknown command 'sing'", "gone.wav: no such file", "outside the output folder",
                   "relative to the output folder", "also written by row 1", "lipsync has no option fit",
                   "intensity: 3", "exactly one of the audio and text", "exactly one of the audio and text",
                   "go with format glb", "the batch's own record"):
        assert any(needle in line for line in lines), needle
    assert run_cli("batch", jobs, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("talkies: error: bad.csv row 2: unknown command") and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_a_misspelt_column_and_unreadable_rows(inputs, tmp_path):
    (inputs / "typo.csv").write_text("command,input,output,fromat\nlipsync,one.wav,a.json,arkit\n"
                                     "lipsync,one.wav,b.json,arkit,extra\n")
    with pytest.raises(InputError, match=r"(?s)typo.csv row 1: unknown column fromat.*row 2: 5 cells"):
        read_jobs(inputs / "typo.csv", tmp_path)
    (inputs / "broken.jsonl").write_text('{"command": "lipsync", "input": "one.wav", "output": "a.json"}\n[1]\n{x\n')
    with pytest.raises(InputError, match=r"(?s)row 2: not a JSON object.*row 3: not JSON"):
        read_jobs(inputs / "broken.jsonl", tmp_path)
    (inputs / "noheader.csv").write_text("lipsync,one.wav,a.json\n")
    with pytest.raises(InputError, match="header row has no"):
        read_jobs(inputs / "noheader.csv", tmp_path)


# --- running ----------------------------------------------------------------------------------------------


def test_a_failing_job_does_not_stop_the_batch(inputs, tmp_path, capsys):
    jobs = _csv(inputs, [{"command": "lipsync", "input": "one.wav", "output": "one.json"},
                         {"command": "lipsync", "input": "noise.wav", "output": "noise.json"},
                         {"command": "lipsync", "input": "long.wav", "output": "long.csv", "format": "livelink"}],
                "failing.csv")
    assert run_cli("batch", jobs, "-o", tmp_path, "--workers", "2") == 1
    assert "2 done, 0 skipped (done before), 1 failed" in capsys.readouterr().err
    records = {r.output: r for r in read_records(tmp_path / "batch.csv").values()}
    assert [records[n].status for n in ("one.json", "noise.json", "long.csv")] == ["ok", "failed", "ok"]
    assert "noise.wav" in records["noise.json"].error and "\n" not in records["noise.json"].error
    assert not (tmp_path / "noise.json").exists()
    assert records["one.json"].seconds > 0 and len(records["one.json"].sha256) == 64


def test_outputs_equal_the_commands_and_the_model_loads_once_per_worker(inputs, tmp_path):
    jobs = read_jobs(_csv(inputs, [{"command": "lipsync", "input": "one.wav", "output": "one.json"},
                                   {"command": "lipsync", "input": "long.wav", "output": "long.json"}], "same.csv"),
                     tmp_path)
    worker._CACHE.clear()
    records = [worker.run_job(job) for job in jobs]  # in this process: its cache is visible here
    assert [r.status for r in records] == ["ok", "ok"]
    assert len([k for k in worker._CACHE if k[0] == "lipsync"]) == 1
    assert run_cli("lipsync", inputs / "long.wav", "-o", tmp_path / "cli.json") == 0
    assert (tmp_path / "cli.json").read_bytes() == (tmp_path / "long.json").read_bytes()


def test_animate_and_dub_jobs_share_one_lipsync_model_per_worker(inputs, tmp_path, monkeypatch):
    from talkies.runtime import lipsync, speech_motion

    opened = []

    class CountedLipSync(lipsync.LipSync):
        def __init__(self, *args, **kwargs):
            opened.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(lipsync, "LipSync", CountedLipSync)
    monkeypatch.setattr(speech_motion, "LipSync", CountedLipSync)
    jobs = read_jobs(_csv(inputs, [{"command": "animate", "input": "face.jpg", "audio": "one.wav", "output": "a.mp4"},
                                   {"command": "animate", "input": "face.jpg", "audio": "long.wav",
                                    "output": "b.mp4"},
                                   {"command": "dub", "input": "face.jpg", "audio": "one.wav", "output": "c.mp4"}],
                          "animate.csv"), tmp_path)
    worker._CACHE.clear()
    records = [worker.run_job(job) for job in jobs]
    assert [r.status for r in records] == ["ok", "ok", "ok"], [r.error for r in records]
    assert [k for k in worker._CACHE if k[0] == "animate-lipsync"] == [("animate-lipsync",)]
    assert len(opened) == 1  # the dub job lip-syncs with the animate jobs' task
    assert media.video_info(tmp_path / "b.mp4").duration == pytest.approx(1.5, abs=0.1)


def test_resume_skips_verified_outputs_and_redoes_changed_ones(inputs, tmp_path):
    rows = [{"command": "lipsync", "input": "one.wav", "output": "one.json", "format": "arkit"},
            {"command": "lipsync", "input": "long.wav", "output": "long.json", "format": "arkit"},
            {"command": "lipsync", "input": "one.wav", "output": "three.json", "format": "visemes"}]
    jobs = _csv(inputs, rows, "resume.csv")
    first = run_batch(jobs, tmp_path, workers=1)
    assert [r.status for r in first.records] == ["ok"] * 3
    again = run_batch(jobs, tmp_path, workers=1)
    assert [r.status for r in again.records] == ["skipped"] * 3
    assert _digests(again) == _digests(first)

    (tmp_path / "one.json").write_text("{}")  # a changed output
    (tmp_path / "long.json").unlink()  # a lost one
    rows[2]["format"] = "arkit"  # a changed job
    third = run_batch(_csv(inputs, rows, "resume.csv"), tmp_path, workers=1)
    assert [r.status for r in third.records] == ["ok", "ok", "ok"]
    assert _digests(third)["one.json"] == _digests(first)["one.json"]
    assert _digests(third)["three.json"] != _digests(first)["three.json"]
    assert [r.status for r in run_batch(jobs, tmp_path, workers=1, resume=False).records] == ["ok"] * 3


def _six_jobs(inputs: Path) -> Path:
    return _csv(inputs, [
        {"command": "lipsync", "input": "one.wav", "output": "c/one.json"},
        {"command": "lipsync", "input": "long.wav", "output": "c/long.csv", "format": "livelink", "expression": "happy"},
        {"command": "track", "input": "face.jpg", "output": "t/face.json"},
        {"command": "track", "input": "face.jpg", "output": "t/face.csv", "format": "livelink"},
        {"command": "animate", "input": "face.jpg", "output": "v/face.mp4", "audio": "one.wav"},
        {"command": "dub", "input": "face.jpg", "output": "v/dub.mp4", "audio": "one.wav", "no_watermark": "true"},
    ], "six.csv")


def test_the_pool_and_a_local_ray_cluster_give_the_same_outputs(inputs, tmp_path):
    import ray  # the dev extra brings it; `pip install talkies[ray]` for users
    jobs = _six_jobs(inputs)
    pool = run_batch(jobs, tmp_path / "pool", workers=2)
    assert [r.status for r in pool.records] == ["ok"] * 6, [r.error for r in pool.records]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_batch(jobs, tmp_path / "ray", ray="auto")
    finally:
        ray.shutdown()
    assert [r.status for r in on_ray.records] == ["ok"] * 6, [r.error for r in on_ray.records]
    assert _digests(on_ray) == _digests(pool)
