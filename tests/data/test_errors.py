"""Problem rendering and DataDirError as a message and as a list."""

import pytest

from lrspeech.data.errors import EMPTY_TEXT, DataDirError, Problem


def _p(i: int) -> Problem:
    return Problem("data/x/text", i, f"u{i}", "has an empty transcript", "write it", EMPTY_TEXT)


def test_problem_names_file_line_id_and_fix() -> None:
    assert str(_p(17)) == "data/x/text:17: utterance 'u17' has an empty transcript; write it"
    p = Problem("data/x/utt2spk", None, None, "is missing", "run fix", noun="speaker")
    assert str(p) == "data/x/utt2spk: is missing; run fix"
    sp = Problem("data/x/spk2utt", 2, "s1", "lists 'u9'", "regenerate", noun="speaker")
    assert str(sp) == "data/x/spk2utt:2: speaker 's1' lists 'u9'; regenerate"


def test_error_lists_first_twenty_and_counts_the_rest() -> None:
    err = DataDirError([_p(i) for i in range(1, 26)])
    lines = str(err).splitlines()
    assert lines[0] == "25 problems found:"
    assert lines[1].strip() == str(_p(1))
    assert lines[20].strip() == str(_p(20))
    assert lines[21].strip() == "... and 5 more"
    assert len(lines) == 22


def test_error_is_a_sequence_of_problems() -> None:
    problems = [_p(1), _p(2)]
    err = DataDirError(problems)
    assert len(err) == 2 and err[1] == problems[1] and list(err) == problems
    assert isinstance(err, ValueError)
    assert str(err).startswith("2 problems found:")


def test_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one Problem"):
        DataDirError([])
