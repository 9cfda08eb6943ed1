"""Speech plus phone timings from Festival voices built from human recordings (a subprocess).

The Debian/Ubuntu packages bring the `festival` program and its voices (:data:`VOICE_INFO`): US English,
two diphone voices concatenated from one male speaker's recorded diphones each (``kal_diphone``,
``ked_diphone``) and an HTS voice trained on a female speaker's recordings (``cmu_us_slt_arctic_hts``);
Italian (``pc_diphone`` male, ``lp_diphone`` female), Finnish (``hy_fi_mv_diphone`` male,
``suo_fi_lj_diphone`` female), Czech (``czech_machac`` male, ``czech_dita`` female) diphone voices and a
Catalan HTS voice (``upc_ca_ona_hts``, female). :func:`synthesize_many` runs one ``festival -b`` process
for many requests (start-up is paid once) and returns, per request, the PCM with one event per phone
segment (start sample, IPA name through the voice's phone table, e.g. :data:`phonemes.RADIO_IPA`), the
same :class:`~talkies.runtime.speech.Speech` that :func:`talkies.runtime.espeak.synthesize` returns. Output is deterministic.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkies.errors import InputError, MissingDependencyError

from talkies.runtime.speech import PhonemeEvent, Speech
from .phonemes import CATALAN_IPA, CZECH_IPA, FINNISH_IPA, ITALIAN_IPA, RADIO_IPA


@dataclass(frozen=True)
class Voice:
    """A festival voice: its apt package, the language of the text it reads (a :mod:`.data` language code),
    its phone -> IPA table, its engine ("diphone": `Duration_Stretch`; "hts": the engine's rate), the text
    encoding its lexicon reads, and whether its pitch targets can be set (``int_lr_params``)."""

    package: str
    language: str = "en-us"
    phones: dict[str, str] = field(default_factory=lambda: RADIO_IPA)
    engine: str = "diphone"
    encoding: str = "ascii"
    pitch: bool = False


VOICE_INFO: dict[str, Voice] = {
    "kal_diphone": Voice("festvox-kallpc16k", pitch=True),
    "ked_diphone": Voice("festvox-kdlpc16k", pitch=True),
    "cmu_us_slt_arctic_hts": Voice("festvox-us-slt-hts", engine="hts"),
    "pc_diphone": Voice("festvox-itapc16k", "it", ITALIAN_IPA, encoding="latin-1"),
    "lp_diphone": Voice("festvox-italp16k", "it", ITALIAN_IPA, encoding="latin-1"),
    "hy_fi_mv_diphone": Voice("festvox-suopuhe-mv", "fi", FINNISH_IPA, encoding="latin-1"),
    "suo_fi_lj_diphone": Voice("festvox-suopuhe-lj", "fi", FINNISH_IPA, encoding="latin-1"),
    "czech_machac": Voice("festvox-czech-machac", "cs", CZECH_IPA, encoding="iso-8859-2"),
    "czech_dita": Voice("festvox-czech-dita", "cs", CZECH_IPA, encoding="iso-8859-2"),
    "upc_ca_ona_hts": Voice("festvox-ca-ona-hts", "ca", CATALAN_IPA, engine="hts", encoding="latin-1"),
}
# voice -> the apt package that brings it
VOICES: dict[str, str] = {name: v.package for name, v in VOICE_INFO.items()}
APT_PACKAGES: tuple[str, ...] = ("festival", *VOICES.values())
INSTALL_COMMAND = "apt-get install -y --no-install-recommends " + " ".join(APT_PACKAGES)
PITCH_VOICES = frozenset(name for name, v in VOICE_INFO.items() if v.pitch)
_MARK = "@@talkies"


def voice_info(voice: str) -> Voice:
    """The voice's description (a voice only named in :data:`VOICES` is taken as a US English diphone voice)."""
    return VOICE_INFO.get(voice) or Voice(VOICES[voice])


@dataclass(frozen=True)
class Request:
    """One utterance: `stretch` scales durations (>1 slower, every voice); `f0_mean`/`f0_std` (Hz) set the pitch
    targets of the :data:`PITCH_VOICES` (None keeps the voice's own; the others ignore them)."""

    text: str
    voice: str = "kal_diphone"
    stretch: float = 1.0
    f0_mean: float | None = None
    f0_std: float | None = None


def executable(program: str = "festival", install_command: str = INSTALL_COMMAND) -> str:
    """The program's path, or MissingDependencyError naming the command that installs it."""
    exe = shutil.which(program)
    if exe is None:
        raise MissingDependencyError(f"{program} is not installed; install it with: {install_command} "
                                     "(or run `make festival`)")
    return exe


def _quote(text: str, encoding: str = "ascii") -> str:
    """A Scheme string literal; the script is written as latin-1, so the text's bytes in the voice's
    `encoding` are carried as latin-1 characters (unencodable characters become spaces)."""
    def carried(c: str) -> str:
        try:
            return c.encode(encoding).decode("latin-1")
        except UnicodeEncodeError:
            return " "

    raw = "".join(carried(c) for c in text)
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(requests: list[Request], outdir: Path, indices: list[int] | None = None) -> str:
    """Scheme for requests[i], i in `indices` (default: all), each saving `outdir/{i}.wav` and printing its segments."""
    lines = []
    indices = range(len(requests)) if indices is None else indices
    order = sorted(indices, key=lambda i: requests[i].voice)  # one voice switch per voice
    voice = None
    for i in order:
        r = requests[i]
        info = voice_info(r.voice)
        if r.voice != voice:
            voice = r.voice
            lines.append(f"(voice_{voice})")
            if info.pitch:
                lines.append("(set! talkies-lr int_lr_params)")
            if info.engine == "hts":
                lines.append("(set! talkies-hts hts_engine_params)")
        if info.pitch:
            lr = "talkies-lr"
            if r.f0_mean is not None or r.f0_std is not None:
                lr = (f"(list (list 'target_f0_mean {r.f0_mean or 105.0:.2f}) (list 'target_f0_std {r.f0_std or 14.0:.2f}) "
                      "(assoc 'model_f0_mean talkies-lr) (assoc 'model_f0_std talkies-lr))")
            lines.append(f"(set! int_lr_params {lr})")
        wav = outdir / f"{i}.wav"
        if info.engine == "hts":  # HTS ignores Duration_Stretch; its engine takes a speaking rate
            lines.append(f"(set! hts_engine_params (append talkies-hts '((\"-r\" {1.0 / r.stretch:.4f}))))")
        else:
            lines.append(f"(Parameter.set 'Duration_Stretch {r.stretch:.4f})")
        # an error (some voices fail on rare phone sequences) loses this utterance only: unwind-protect
        # runs its second form on an error and the script goes on
        lines.append(f"(unwind-protect (begin (set! u (Utterance Text {_quote(r.text, info.encoding)}))")
        lines.append("(utt.synth u)")
        lines.append(f"(utt.save.wave u {_quote(str(wav))} 'riff)")
        lines.append(f"(mapcar (lambda (s) (format t \"{_MARK} {i} %s %f\\n\" (item.name s) (item.feat s 'end))) "
                     f"(utt.relation.items u 'Segment))) (format t \"{_MARK} {i} failed\\n\"))")
    return "\n".join(lines) + "\n"


def _run(script: str, workdir: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run a Scheme script with `festival -b` (the script is written into `workdir`)."""
    exe = executable()
    path = workdir / "script.scm"
    path.write_text(script, encoding="latin-1")  # texts are carried in their voice's encoding (_quote)
    return subprocess.run([exe, "-b", str(path)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LC_ALL": "C"})


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"festival wrote an unexpected wav format: {path}")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16), w.getframerate()


def check_requests(requests: list[Request], voices: dict[str, str], program: str) -> None:
    """Raise InputError for a request with an unknown voice, empty text or a stretch out of range."""
    for r in requests:
        if r.voice not in voices:
            raise InputError(f"unknown {program} voice {r.voice!r}; use one of {', '.join(voices)}")
        if not r.text.strip():
            raise InputError("text to synthesize is empty; pass some words")
        if not 0.3 <= r.stretch <= 3.0:
            raise InputError(f"duration stretch {r.stretch} is out of range; use 0.3-3.0")


def synthesize_many(requests: list[Request], *, timeout: float = 600.0, skip_failed: bool = False) -> list[Speech]:
    """Synthesize every request, one festival process per language (start-up is paid once per language:
    switching between voices of different languages in one process leaks state, e.g. a Finnish voice's
    phones reaching the Catalan one); one :class:`Speech` per request, in order. A request the voice fails
    on (a few voices stop on rare phone sequences) raises, or with `skip_failed` gives None."""
    check_requests(requests, VOICES, "festival")
    if not requests:
        return []
    with tempfile.TemporaryDirectory(prefix="talkies-festival-") as tmp:
        outdir = Path(tmp)
        segments: dict[int, list[tuple[str, float]]] = {i: [] for i in range(len(requests))}
        procs: dict[str, subprocess.CompletedProcess] = {}
        failed: set[int] = set()
        for lang in sorted({voice_info(r.voice).language for r in requests}):
            indices = [i for i, r in enumerate(requests) if voice_info(r.voice).language == lang]
            proc = procs[lang] = _run(_script(requests, outdir, indices), outdir, timeout)
            for line in proc.stdout.splitlines():
                if line.startswith(_MARK + " "):
                    _, idx, *rest = line.split()
                    if rest == ["failed"]:
                        failed.add(int(idx))
                    else:
                        segments[int(idx)].append((rest[0], float(rest[1])))
        out = []
        for i, r in enumerate(requests):
            proc = procs[voice_info(r.voice).language]
            wav = outdir / f"{i}.wav"
            if i in failed and skip_failed:
                out.append(None)
                continue
            if i in failed or not wav.exists() or not segments[i]:
                missing = "unbound variable" in proc.stderr + proc.stdout and f"voice_{r.voice}" in proc.stderr + proc.stdout
                if missing:
                    raise MissingDependencyError(f"festival voice {r.voice} is not installed; install it with: "
                                                 f"apt-get install -y {VOICES[r.voice]}")
                raise RuntimeError(f"festival failed on {r.text!r} ({r.voice}): {(proc.stderr or proc.stdout)[-500:]}")
            pcm, sr = read_wav(wav)
            out.append(Speech(pcm=pcm, sample_rate=sr,
                              phonemes=segment_events(segments[i], sr, len(pcm), voice_info(r.voice).phones)))
    return out


def segment_events(segments: list[tuple[str, float]], sr: int, n: int,
                   phones: dict[str, str] = RADIO_IPA) -> list[PhonemeEvent]:
    """One event per (phone, end time in s) segment, starting where the previous one ended; IPA by `phones`."""
    events, start = [], 0
    for name, end in segments:
        if name not in phones:
            raise RuntimeError(f"phone {name!r} has no entry in the voice's phone table (phonemes.py)")
        events.append(PhonemeEvent(phoneme=phones[name], sample=min(start, n), time=min(start, n) / sr,
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


__all__ = ["APT_PACKAGES", "INSTALL_COMMAND", "VOICES", "VOICE_INFO", "Request", "Voice", "phone_set",
           "segment_events", "synthesize", "synthesize_many", "voice_info"]
