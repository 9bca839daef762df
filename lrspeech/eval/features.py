"""Spectral features shared by the evaluators: STFT power, Slaney mel filters, mel-cepstra.

Usage: python -c "from lrspeech.eval.features import log_mel; print(log_mel([1.0] * 800, 8000))"

Written with numpy/scipy so that the metrics do not depend on librosa (slow to import, and
its first call compiles for seconds). The filters and the centred STFT follow librosa's
defaults (Slaney mel scale and area normalization, periodic Hann window, zero padding),
so DNSMOS's P.808 model receives the features it was trained on.
"""

import math
from functools import lru_cache
from typing import Optional

import numpy as np
from scipy.fft import dct
from scipy.signal import get_window


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


@lru_cache(maxsize=16)
def mel_filterbank(
    sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: Optional[float] = None
) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters with Slaney area normalization."""
    fmax = sr / 2.0 if fmax is None else fmax
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def stft_power(x: np.ndarray, n_fft: int, hop: int, win_length: Optional[int] = None) -> np.ndarray:
    """|STFT|^2 as (1 + n_fft // 2, frames); centred frames, zero padding, periodic Hann."""
    win_length = win_length or n_fft
    window = np.zeros(n_fft)
    offset = (n_fft - win_length) // 2
    window[offset : offset + win_length] = get_window("hann", win_length, fftbins=True)
    padded = np.pad(np.asarray(x, dtype=np.float64), n_fft // 2, mode="constant")
    n_frames = 1 + max(0, len(padded) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    return (np.abs(np.fft.rfft(padded[idx] * window, n=n_fft, axis=1)) ** 2).T


def mel_power(
    x: np.ndarray, sr: int, n_fft: int, hop: int, n_mels: int, win_length: Optional[int] = None
) -> np.ndarray:
    """Mel power spectrogram (n_mels, frames)."""
    return mel_filterbank(sr, n_fft, n_mels) @ stft_power(x, n_fft, hop, win_length)


def log_mel(
    x: np.ndarray,
    sr: int,
    n_mels: int = 80,
    frame_s: float = 0.025,
    hop_s: float = 0.010,
    floor: float = 1e-10,
) -> np.ndarray:
    """Natural-log mel power spectrogram (n_mels, frames), for plots and mel-cepstra."""
    win = int(round(frame_s * sr))
    n_fft = 1 << (win - 1).bit_length()
    hop = max(1, int(round(hop_s * sr)))
    return np.log(np.maximum(mel_power(x, sr, n_fft, hop, n_mels, win), floor))


def mel_cepstrum(log_mel_power: np.ndarray, n_coeffs: int = 24) -> np.ndarray:
    """Mel-cepstra c1..c_n (frames, n_coeffs) of a natural-log mel *power* spectrogram.

    The cosine series log|X(w)| = c0 + 2 sum_k c_k cos(k w) of the log *amplitude* fixes the
    scale: c_k = (1 / M) sum_m log|X_m| cos(pi k (m + 1/2) / M) over M mel bands, i.e. the
    unnormalized DCT-II of log|X| divided by 2M. That is the scale the MCD formula's
    10 / ln 10 * sqrt(2 sum diff^2) expects (it turns cepstral distance into dB). c0 (energy)
    is dropped.
    """
    n_mels = log_mel_power.shape[0]
    if not 0 < n_coeffs < n_mels:
        raise ValueError(f"n_coeffs must be in 1..{n_mels - 1} for {n_mels} mel bands")
    log_amp = 0.5 * log_mel_power
    c = dct(log_amp, type=2, axis=0, norm=None) / (2.0 * n_mels)
    return c[1 : n_coeffs + 1].T
