"""bench/ctc_search.py helpers: error rates of the two searches' hypotheses."""

import pytest


@pytest.fixture(scope="module")
def cs(bench_module):
    return bench_module("ctc_search")


def test_error_rates_count_characters_words_and_merged_words(cs):
    refs = {"a": "habari za asubuhi", "b": "asante"}
    hyps = {"a": "habari zaasubuhi", "b": "asante"}
    r = cs.error_rates(refs, hyps)
    assert r["cer"] == pytest.approx(1 / (17 + 6))  # one space missing
    assert r["wer"] == pytest.approx(2 / 4)  # "za asubuhi" -> "zaasubuhi": 1 sub + 1 del
    assert r["words_per_ref_word"] == pytest.approx(3 / 4)
