"""bench/align_filter.py helpers: the one-word labelling error and the kept shares."""

import random

import pytest


@pytest.fixture(scope="module")
def af(bench_module):
    return bench_module("align_filter")


def test_replace_word_changes_exactly_one_word_from_the_other_sentence(af):
    rng = random.Random(0)
    text, other = "mvua kubwa ilinyesha jana", "watoto walicheza mpira"
    for _ in range(20):
        out = af.replace_word(text, other, rng)
        changed = [(a, b) for a, b in zip(text.split(), out.split()) if a != b]
        assert len(out.split()) == 4 and len(changed) == 1
        assert changed[0][1] in other.split()
    assert af.replace_word("habari", other, rng) == "habari"  # one word: left as is


def test_kept_share_and_quantiles(af):
    scores = [-0.1, -0.2, -0.5, -2.0, float("-inf")]
    assert af.kept(scores, -0.3) == pytest.approx(0.4)
    assert af.kept(scores, -3.0) == pytest.approx(0.8)
    q = af.quantiles([-0.1, -0.2, -0.5])
    assert q["min"] == -0.5 and q["max"] == -0.1 and q["median"] == -0.2
