"""Tests of lrspeech.eval.reference: MCD with DTW, F0 errors, STOI, PESQ on real speech."""

import logging
import sys

import numpy as np
import pytest

from lrspeech.data.audio import load_audio
from lrspeech.eval.reference import (
    RefConfig,
    ReferenceScorer,
    dtw_path,
    f0_errors,
    warp_to_reference,
)


@pytest.fixture(scope="module")
def clips(sw_rows):
    return [load_audio(r["audio"]) for r in sw_rows[:2]]


def test_dtw_matches_brute_force():
    cost = np.random.default_rng(1).random((25, 33))
    acc = np.full((26, 34), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, 26):
        for j in range(1, 34):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    pi, pj = dtw_path(cost)
    assert cost[pi, pj].sum() == pytest.approx(acc[25, 33])
    assert (pi[0], pj[0], pi[-1], pj[-1]) == (0, 0, 24, 32)
    assert np.all(np.diff(pi) >= 0) and np.all(np.diff(pj) >= 0)


def test_mcd_of_a_file_with_itself_is_zero_and_of_another_is_larger(clips):
    scorer = ReferenceScorer()
    (a, sr), (b, _) = clips
    same, other = scorer(a, sr, a, sr), scorer(b, sr, a, sr)
    assert same["mcd"] == pytest.approx(0.0, abs=1e-9)
    assert other["mcd"] > 2.0
    assert same["logf0_rmse"] == 0.0 and same["vuv_error"] == 0.0
    assert other["vuv_error"] > 0.1
    assert same["stoi"] == pytest.approx(1.0, abs=1e-3) and other["stoi"] < 0.7
    assert same["pesq"] > 4.4 and other["pesq"] < 2.0


def test_shifted_pitch_gives_its_log_f0_error(clips):
    (a, sr), _ = clips
    scorer = ReferenceScorer()
    # playing the clip 10% slower lowers F0 by a factor 1.1 (and DTW absorbs the timing)
    from scipy.signal import resample

    slow = resample(a, int(len(a) * 1.1)).astype(np.float32)
    out = scorer(slow, sr, a, sr)
    assert out["logf0_rmse"] == pytest.approx(np.log(1.1), abs=0.04)


def test_f0_errors_hand_computed():
    ref = np.array([0.0, 100.0, 100.0, 200.0])
    syn = np.array([0.0, 0.0, 100.0 * np.e, 200.0])
    path = np.arange(4)
    out = f0_errors(syn, ref, path, path)
    assert out["vuv_error"] == 0.25
    assert out["logf0_rmse"] == pytest.approx(np.sqrt(1 / 2))


def test_warp_identity_path_reconstructs_the_signal():
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    hop = 80
    frames = np.arange(1 + len(x) // hop)
    y = warp_to_reference(x, len(x), frames, frames, hop)
    assert np.allclose(y, x, atol=1e-5)


def test_missing_extras_are_skipped_with_a_message(monkeypatch, caplog, clips):
    monkeypatch.setitem(sys.modules, "pesq", None)
    monkeypatch.setitem(sys.modules, "pyworld", None)
    caplog.set_level(logging.WARNING)
    scorer = ReferenceScorer()
    assert scorer.metrics == ["mcd", "stoi"]
    text = caplog.text
    assert "PESQ skipped: the package pesq is not installed" in text
    assert "log-F0 RMSE and V/UV error skipped: the package pyworld" in text
    assert "pip install 'lrspeech[eval]'" in text
    (a, sr), _ = clips
    assert set(scorer(a, sr, a, sr)) == {"mcd", "stoi"}


def test_too_short_clip_is_rejected():
    with pytest.raises(ValueError, match="clip is shorter than 0.020 s after trimming"):
        ReferenceScorer(RefConfig(trim_db=None))(np.zeros(10), 16000, np.zeros(16000), 16000)
