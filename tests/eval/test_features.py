"""Tests of lrspeech.eval.features: mel filters, STFT, mel-cepstra."""

import numpy as np
import pytest

from lrspeech.eval.features import (
    hz_to_mel,
    log_mel,
    mel_cepstrum,
    mel_filterbank,
    mel_power,
    mel_to_hz,
)


def test_mel_scale_round_trip_and_anchor_points():
    f = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)
    assert hz_to_mel(np.array([1000.0]))[0] == pytest.approx(15.0)


def test_filterbank_matches_librosa_slaney():
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(16000, 321, 120)
    ref = librosa.filters.mel(sr=16000, n_fft=321, n_mels=120)
    assert ours.shape == ref.shape == (120, 161)
    assert np.allclose(ours, ref, atol=1e-6)


def test_mel_power_of_a_tone_peaks_at_its_band():
    sr = 16000
    t = np.arange(sr) / sr
    mel = mel_power(np.sin(2 * np.pi * 1000 * t), sr, 512, 160, 40)
    centres = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(8000.0), 42))[1:-1]
    assert abs(centres[int(np.argmax(mel[:, 50]))] - 1000) < 120
    assert mel.shape == (40, 101)


def test_mel_cepstrum_shape_and_scale():
    x = np.random.default_rng(0).standard_normal(16000)
    lm = log_mel(x, 16000, n_mels=40, hop_s=0.005)
    c = mel_cepstrum(lm, 24)
    assert c.shape == (lm.shape[1], 24)
    # a flat spectrum shifted by a constant gain only changes c0, which is dropped
    assert np.allclose(mel_cepstrum(lm + 3.0, 24), c)
    with pytest.raises(ValueError, match="n_coeffs must be in 1..39 for 40 mel bands"):
        mel_cepstrum(lm, 40)
