"""Tests of lrspeech.eval.attention: WCR, ADR, focus rate, word spans."""

import numpy as np
import pytest

from lrspeech.eval.attention import (
    adr,
    attention_scores,
    default_band,
    focus_rate,
    select_head,
    wcr,
    word_spans,
)


def diagonal(frames: int, tokens: int) -> np.ndarray:
    """Clean monotonic alignment: each frame attends to the token under it."""
    a = np.zeros((frames, tokens))
    a[np.arange(frames), (np.arange(frames) * tokens) // frames] = 1.0
    return a


def test_word_spans_from_space_separated_tokens():
    toks = "h a <space> b i <space> c <sos/eos>".split()
    assert word_spans(toks) == [(0, 2), (3, 5), (6, 7)]
    assert word_spans(toks, keep_separators=False) == [(0, 2), (2, 4), (4, 5)]
    assert word_spans(["<space>", "a", "<space>", "<space>"]) == [(1, 2)]


def test_clean_diagonal_has_full_coverage_and_diagonal_ratio():
    a = diagonal(60, 12)
    spans = word_spans("a b <space> c d e <space> f g <space> h i j".split(), keep_separators=False)
    assert wcr(a, spans) == 1.0
    assert adr(a) == pytest.approx(1.0)
    assert focus_rate(a) == 1.0


def test_skipped_word_lowers_wcr():
    spans = [(0, 2), (2, 4), (4, 6)]
    a = diagonal(60, 6)
    assert wcr(a, spans) == 1.0
    # frames 20-39 (tokens 2 and 3, the second word) look at token 4 instead: word skipped
    a[20:40] = 0.0
    a[20:40, 4] = 1.0
    assert wcr(a, spans) == 0.0
    # a word heard only faintly (peak 0.3) gives WCR 0.3
    a[20:40, 4] = 0.7
    a[20:40, 3] = 0.3
    assert wcr(a, spans) == pytest.approx(0.3)


def test_soft_attention_wcr_is_weakest_word_peak():
    a = np.full((4, 3), 0.1)
    a[:, 0] = [0.8, 0.8, 0.1, 0.1]
    a[:, 1] = [0.1, 0.1, 0.5, 0.1]
    a[:, 2] = 1 - a[:, 0] - a[:, 1]
    assert wcr(a, [(0, 1), (1, 2), (2, 3)]) == pytest.approx(0.5)


def test_stalled_attention_has_low_adr():
    a = np.zeros((100, 10))
    a[:, 0] = 1.0  # never moves past the first token
    assert adr(a) < 0.2
    assert adr(a, band=1000) == 1.0


def test_band_default_and_manual():
    assert default_band(100, 10) == 10.0
    assert default_band(100, 50) == 10.0
    assert default_band(20, 2) == 10.0  # one token is 10 frames wide
    a = diagonal(100, 10)
    assert adr(a, band=0.1) < adr(a, band=5.0) == 1.0


def test_select_head_picks_most_focused():
    sharp = diagonal(20, 5)
    flat = np.full((20, 5), 0.2)
    stacked = np.stack([np.stack([flat, flat]), np.stack([flat, sharp])])
    assert np.array_equal(select_head(stacked), sharp)


def test_attention_scores_checks_columns():
    toks = "a b <space> c <sos/eos>".split()
    s = attention_scores(diagonal(50, 5), toks)
    assert s["wcr"] == 1.0 and s["adr"] == pytest.approx(1.0) and s["focus_rate"] == 1.0
    with pytest.raises(ValueError, match="4 tokens but the attention has 5 columns"):
        attention_scores(diagonal(50, 5), toks[:4])


def test_bad_inputs_have_clear_messages():
    with pytest.raises(ValueError, match="non-empty \\(frames, tokens\\) matrix"):
        adr(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="at least one word span"):
        wcr(np.eye(3), [])
    with pytest.raises(ValueError, match="outside the 3 attention columns"):
        wcr(np.eye(3), [(2, 5)])
