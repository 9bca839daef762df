"""Tests of lrspeech.eval.sclite: result.txt listing and score.json."""

import json

from lrspeech.eval.align import align
from lrspeech.eval.sclite import alignment_lines, format_result, write_score_files
from lrspeech.eval.scoring import score_corpus


def test_alignment_lines_mark_errors():
    ref, hyp, ev = alignment_lines(align("the cat sat on".split(), "the bat sat".split()))
    assert ref == "REF:  the CAT sat ON"
    assert hyp == "HYP:  the BAT sat ***"
    assert ev == "Eval:     S       D"


def test_insertion_shows_gap_in_ref():
    ref, hyp, ev = alignment_lines(align(["a"], ["a", "extra"]))
    assert ref == "REF:  a ***"
    assert hyp == "HYP:  a EXTRA"
    assert ev == "Eval:   I"


def test_result_has_blocks_and_summary():
    text = format_result(
        score_corpus({"u1": "a b c", "u2": "d"}, {"u1": "a x c d", "u2": "d"}), "T"
    )
    assert text.startswith("T\n")
    assert "id: (u1)\nScores: (#C #S #D #I) 2 1 0 1\n" in text
    assert "id: (u2)\nScores: (#C #S #D #I) 1 0 0 0\n" in text
    summary = text.split("| word  |")[1].splitlines()[0]
    # 4 ref words: 3 correct (75%), 1 sub (25%), 1 ins (25%) -> 50% errors, 1 of 2 sentences wrong
    assert summary.split() == ["2", "4", "|", "75.0", "25.0", "0.0", "25.0", "50.0", "50.0", "|"]
    assert "WER 50.00%" in text


def test_write_score_files(tmp_path):
    s = score_corpus({"u1": "a b"}, {"u1": "a"})
    result, js = write_score_files(s, tmp_path / "score", "title", {"ref": "r"})
    assert result.read_text().startswith("title")
    data = json.loads(js.read_text())
    assert data["ref"] == "r" and data["wer"] == 0.5 and data["word"]["del"] == 1
    assert sorted(p.name for p in (tmp_path / "score").iterdir()) == ["result.txt", "score.json"]
