"""Speech plus phone timings from Festival voices built from human recordings (a subprocess).

The Debian/Ubuntu packages bring the `festival` program and US English voices: two diphone voices
concatenated from one male speaker's recorded diphones each (``kal_diphone``, ``ked_diphone``) and an
HTS voice trained on a female speaker's recordings (``cmu_us_slt_arctic_hts``). :func:`synthesize_many`
runs one ``festival -b`` process for many requests (start-up is paid once) and returns, per request, the
PCM with one event per phone segment (start sample, IPA name through :data:`phonemes.RADIO_IPA`), the
same :class:`espeak.Speech` that :func:`espeak.synthesize` returns. Output is deterministic.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkies.errors import InputError, MissingDependencyError

from .espeak import PhonemeEvent, Speech
from .phonemes import RADIO_IPA

# voice -> the apt package that brings it
VOICES: dict[str, str] = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}
APT_PACKAGES: tuple[str, ...] = ("festival", *VOICES.values())
INSTALL_COMMAND = "apt-get install -y --no-install-recommends " + " ".join(APT_PACKAGES)
DIPHONE_VOICES = frozenset({"kal_diphone", "ked_diphone"})
_MARK = "@@talkies"


@dataclass(frozen=True)
class Request:
    """One utterance: `stretch` scales durations (>1 slower, every voice); `f0_mean`/`f0_std` (Hz) set the pitch
    targets of the diphone voices (None keeps the voice's own; the HTS voice has its own pitch model)."""

    text: str
    voice: str = "kal_diphone"
    stretch: float = 1.0
    f0_mean: float | None = None
    f0_std: float | None = None


def _executable() -> str:
    exe = shutil.which("festival")
    if exe is None:
        raise MissingDependencyError(f"festival is not installed; install it with: {INSTALL_COMMAND} "
                                     "(or run `make festival`)")
    return exe


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(requests: list[Request], outdir: Path) -> str:
    lines = []
    order = sorted(range(len(requests)), key=lambda i: requests[i].voice)  # one voice switch per voice
    voice = None
    for i in order:
        r = requests[i]
        if r.voice != voice:
            voice = r.voice
            lines.append(f"(voice_{voice})")
            lines.append("(set! talkies-lr int_lr_params)")
            if voice not in DIPHONE_VOICES:
                lines.append("(set! talkies-hts hts_engine_params)")
        lr = "talkies-lr"
        if r.f0_mean is not None or r.f0_std is not None:
            lr = (f"(list (list 'target_f0_mean {r.f0_mean or 105.0:.2f}) (list 'target_f0_std {r.f0_std or 14.0:.2f}) "
                  "(assoc 'model_f0_mean talkies-lr) (assoc 'model_f0_std talkies-lr))")
        wav = outdir / f"{i}.wav"
        lines.append(f"(set! int_lr_params {lr})")
        if voice in DIPHONE_VOICES:
            lines.append(f"(Parameter.set 'Duration_Stretch {r.stretch:.4f})")
        else:  # HTS ignores Duration_Stretch; its engine takes a speaking rate
            lines.append(f"(set! hts_engine_params (append talkies-hts '((\"-r\" {1.0 / r.stretch:.4f}))))")
        lines.append(f"(set! u (Utterance Text {_quote(r.text)}))")
        lines.append("(utt.synth u)")
        lines.append(f"(utt.save.wave u {_quote(str(wav))} 'riff)")
        lines.append(f"(mapcar (lambda (s) (format t \"{_MARK} {i} %s %f\\n\" (item.name s) (item.feat s 'end))) "
                     "(utt.relation.items u 'Segment))")
    return "\n".join(lines) + "\n"


def _run(script: str, workdir: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run a Scheme script with `festival -b` (the script is written into `workdir`)."""
    exe = _executable()
    path = workdir / "script.scm"
    path.write_text(script, encoding="utf-8")
    return subprocess.run([exe, "-b", str(path)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LC_ALL": "C"})


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"festival wrote an unexpected wav format: {path}")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16), w.getframerate()


def synthesize_many(requests: list[Request], *, timeout: float = 600.0) -> list[Speech]:
    """Synthesize every request in one festival process; one :class:`Speech` per request, in order."""
    for r in requests:
        if r.voice not in VOICES:
            raise InputError(f"unknown festival voice {r.voice!r}; use one of {', '.join(VOICES)}")
        if not r.text.strip():
            raise InputError("text to synthesize is empty; pass some words")
        if not 0.3 <= r.stretch <= 3.0:
            raise InputError(f"duration stretch {r.stretch} is out of range; use 0.3-3.0")
    if not requests:
        return []
    with tempfile.TemporaryDirectory(prefix="talkies-festival-") as tmp:
        outdir = Path(tmp)
        proc = _run(_script(requests, outdir), outdir, timeout)
        segments: dict[int, list[tuple[str, float]]] = {i: [] for i in range(len(requests))}
        for line in proc.stdout.splitlines():
            if line.startswith(_MARK + " "):
                _, idx, name, end = line.split()
                segments[int(idx)].append((name, float(end)))
        out = []
        for i, r in enumerate(requests):
            wav = outdir / f"{i}.wav"
            if not wav.exists() or not segments[i]:
                missing = "unbound variable" in proc.stderr + proc.stdout and f"voice_{r.voice}" in proc.stderr + proc.stdout
                if missing:
                    raise MissingDependencyError(f"festival voice {r.voice} is not installed; install it with: "
                                                 f"apt-get install -y {VOICES[r.voice]}")
                raise RuntimeError(f"festival failed on {r.text!r} ({r.voice}): {(proc.stderr or proc.stdout)[-500:]}")
            pcm, sr = _read_wav(wav)
            out.append(Speech(pcm=pcm, sample_rate=sr, phonemes=_events(segments[i], sr, len(pcm))))
    return out


def _events(segments: list[tuple[str, float]], sr: int, n: int) -> list[PhonemeEvent]:
    events, start = [], 0
    for name, end in segments:
        if name not in RADIO_IPA:
            raise RuntimeError(f"festival phone {name!r} has no entry in phonemes.RADIO_IPA")
        events.append(PhonemeEvent(phoneme=RADIO_IPA[name], sample=min(start, n), time=min(start, n) / sr,
                                   text_position=0))
        start = int(round(end * sr))
    return events


def synthesize(text: str, *, voice: str = "kal_diphone", stretch: float = 1.0, f0_mean: float | None = None,
               f0_std: float | None = None) -> Speech:
    """Speak `text` with a festival voice; PCM (int16, the voice's rate) and phone events (IPA names)."""
    return synthesize_many([Request(text, voice, stretch, f0_mean, f0_std)])[0]


def phone_set(voice: str = "kal_diphone") -> list[str]:
    """The phones of `voice`'s phone set, as festival defines them."""
    script = (f"(voice_{voice})\n(mapcar (lambda (p) (format t \"{_MARK} %s\\n\" (car p))) "
              "(car (cdr (assoc 'phones (PhoneSet.description)))))\n")
    with tempfile.TemporaryDirectory(prefix="talkies-festival-") as tmp:
        proc = _run(script, Path(tmp), timeout=60)
    return [line.split()[1] for line in proc.stdout.splitlines() if line.startswith(_MARK + " ")]


__all__ = ["APT_PACKAGES", "INSTALL_COMMAND", "VOICES", "Request", "phone_set", "synthesize", "synthesize_many"]
