"""The text CLIs end to end on real Swahili/English transcripts, and their error exits."""

from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from lrspeech.bin import make_token_list, make_token_map, tokenize_text, train_bpe
from lrspeech.text.token_list import read_token_list
from lrspeech.text.token_map import read_token_map_entries

CONF = Path(__file__).resolve().parents[2] / "conf" / "lang"


def _lang_yaml(tmp_path: Path, **values: object) -> Path:
    """The Swahili config with some values replaced."""
    data = yaml.safe_load((CONF / "sw.yaml").read_text(encoding="utf-8"))
    data.update(values)
    path = tmp_path / "lang.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _kaldi_text(rows: List[Dict[str, str]], path: Path) -> Path:
    lines = sorted(f"{r['id']} {r['text']}\n" for r in rows)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_tokenize_then_token_list_then_map(tmp_path, sw_rows, lj_rows, capsys, caplog):
    sw_tok, en_tok = tmp_path / "sw.tok", tmp_path / "en.tok"
    with caplog.at_level("INFO"):
        assert tokenize_text.main(["--lang_config", str(CONF / "sw.yaml"), "--in",
                                   str(_kaldi_text(sw_rows, tmp_path / "sw_text")),
                                   "--out", str(sw_tok)]) == 0
    assert f"{sw_tok}: {len(sw_rows)} utterances of {tmp_path / 'sw_text'}, phn tokens; no " \
        "unknown characters" in caplog.messages
    lines = dict(line.split(" ", 1) for line in sw_tok.read_text(encoding="utf-8").splitlines())
    assert lines["200702-201811_swh_35d_elicit_92"] == (
        "p o l i s i <space> w a l i n i k a m a t a ."
    )
    assert tokenize_text.main(["--lang_config", str(CONF / "en.yaml"), "--in",
                               str(_kaldi_text(lj_rows, tmp_path / "en_text")),
                               "--out", str(en_tok)]) == 0

    sw_list, en_list = tmp_path / "sw_tokens.txt", tmp_path / "en_tokens.txt"
    assert make_token_list.main([str(sw_tok), "--out", str(sw_list)]) == 0
    assert make_token_list.main([str(en_tok), "--out", str(en_list)]) == 0
    tokens = read_token_list(sw_list)
    assert tokens[:3] == ["<blank>", "<unk>", "a"] and tokens[-1] == "<sos/eos>"
    assert {"<space>", "ɲ", "θ", "."} <= set(tokens)

    out = tmp_path / "token_map.tsv"
    assert make_token_map.main([
        "--target_token_list", str(sw_list), "--source_token_list", str(en_list),
        "--target_lang_config", str(CONF / "sw.yaml"),
        "--source_lang_config", str(CONF / "en.yaml"), "--out", str(out)]) == 0
    entries = {e.target: e for e in read_token_map_entries(out)}
    assert list(entries) == tokens  # one row per target token, in token-list order
    assert entries["<space>"].method == "identity"
    assert entries["a"].method in ("identity", "decomposed", "features")
    assert f"{out}: {len(tokens)} target tokens; identity:" in capsys.readouterr().out


def test_bpe_pipeline(tmp_path, sw_rows, capsys):
    text = _kaldi_text(sw_rows, tmp_path / "text")
    prefix = tmp_path / "bpe" / "sw"
    assert train_bpe.main(["--lang_config", str(CONF / "sw.yaml"), "--text", str(text),
                           "--out", str(prefix), "--vocab_size", "40",
                           "--punctuation", "strip"]) == 0
    assert "sw.model: unigram model, vocab 40, 12 sentences" in capsys.readouterr().out
    tok = tmp_path / "text.bpe"
    assert tokenize_text.main(["--lang_config", str(CONF / "sw.yaml"), "--in", str(text),
                               "--out", str(tok), "--token_type", "bpe", "--punctuation",
                               "strip", "--bpemodel", f"{prefix}.model"]) == 0
    first = tok.read_text(encoding="utf-8").splitlines()[0].split()
    assert first[1].startswith("\u2581")
    tokens = tmp_path / "tokens.txt"
    assert make_token_list.main([str(tok), "--out", str(tokens),
                                 "--bpemodel", f"{prefix}.model"]) == 0
    assert len(read_token_list(tokens)) == 40  # 37 pieces + <blank> <unk> <sos/eos>


def test_unknown_voice_exits_1_with_message(tmp_path, capsys):
    yaml_path = _lang_yaml(tmp_path, espeak_voice="kiswahili")
    text = tmp_path / "text"
    text.write_text("u1 habari\n", encoding="utf-8")
    assert tokenize_text.main(["--lang_config", str(yaml_path), "--in", str(text),
                               "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"error: {yaml_path}: espeak_voice: 'kiswahili' is not an espeak-ng voice" in err
    assert "espeak-ng --voices" in err
    assert not (tmp_path / "out").exists()


def test_empty_line_exits_1_with_location(tmp_path, capsys):
    text = tmp_path / "text"
    text.write_text("u1 habari\nu2\n", encoding="utf-8")
    assert tokenize_text.main(["--lang_config", str(CONF / "sw.yaml"), "--in", str(text),
                               "--out", str(tmp_path / "out")]) == 1
    assert f"{text}:2: utterance 'u2' has no value after the id" in capsys.readouterr().err


def test_unknown_normalizer_exits_1(tmp_path, capsys):
    yaml_path = _lang_yaml(tmp_path, number_normalizer="german")
    assert train_bpe.main(["--lang_config", str(yaml_path), "--text", str(tmp_path),
                           "--out", str(tmp_path / "bpe")]) == 1
    err = capsys.readouterr().err
    assert f"{yaml_path}: number_normalizer: 'german' is not valid; choose one of" in err


@pytest.mark.parametrize("module", [tokenize_text, make_token_list, make_token_map, train_bpe])
def test_help_mentions_usage(module, capsys):
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0
    assert "Usage: python -m lrspeech.bin." in capsys.readouterr().out


def _data_dir(path: Path, rows: List[Dict[str, str]], speakers: List[str]) -> Path:
    path.mkdir(parents=True)
    rows = sorted(rows, key=lambda r: r["id"])
    _kaldi_text(rows, path / "text")
    (path / "utt2spk").write_text(
        "".join(f"{r['id']} {speakers[i % len(speakers)]}\n" for i, r in enumerate(rows)),
        encoding="utf-8")
    return path


def test_text_frontend_writes_stage_3(tmp_path, sw_rows, lj_rows, capsys):
    """Stage 3 in one process: both sides' token lists and maps, speaker ids, target voice."""
    from lrspeech.bin import text_frontend

    paired = _data_dir(tmp_path / "paired", sw_rows[:6], ["zed", "amy", "zed"])
    unpaired_text = _data_dir(tmp_path / "text", sw_rows[6:], ["x"])
    speech = _data_dir(tmp_path / "speech", sw_rows[:2], ["bob", "0ne"])
    rich = _data_dir(tmp_path / "rich", lj_rows, ["lj"])
    out = tmp_path / "token"
    assert text_frontend.main([
        "--lang_config", str(CONF / "sw.yaml"), "--rich_lang_config", str(CONF / "en.yaml"),
        "--tts_token_type", "phn", "--text", str(paired), str(unpaired_text),
        "--rich_text", str(rich), "--speakers", str(paired), str(speech),
        "--target_speaker_from", str(paired), "--out_dir", str(out)]) == 0
    for name in ("target_tts_tokens.txt", "target_asr_tokens.txt", "rich_tts_tokens.txt",
                 "rich_asr_tokens.txt", "token_map_tts.tsv", "token_map_asr.tsv"):
        assert (out / name).stat().st_size > 0, name
    target = (out / "text" / "target").read_text(encoding="utf-8").splitlines()
    assert len(target) == len(sw_rows)  # every text it trains on or is measured on
    assert (out / "spk2sid").read_text().splitlines() == [
        "<unk> 0", "0ne 1", "amy 2", "bob 3", "zed 4"]
    assert (out / "target_speaker").read_text() == "zed\n"  # 4 of the 6 paired clips
    asr_tokens = read_token_list(out / "target_asr_tokens.txt")
    assert "<space>" in asr_tokens and "." not in asr_tokens  # punctuation stripped for ASR
    assert "token lists" in capsys.readouterr().out
    assert text_frontend.main([
        "--lang_config", str(CONF / "sw.yaml"), "--rich_lang_config", str(CONF / "en.yaml"),
        "--tts_token_type", "phn", "--text", str(tmp_path / "missing"), "--rich_text", str(rich),
        "--speakers", str(paired), "--target_speaker_from", str(paired),
        "--out_dir", str(tmp_path / "t2")]) == 1
    assert "rerun stage 2" in capsys.readouterr().err


def test_text_frontend_parts_write_their_own_files_only(tmp_path, sw_rows, lj_rows, capsys):
    """--part rich then --part target give the files of one whole run; each part writes only
    its files, and the target part without the rich lists says what to run first."""
    from lrspeech.bin import text_frontend

    paired = _data_dir(tmp_path / "paired", sw_rows[:6], ["zed"])
    rich = _data_dir(tmp_path / "rich", lj_rows, ["lj"])
    common = ["--rich_lang_config", str(CONF / "en.yaml"), "--tts_token_type", "phn"]
    target = ["--lang_config", str(CONF / "sw.yaml"), "--text", str(paired), "--speakers",
              str(paired), "--target_speaker_from", str(paired)]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert text_frontend.main([*common, *target, "--rich_text", str(rich),
                               "--out_dir", str(whole)]) == 0
    assert text_frontend.main([*common, *target, "--part", "target",
                               "--out_dir", str(split)]) == 1
    assert "run --part rich first" in capsys.readouterr().err
    assert text_frontend.main([*common, "--part", "target", "--out_dir", str(split)]) == 1
    assert "--part target needs --lang_config --text --speakers" in capsys.readouterr().err
    assert text_frontend.main([*common, "--part", "rich", "--rich_text", str(rich),
                               "--out_dir", str(split)]) == 0
    files = sorted(str(p.relative_to(split)) for p in split.rglob("*") if p.is_file())
    assert files == sorted(text_frontend.RICH_FILES)
    assert text_frontend.main([*common, *target, "--part", "target",
                               "--out_dir", str(split)]) == 0
    for name in (*text_frontend.RICH_FILES, *text_frontend.TARGET_FILES):
        assert (split / name).read_bytes() == (whole / name).read_bytes(), name
