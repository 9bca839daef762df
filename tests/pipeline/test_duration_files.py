"""lrspeech.pipeline.duration_files: an align dir's files round-trip; bad lines are named."""

import pytest

from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import read_scores
from lrspeech.errors import InputError
from lrspeech.pipeline.duration_files import (
    read_durations,
    read_frames,
    read_token_file,
    write_ctm,
    write_durations,
    write_frames,
    write_scores,
    write_token_file,
)
from lrspeech.pipeline.durations import TtsFrames


def test_durations_scores_and_tokens_round_trip(tmp_path):
    write_durations(tmp_path / "durations", {"b": [1, 2, 0], "a": [3]})
    assert (tmp_path / "durations").read_text() == "a 3\nb 1 2 0\n"
    assert read_durations(tmp_path / "durations") == {"a": [3], "b": [1, 2, 0]}
    write_scores(tmp_path / "scores", {"a": -0.123456})
    assert read_scores(tmp_path / "scores") == {"a": -0.1235}
    write_token_file(tmp_path / "tokens", {"b": ["x", "<space>", "y"], "a": ["z"]})
    assert read_token_file(tmp_path / "tokens") == {"a": ["z"], "b": ["x", "<space>", "y"]}
    write_frames(tmp_path / "frames.yaml", TtsFrames(22050, 256))
    assert read_frames(tmp_path) == TtsFrames(22050, 256)


def test_ctm_lists_words_in_order(tmp_path):
    write_ctm(tmp_path / "ctm", {"u2": [("b", 0.5, 0.75)], "u1": [("a", 0.0, 0.25),
                                                                  ("c", 0.3, 0.5)]})
    assert (tmp_path / "ctm").read_text().splitlines() == [
        "u1 1 0.000 0.250 a", "u1 1 0.300 0.200 c", "u2 1 0.500 0.250 b"]


def test_malformed_and_missing_files_are_named(tmp_path):
    (tmp_path / "durations").write_text("a 1 2\nb 1 x\n")
    with pytest.raises(InputError, match=r"durations:2: utterance 'b' needs non-negative integer"):
        read_durations(tmp_path / "durations")
    (tmp_path / "scores").write_text("a high\n")
    with pytest.raises(DataDirError, match=r"scores:1: utterance 'a' has value 'high', expected "
                                           r"a number"):
        read_scores(tmp_path / "scores")
    (tmp_path / "tokens").write_text("a x y\na x\n")
    with pytest.raises(InputError, match=r"tokens:2: utterance 'a' is a duplicate id(.|\n)*"
                                         r"rerun lrspeech.bin.ctc_align"):
        read_token_file(tmp_path / "tokens")
    (tmp_path / "tokens").unlink()
    with pytest.raises(InputError, match=r"tokens: missing; rerun lrspeech.bin.ctc_align"):
        read_token_file(tmp_path / "tokens")
    with pytest.raises(InputError, match=r"frames.yaml: missing; .* not an output of"):
        read_frames(tmp_path)
