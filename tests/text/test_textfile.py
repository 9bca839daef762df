"""Reading Kaldi text files and writing tokenized text: format, atomicity, bad lines."""

from pathlib import Path

import pytest

from lrspeech.text.lang import LangConfig
from lrspeech.text.textfile import TextFileError, read_text, tokenize_text_file
from lrspeech.text.tokenizer import Tokenizer


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_kaldi_text_and_data_dir(tmp_path: Path):
    _write(tmp_path / "text", "u1 Habari yako\nu2  Polisi  walinikamata.\n")
    lines = read_text(tmp_path)
    assert [(ln.lineno, ln.utt_id, ln.text) for ln in lines] == [
        (1, "u1", "Habari yako"), (2, "u2", "Polisi  walinikamata."),
    ]


def test_read_plain_text(tmp_path: Path):
    path = _write(tmp_path / "bible.txt", "Mwanzo wa injili.\n\nYesu Kristo.\n")
    lines = read_text(path, plain=True)
    assert [(ln.utt_id, ln.text) for ln in lines] == [
        ("bible_0000001", "Mwanzo wa injili."), ("bible_0000003", "Yesu Kristo."),
    ]


def test_tokenize_file(tmp_path: Path, sw_cfg: LangConfig):
    src = _write(tmp_path / "text", "u1 Tutakata rufaa.\nu2 Miaka 29\n")
    out = tmp_path / "dump" / "text.tok"
    n, report = tokenize_text_file(Tokenizer(sw_cfg), src, out, progress=False)
    assert n == 2 and report.empty
    assert out.read_text(encoding="utf-8").splitlines() == [
        "u1 t u t a k a t a <space> r u f a a .",
        "u2 m i a k a <space> i ʃ i r i n i <space> n a <space> t i s a",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["text.tok"]  # no temp file left


def test_unknown_characters_are_one_warning_line(tmp_path: Path, write_lang, caplog, capsys):
    from lrspeech.bin import tokenize_text

    lang = write_lang(espeak_voice="none", token_type="char", number_normalizer="none")
    src = _write(tmp_path / "text", "u1 Ọmọ 12 náà ń sùn.\nu2 Ó dára 3\n")
    out = tmp_path / "text.tok"
    with caplog.at_level("INFO"):
        assert tokenize_text.main(["--lang_config", str(lang), "--in", str(src),
                                   "--out", str(out)]) == 0
    said = capsys.readouterr()
    mentions = [r for r in caplog.records if "unknown characters" in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelname == "WARNING"
    assert mentions[0].getMessage().startswith(f"{out}: 2 utterances of {src}, char tokens; "
                                               "3 unknown characters (3 distinct): '1' (U+0031)")
    assert "unknown" not in said.out + said.err  # not printed besides the log record
    assert out.read_text(encoding="utf-8").count("1 2") == 1  # the digits are kept


def test_a_clean_file_is_one_info_line(tmp_path: Path, sw_cfg: LangConfig, caplog):
    src = _write(tmp_path / "text", "u1 Habari yako\n")
    with caplog.at_level("INFO"):
        tokenize_text_file(Tokenizer(sw_cfg), src, tmp_path / "t", progress=False)
    assert [r.getMessage() for r in caplog.records if r.name == "lrspeech.text.textfile"] == [
        f"{tmp_path / 't'}: 1 utterances of {src}, phn tokens; no unknown characters"]


def test_empty_transcript_names_file_line_and_utterance(tmp_path: Path, sw_cfg: LangConfig):
    src = _write(tmp_path / "text", "u1 habari\nsw_0017\nu3 sawa\n")
    out = tmp_path / "text.tok"
    with pytest.raises(TextFileError) as e:
        tokenize_text_file(Tokenizer(sw_cfg), src, out, progress=False)
    assert f"{src}:2: utterance 'sw_0017' has no value after the id; fill it in" in str(e.value)
    assert not out.exists()


def test_text_empty_after_cleaning(tmp_path: Path, sw_cfg: LangConfig):
    src = _write(tmp_path / "text", "u1 habari\nu2 ...!\n")
    out = tmp_path / "text.tok"
    with pytest.raises(TextFileError, match=r"text:2: utterance 'u2' is empty after cleaning"):
        tokenize_text_file(Tokenizer(sw_cfg), src, out, progress=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # the half-written temp file is gone too


def test_blank_line_missing_file_and_bad_encoding(tmp_path: Path):
    with pytest.raises(TextFileError, match=r"text:2: is a blank line; delete it"):
        read_text(_write(tmp_path / "text", "u1 a\n\nu3 b\n"))
    with pytest.raises(TextFileError, match=r"text:2: utterance 'u1' is a duplicate id"):
        read_text(_write(tmp_path / "text", "u1 a\nu1 b\n"))
    with pytest.raises(TextFileError, match=r"nothere: text file not found; check the path"):
        read_text(tmp_path / "nothere")
    bad = tmp_path / "latin1"
    bad.write_bytes("u1 caf\u00e9\n".encode("latin-1"))
    with pytest.raises(TextFileError, match=r"latin1:1: utterance 'u1' is not valid UTF-8: byte "
                                            r"0xe9 .*iconv"):
        read_text(bad)
