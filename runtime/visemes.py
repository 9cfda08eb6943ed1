"""Phones to mouths: espeak-ng IPA → OVR viseme, viseme → ARKit mouth pose, and per-frame labels from
timed phones. Shared by text-to-speech (phone timings drive the mouth) and lip-sync training labels.

- :data:`IPA_VISEMES`: espeak-ng IPA phoneme symbols -> OVR viseme. espeak reports phonemes such as
  ``ˈaɪ`` or ``ˌl̩ː``; :func:`ipa_to_visemes` strips stress, length, tie and diacritic marks and
  glottal onsets, then splits the rest into table symbols (affricates like ``tʃ`` first). A diphthong
  gives two visemes; the caller splits the phoneme's duration evenly among them.
- :data:`VISEME_POSES`: OVR viseme -> target weights of the 18 :data:`ARKIT_MOUTH` blend-shapes.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from talkies.runtime.blendshapes import VISEME_NAMES

HOP = 160  # samples per label frame at 16 kHz: 100 frames/s

VISEMES: tuple[str, ...] = VISEME_NAMES
VISEME_INDEX = {v: i for i, v in enumerate(VISEMES)}

ARKIT_MOUTH: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper",
)

# ---- espeak-ng IPA symbol -> viseme (ONE table; covers every symbol the training voices emit) -------
IPA_VISEMES: dict[str, str] = {
    "": "sil", "_": "sil",  # pause events have an empty name
    # bilabials (lips closed or nearly so)
    "p": "PP", "b": "PP", "m": "PP", "ɓ": "PP", "β": "PP", "ɸ": "PP",
    # labiodentals
    "f": "FF", "v": "FF", "ʋ": "FF", "ɱ": "FF",
    # dentals
    "θ": "TH", "ð": "TH",
    # alveolar / retroflex stops and taps
    "t": "DD", "d": "DD", "ɾ": "DD", "ʈ": "DD", "ɖ": "DD", "ɽ": "DD",
    # velar, uvular, palatal, glottal
    "k": "kk", "ɡ": "kk", "g": "kk", "q": "kk", "x": "kk", "ɣ": "kk", "χ": "kk", "ʁ": "kk", "c": "kk",
    "ɟ": "kk", "ç": "kk", "ʝ": "kk", "ɠ": "kk", "h": "kk", "ɦ": "kk", "ħ": "kk", "ʕ": "kk", "ɰ": "kk",
    # post-alveolar and alveolo-palatal fricatives and affricates
    "tʃ": "CH", "dʒ": "CH", "ʃ": "CH", "ʒ": "CH", "ɕ": "CH", "ʑ": "CH", "tɕ": "CH", "dʑ": "CH",
    "ʂ": "CH", "ʐ": "CH", "tʂ": "CH", "dʐ": "CH", "ɧ": "CH",
    # sibilants
    "s": "SS", "z": "SS", "ts": "SS", "dz": "SS",
    # nasals and laterals
    "n": "nn", "l": "nn", "ɫ": "nn", "ɲ": "nn", "ŋ": "nn", "ʎ": "nn", "ɳ": "nn", "ɭ": "nn", "ɴ": "nn", "ɬ": "nn", "ɮ": "nn",
    "ɺ": "nn",
    # rhotics and r-coloured vowels
    "r": "RR", "ɹ": "RR", "ɻ": "RR", "ʀ": "RR", "ɚ": "RR", "ɝ": "RR", "ɜ": "RR",
    # glides
    "j": "ih", "w": "ou", "ɥ": "ou", "ʍ": "ou",
    # open and central vowels (schwa included, as CMU AH)
    "a": "aa", "ɑ": "aa", "ɒ": "aa", "æ": "aa", "ʌ": "aa", "ə": "aa", "ɐ": "aa", "ɶ": "aa", "ä": "aa",
    # front mid vowels
    "e": "E", "ɛ": "E", "ε": "E",
    # close unrounded vowels
    "i": "ih", "ɪ": "ih", "ɨ": "ih", "ᵻ": "ih", "ɯ": "ih", "ɘ": "ih", "ɤ": "ih",
    # mid rounded vowels
    "o": "oh", "ɔ": "oh", "ɵ": "oh", "ø": "oh", "œ": "oh", "ɞ": "oh",
    # close rounded vowels
    "u": "ou", "ʊ": "ou", "y": "ou", "ʏ": "ou", "ʉ": "ou",
    # ligatures (Kokoro's vocabulary) and espeak mnemonics some voices leak into their IPA output
    "ʧ": "CH", "ʤ": "CH", "ʦ": "SS", "ʣ": "SS", "S": "CH", "Z": "CH", "A": "aa", "Φ": "PP",
}

# marks dropped before lookup: stress, length, syllabic/non-syllabic/nasal/dental/voiceless... marks,
# palatalisation, glottal onsets ("ʔ", "?") and espeak's "-" (syllable link)
_DROP = set("ˈˌːˑʲʷˠˤʰ-‿ʔ?ᵝ") | {"\u0361", "\u035c"}
# ASCII marks some espeak voices leave in their IPA: tone numbers (Cantonese, Mandarin pinyin), syllable and
# length marks, and the mnemonic suffixes of dental/retroflex/unreleased sounds. None shapes the mouth.
_DROP |= set("0123456789.:\"#[`")

_MAX_KEY = max(len(k) for k in IPA_VISEMES)


def is_language_switch(name: str) -> bool:
    """espeak emits ``(en)``-style markers when a word switches language: they are not phonemes. Long
    ones are cut to espeak's 8-byte event name (``(en-us-n``), so the opening bracket is what counts."""
    return name.startswith("(")


def ipa_symbols(name: str) -> list[str]:
    """Split an espeak IPA phoneme name into :data:`IPA_VISEMES` keys; raise KeyError if one is unknown."""
    chars = [c for c in unicodedata.normalize("NFD", name)
             if c not in _DROP and unicodedata.category(c) != "Mn"]
    text = "".join(chars)
    out, i = [], 0
    while i < len(text):
        for n in range(min(_MAX_KEY, len(text) - i), 0, -1):
            if text[i:i + n] in IPA_VISEMES:
                out.append(text[i:i + n])
                i += n
                break
        else:
            raise KeyError(f"phoneme {name!r}: no viseme for {text[i]!r} (U+{ord(text[i]):04X})")
    if not out:
        out.append("")  # a bare pause or glottal stop
    return out


def ipa_to_visemes(name: str) -> list[str]:
    """Visemes for one espeak phoneme (2+ for diphthongs), consecutive repeats merged."""
    out: list[str] = []
    for sym in ipa_symbols(name):
        v = IPA_VISEMES[sym]
        if not out or out[-1] != v:
            out.append(v)
    return out


# ---- viseme -> ARKit mouth pose (targets for the blend-shape head; smoothed over time in data.py) ----
# Hand-set from the ARKit shape descriptions: jaw opening by vowel height, lips pressed for PP, lower lip
# rolled in for FF, funnel/pucker for rounded sounds, smile/stretch for spread ones. Left/right equal.
_POSE_SPEC: dict[str, dict[str, float]] = {
    "sil": {"jawOpen": 0.02},
    "PP": {"jawOpen": 0.05, "mouthClose": 0.3, "mouthPress": 0.5, "mouthRollLower": 0.25, "mouthRollUpper": 0.2,
           "mouthShrugLower": 0.2},
    "FF": {"jawOpen": 0.1, "mouthRollLower": 0.6, "mouthUpperUp": 0.25, "mouthShrugUpper": 0.2},
    "TH": {"jawOpen": 0.2, "mouthLowerDown": 0.2, "mouthUpperUp": 0.1, "mouthStretch": 0.1},
    "DD": {"jawOpen": 0.2, "mouthStretch": 0.15, "mouthLowerDown": 0.15, "mouthUpperUp": 0.1},
    "kk": {"jawOpen": 0.25, "mouthStretch": 0.15, "mouthLowerDown": 0.1},
    "CH": {"jawOpen": 0.15, "mouthFunnel": 0.45, "mouthPucker": 0.2, "mouthUpperUp": 0.3, "mouthLowerDown": 0.3,
           "mouthShrugUpper": 0.2},
    "SS": {"jawOpen": 0.08, "mouthSmile": 0.3, "mouthStretch": 0.3, "mouthUpperUp": 0.2, "mouthLowerDown": 0.2},
    "nn": {"jawOpen": 0.18, "mouthStretch": 0.1, "mouthLowerDown": 0.1},
    "RR": {"jawOpen": 0.2, "mouthFunnel": 0.35, "mouthPucker": 0.3},
    "aa": {"jawOpen": 0.65, "mouthLowerDown": 0.35, "mouthUpperUp": 0.15, "mouthStretch": 0.1},
    "E": {"jawOpen": 0.4, "mouthSmile": 0.25, "mouthStretch": 0.35, "mouthLowerDown": 0.3, "mouthUpperUp": 0.2},
    "ih": {"jawOpen": 0.22, "mouthSmile": 0.4, "mouthStretch": 0.35, "mouthUpperUp": 0.15, "mouthLowerDown": 0.2},
    "oh": {"jawOpen": 0.45, "mouthFunnel": 0.55, "mouthPucker": 0.3, "mouthLowerDown": 0.15},
    "ou": {"jawOpen": 0.15, "mouthPucker": 0.75, "mouthFunnel": 0.4, "mouthShrugUpper": 0.1},
}


def _pose_table() -> np.ndarray:
    table = np.zeros((len(VISEMES), len(ARKIT_MOUTH)), np.float32)
    for vi, v in enumerate(VISEMES):
        for key, w in _POSE_SPEC[v].items():
            names = [key] if key in ARKIT_MOUTH else [key + "Left", key + "Right"]
            for n in names:
                table[vi, ARKIT_MOUTH.index(n)] = w
    return table


VISEME_POSES: np.ndarray = _pose_table()  # (15, 18) float32


def frame_labels(events: list[tuple[int, str]], n_samples: int, hop: int = HOP) -> np.ndarray:
    """Viseme per frame (frame i at sample hop*i) from (start sample, IPA phoneme) events.

    A phoneme lasts until the next event; a diphthong's duration is split evenly among its visemes;
    before the first event and at pauses the label is ``sil``.
    """
    n_frames = n_samples // hop
    labels = np.zeros(n_frames, np.uint8)  # sil
    starts = [s for s, _ in events] + [n_samples]
    for k, (start, name) in enumerate(events):
        end = max(start, starts[k + 1])
        vis = ipa_to_visemes(name)
        bounds = np.linspace(start, end, len(vis) + 1)
        for j, v in enumerate(vis):
            a = int(np.ceil(bounds[j] / hop))
            b = int(np.ceil(bounds[j + 1] / hop))
            labels[a:min(b, n_frames)] = VISEME_INDEX[v]
    return labels


def pose_targets(labels: np.ndarray, smooth_frames: int = 5) -> np.ndarray:
    """ARKit mouth targets (T, 18) for viseme labels (..., T): the pose table, smoothed with a Hann window.

    Smoothing over ±`smooth_frames` frames stands in for coarticulation (mouths move continuously).
    """
    poses = VISEME_POSES[labels.astype(np.int64)]  # (..., T, 18)
    if smooth_frames <= 0:
        return poses
    w = np.hanning(2 * smooth_frames + 3)[1:-1].astype(np.float32)
    w /= w.sum()
    pad = [(0, 0)] * (poses.ndim - 2) + [(smooth_frames, smooth_frames), (0, 0)]
    padded = np.pad(poses, pad, mode="edge")
    out = np.zeros_like(poses)
    T = poses.shape[-2]
    for k, wk in enumerate(w):
        out += wk * padded[..., k:k + T, :]
    return out
