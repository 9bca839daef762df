"""Tests of lrspeech.eval.dnsmos: real speech ranks above white noise; features as DNSMOS's."""

import numpy as np
import pytest

from lrspeech.data.audio import load_audio
from lrspeech.eval.dnsmos import KEYS, Dnsmos, p808_features, windows

pytest.importorskip("onnxruntime")
pytest.importorskip("speechmos")


def test_real_speech_scores_above_white_noise(sw_rows):
    dnsmos = Dnsmos()
    x, sr = load_audio(sw_rows[0]["audio"])
    noise = np.clip(np.random.default_rng(0).standard_normal(len(x)) * 0.1, -1, 1).astype(
        np.float32
    )
    speech, hiss = dnsmos(x, sr), dnsmos(noise, sr)
    assert set(speech) == set(KEYS)
    assert speech["dnsmos_ovrl"] > 2.5 and hiss["dnsmos_ovrl"] < 1.6
    assert speech["dnsmos_ovrl"] > hiss["dnsmos_ovrl"] + 1.0
    assert speech["dnsmos_sig"] > hiss["dnsmos_sig"]


def test_windows_loop_short_clips():
    x = np.arange(3 * 16000, dtype=np.float32)
    segs = windows(x)
    # 3 s is doubled to 6 s then 12 s: floor(12) - 9.01 -> 3 windows one second apart
    assert len(segs) == 3 and all(len(s) == int(9.01 * 16000) for s in segs)
    assert segs[1][0] == 16000


def test_p808_features_match_librosa():
    librosa = pytest.importorskip("librosa")
    seg = np.random.default_rng(1).standard_normal(int(9.01 * 16000)).astype(np.float32) * 0.1
    mel = librosa.feature.melspectrogram(
        y=seg[:-160], sr=16000, n_fft=321, hop_length=160, n_mels=120
    )
    ref = ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T
    assert np.allclose(p808_features(seg)[0], ref, atol=1e-4)
