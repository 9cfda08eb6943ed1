"""`--backend auto` (issue 24): the choice is measured once per machine and versions, cached in
$TALKIES_HOME, redone when stale; explicit choices win; a bundle outside its accuracy budget is never
picked; `talkies doctor` shows the figures."""

from __future__ import annotations

import json

import pytest

from talkies.cli import main
from talkies.runtime import autoselect as A


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKIES_HOME", str(tmp_path))
    return tmp_path


def _count_measurements(monkeypatch) -> list:
    calls = []
    real = A._measure_bundles

    def counting(*args, **kwargs):
        calls.append(args[:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "_measure_bundles", counting)
    return calls


def test_measured_once_then_cached(home, monkeypatch):
    calls = _count_measurements(monkeypatch)
    first = A.select("lipsync")
    assert (first.backend, first.precision) == ("onnx", "fp32") and calls == [("lipsync", "onnx", "fp32")]
    again = A.select("lipsync")
    assert calls == [("lipsync", "onnx", "fp32")] and again.measured == first.measured
    cached = json.loads((home / A.CACHE_FILE).read_text())["lipsync"]
    assert cached["key"]["machine"] == A.machine_key() and cached["candidates"][0]["latency_ms"] > 0


def test_a_stale_cache_is_redone(home, monkeypatch):
    A.select("lipsync")
    data = json.loads((home / A.CACHE_FILE).read_text())
    data["lipsync"]["key"]["machine"]["onnxruntime"] = "0.0.1"  # measured with other versions
    (home / A.CACHE_FILE).write_text(json.dumps(data))
    calls = _count_measurements(monkeypatch)
    A.select("lipsync")
    assert calls == [("lipsync", "onnx", "fp32")]
    assert json.loads((home / A.CACHE_FILE).read_text())["lipsync"]["key"]["machine"] == A.machine_key()


def test_explicit_choices_win_and_the_budget_is_kept():
    fast_but_wrong = A.Candidate("openvino", "int8", latency_ms=1.0, error=3.0, eligible=False, note="too far")
    slow = A.Candidate("onnx", "fp32", latency_ms=9.0)
    int8 = A.Candidate("onnx", "int8", latency_ms=4.0, error=0.2)
    assert A._pick([fast_but_wrong, slow, int8], None, None) is int8
    assert A._pick([fast_but_wrong, slow, int8], None, "fp32") is slow
    assert A._pick([fast_but_wrong, slow], "openvino", None) is None
    chosen = A.select("lipsync", "openvino", "int8")
    assert (chosen.backend, chosen.precision, chosen.candidates) == ("openvino", "int8", [])


def test_doctor_prints_the_choice_and_its_figures(home, capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "lipsync: onnx fp32" in out and "viseme_disagreement" in out and "ms" in out
    assert "face:" in out
