"""Lip-sync model family: raw 16 kHz audio -> 15 OVR visemes + 18 ARKit mouth/jaw weights at 100 fps.

Modules: `espeak` (ctypes TTS with phoneme events), `festival` (Festival voices with phone timings,
a subprocess), `phonemes` (IPA/radio/CMU -> viseme tables, viseme -> ARKit pose table), `data`
(training-data generator: espeak + festival), `augment`, `model` (torch), `train`,
`evaluate` (numpy only). Importing this package does not import torch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "lipsync.npz"


def weights_source(path: str | Path = DEFAULT_WEIGHTS) -> str:
    """The `source` a bundle built from these weights records: it names their sha256, so a bundle built
    from other weights is told apart (runtime.bundle.locate_bundle passes it over)."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "missing"
    return f"talkies.models.lipsync ({path.name} sha256 {digest})"
