"""lrspeech.pipeline.align_scores: the threshold leaves the corpus' outliers out, and only them."""

import numpy as np
import pytest

from lrspeech.errors import InputError
from lrspeech.pipeline.align_scores import (
    auto_min_score,
    resolve_min_score,
    score_distribution,
    select_by_score,
)

SCORES = {**{f"u{i}": -0.1 - 0.01 * i for i in range(10)}, "bad": -2.0}


def test_score_threshold_drops_outliers_only():
    threshold = auto_min_score(SCORES)
    assert threshold == pytest.approx(np.median(list(SCORES.values())) - 0.2, abs=0.05)
    assert [u for u, s in SCORES.items() if s < threshold] == ["bad"]
    assert resolve_min_score(None, SCORES) == resolve_min_score("none", SCORES) == -np.inf
    assert resolve_min_score("-0.5", SCORES) == -0.5
    with pytest.raises(InputError, match="min_score 'low': give a number"):
        resolve_min_score("low", SCORES)
    dist = score_distribution(SCORES)
    assert dist["n"] == 11 and dist["min"] == -2.0
    assert sum(h["count"] for h in dist["histogram"]) == 11


def test_selection_keeps_what_reaches_the_threshold():
    auto = select_by_score(SCORES, "auto")
    assert auto.kept == sorted(u for u in SCORES if u != "bad")
    assert auto.low_score == {"bad": -2.0}
    assert auto.summary() == {"min_score": "auto", "threshold": round(auto.threshold, 4),
                              "kept": 10, "low_score": 1}
    fixed = select_by_score(SCORES, "-0.155")
    assert sorted(fixed.low_score) == ["bad", "u6", "u7", "u8", "u9"]
    everything = select_by_score(SCORES, None)
    assert len(everything.kept) == 11 and everything.summary()["threshold"] is None
