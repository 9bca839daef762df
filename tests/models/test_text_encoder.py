"""Tests for lrspeech.models.text_encoder, through synthesis with a packed micro TTS: blank
lines and empty texts, unknown tokens, bad text dirs, lrspeech's and ESPnet's tokenizers."""

import logging
from pathlib import Path

import pytest

from lrspeech.data.errors import DataDirError
from lrspeech.models.jobs import InferenceError
from lrspeech.models.synthesis import TtsOptions, synthesize_text_dir

# Untrained decoders stop at random: bound the length so tests are fast and never near-empty.
FAST = dict(minlenratio=3.0, maxlenratio=3.5)


def write_text_dir(path: Path, lines: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text(lines, encoding="utf-8")
    return path


def synth(packed_tts, text_dir, out, **kw):
    options = TtsOptions(**{"vocoder": None, **FAST, **kw})
    return synthesize_text_dir(packed_tts, text_dir, out, options)


def test_empty_texts_and_blank_lines_are_skipped_with_one_report(packed_tts, tmp_path, caplog):
    text = write_text_dir(tmp_path / "text", "u1 hali\nu2\n\nu3   \nu4 ni mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(packed_tts, text, tmp_path / "out")
    assert [r.utt for r in result.records] == ["u1", "u4"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("empty text skipped (u2, u3)" in m for m in messages) == 1
    assert sum("1 blank lines skipped (line 3)" in m for m in messages) == 1


def test_unknown_characters_are_counted_and_reported_once(packed_tts, tmp_path, caplog):
    text = write_text_dir(tmp_path / "text", "u1 hali ßana\nu2 jana ß\nu3 mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(packed_tts, text, tmp_path / "out")
    unknown = [r.getMessage() for r in caplog.records if "<unk>" in r.getMessage()]
    assert len(unknown) == 1 and "2 tokens not in the token list" in unknown[0]
    assert "'ß' x2" in unknown[0]
    assert result.report.unknown["ß"] == 2
    assert result.records[0].tokens.count("<unk>") == 1


def test_bad_text_dir_names_the_line(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali\nu1 jambo\n")
    with pytest.raises(DataDirError, match=r"text:2: utterance 'u1' is a duplicate id"):
        synth(packed_tts, text, tmp_path / "out")


def test_missing_lang_yaml_says_how_to_fix(packed_tts, tmp_path):
    import shutil

    bare = shutil.copytree(packed_tts, tmp_path / "tts")
    (bare / "lang.yaml").unlink()
    text = write_text_dir(tmp_path / "text", "u1 h a l i\n")
    with pytest.raises(InferenceError, match="lang.yaml: missing; .*--lang_config, or pass "
                                             r"pre-tokenized text \(--tokenized\)"):
        synth(bare, text, tmp_path / "out")
    result = synth(bare, text, tmp_path / "out", tokenized=True)
    assert result.records[0].tokens == ["h", "a", "l", "i"]


def test_espnet_token_types_use_espnets_tokenizer(packed_tts, tmp_path, caplog):
    """A model trained on ESPnet's own `char` tokens reads raw text through ESPnet's tokenizer."""
    import shutil

    import yaml

    model = shutil.copytree(packed_tts, tmp_path / "tts")
    config = yaml.safe_load((model / "config.yaml").read_text())
    config["token_type"] = "char"
    (model / "config.yaml").write_text(yaml.safe_dump(config))
    text = write_text_dir(tmp_path / "text", "u1 hali ßß\nu2 mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(model, text, tmp_path / "out")
    assert result.records[0].tokens == ["h", "a", "l", "i", "<space>", "<unk>", "<unk>"]
    unknown = [r.getMessage() for r in caplog.records if "<unk>" in r.getMessage()]
    assert len(unknown) == 1 and "2 tokens unknown to the model were read as <unk>: 'ß' x2 " \
        "(e.g. in u1)" in unknown[0]
