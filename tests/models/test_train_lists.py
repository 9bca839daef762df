"""Training and token lists: pairing, speaker ids, atomic rewrite, errors naming the line."""

import logging
from pathlib import Path

import pytest

from lrspeech.data.errors import DataDirError
from lrspeech.models.espnet_train import data_args
from lrspeech.models.speakers import SpeakerError
from lrspeech.models.tasks import ConfigError
from lrspeech.models.train_lists import (
    DataListError,
    write_lists,
    write_token_list,
    write_train_lists,
)
from lrspeech.text.token_list import TokenListError, read_token_list

DEFAULT_FILES = {
    "wav.scp": "u3 /a/3.flac\nu1 /a/1.flac\nu2 /a/2.flac\n",
    "text": "u1 a b\nu2 b <space> c\nu3 c\n",
    "utt2spk": "u1 spkB\nu2 spkA\nu3 spkB\n",
}


def data_dir(tmp_path: Path, name: str = "data", **files: str) -> Path:
    """A small Kaldi-style dir; keyword `wav_scp` stands for wav.scp."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    contents = {**DEFAULT_FILES, **{k.replace("wav_scp", "wav.scp"): v for k, v in files.items()}}
    for file_name, text in contents.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder


def lines(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------- training lists


def test_lists_are_sorted_with_speaker_ids(tmp_path):
    out = write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    assert lines(out / "wav.scp") == ["u1 /a/1.flac", "u2 /a/2.flac", "u3 /a/3.flac"]
    assert lines(out / "text") == ["u1 a b", "u2 b <space> c", "u3 c"]
    assert lines(out / "spk2sid") == ["<unk> 0", "spkA 1", "spkB 2"]
    assert lines(out / "utt2sid") == ["u1 2", "u2 1", "u3 2"]
    assert not list(tmp_path.glob(".dump*"))  # no temp dir left behind


def test_valid_lists_reuse_the_training_speaker_map(tmp_path, caplog):
    train = write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    valid = data_dir(tmp_path, "valid", wav_scp="v1 /a/v1.flac\nv2 /a/v2.flac\n",
                     text="v1 a\nv2 b\n", utt2spk="v1 spkB\nv2 newspk\n")
    with caplog.at_level(logging.WARNING):
        out = write_train_lists(valid, tmp_path / "dump_valid", with_sids=True,
                                spk2sid=train / "spk2sid")
    assert lines(out / "utt2sid") == ["v1 2", "v2 0"]
    assert "speakers newspk are not in spk2sid; they get sid 0" in caplog.text


def test_tokenized_text_and_durations_are_used(tmp_path):
    folder = data_dir(tmp_path, durations="u1 3 4 1\nu2 2 2 2 2 1\nu3 5 1\n")
    tokenized = tmp_path / "text.tok"
    tokenized.write_text("u1 x\nu2 y\nu3 z\n", encoding="utf-8")
    out = write_train_lists(folder, tmp_path / "dump", text=tokenized)
    assert lines(out / "text") == ["u1 x", "u2 y", "u3 z"]
    assert lines(out / "durations")[0] == "u1 3 4 1"
    assert not (out / "utt2sid").exists()
    entries = option_values(data_args("tts", out, out, tmp_path / "t.txt", "word"),
                            "--train_data_path_and_name_and_type")
    assert entries[-1] == f"{out}/durations,durations,text_int"


def test_lists_from_tables_in_memory_match_the_data_dir_ones(tmp_path):
    from_dir = write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    wav = {"u1": "/a/1.flac", "u2": "/a/2.flac", "u3": "/a/3.flac", "u4": "/a/4.flac"}
    text = {"u3": "c", "u1": "a b", "u2": "b <space> c"}  # u4: audio, no text: not listed
    utt2spk = {"u1": "spkB", "u2": "spkA", "u3": "spkB", "u4": "spkC"}
    out = write_lists(tmp_path / "mem", wav, text, utt2spk,
                      extra={"durations": {"u1": "1 2 1", "u2": "1 1 1 1", "u3": "2 1"}})
    for name in ("wav.scp", "text", "utt2spk", "utt2sid", "spk2sid"):
        assert lines(out / name) == lines(from_dir / name), name
    assert lines(out / "durations") == ["u1 1 2 1", "u2 1 1 1 1", "u3 2 1"]
    missing = r"mem2/wav.scp: utterance 'u9' \(1 in all\) is missing"
    with pytest.raises(DataListError, match=missing):
        write_lists(tmp_path / "mem2", wav, {"u9": "x"})
    with pytest.raises(DataListError, match="no utterances"):
        write_lists(tmp_path / "mem2", wav, {})
    assert not (tmp_path / "mem2").exists()


def test_rewriting_lists_replaces_old_files(tmp_path):
    out = write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    write_train_lists(data_dir(tmp_path), out)
    assert not (out / "utt2sid").exists() and lines(out / "text")[0] == "u1 a b"


def test_text_without_audio(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu2 b\nu3 c\nu9 d\n")
    with pytest.raises(DataListError) as err:
        write_train_lists(folder, tmp_path / "dump")
    assert str(err.value) == (
        f"{folder}/text:4: utterance 'u9' has no audio in {folder}/wav.scp; add it or run "
        "utils/fix_data_dir.sh"
    )
    assert not (tmp_path / "dump").exists()


def test_audio_without_text(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu3 c\n")
    with pytest.raises(DataListError) as err:
        write_train_lists(folder, tmp_path / "dump")
    assert str(err.value) == (
        f"{folder}/wav.scp:3: utterance 'u2' (1 in all) has no transcript in {folder}/text; "
        "add it or run utils/fix_data_dir.sh"
    )


def test_malformed_lines_are_all_named(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu2\nu3 c\nu1 c\n")
    with pytest.raises(DataDirError) as err:
        write_train_lists(folder, tmp_path / "dump")
    assert f"{folder}/text:2: utterance 'u2' has no value after the id" in str(err.value)
    assert f"{folder}/text:4: utterance 'u1' is a duplicate id with a different value" in str(
        err.value)
    folder = data_dir(tmp_path, "tabs", wav_scp="u1\t/a/1.flac\nu2 /a/2.flac\nu3 /a/3.flac\n")
    out = write_train_lists(folder, tmp_path / "dump")  # any whitespace separates, as in Kaldi
    assert lines(out / "wav.scp")[0] == "u1 /a/1.flac"


def test_segments_and_missing_files(tmp_path):
    folder = data_dir(tmp_path, segments="u1 rec 0 1\n")
    with pytest.raises(DataListError, match=r"segments: ESPnet training lists need one audio "
                                            r"file per utterance; run the audio formatting"):
        write_train_lists(folder, tmp_path / "dump")
    folder = data_dir(tmp_path, "nospk")
    (folder / "utt2spk").unlink()
    with pytest.raises(DataListError, match=r"nospk/utt2spk: missing; speaker ids"):
        write_train_lists(folder, tmp_path / "dump", with_sids=True)
    folder = data_dir(tmp_path, "partial", utt2spk="u1 a\nu2 b\n")
    with pytest.raises(DataListError, match=r"partial/utt2spk: utterance 'u3' \(1 in all\) is "
                                            r"missing"):
        write_train_lists(folder, tmp_path / "dump", with_sids=True)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "spk2sid").write_text("x one\n")
    with pytest.raises(SpeakerError, match=r"bad/spk2sid:1: speaker 'x' has value 'one', "
                                           r"expected a sid"):
        write_train_lists(data_dir(tmp_path, "ok"), tmp_path / "dump", with_sids=True,
                          spk2sid=tmp_path / "bad" / "spk2sid")


# ---------------------------------------------------------------- token lists


def test_char_and_word_token_lists(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 ab a\nu2 b\n", encoding="utf-8")
    chars = write_token_list(text, tmp_path / "chars.txt", "char")
    assert lines(chars) == ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    words = write_token_list(text, tmp_path / "words.txt", "word")
    assert lines(words) == ["<blank>", "<unk>", "a", "ab", "b", "<sos/eos>"]
    with pytest.raises(ConfigError, match=r"token_type 'bpe': build the list with"):
        write_token_list(text, tmp_path / "bpe.txt", "bpe")
    (tmp_path / "bad.txt").write_text("a\nb\n")
    with pytest.raises(TokenListError, match=r"bad.txt: has 2 lines"):
        read_token_list(tmp_path / "bad.txt")


def option_values(argv, option):
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]
