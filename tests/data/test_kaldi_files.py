"""Kaldi file parsing: odd ids, kept spaces, encoding, blank, duplicate and unsorted lines."""

import os
import subprocess
from pathlib import Path

import pytest

from lrspeech.data.errors import (
    BAD_VALUE,
    CONFLICT,
    DUPLICATE,
    ENCODING,
    MALFORMED,
    MISSING_FILE,
    UNSORTED,
    DataDirError,
)
from lrspeech.data.kaldi_files import (
    check_order,
    format_lines,
    parse_mapping,
    read_entries,
    read_mapping,
    read_mapping_entries,
    read_scores,
    split_line,
    write_mapping,
)


def test_split_line_keeps_internal_spaces() -> None:
    assert split_line("u1  habari   yako \r") == ("u1", "habari   yako")
    assert split_line("u1\tword") == ("u1", "word")
    assert split_line("only-id") == ("only-id", "")


def test_ids_with_any_non_whitespace_characters(tmp_path: Path) -> None:
    f = tmp_path / "text"
    f.write_text("a/b:c#1 x  y\nspk-ñ.2|z hello\n", encoding="utf-8")
    entries, problems = read_entries(f)
    assert problems == []
    assert [(e.key, e.value, e.line) for e in entries] == [
        ("a/b:c#1", "x  y", 1),
        ("spk-ñ.2|z", "hello", 2),
    ]


def test_non_utf8_names_line_and_byte_offset(tmp_path: Path) -> None:
    f = tmp_path / "text"
    f.write_bytes(b"a x\nb caf\xe9 au lait\nc ok\n")
    entries, problems = read_entries(f, noun="utterance")
    assert [e.key for e in entries] == ["a", "c"]
    (p,) = problems
    assert p.kind == ENCODING and p.line == 2 and p.utt_id == "b"
    text = str(p)
    assert text.startswith(f"{f}:2: utterance 'b' is not valid UTF-8")
    assert "byte 0xe9 at byte offset 9 of the file (byte 6 of line 2)" in text
    assert "iconv" in text


def test_blank_line_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "utt2spk"
    f.write_text("a s\n\nb s\n")
    entries, problems = read_entries(f)
    assert [e.key for e in entries] == ["a", "b"]
    assert [(p.kind, p.line) for p in problems] == [(MALFORMED, 2)]
    assert "blank line; delete it" in str(problems[0])


def test_duplicates_same_and_conflicting(tmp_path: Path) -> None:
    f = tmp_path / "text"
    f.write_text("a one\na one\nb two\nb deux\n")
    entries, _ = read_entries(f)
    problems = check_order(f, entries, noun="utterance")
    found = [(p.kind, p.line, p.utt_id) for p in problems]
    assert found == [(DUPLICATE, 2, "a"), (CONFLICT, 4, "b")]
    assert f"{f}:2: utterance 'a' is a duplicate id (same line as line 1)" in str(problems[0])
    assert "different value than on line 3" in str(problems[1])
    assert "fix_data_dir.sh drops the id" in str(problems[1])


def test_unsorted_reports_the_first_break_only(tmp_path: Path) -> None:
    f = tmp_path / "wav.scp"
    f.write_text("b x\na x\nd x\nc x\n")
    entries, _ = read_entries(f)
    (p,) = check_order(f, entries)
    assert p.kind == UNSORTED and p.line == 2 and p.utt_id == "a"
    assert "comes after 'b' (line 1)" in str(p)
    assert "LC_ALL=C sort" in str(p)


def test_sort_order_is_c_locale_byte_order(tmp_path: Path) -> None:
    ids = ["a_b", "a-b", "B", "a", "ä", "a.b", "Z9", "a10", "a9", "é-1"]
    mine = [line.split(" ")[0] for line in format_lines({i: "x" for i in ids}).splitlines()]
    f = tmp_path / "ids"
    f.write_text("".join(f"{i} x\n" for i in ids), encoding="utf-8")
    env = dict(os.environ, LC_ALL="C")
    out = subprocess.run(["sort", "-k1,1", str(f)], env=env, capture_output=True, check=True)
    assert mine == [line.split(" ")[0] for line in out.stdout.decode("utf-8").splitlines()]
    entries, _ = read_entries(tmp_path / "ids")
    assert any(p.kind == UNSORTED for p in check_order(f, entries))


def test_write_mapping_sorts_and_rejects_bad_ids(tmp_path: Path) -> None:
    write_mapping(tmp_path / "utt2spk", {"b": "s2", "a": "s1", "c": ""})
    assert (tmp_path / "utt2spk").read_text() == "a s1\nb s2\nc\n"
    with pytest.raises(ValueError, match="id 'bad id' is empty or contains whitespace"):
        format_lines({"bad id": "x"})


def test_write_mapping_rejects_line_breaks_and_takes_numbers(tmp_path: Path) -> None:
    write_mapping(tmp_path / "utt2sid", {"b": 2, "a": 1})
    assert (tmp_path / "utt2sid").read_text() == "a 1\nb 2\n"
    with pytest.raises(ValueError, match="id 'a': its value 'x\\\\ny' holds a line break"):
        format_lines({"a": "x\ny"})


def test_read_mapping_keeps_file_order_spaces_and_lines(tmp_path: Path) -> None:
    f = tmp_path / "text"
    f.write_text("b  habari   yako\na\tx y\n", encoding="utf-8")
    assert read_mapping(f) == {"b": "habari   yako", "a": "x y"}  # unsorted is fine
    assert list(read_mapping(f)) == ["b", "a"]
    assert read_mapping_entries(f)["a"].line == 2


def test_read_mapping_raises_every_problem_with_file_line_and_fix(tmp_path: Path) -> None:
    f = tmp_path / "wav.scp"
    f.write_bytes(b"a x.wav\na x.wav\n\nb\nc \xff.wav\nd y.wav\nd z.wav\n")
    with pytest.raises(DataDirError) as err:
        read_mapping(f, noun="utterance")
    found = [(p.kind, p.line, p.utt_id) for p in err.value]
    assert found == [(DUPLICATE, 2, "a"), (MALFORMED, 3, None), (MALFORMED, 4, "b"),
                     (ENCODING, 5, "c"), (CONFLICT, 7, "d")]
    assert f"{f}:4: utterance 'b' has no value after the id; fill it in" in str(err.value)


def test_read_mapping_empty_values_when_allowed(tmp_path: Path) -> None:
    (tmp_path / "hyp").write_text("u1\nu2 hello\n")
    assert read_mapping(tmp_path / "hyp", allow_empty=True) == {"u1": "", "u2": "hello"}


def test_read_mapping_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match=r"text: is missing; check the path") as err:
        read_mapping(tmp_path / "text")
    assert err.value[0].kind == MISSING_FILE


def test_parse_mapping_and_read_scores(tmp_path: Path) -> None:
    (tmp_path / "score").write_text("a -0.5\nb 2\n")
    assert read_scores(tmp_path / "score") == {"a": -0.5, "b": 2.0}
    (tmp_path / "score").write_text("a high\nb 1.0 extra\nc 3\n")
    with pytest.raises(DataDirError) as err:
        read_scores(tmp_path / "score")
    assert [(p.kind, p.line) for p in err.value] == [(BAD_VALUE, 1), (BAD_VALUE, 2)]
    assert f"{tmp_path}/score:1: utterance 'a' has value 'high', expected a number" in str(
        err.value)
    (tmp_path / "spk2sid").write_text("amina 1\nbaraka -2\n")
    with pytest.raises(DataDirError, match="speaker 'baraka' has value '-2', expected a sid"):
        parse_mapping(tmp_path / "spk2sid", lambda v: int(v) if v.isdigit() else int("x"),
                      "a sid", "fix it", noun="speaker")
