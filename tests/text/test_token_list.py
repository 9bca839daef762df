"""ESPnet token lists: order, specials, min_count, and format checks."""

import collections
from pathlib import Path

import pytest

from lrspeech.text.token_list import (
    TokenListError,
    build_token_list,
    count_tokens,
    read_token_list,
    write_token_list,
)


def test_count_and_build(tmp_path: Path):
    tok = tmp_path / "text.tok"
    tok.write_text("u1 b a <space> a\nu2 c a b\n", encoding="utf-8")
    counts = count_tokens([tok])
    assert counts == {"a": 3, "b": 2, "c": 1, "<space>": 1}
    # by frequency, then by name: "<space>" and "c" tie at 1
    assert build_token_list(counts) == ["<blank>", "<unk>", "a", "b", "<space>", "c", "<sos/eos>"]


def test_min_count_extra_and_specials_not_duplicated():
    counts = collections.Counter({"a": 5, "b": 1, "<unk>": 2})
    tokens = build_token_list(counts, min_count=2, extra=["\u2581x", "a", "<sos/eos>"])
    assert tokens == ["<blank>", "<unk>", "a", "\u2581x", "<sos/eos>"]


def test_write_and_read(tmp_path: Path):
    tokens = ["<blank>", "<unk>", "ɛ̀", "<space>", "<sos/eos>"]
    path = tmp_path / "tokens.txt"
    write_token_list(tokens, path)
    assert path.read_text(encoding="utf-8") == "<blank>\n<unk>\nɛ̀\n<space>\n<sos/eos>\n"
    assert read_token_list(path) == tokens


@pytest.mark.parametrize(
    "content, expected",
    [
        ("<unk>\n<blank>\na\n<sos/eos>\n", "must start with <blank>, <unk>"),
        ("<blank>\n<unk>\na\n", "must end with <sos/eos>"),
        ("<blank>\n<unk>\na\na\n<sos/eos>\n", "has duplicate tokens ['a']"),
        ("<blank>\n<unk>\na b\n<sos/eos>\n", "line 3: token 'a b' is empty or contains whitespace"),
        ("<blank>\n", "has 1 lines"),
    ],
)
def test_bad_token_lists(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "tokens.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenListError) as e:
        read_token_list(path)
    assert str(e.value).startswith(f"{path}: ")
    assert expected in str(e.value) and "make_token_list" in str(e.value)


def test_bad_tokenized_text(tmp_path: Path):
    tok = tmp_path / "text.tok"
    tok.write_text("u1 a b\nu2\nu1 c\n", encoding="utf-8")
    with pytest.raises(TokenListError) as err:
        count_tokens([tok])
    assert "text.tok:2: utterance 'u2' has no value after the id" in str(err.value)
    assert "text.tok:3: utterance 'u1' is a duplicate id" in str(err.value)
    assert "expected `utt_id tok1 tok2 ...` lines" in str(err.value)
    with pytest.raises(TokenListError, match=r"missing.tok: tokenized text not found"):
        count_tokens([tmp_path / "missing.tok"])
