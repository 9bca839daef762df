"""Kaldi file parsing: odd ids, kept spaces, encoding, blank, duplicate and unsorted lines."""

import os
import subprocess
from pathlib import Path

import pytest

from lrspeech.data.errors import CONFLICT, DUPLICATE, ENCODING, MALFORMED, UNSORTED
from lrspeech.data.kaldi_files import (
    check_order,
    format_lines,
    read_entries,
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
