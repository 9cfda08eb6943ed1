"""Lip-sync model family: raw 16 kHz audio -> 15 OVR visemes + 18 ARKit mouth/jaw weights at 100 fps.

Modules: `espeak` (ctypes TTS with phoneme events), `phonemes` (IPA/CMU -> viseme tables, viseme ->
ARKit pose table), `data` (espeak training-data generator), `augment`, `model` (torch), `train`,
`evaluate` (numpy only). Importing this package does not import torch.
"""
