"""Tests of lrspeech.eval.ir: intelligibility rate from judge transcripts."""

import csv
import io
import json

import numpy as np
import pytest

from lrspeech.eval.inputs import AudioRef
from lrspeech.eval.ir import evaluate_ir, intelligibility, pad_silence, utts_table, write_ir
from lrspeech.eval.judge import Judge


def test_ir_hand_computed():
    refs = {"a": "the cat sat on the mat", "b": "Hello, world!", "c": "one two"}
    hyps = {"a": "the bat sat the mat down", "b": "hello world", "c": ""}
    r = intelligibility(refs, hyps)
    # a: the, sat, the, mat correct (4 of 6); b: 2 of 2; c: empty hypothesis, 0 of 2
    assert (r.correct, r.ref_words) == (6, 10)
    assert r.ir == pytest.approx(0.6)
    assert r.sentence_ir == pytest.approx(1 / 3)
    # judge WER: a 3 errors, b 0, c 2 deletions -> 5 / 10
    assert r.score.wer == pytest.approx(0.5)


def test_insertions_do_not_lower_ir_but_count_in_cer():
    r = intelligibility({"a": "yes"}, {"a": "yes sir"})
    assert r.ir == 1.0 and r.sentence_ir == 1.0
    assert r.score.wer == 1.0


def test_empty_reference_left_out_of_sentence_ir():
    r = intelligibility({"a": "", "b": "go"}, {"a": "noise", "b": "no"})
    assert (r.correct, r.ref_words) == (0, 1)
    assert r.ir == 0.0 and r.sentence_ir == 0.0
    only_empty = intelligibility({"a": ""}, {"a": ""})
    assert only_empty.ir is None and only_empty.sentence_ir is None


def test_pad_silence():
    x = np.ones(10, dtype=np.float32)
    y = pad_silence(x, 100, 0.3)
    assert len(y) == 70 and y[:30].sum() == 0 and y[-30:].sum() == 0 and y[30:40].sum() == 10
    with pytest.raises(ValueError, match="padding must be >= 0 s"):
        pad_silence(x, 100, -1)


class LengthJudge(Judge):
    """A test double: 'hears' the number of samples it got, to check padding and routing."""

    name = "length"

    def __init__(self):
        self.lengths = []

    def transcribe(self, audio, sr):
        self.lengths.append((len(audio), sr))
        return "one two"


def _wav(tmp_path, name, n, sr=16000):
    import soundfile as sf

    path = tmp_path / f"{name}.wav"
    sf.write(str(path), np.full(n, 0.1, dtype=np.float32), sr)
    return AudioRef(str(path))


def test_evaluate_ir_pads_and_counts_missing_audio(tmp_path):
    judge = LengthJudge()
    audio = {"a": _wav(tmp_path, "a", 1600)}
    r = evaluate_ir(judge, {"a": "one two", "b": "three"}, audio, pad_s=0.5)
    assert judge.lengths == [(1600 + 2 * 8000, 16000)]
    assert r.correct == 2 and r.ref_words == 3 and r.score.missing == ["b"]
    assert r.judge == "length"


def test_evaluate_ir_skip_missing_scores_the_synthesized_subset(tmp_path):
    audio = {"a": _wav(tmp_path, "a", 1600)}
    r = evaluate_ir(LengthJudge(), {"a": "one two", "b": "three"}, audio, skip_missing=True)
    assert r.ir == 1.0 and r.ref_words == 2 and r.score.missing == []


def test_evaluate_ir_audio_without_text_is_an_error(tmp_path):
    with pytest.raises(
        ValueError, match="have no reference text \\(first: 'x'\\); give the text dir"
    ):
        evaluate_ir(LengthJudge(), {"a": "one"}, {"x": _wav(tmp_path, "x", 100)})


def test_write_ir_files(tmp_path):
    r = intelligibility({"a": "one two", "b": "three"}, {"a": "one", "b": "three"}, judge="j")
    paths = write_ir(r, tmp_path / "out", {"pad_s": 0.3})
    data = json.loads(paths[1].read_text())
    assert data["ir"] == pytest.approx(2 / 3) and data["judge"] == "j" and data["pad_s"] == 0.3
    rows = list(csv.DictReader(io.StringIO(paths[0].read_text()), delimiter="\t"))
    assert rows[0] == {
        "utt": "a",
        "ref": "one two",
        "hyp": "one",
        "words_correct": "1",
        "ref_words": "2",
        "char_errors": "4",  # " two" deleted
        "ref_chars": "7",
    }
    assert utts_table(r).splitlines()[0] == ("utt\tref\thyp\twords_correct\tref_words\t"
                                             "char_errors\tref_chars")
