"""Tests of lrspeech.eval.stats: mean with a t-distribution 95% CI."""

import math

import pytest

from lrspeech.eval.stats import summarize


def test_mean_and_ci_hand_computed():
    s = summarize({"a": 1.0, "b": 2.0, "c": 3.0})
    # sd = 1, sem = 1/sqrt(3), t(0.975, 2) = 4.302653
    assert s.mean == 2.0 and s.n == 3
    assert s.ci95 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert str(s) == "2.000 ± 2.484"


def test_single_value_and_missing_values():
    s = summarize({"a": 3.5, "b": None, "c": float("nan")})
    assert (s.mean, s.ci95, s.n) == (3.5, None, 1)
    empty = summarize({})
    assert (empty.mean, empty.n) == (None, 0) and str(empty) == "n/a"
    assert "values" not in s.to_dict(with_values=False)
