"""Speech plus phone timings from flite's voices built from human recordings (a subprocess per utterance).

Debian's `flite` package brings CMU's small synthesizer with clustergen voices trained on CMU ARCTIC
recordings; two of them are speakers that no Festival voice here has: ``cmu_us_awb`` (Scottish English
male) and ``cmu_us_rms`` (US English male). ``flite -psdur`` prints each phone segment with its end time
(``name:end``, seconds), which become :class:`~talkies.runtime.speech.PhonemeEvent` s through :data:`phonemes.RADIO_IPA`
(flite's US phone set is Festival's "radio" set), exactly as :mod:`.festival` does. Requests are
:class:`festival.Request` s; output is deterministic.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from talkies.runtime.speech import Speech
from .festival import Request, read_wav, check_requests, executable, segment_events

# voice -> the apt package that brings it
VOICES: dict[str, str] = {"cmu_us_awb": "flite", "cmu_us_rms": "flite"}
PITCH_VOICES = frozenset({"cmu_us_awb"})  # rms keeps its own pitch whatever int_f0_target_mean says
APT_PACKAGES: tuple[str, ...] = ("flite",)
INSTALL_COMMAND = "apt-get install -y --no-install-recommends " + " ".join(APT_PACKAGES)


def _command(exe: str, r: Request, wav: Path) -> list[str]:
    cmd = [exe, "-voice", r.voice.removeprefix("cmu_us_"), "-psdur", "--setf", f"duration_stretch={r.stretch:.4f}"]
    if r.voice in PITCH_VOICES and r.f0_mean is not None:
        cmd += ["--setf", f"int_f0_target_mean={r.f0_mean:.2f}"]
    if r.voice in PITCH_VOICES and r.f0_std is not None:
        cmd += ["--setf", f"int_f0_target_stddev={r.f0_std:.2f}"]
    # "-t": the text is never taken for a file name; a leading "-" would still be read as an option
    return cmd + ["-t", " " + r.text, "-o", str(wav)]


def synthesize_many(requests: list[Request], *, timeout: float = 60.0) -> list[Speech]:
    """Synthesize every request (one flite process each: start-up is a few ms); one Speech per request."""
    check_requests(requests, VOICES, "flite")
    if not requests:
        return []
    exe = executable("flite", INSTALL_COMMAND)
    out = []
    with tempfile.TemporaryDirectory(prefix="talkies-flite-") as tmp:
        for i, r in enumerate(requests):
            wav = Path(tmp) / f"{i}.wav"
            proc = subprocess.run(_command(exe, r, wav), capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "LC_ALL": "C"})
            segments = [(name, float(end)) for name, _, end in
                        (item.rpartition(":") for item in proc.stdout.split()) if name]
            if proc.returncode != 0 or not wav.exists() or not segments:
                raise RuntimeError(f"flite failed on {r.text!r} ({r.voice}): {(proc.stderr or proc.stdout)[-500:]}")
            pcm, sr = read_wav(wav)
            out.append(Speech(pcm=pcm, sample_rate=sr, phonemes=segment_events(segments, sr, len(pcm))))
    return out


def synthesize(text: str, *, voice: str = "cmu_us_awb", stretch: float = 1.0, f0_mean: float | None = None,
               f0_std: float | None = None) -> Speech:
    """Speak `text` with a flite voice; PCM (int16, 16 kHz) and phone events (IPA names)."""
    return synthesize_many([Request(text, voice, stretch, f0_mean, f0_std)])[0]


__all__ = ["APT_PACKAGES", "INSTALL_COMMAND", "VOICES", "synthesize", "synthesize_many"]
