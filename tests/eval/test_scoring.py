"""Tests of lrspeech.eval.scoring: CER/WER with normalization."""

import pytest

from lrspeech.eval.scoring import SPACE, char_tokens, percent, score_corpus, score_utterance
from lrspeech.text.lang import LangConfig


@pytest.fixture(scope="module")
def sw_cfg(test_data):
    return LangConfig.load(test_data.parent.parent / "conf" / "lang" / "sw.yaml")


def test_char_tokens_mark_word_boundaries():
    assert char_tokens("ab  c") == ["a", "b", SPACE, "c"]


def test_utterance_wer_and_cer_hand_computed():
    u = score_utterance("u1", "The cat sat.", "the bat sat down")
    assert (u.ref, u.hyp) == ("the cat sat", "the bat sat down")
    w = u.word
    assert (w.cor, w.sub, w.dels, w.ins) == (2, 1, 0, 1)
    assert w.rate == pytest.approx(2 / 3)
    # chars: "the cat sat" (11 tokens) vs "the bat sat down": c->b, then insert "<space>down"
    c = u.char
    assert (c.sub, c.dels, c.ins, c.ref_len) == (1, 0, 5, 11)
    assert c.rate == pytest.approx(6 / 11)


def test_punctuation_and_case_do_not_count():
    u = score_utterance("u1", "Hello, World!", "hello world")
    assert u.word.errors == 0 and u.char.errors == 0


def test_numbers_expanded_with_language_config(sw_cfg):
    u = score_utterance("u1", "Watu 3 walikuja.", "watu tatu walikuja", sw_cfg)
    assert u.word.errors == 0
    assert u.ref == "watu tatu walikuja"


def test_corpus_totals_with_empty_hypothesis_and_empty_reference():
    refs = {"a": "one two three four", "b": "five six", "c": ""}
    hyps = {"a": "one too three four", "b": "", "c": "noise"}
    s = score_corpus(refs, hyps)
    # a: 1 sub; b: 2 deletions; c: 1 insertion -> 4 errors / 6 reference words
    assert (s.word.sub, s.word.dels, s.word.ins, s.word.ref_len) == (1, 2, 1, 6)
    assert s.wer == pytest.approx(4 / 6)
    assert [u.word.rate for u in s.utts] == [0.25, 1.0, None]
    assert s.sentence_error_rate == 1.0
    # chars: a "two"->"too" 1 sub of 18; b: "five six" 8 deletions; c: 5 insertions; ref 18+8
    assert (s.char.sub, s.char.dels, s.char.ins, s.char.ref_len) == (1, 8, 5, 26)
    assert s.cer == pytest.approx(14 / 26)


def test_missing_hypothesis_counts_as_deletions(caplog):
    s = score_corpus({"a": "x y", "b": "z"}, {"a": "x y"})
    assert s.missing == ["b"]
    assert s.word.dels == 1 and s.wer == pytest.approx(1 / 3)
    assert "no hypothesis" in caplog.text


def test_hypothesis_without_reference_is_an_error():
    with pytest.raises(ValueError, match=r"have no reference \('zz'\); score against the text"):
        score_corpus({"a": "x"}, {"a": "x", "zz": "y"})


def test_to_dict_and_percent():
    d = score_corpus({"a": "x y"}, {"a": "x"}).to_dict()
    assert d["wer"] == 0.5 and d["num_utts"] == 1 and d["utts"][0]["word"]["del"] == 1
    assert percent(0.1234) == "12.34%" and percent(None) == "n/a"
