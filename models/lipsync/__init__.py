"""Lip-sync model family: raw 16 kHz audio -> 15 OVR visemes + 18 ARKit mouth/jaw weights at 100 fps.

Modules: `festival` and `flite` (voices built from human recordings, with phone timings, a subprocess),
`recorded` (your own labelled recordings), `phonemes` (radio/CMU/Festival phone sets -> IPA and visemes),
`data` (training-data generator: espeak-ng from the runtime + Festival + flite), `augment`, `model`
(torch), `streaming`, `train`, `evaluate` (numpy only). Importing this package does not import torch.
"""

from __future__ import annotations

from talkies.runtime.bundle import shipped_lipsync_weights

DEFAULT_WEIGHTS = shipped_lipsync_weights()
