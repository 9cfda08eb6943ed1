"""Waveform augmentation toward real recordings (numpy/scipy, per example, seeded by the caller's rng).

Applied to 16 kHz float32 crops of synthetic speech, each with its own probability:
room reverb (synthetic exponentially-decaying impulse responses, with a direct path so labels keep
their timing), EQ (random peaking filters and spectral tilt), band-limiting (high-pass and low-pass as
in phones, codecs and old recordings), interfering speech ("babble") and coloured noise at varied SNR,
gain, clipping and coarse quantisation. Speed/formant (vocal-tract length) perturbation happens at
generation time in :mod:`.data` (resampling), where the labels are rescaled with the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AugmentConfig:
    p_reverb: float = 0.5
    rt60: tuple[float, float] = (0.08, 0.8)
    p_eq: float = 0.6
    p_band: float = 0.5
    p_noise: float = 0.7
    snr_db: tuple[float, float] = (0.0, 40.0)
    p_babble: float = 0.2
    babble_snr_db: tuple[float, float] = (8.0, 25.0)
    gain_db: tuple[float, float] = (-30.0, 6.0)
    p_clip: float = 0.05
    p_quantize: float = 0.05
    p_clean: float = 0.0  # share of crops left clean (gain only): studio recordings are clean too


def room_impulse(rng: np.random.Generator, rt60: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    n = max(int(rt60 * 1.2 * sr), 32)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    onset = int(rng.uniform(0.002, 0.02) * sr)  # early reflections start after the direct path
    tail[:onset] = 0.0
    h = tail * rng.uniform(0.2, 1.0) / (np.sqrt(np.sum(tail ** 2)) + 1e-9)
    h[0] = 1.0
    return h


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float) -> np.ndarray:
    from scipy.signal import fftconvolve

    y = fftconvolve(x, room_impulse(rng, rt60))[:len(x)]
    return y * (np.std(x) / (np.std(y) + 1e-9))


def _peaking(f0: float, gain_db: float, q: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """RBJ peaking-EQ biquad as an sos row."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b0, b1, b2 = 1 + alpha * a, -2 * np.cos(w), 1 - alpha * a
    a0, a1, a2 = 1 + alpha / a, -2 * np.cos(w), 1 - alpha / a
    return np.array([b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0])


def equalize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import sosfilt

    sos = [_peaking(float(np.exp(rng.uniform(np.log(100), np.log(6000)))), float(rng.uniform(-12, 12)),
                    float(rng.uniform(0.5, 3.0))) for _ in range(int(rng.integers(1, 4)))]
    y = sosfilt(np.stack(sos), x)
    if rng.random() < 0.5:  # spectral tilt: one-pole pre-emphasis or de-emphasis
        c = rng.uniform(-0.7, 0.7)
        y = np.concatenate([y[:1], y[1:] - c * y[:-1]])
    return y


def band_limit(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    y = x
    if rng.random() < 0.7:
        y = sosfilt(butter(4, rng.uniform(2800, 7600), "lowpass", fs=SAMPLE_RATE, output="sos"), y)
    if rng.random() < 0.6:
        y = sosfilt(butter(2, rng.uniform(60, 400), "highpass", fs=SAMPLE_RATE, output="sos"), y)
    return y


def colored_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise with a 1/f^alpha power spectrum, alpha in [-0.5, 2] (blue-ish to brown), unit variance."""
    alpha = rng.uniform(-0.5, 2.0)
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / f ** (alpha / 2), n)
    return y / (np.std(y) + 1e-12)


def _active_power(x: np.ndarray) -> float:
    frames = x[:len(x) // 160 * 160].reshape(-1, 160)
    e = np.mean(frames ** 2, axis=1) if len(frames) else np.array([np.mean(x ** 2)])
    active = e[e > 0.05 * e.max()] if e.max() > 0 else e
    return float(np.mean(active)) + 1e-12


def _random_gain(y: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """`y` peak-normalised, then at a random gain in `cfg.gain_db`."""
    return y / (np.max(np.abs(y)) + 1e-9) * 10 ** (rng.uniform(*cfg.gain_db) / 20)


def augment(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig(),
            babble: np.ndarray | None = None) -> np.ndarray:
    """Augment one float32 crop. `babble` (same length), when given, is other speech to mix in."""
    y = np.asarray(x, np.float64)
    if cfg.p_clean > 0 and rng.random() < cfg.p_clean:  # drawn only when asked: default runs replay exactly
        return np.clip(_random_gain(y, rng, cfg), -1, 1).astype(np.float32)
    if rng.random() < cfg.p_reverb:
        y = reverb(y, rng, float(rng.uniform(*cfg.rt60)))
    if rng.random() < cfg.p_eq:
        y = equalize(y, rng)
    power = _active_power(y)
    if babble is not None and rng.random() < cfg.p_babble:
        b = np.asarray(babble, np.float64)
        snr = rng.uniform(*cfg.babble_snr_db)
        y = y + b * np.sqrt(power / _active_power(b) / 10 ** (snr / 10))
    if rng.random() < cfg.p_noise:
        snr = rng.uniform(*cfg.snr_db)
        y = y + colored_noise(rng, len(y)) * np.sqrt(power / 10 ** (snr / 10))
    if rng.random() < cfg.p_band:
        y = band_limit(y, rng)
    y = _random_gain(y, rng, cfg)
    if rng.random() < cfg.p_clip:
        y = np.clip(y * rng.uniform(1.5, 4.0), -1, 1)
    if rng.random() < cfg.p_quantize:
        levels = 2 ** int(rng.integers(6, 10))
        y = np.round(y * levels) / levels
    return np.clip(y, -1, 1).astype(np.float32)
