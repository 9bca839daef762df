"""Paired bootstrap of corpus-rate differences, and reading the counts the scorers write."""

import json
from pathlib import Path

import numpy as np
import pytest

from lrspeech.eval.ir import intelligibility, write_ir
from lrspeech.eval.scoring import score_corpus
from lrspeech.eval.significance import ir_counts, load_counts, main, paired_bootstrap, score_counts


def test_identical_systems_differ_by_exactly_zero() -> None:
    a = {f"u{i}": (float(i % 4), 10.0) for i in range(30)}
    d = paired_bootstrap(a, dict(a))
    assert d.diff == 0.0 and d.low == 0.0 and d.high == 0.0 and not d.excludes_zero


def test_difference_is_of_corpus_rates_not_mean_of_utterance_rates() -> None:
    # A: 1/1 and 0/99 -> corpus rate 1/100; B: 0/1 and 10/99 -> 10/100. The mean of the
    # utterance rates would give A 0.5 and B ~0.05, the opposite sign.
    a = {"short": (1.0, 1.0), "long": (0.0, 99.0)}
    b = {"short": (0.0, 1.0), "long": (10.0, 99.0)}
    assert paired_bootstrap(a, b, n_resamples=200).diff == pytest.approx(0.09)


def test_consistent_improvement_excludes_zero() -> None:
    rng = np.random.default_rng(1)
    a = {f"u{i}": (float(rng.integers(30, 50)), 100.0) for i in range(40)}
    b = {u: (e - float(rng.integers(3, 8)), n) for u, (e, n) in a.items()}
    d = paired_bootstrap(a, b)
    assert d.diff < 0 and d.high < 0 and d.excludes_zero and d.num_utts == 40


def test_one_lucky_utterance_does_not_make_a_difference_significant() -> None:
    a = {f"u{i}": (40.0, 100.0) for i in range(40)}
    b = {f"u{i}": (41.0, 100.0) for i in range(40)}
    b["u0"] = (0.0, 100.0)  # b's mean is lower only because of one utterance
    d = paired_bootstrap(a, b)
    assert d.diff < 0 and d.low < 0 < d.high and not d.excludes_zero


def test_only_common_utterances_count_and_disjoint_sets_are_refused() -> None:
    a = {"x": (1.0, 10.0), "y": (2.0, 10.0)}
    b = {"y": (1.0, 10.0), "z": (9.0, 10.0)}
    d = paired_bootstrap(a, b, n_resamples=100)
    assert d.num_utts == 1 and d.diff == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="share no utterance"):
        paired_bootstrap({"x": (1.0, 1.0)}, {"z": (1.0, 1.0)})
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(a, b, level=1.5)


def test_counts_from_the_scorers_files(tmp_path: Path) -> None:
    refs = {"a": "habari ya asubuhi", "b": "karibu sana, \"rafiki\""}
    hyps = {"a": "habari za asubuhi", "b": "karibu sana rafiki"}
    score = score_corpus(refs, hyps)
    (tmp_path / "score.json").write_text(json.dumps(score.to_dict()))
    chars = score_counts(tmp_path / "score.json", "char")
    assert sum(e for e, _ in chars.values()) / sum(n for _, n in chars.values()) == score.cer
    words = score_counts(tmp_path / "score.json", "word")
    assert words["a"] == (1.0, 3.0)

    write_ir(intelligibility(refs, hyps), tmp_path / "ir")
    ir = ir_counts(tmp_path / "ir" / "ir_utts.tsv")
    assert ir == {"a": (2.0, 3.0), "b": (3.0, 3.0)}
    judge = load_counts(tmp_path / "ir" / "ir_utts.tsv", "judge_char")
    assert judge == {s.utt: (float(s.char.errors), float(s.char.ref_len)) for s in score.utts}
    assert load_counts(tmp_path / "score.json", "char") == chars


def test_ir_table_without_the_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ir_utts.tsv").write_text("utt\tref\thyp\twords_correct\tref_words\n"
                                          "a\tmoja\tmoja\t1\t1\n")
    assert ir_counts(tmp_path / "ir_utts.tsv") == {"a": (1.0, 1.0)}
    with pytest.raises(ValueError, match="no columns char_errors, ref_chars; rerun "
                                         "lrspeech.bin.eval_ir"):
        ir_counts(tmp_path / "ir_utts.tsv", "judge_char")


def test_score_json_without_utterances_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"cer": 0.1}))
    with pytest.raises(ValueError, match="no per-utterance scores"):
        score_counts(tmp_path / "s.json")


def test_cli_prints_the_difference(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    refs = {f"u{i}": "moja mbili tatu nne" for i in range(12)}
    for name, hyp in (("a", "moja mbili tatu"), ("b", "moja mbili tatu nne")):
        (tmp_path / f"{name}.json").write_text(json.dumps(score_corpus(
            refs, {u: hyp for u in refs}).to_dict()))
    assert main(["--a", str(tmp_path / "a.json"), "--b", str(tmp_path / "b.json"),
                 "--metric", "word"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("word: B - A = -25.0 [-25.0, -25.0] points (12 utts), 95% interval\n")
