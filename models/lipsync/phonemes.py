"""Phoneme -> viseme tables and the viseme -> ARKit mouth pose table (the one place they live).

- :data:`IPA_VISEMES`: espeak-ng IPA phoneme symbols -> OVR viseme. espeak reports phonemes such as
  ``ˈaɪ`` or ``ˌl̩ː``; :func:`ipa_to_visemes` strips stress, length, tie and diacritic marks and
  glottal onsets, then splits the rest into table symbols (affricates like ``tʃ`` first). A diphthong
  gives two visemes; the caller splits the phoneme's duration evenly among them.
- :data:`RADIO_IPA`: Festival's (and flite's) US English ("radio") phones -> IPA symbols of :data:`IPA_VISEMES`;
  :data:`ITALIAN_IPA`, :data:`FINNISH_IPA`, :data:`CZECH_IPA`, :data:`CATALAN_IPA`, :data:`RUSSIAN_IPA` the same for the phone
  sets of Festival's Italian, Finnish, Czech and Catalan voices and of the Russian voice's recordings.
- :data:`CMU_VISEMES`: CMU/ARPAbet phones (pocketsphinx alignments) -> OVR viseme, for evaluation.
- :data:`VISEME_POSES`: OVR viseme -> target weights of the 18 :data:`ARKIT_MOUTH` blend-shapes.
- :data:`COARSE_CLASSES`: the 5 coarse mouth classes used in evaluation.

Pure Python + numpy; no torch.
"""

from __future__ import annotations

import unicodedata

import numpy as np

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
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
}

# marks dropped before lookup: stress, length, syllabic/non-syllabic/nasal/dental/voiceless... marks,
# palatalisation, glottal onsets ("ʔ", "?") and espeak's "-" (syllable link)
_DROP = set("ˈˌːˑʲʷˠˤʰ-‿ʔ?") | {"\u0361", "\u035c"}

_MAX_KEY = max(len(k) for k in IPA_VISEMES)


def is_language_switch(name: str) -> bool:
    """espeak emits ``(en)``-style markers when a word switches language: they are not phonemes."""
    return name.startswith("(") and name.endswith(")")


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


# ---- Festival "radio" phone set (US English voices) -> IPA, then IPA_VISEMES as for espeak -------------
# Diphthongs are written as two symbols so that they are split in time like espeak's. Pauses, the
# utterance edge (h#) and breaths are silence.
RADIO_IPA: dict[str, str] = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ",
    "b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "dx": "ɾ", "eh": "ɛ", "el": "l", "em": "m", "en": "n",
    "er": "ɝ", "ey": "eɪ", "f": "f", "g": "ɡ", "hh": "h", "hv": "ɦ", "ih": "ɪ", "iy": "i", "jh": "dʒ",
    "k": "k", "l": "l", "m": "m", "n": "n", "nx": "n", "ng": "ŋ", "ow": "oʊ", "oy": "ɔɪ", "p": "p",
    "r": "ɹ", "s": "s", "sh": "ʃ", "t": "t", "th": "θ", "uh": "ʊ", "uw": "u", "v": "v", "w": "w",
    "y": "j", "z": "z", "zh": "ʒ", "pau": "", "h#": "", "brth": "",
}


# ---- Festival's non-English phone sets (voices built from human recordings) -> IPA -----------------------
# One table per phone set, written from each set's articulatory features (vowel height/front/round,
# consonant type/place/voicing in `PhoneSet.description`). Length (":") and stress ("1") variants are
# the same mouth shape; pauses ("#", "##", "_", "pau") are silence (Czech "_" is a glottal stop between
# words: no mouth shape of its own).
_IT_VOWELS = {"i": "i", "e": "e", "E": "ɛ", "a": "a", "o": "o", "O": "ɔ", "u": "u"}
ITALIAN_IPA: dict[str, str] = {  # phone set "italian": pc_diphone, lp_diphone
    **_IT_VOWELS, **{v + "1": ipa for v, ipa in _IT_VOWELS.items()},
    "j": "j", "w": "w", "p": "p", "t": "t", "k": "k", "b": "b", "d": "d", "g": "ɡ", "f": "f", "s": "s",
    "S": "ʃ", "v": "v", "z": "z", "Z": "ʒ", "ts": "ts", "tS": "tʃ", "dz": "dz", "dZ": "dʒ", "m": "m",
    "n": "n", "J": "ɲ", "ng": "ŋ", "nf": "ɱ", "l": "l", "L": "ʎ", "r": "r", "#": "",
}
_FI_SHORT = {
    "a": "ɑ", "e": "e", "i": "i", "o": "o", "u": "u", "y": "y", "@": "æ", "7": "ø", "&": "ə",
    "p": "p", "t": "t", "k": "k", "b": "b", "d": "d", "g": "ɡ", "f": "f", "T": "θ", "D": "ð", "s": "s",
    "z": "z", "S": "ʃ", "Z": "ʒ", "h": "h", "v": "ʋ", "m": "m", "n": "n", "N": "ŋ", "l": "l", "L": "l",
    "r": "r", "j": "j", "w": "w",
}
FINNISH_IPA: dict[str, str] = {  # phone set "finnish" (Suopuhe): hy_fi_mv_diphone, suo_fi_lj_diphone
    **_FI_SHORT, **{p + ":": ipa for p, ipa in _FI_SHORT.items()}, "#": "", "##": "",
}
CZECH_IPA: dict[str, str] = {  # phone set "czech": czech_dita, czech_machac
    "a": "a", "a:": "a", "e": "ɛ", "e:": "ɛ", "i": "ɪ", "i:": "i", "o": "o", "o:": "o", "u": "u", "u:": "u",
    "b": "b", "c": "ts", "c~": "tʃ", "ch": "x", "d": "d", "d~": "ɟ", "dz": "dz", "dz~": "dʒ", "f": "f",
    "g": "ɡ", "h": "ɦ", "j": "j", "k": "k", "l": "l", "m": "m", "n": "n", "n*": "ŋ", "n~": "ɲ", "p": "p",
    "r": "r", "r~": "r̝", "r~*": "r̝̊", "s": "s", "s~": "ʃ", "t": "t", "t~": "c", "v": "v", "z": "z",
    "z~": "ʒ", "#": "", "_": "",
}
_RU_PAIRS = {  # hard consonant -> IPA; the doubled name is its soft (palatalised) twin
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "ɡ", "f": "f", "v": "v", "s": "s", "z": "z",
    "h": "x", "m": "m", "n": "n", "l": "ɫ", "r": "r",
}
RUSSIAN_IPA: dict[str, str] = {  # phone set "msu_ru" (msu_ru_nsh_clunits); reduced vowels by its comments
    "ii": "i", "yy": "ɨ", "uu": "u", "ee": "ɛ", "oo": "o", "aa": "a", "a": "ɐ", "e": "ɪ", "i": "ɪ", "y": "ɨ",
    "u": "ʊ", "ae": "ə", "ay": "ɪ", "ur": "ʊ",
    **_RU_PAIRS, **{c + c: ("lʲ" if c == "l" else ipa + "ʲ") for c, ipa in _RU_PAIRS.items()},
    "c": "ts", "ch": "tɕ", "sh": "ʂ", "sch": "ɕː", "zh": "ʐ", "j": "j", "pau": "",
}
_CA_VOWELS = {"a": "a", "e": "e", "E": "ɛ", "i": "i", "o": "o", "O": "ɔ", "u": "u"}
CATALAN_IPA: dict[str, str] = {  # phone set "upc_catalan-central": upc_ca_ona_hts
    **_CA_VOWELS, **{v + "1": ipa for v, ipa in _CA_VOWELS.items()}, "ax": "ə", "j": "j", "w": "w",
    "p": "p", "t": "t", "k": "k", "b": "b", "d": "d", "g": "ɡ", "f": "f", "s": "s", "z": "z", "S": "ʃ",
    "Z": "ʒ", "m": "m", "n": "n", "J": "ɲ", "l": "l", "L": "ʎ", "r": "ɾ", "rr": "r",
    "pau": "", "_": "", "#": "",
}


# ---- CMU / ARPAbet phone -> viseme (evaluation on pocketsphinx alignments) ----------------------------
# HH is None: /h/ has no mouth shape of its own (the lips already take the next vowel's shape), so its
# frames are left out of evaluation rather than forced into a class.
CMU_VISEMES: dict[str, str | None] = {
    "SIL": "sil", "+SPN+": None, "+NSN+": None,
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "nn", "HH": None,
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "Y": "ih", "W": "ou",
    "AA": "aa", "AE": "aa", "AH": "aa", "AW": "aa", "AY": "aa",
    "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih",
    "AO": "oh", "OW": "oh", "OY": "oh",
    "UH": "ou", "UW": "ou",
}

COARSE_NAMES: tuple[str, ...] = ("closed", "open", "spread", "round", "other")
COARSE_CLASSES: dict[str, str] = {
    "sil": "closed", "PP": "closed", "aa": "open", "E": "spread", "ih": "spread", "oh": "round", "ou": "round",
}
VISEME_TO_COARSE = np.array([COARSE_NAMES.index(COARSE_CLASSES.get(v, "other")) for v in VISEMES], np.int64)

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
