"""bench/kd_filter.py threshold rule: drops what the judge reads worst, keeps >= min_keep."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def kd(bench_module):
    return bench_module("kd_filter")


def test_floor_sig_rounds_down(kd):
    assert kd.floor_sig(0.0006132) == pytest.approx(0.00061)
    assert kd.floor_sig(0.5999) == pytest.approx(0.59)
    assert kd.floor_sig(0.3) == pytest.approx(0.3)
    assert kd.floor_sig(0.0) == 0.0


def test_candidates_never_drop_more_than_their_quantile(kd):
    values = np.linspace(0.1, 1.0, 100)
    cands = kd.candidate_thresholds(values, (0.0, 0.1, 0.3))
    assert cands[0] == 0.0 and len(cands) == 3
    for level, thr in zip((0.1, 0.3), cands[1:]):
        assert (values < thr).mean() <= level


def test_evaluate_cut_splits_cer(kd):
    wcr = np.array([0.1, 0.5, 0.9, 0.9])
    adr = np.array([0.9, 0.9, 0.2, 0.9])
    cer = np.array([1.0, 0.4, 0.8, 0.2])
    cut = kd.evaluate_cut(wcr, adr, cer, 0.3, 0.5)
    assert cut.kept == 2 and cut.kept_share == 0.5
    assert cut.cer_kept == pytest.approx(0.3)
    assert cut.cer_dropped == pytest.approx(0.9)


def test_recommends_thresholds_that_drop_bad_synthesis(kd):
    rng = np.random.default_rng(0)
    n = 200
    wcr = rng.uniform(0.0, 1.0, n)
    adr = rng.uniform(0.3, 0.9, n)
    cer = np.where(wcr < 0.15, 0.9, 0.2) + rng.normal(0, 0.02, n)  # low WCR: unintelligible
    rec = kd.recommend(wcr, adr, cer, min_keep=0.7)
    assert 0.05 < rec["wcr_min"] <= 0.15
    assert rec["kept_share"] >= 0.7
    assert rec["gain"] > 0.05
    assert rec["cut"]["cer_kept"] < 0.25


def test_respects_min_keep(kd):
    wcr = np.linspace(0.0, 1.0, 100)
    adr = np.full(100, 0.8)
    cer = 1.0 - wcr  # higher thresholds always help: only min_keep stops them
    rec = kd.recommend(wcr, adr, cer, min_keep=0.8)
    assert rec["kept_share"] >= 0.8
    assert rec["wcr_min"] > 0


def test_unrelated_scores_keep_everything(kd):
    rng = np.random.default_rng(1)
    wcr, adr = rng.uniform(0, 1, 150), rng.uniform(0, 1, 150)
    cer = rng.uniform(0.5, 0.7, 150)
    rec = kd.recommend(wcr, adr, cer, min_keep=0.7, min_gain=0.02)
    assert (rec["wcr_min"], rec["adr_min"]) == (0.0, 0.0)
    assert rec["kept_share"] == 1.0
    lo, hi = kd.bootstrap_gain(wcr, adr, cer, 0.0, 0.0, n=50)
    assert lo == hi == 0.0
