"""lrspeech.data.sentences: the one reader of sentence files (tsv or plain, .xz too)."""

import lzma
from pathlib import Path

import pytest

from lrspeech.data.sentences import SentenceFileError, read_sentences


def test_read_sentences_formats_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("id\ttext\na1\t  Hello   world \nb2\tSecond one\n")
    assert [(s.id, s.text, s.line) for s in read_sentences(path)] == [
        ("a1", "Hello world", 2), ("b2", "Second one", 3)
    ]
    cases = {
        "a1\tx\na1\ty\n": "t.tsv:2: id 'a1' already used on line 1; make the ids unique",
        "a1\tx\nplain line\n": "t.tsv:2: 1 tab-separated fields; expected id<TAB>text",
        "a1\tx\nb\ty\tz\n": "t.tsv:2: 3 tab-separated fields",
        "a/1\tx\n": "t.tsv:1: id 'a/1' is not usable in file names",
        "\n\n": "t.tsv: no sentences found",
    }
    for content, message in cases.items():
        path.write_text(content)
        with pytest.raises(SentenceFileError) as err:
            read_sentences(path)
        assert message in str(err.value)
    with pytest.raises(SentenceFileError, match="cannot read the text file"):
        read_sentences(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(SentenceFileError, match="latin1.txt: cannot read .*UTF-8"):
        read_sentences(tmp_path / "latin1.txt")


def test_empty_texts_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a1\tx\nb2\t  \nc3\ty\nd4\t\n")
    assert [s.id for s in read_sentences(path)] == ["a1", "c3"]
    assert "t.tsv:2: utterance 'b2' has empty text; skipped (2 such lines)" in caplog.text
    path.write_text("b2\t \n")
    with pytest.raises(SentenceFileError, match="t.tsv: no sentences found"):
        read_sentences(path)


def test_plain_lines_xz_and_the_first_n(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("moja\n\nmbili\ntatu\n")
    assert [(s.id, s.text) for s in read_sentences(tmp_path / "plain.txt")] == [
        ("000001", "moja"), ("000003", "mbili"), ("000004", "tatu")
    ]
    assert [s.id for s in read_sentences(tmp_path / "plain.txt", max_sentences=2)] == [
        "000001", "000003"
    ]
    with lzma.open(tmp_path / "t.tsv.xz", "wt", encoding="utf-8") as f:
        f.write("b.MAT.1.1\tYesu Kristo\nb.MAT.1.2\tAbrahamu\n")
    assert [s.id for s in read_sentences(tmp_path / "t.tsv.xz")] == ["b.MAT.1.1", "b.MAT.1.2"]
    (tmp_path / "bad.xz").write_bytes(b"not xz")
    with pytest.raises(SentenceFileError, match="bad.xz: cannot read the text file"):
        read_sentences(tmp_path / "bad.xz")
