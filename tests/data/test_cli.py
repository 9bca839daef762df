"""CLI plumbing: project errors become one message and exit status 1; id lists."""

from pathlib import Path

import pytest

from lrspeech.data.cli import read_id_list, run_cli
from lrspeech.data.errors import DataDirError, Problem
from lrspeech.errors import InputError


def test_run_cli_reports_errors(capsys: pytest.CaptureFixture) -> None:
    def broken() -> int:
        raise DataDirError([Problem("d/text", 4, "u4", "has an empty transcript", "write it")])

    assert run_cli(broken) == 1
    err = capsys.readouterr().err
    assert err == ("error: 1 problem found:\n"
                   "  d/text:4: utterance 'u4' has an empty transcript; write it\n")

    def bad_value() -> int:
        raise InputError("d: cannot pick 11 of its 10 utterances")

    assert run_cli(bad_value) == 1
    assert "error: d: cannot pick 11" in capsys.readouterr().err
    assert run_cli(lambda: 0) == 0


def test_run_cli_lets_bugs_raise() -> None:
    """A builtin error is not the user's: it keeps its traceback."""

    def bug() -> int:
        raise KeyError("u4")

    with pytest.raises(KeyError):
        run_cli(bug)


def test_read_id_list_takes_first_field(tmp_path: Path) -> None:
    (tmp_path / "ids").write_text("u2 some text\nu1\n")
    assert read_id_list(tmp_path / "ids") == ["u2", "u1"]
    (tmp_path / "bad").write_bytes(b"u1\n\xffu2\n")
    with pytest.raises(DataDirError, match=r"bad:2: id .* is not valid UTF-8"):
        read_id_list(tmp_path / "bad")
