"""Training and evaluation phone sets -> the IPA symbols of :data:`talkies.runtime.visemes.IPA_VISEMES`
(espeak-ng's IPA -> viseme table and the viseme -> ARKit pose table live in the runtime, which TTS uses too).

- :data:`RADIO_IPA`: Festival's (and flite's) US English ("radio") phones -> IPA symbols of :data:`IPA_VISEMES`;
  :data:`ITALIAN_IPA`, :data:`FINNISH_IPA`, :data:`CZECH_IPA`, :data:`CATALAN_IPA`, :data:`RUSSIAN_IPA` the same for the phone
  sets of Festival's Italian, Finnish, Czech and Catalan voices and of the Russian voice's recordings.
- :data:`CMU_VISEMES`: CMU/ARPAbet phones (pocketsphinx alignments) -> OVR viseme, for evaluation.
- :data:`COARSE_CLASSES`: the 5 coarse mouth classes used in evaluation.

Pure Python + numpy; no torch.
"""

from __future__ import annotations

import numpy as np

from talkies.runtime.visemes import VISEMES

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

