"""Lip-sync model: front end vs NumPy, streaming geometry, size, weights I/O, training smoke, evaluation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from talkies.errors import InputError
from talkies.models.lipsync import evaluate as E
from talkies.runtime.visemes import VISEME_INDEX, VISEMES

torch = pytest.importorskip("torch")

from talkies.models.lipsync import model as M  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return M.LipSyncNet().eval()


# ---- front end ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["noise", "chirp", "quiet"])
def test_conv_stft_log_mel_matches_numpy_rfft(net, kind):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    audio = {"noise": 0.1 * rng.standard_normal(16000),
             "chirp": 0.5 * np.sin(2 * np.pi * (100 + 3000 * t) * t),
             "quiet": 1e-4 * rng.standard_normal(16000)}[kind].astype(np.float32)
    ref = M.log_mel_reference(audio)
    with torch.no_grad():
        out = net.frontend(torch.from_numpy(audio)[None])[0].numpy()
    assert out.shape == ref.shape == (M.N_MELS, 100)
    np.testing.assert_allclose(out, ref, atol=2e-3, rtol=0)


def test_mel_filterbank_partitions_the_band():
    fb = M.mel_filterbank()
    assert fb.shape == (M.N_MELS, M.N_FFT // 2 + 1) and fb.min() >= 0
    assert np.all(fb.sum(axis=1) > 0)
    freqs = np.linspace(0, 8000, M.N_FFT // 2 + 1)
    centres = freqs[fb.argmax(axis=1)]
    assert np.all(np.diff(centres) >= 0) and centres[0] < 150 and centres[-1] > 7000


# ---- outputs and streaming geometry --------------------------------------------------------------------

def test_outputs_shapes_and_ranges(net):
    x = M.dummy_input(0.5, batch=2)
    with torch.no_grad():
        vis, pose = net(x)
    T = x.shape[1] // M.HOP
    assert vis.shape == (2, T, 15) and pose.shape == (2, T, 18)
    np.testing.assert_allclose(vis.sum(-1).numpy(), 1.0, atol=1e-5)
    assert 0 <= pose.min() and pose.max() <= 1


def test_receptive_field_and_lookahead_are_exact(net):
    assert M.LOOKAHEAD_SAMPLES <= 0.060 * M.SAMPLE_RATE
    assert M.RECEPTIVE_FIELD_LEFT >= 0.5 * M.SAMPLE_RATE
    x = 0.1 * torch.randn(1, 400 * M.HOP, generator=torch.Generator().manual_seed(1))
    t0 = 200
    with torch.no_grad():
        base = net(x)[0][0]
        after = x.clone()
        after[0, t0 * M.HOP + M.LOOKAHEAD_SAMPLES:] += 0.5
        changed = (net(after)[0][0] - base).abs().sum(-1) > 0
        assert not changed[:t0 + 1].any() and changed[t0 + 1]
        before = x.clone()
        before[0, :t0 * M.HOP - M.RECEPTIVE_FIELD_LEFT] += 0.5
        changed = (net(before)[0][0] - base).abs().sum(-1) > 0
        assert not changed[t0:].any() and changed[t0 - 1]


def test_windowed_streaming_matches_whole_clip(net):
    """Frames computed from windows with full left context and lookahead equal the whole-clip frames."""
    x = 0.1 * torch.randn(1, 300 * M.HOP, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = net(x)[0][0]
        left, right = M.LEFT_FRAMES + 2, M.LOOKAHEAD_FRAMES + 2  # +2: covers the STFT half-windows
        for start in (120, 180):
            window = x[:, (start - left) * M.HOP:(start + 50 + right) * M.HOP]
            part = net(window)[0][0][left:left + 50]
            np.testing.assert_allclose(part.numpy(), whole[start:start + 50].numpy(), atol=1e-5)


def test_size_budget(net):
    assert M.n_parameters(net) <= 500_000  # fp32 graph incl. fixed STFT/mel constants <= 2 MB
    assert M.n_parameters(net) * 4 <= 2 * 1024 * 1024


# ---- weights I/O --------------------------------------------------------------------------------------

def test_weights_roundtrip_without_pickle(net, tmp_path):
    path = tmp_path / "w.npz"
    M.save_weights(net, path, note="test")
    with np.load(path, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
        assert str(z["meta.note"]) == "test"
    loaded = M.load_model(path)
    x = M.dummy_input(0.2)
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(x)[0].numpy(), net(x)[0].numpy())


def test_load_rejects_foreign_weights(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, foo=np.zeros(3, np.float32))
    with pytest.raises(InputError, match="LipSyncNet"):
        M.load_model(path)


def test_shipped_weights_load_and_say_sil_on_silence():
    path = M.default_weights_path()
    if not path.exists():
        pytest.skip("no shipped weights yet")
    model = M.load_model(path)
    with torch.no_grad():
        vis, pose = model(torch.zeros(1, 16000))
    assert (vis[0].argmax(-1) == VISEME_INDEX["sil"]).float().mean() > 0.9
    assert pose[0, :, 0].mean() < 0.2  # jaw nearly closed


# ---- training smoke (well under 2 minutes) ------------------------------------------------------------

def test_training_smoke(tmp_path):
    from talkies.models.lipsync.train import train

    out = tmp_path / "smoke.npz"
    result = train(steps=120, out=out, seed=0, utterances=60, batch_size=8, crop_seconds=1.5, lr=3e-3,
                   eval_every=60, validate=E.DEFAULT_DATA.exists(), cache_dir=tmp_path / "cache")
    assert out.exists() and out.with_suffix(".history.json").exists()
    hist = result["history"]
    assert [h["step"] for h in hist] == [60, 120]
    assert result["loss"] < result["first_loss"] - 0.3  # it learns
    M.load_model(out)
    if E.DEFAULT_DATA.exists():
        assert 0 <= hist[-1]["coarse_accuracy"] <= 1


def test_class_weights_raise_only_closure_and_open():
    from talkies.models.lipsync.train import class_weights

    w = class_weights(2.0, 1.5)
    assert w[VISEME_INDEX["PP"]] == 2.0 and w[VISEME_INDEX["aa"]] == 1.5
    assert np.all(np.delete(w, [VISEME_INDEX["PP"], VISEME_INDEX["aa"]]) == 1.0)
    assert np.all(np.delete(class_weights(2.0), VISEME_INDEX["PP"]) == 1.0)


# ---- evaluation metrics on hand-made cases --------------------------------------------------------------

def _one_hot(names: list[str]) -> np.ndarray:
    return np.eye(15, dtype=np.float32)[[VISEME_INDEX[n] for n in names]]


PHONES = [E.Phone("SIL", 0.00, 0.10), E.Phone("M", 0.10, 0.05), E.Phone("AA", 0.15, 0.10),
          E.Phone("HH", 0.25, 0.05), E.Phone("UW", 0.30, 0.10), E.Phone("S", 0.40, 0.05), E.Phone("IY", 0.45, 0.05)]


def _perfect(n: int = 50) -> list[str]:
    t = np.arange(n) / 100
    out = []
    for ti in t:
        p = next(p for p in PHONES if p.begin - 1e-9 <= ti < p.end - 1e-9)
        out.append(p.viseme or "kk")
    return out


def test_metrics_perfect_prediction():
    m = E.score([(_one_hot(_perfect()), PHONES)])
    assert m.coarse_accuracy == m.viseme_accuracy == m.silence_accuracy == 1.0
    assert m.closure_recall == m.open_recall == m.round_recall == 1.0
    assert (m.closure_segments, m.open_segments, m.round_segments) == (1, 1, 1)
    # boundary frames (t == a boundary) and HH frames are left out
    targets = E.frame_targets(PHONES, 50)
    assert targets[10] == -1 and targets[15] == -1 and np.all(targets[25:30] == -1)
    assert targets[12] == VISEME_INDEX["PP"]


def test_metrics_coarse_classes_and_misses():
    pred = _perfect()
    pred[30:40] = ["E"] * 10  # UW predicted as a spread vowel: round miss, coarse wrong (9 kept frames)
    pred[10:15] = ["sil"] * 5  # M predicted as silence: coarse right (closed), closure missed (4 kept)
    m = E.score([(_one_hot(pred), PHONES)])
    assert m.round_recall == 0.0 and m.closure_recall == 0.0 and m.open_recall == 1.0
    kept = E.frame_targets(PHONES, 50) >= 0
    assert m.frames == kept.sum()
    assert m.coarse_accuracy == pytest.approx((m.frames - 9) / m.frames)
    assert m.viseme_accuracy == pytest.approx((m.frames - 13) / m.frames)


def test_round_recall_counts_rounded_vowels_not_the_glide_w():
    phones = [E.Phone("SIL", 0.0, 0.1), E.Phone("W", 0.1, 0.1), E.Phone("AO", 0.2, 0.1), E.Phone("SIL", 0.3, 0.2)]
    pred = ["sil"] * 10 + ["ih"] * 10 + ["oh"] * 10 + ["sil"] * 20  # W missed, AO hit
    m = E.score([(_one_hot(pred), phones)])
    assert (m.round_recall, m.round_segments) == (1.0, 1)


def test_closure_tolerance_is_30_ms():
    phones = [E.Phone("SIL", 0.0, 0.2), E.Phone("B", 0.2, 0.04), E.Phone("AE", 0.24, 0.2)]
    for frame, hit in ((17, True), (16, False), (27, True), (28, False)):
        pred = ["aa"] * 45
        pred[frame] = "PP"
        assert E.score([(_one_hot(pred), phones)]).closure_recall == (1.0 if hit else 0.0), frame


def test_alignment_loading_and_bad_input(tmp_path):
    js = tmp_path / "x.phone.json"
    js.write_text(json.dumps({"w": [{"t": "bob", "w": [{"b": 0.1, "d": 0.05, "t": "B"},
                                                        {"b": 0.15, "d": 0.1, "t": "AA"}]}]}))
    assert E.load_alignment(js) == [E.Phone("B", 0.1, 0.05), E.Phone("AA", 0.15, 0.1)]
    js.write_text(json.dumps({"w": [{"t": "x", "w": [{"b": 0, "d": 0.1, "t": "QQ"}]}]}))
    with pytest.raises(InputError, match="QQ"):
        E.load_alignment(js)
    with pytest.raises(InputError, match="frames"):
        E.score([(np.zeros((10, 4)), PHONES)])
    with pytest.raises(InputError, match="no \\*.phone.json"):
        E.load_dataset(tmp_path / "empty")


def test_sphinx_transcription_is_read(tmp_path):
    listing = tmp_path / "set.transcription"
    listing.write_text("<s> ten of clubs  </s> (001)\n\n<s> five  five </s> (002)\n")
    assert E.read_transcription(listing) == {"001": "ten of clubs", "002": "five five"}
    listing.write_text("ten of clubs\n")
    with pytest.raises(InputError, match="line 1"):
        E.read_transcription(listing)
    listing.write_text("<s> ten </s> (009)\n")
    with pytest.raises(InputError, match="009.wav is missing"):
        E.load_dataset(tmp_path)


@pytest.mark.skipif(not E.SECOND_SPEAKER.exists(), reason="validation speech not present")
def test_second_speaker_set_is_aligned_on_load():
    items = E.load_dataset(E.SECOND_SPEAKER)
    assert [name for name, _, _ in items] == ["001", "002", "003", "004", "005"]
    name, audio, phones = items[0]  # "ten of clubs"
    spoken = [p.phone for p in phones if p.phone != "SIL"]
    assert spoken == ["T", "EH", "N", "AH", "V", "K", "L", "AH", "B", "Z"]
    assert all(b.begin >= a.begin for a, b in zip(phones, phones[1:]))
    assert phones[-1].end <= len(audio) / E.SAMPLE_RATE + 0.02


@pytest.mark.skipif(not E.DEFAULT_DATA.exists(), reason="validation speech not present")
def test_evaluate_cli_scores_each_set(tmp_path, capsys):
    import shutil

    js = sorted(E.DEFAULT_DATA.glob("*.phone.json"))[0]
    shutil.copy(js, tmp_path / js.name)
    shutil.copy(js.with_name(js.name.replace(".phone.json", ".wav")), tmp_path)
    from talkies.cli import main

    assert main(["evaluate", "lipsync", "--data", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [str(tmp_path)]
    baseline = E.evaluate(E.loudness_baseline, tmp_path).as_dict()
    assert report[str(tmp_path)]["loudness baseline"] == baseline
    assert report[str(tmp_path)]["model"]["frames"] == baseline["frames"] > 100


def test_loudness_baseline():
    audio = np.zeros(16000, np.float32)
    audio[8000:12000] = 0.5 * np.sin(np.arange(4000) * 0.2)
    pred = E.loudness_baseline(audio).argmax(1)
    assert pred.shape == (100,)
    assert np.all(pred[:45] == VISEME_INDEX["sil"]) and np.all(pred[55:70] == VISEME_INDEX["aa"])


def test_synthetic_coarse_accuracy_scores_against_the_generator_labels(tmp_path):
    from talkies.models.lipsync.data import build_corpus

    kwargs = {"seed": 5, "festival_fraction": 0.5, "cache_dir": tmp_path}
    pcm, labels = build_corpus(8, **kwargs)
    pieces = iter(range(0, len(labels), 300))

    def oracle(audio):  # the generator's own labels, piece by piece
        start = next(pieces)
        assert np.array_equal(audio, pcm[start * 160:start * 160 + len(audio)] / np.float32(32768))
        return np.eye(15, dtype=np.float32)[labels[start:start + len(audio) // 160]]

    assert E.synthetic_coarse_accuracy(oracle, 8, piece_seconds=3.0, **kwargs) == 1.0
    baseline = E.synthetic_coarse_accuracy(E.loudness_baseline, 8, augmented=True, **kwargs)
    assert 0.2 < baseline < 0.7  # the loudness baseline gets closed frames and some open ones


@pytest.mark.skipif(not E.DEFAULT_DATA.exists(), reason="validation speech not present")
def test_baseline_on_real_speech_is_weak():
    m = E.evaluate(E.loudness_baseline)
    assert m.frames > 1500 and m.closure_segments >= 20
    assert m.coarse_accuracy < 0.6 and m.closure_recall < 0.5


def test_evaluate_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None; "
            "import talkies.models.lipsync.evaluate as e; import talkies.models.lipsync.phonemes; print(e.FPS)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "100"


# ---- export ---------------------------------------------------------------------------------------------

def test_onnx_export_dynamo_matches_torch(net, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = M.dummy_input(0.3)
    path = tmp_path / "lipsync.onnx"
    torch.onnx.export(net, (x,), str(path), dynamo=True, external_data=False,
                      input_names=[M.INPUT_NAME], output_names=list(M.OUTPUT_NAMES))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {M.INPUT_NAME: x.numpy()})
    with torch.no_grad():
        ref = net(x)
    for o, r in zip(outs, ref):
        np.testing.assert_allclose(o, r.numpy(), atol=1e-5)
    assert path.stat().st_size < 2 * 1024 * 1024
    import onnx

    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert not ops & {"DFT", "STFT", "GRU", "LSTM", "RNN", "Loop", "Scan"}
