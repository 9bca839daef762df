"""ESPnet I/O: training lists, token lists, argument order, and the trained micro models."""

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lrspeech.models import espnet_io
from lrspeech.models.espnet_io import DataListError, TrainedExp
from lrspeech.models.tasks import ConfigError, build_model
from lrspeech.text.token_list import TokenListError

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"


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
    out = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    assert lines(out / "wav.scp") == ["u1 /a/1.flac", "u2 /a/2.flac", "u3 /a/3.flac"]
    assert lines(out / "text") == ["u1 a b", "u2 b <space> c", "u3 c"]
    assert lines(out / "spk2sid") == ["<unk> 0", "spkA 1", "spkB 2"]
    assert lines(out / "utt2sid") == ["u1 2", "u2 1", "u3 2"]
    assert not list(tmp_path.glob(".dump*"))  # no temp dir left behind


def test_valid_lists_reuse_the_training_speaker_map(tmp_path, caplog):
    train = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    valid = data_dir(tmp_path, "valid", wav_scp="v1 /a/v1.flac\nv2 /a/v2.flac\n",
                     text="v1 a\nv2 b\n", utt2spk="v1 spkB\nv2 newspk\n")
    with caplog.at_level(logging.WARNING):
        out = espnet_io.write_train_lists(valid, tmp_path / "dump_valid", with_sids=True,
                                          spk2sid=train / "spk2sid")
    assert lines(out / "utt2sid") == ["v1 2", "v2 0"]
    assert "speakers newspk are not in spk2sid; they get sid 0" in caplog.text


def test_tokenized_text_and_durations_are_used(tmp_path):
    folder = data_dir(tmp_path, durations="u1 3 4 1\nu2 2 2 2 2 1\nu3 5 1\n")
    tokenized = tmp_path / "text.tok"
    tokenized.write_text("u1 x\nu2 y\nu3 z\n", encoding="utf-8")
    out = espnet_io.write_train_lists(folder, tmp_path / "dump", text=tokenized)
    assert lines(out / "text") == ["u1 x", "u2 y", "u3 z"]
    assert lines(out / "durations")[0] == "u1 3 4 1"
    assert not (out / "utt2sid").exists()
    entries = option_values(espnet_io.data_args("tts", out, out, tmp_path / "t.txt", "word"),
                            "--train_data_path_and_name_and_type")
    assert entries[-1] == f"{out}/durations,durations,text_int"


def test_lists_from_tables_in_memory_match_the_data_dir_ones(tmp_path):
    from_dir = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    wav = {"u1": "/a/1.flac", "u2": "/a/2.flac", "u3": "/a/3.flac", "u4": "/a/4.flac"}
    text = {"u3": "c", "u1": "a b", "u2": "b <space> c"}  # u4: audio, no text: not listed
    utt2spk = {"u1": "spkB", "u2": "spkA", "u3": "spkB", "u4": "spkC"}
    out = espnet_io.write_lists(tmp_path / "mem", wav, text, utt2spk,
                                extra={"durations": {"u1": "1 2 1", "u2": "1 1 1 1", "u3": "2 1"}})
    for name in ("wav.scp", "text", "utt2spk", "utt2sid", "spk2sid"):
        assert lines(out / name) == lines(from_dir / name), name
    assert lines(out / "durations") == ["u1 1 2 1", "u2 1 1 1 1", "u3 2 1"]
    missing = r"mem2/wav.scp: utterance 'u9' \(1 in all\) is missing"
    with pytest.raises(DataListError, match=missing):
        espnet_io.write_lists(tmp_path / "mem2", wav, {"u9": "x"})
    with pytest.raises(DataListError, match="no utterances"):
        espnet_io.write_lists(tmp_path / "mem2", wav, {})
    assert not (tmp_path / "mem2").exists()


def test_rewriting_lists_replaces_old_files(tmp_path):
    out = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    espnet_io.write_train_lists(data_dir(tmp_path), out)
    assert not (out / "utt2sid").exists() and lines(out / "text")[0] == "u1 a b"


def test_text_without_audio(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu2 b\nu3 c\nu9 d\n")
    with pytest.raises(DataListError) as err:
        espnet_io.write_train_lists(folder, tmp_path / "dump")
    assert str(err.value) == (
        f"{folder}/text:4: utterance 'u9' has no audio in {folder}/wav.scp; add it or run "
        "utils/fix_data_dir.sh"
    )
    assert not (tmp_path / "dump").exists()


def test_audio_without_text(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu3 c\n")
    with pytest.raises(DataListError) as err:
        espnet_io.write_train_lists(folder, tmp_path / "dump")
    assert str(err.value) == (
        f"{folder}/wav.scp:3: utterance 'u2' (1 in all) has no transcript in {folder}/text; "
        "add it or run utils/fix_data_dir.sh"
    )


def test_empty_transcript_and_duplicates(tmp_path):
    folder = data_dir(tmp_path, text="u1 a\nu2\nu3 c\n")
    with pytest.raises(DataListError, match=r"/text:2: utterance 'u2' has no value"):
        espnet_io.write_train_lists(folder, tmp_path / "dump")
    folder = data_dir(tmp_path, "dup", text="u1 a\nu2 b\nu1 c\nu3 c\n")
    with pytest.raises(DataListError, match=r"dup/text:3: utterance 'u1' appears twice"):
        espnet_io.write_train_lists(folder, tmp_path / "dump")


def test_segments_and_missing_files(tmp_path):
    folder = data_dir(tmp_path, segments="u1 rec 0 1\n")
    with pytest.raises(DataListError, match=r"segments: ESPnet training lists need one audio "
                                            r"file per utterance; run the audio formatting"):
        espnet_io.write_train_lists(folder, tmp_path / "dump")
    folder = data_dir(tmp_path, "nospk")
    (folder / "utt2spk").unlink()
    with pytest.raises(DataListError, match=r"nospk/utt2spk: missing; speaker ids"):
        espnet_io.write_train_lists(folder, tmp_path / "dump", with_sids=True)
    folder = data_dir(tmp_path, "partial", utt2spk="u1 a\nu2 b\n")
    with pytest.raises(DataListError, match=r"partial/utt2spk: utterance 'u3' \(1 in all\) is "
                                            r"missing"):
        espnet_io.write_train_lists(folder, tmp_path / "dump", with_sids=True)
    with pytest.raises(DataListError, match=r"bad/spk2sid:1: speaker 'x' has sid 'one'"):
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "spk2sid").write_text("x one\n")
        espnet_io.write_train_lists(data_dir(tmp_path, "ok"), tmp_path / "dump", with_sids=True,
                                    spk2sid=tmp_path / "bad" / "spk2sid")


# ---------------------------------------------------------------- token lists


def test_char_and_word_token_lists(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 ab a\nu2 b\n", encoding="utf-8")
    chars = espnet_io.write_token_list(text, tmp_path / "chars.txt", "char")
    assert lines(chars) == ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    words = espnet_io.write_token_list(text, tmp_path / "words.txt", "word")
    assert lines(words) == ["<blank>", "<unk>", "a", "ab", "b", "<sos/eos>"]
    with pytest.raises(ConfigError, match=r"token_type 'bpe': build the list with"):
        espnet_io.write_token_list(text, tmp_path / "bpe.txt", "bpe")
    (tmp_path / "bad.txt").write_text("a\nb\n")
    with pytest.raises(TokenListError, match=r"bad.txt: has 2 lines"):
        espnet_io.read_token_list(tmp_path / "bad.txt")


# ---------------------------------------------------------------- ESPnet arguments


def option_values(argv, option):
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]


def stats_dir(tmp_path: Path, *stats: str) -> Path:
    for split in ("train", "valid"):
        (tmp_path / "stats" / split).mkdir(parents=True, exist_ok=True)
        for name in stats:
            (tmp_path / "stats" / split / name).write_bytes(b"")
    return tmp_path / "stats"


def test_asr_sorts_by_speech_with_matching_fold_lengths(tmp_path):
    lists = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump")
    argv = espnet_io.train_args("asr", ASR_CONFIG, lists, lists,
                                stats_dir(tmp_path, "feats_stats.npz"), tmp_path / "exp",
                                tmp_path / "tokens.txt", "char")
    shapes = option_values(argv, "--train_shape_file")
    assert [Path(s).name for s in shapes] == ["speech_shape", "text_shape.char"]
    assert option_values(argv, "--fold_length") == ["80000", "150"]
    assert option_values(argv, "--train_data_path_and_name_and_type") == [
        f"{lists}/wav.scp,speech,sound", f"{lists}/text,text,text"]
    assert option_values(argv, "--normalize_conf") == [
        f"stats_file={tmp_path}/stats/train/feats_stats.npz"]
    assert option_values(argv, "--token_type") == ["char"]
    assert "--tts_conf" not in argv


def test_tts_sorts_by_text_and_sets_the_speaker_count(tmp_path):
    lists = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump", with_sids=True)
    argv = espnet_io.train_args("tts", TTS_CONFIG, lists, lists,
                                stats_dir(tmp_path, "feats_stats.npz"), tmp_path / "exp",
                                tmp_path / "tokens.txt", "word")
    shapes = option_values(argv, "--valid_shape_file")
    assert [Path(s).name for s in shapes] == ["text_shape.word", "speech_shape"]
    assert option_values(argv, "--fold_length") == ["150", "204800"]
    assert option_values(argv, "--train_data_path_and_name_and_type") == [
        f"{lists}/text,text,text", f"{lists}/wav.scp,speech,sound",
        f"{lists}/utt2sid,sids,text_int"]
    assert option_values(argv, "--tts_conf") == ["spks=3"]  # <unk>, spkA, spkB
    assert option_values(argv, "--cleaner") == ["none"] and option_values(argv, "--g2p") == [
        "none"]


def test_training_needs_stats_and_lists(tmp_path):
    lists = espnet_io.write_train_lists(data_dir(tmp_path), tmp_path / "dump")
    with pytest.raises(DataListError, match=r"stats/train/feats_stats.npz: missing; run "
                                            r"collect_stats"):
        espnet_io.train_args("asr", ASR_CONFIG, lists, lists, stats_dir(tmp_path),
                             tmp_path / "exp", tmp_path / "t.txt", "char")
    with pytest.raises(DataListError, match=r"nolists/wav.scp: missing; write the lists"):
        espnet_io.data_args("asr", tmp_path / "nolists", lists, tmp_path / "t.txt", "char")
    with pytest.raises(ConfigError, match=r"token_type bpe needs the sentencepiece model"):
        espnet_io.data_args("asr", lists, lists, tmp_path / "t.txt", "bpe")
    with pytest.raises(ConfigError, match=r"no checkpoint"):
        espnet_io.find_checkpoint(tmp_path)


def test_the_checkpoint_used_is_the_average_then_the_best_then_the_last(tmp_path):
    for name in ("1epoch.pth", "12epoch.pth", "3epoch.pth"):
        (tmp_path / name).write_bytes(b"x")
    assert espnet_io.find_checkpoint(tmp_path).name == "12epoch.pth"
    (tmp_path / "valid.loss.best.pth").write_bytes(b"x")
    assert espnet_io.find_checkpoint(tmp_path).name == "valid.loss.best.pth"
    (tmp_path / "valid.loss.ave_5best.pth").write_bytes(b"x")
    (tmp_path / "valid.loss.ave.pth").symlink_to("valid.loss.ave_5best.pth")
    assert espnet_io.find_checkpoint(tmp_path).name == "valid.loss.ave_5best.pth"


# ---------------------------------------------------------------- the trained micro models


def test_micro_asr_exp_dir(micro_asr):
    trained = TrainedExp.load(micro_asr.exp_dir)
    tokens = espnet_io.read_token_list(micro_asr.token_list)
    assert trained.token_list == tokens and "<space>" in tokens
    assert trained.checkpoint == micro_asr.checkpoint and trained.checkpoint.is_file()
    stats = np.load(trained.stats_file)
    assert stats["sum"].shape == (80,) and stats["count"] > 1000  # 80-dim fbank frames
    config = yaml.safe_load(micro_asr.config.read_text())
    assert config["frontend_conf"]["n_mels"] == 80 and config["model"] == "espnet"
    model = build_model("asr", micro_asr.config)
    model.load_state_dict(torch.load(trained.checkpoint), strict=False)
    assert (micro_asr.exp_dir / ".done").is_file()
    assert len(lines(micro_asr.train_dir / "wav.scp")) == 18


def test_micro_tts_exp_dir_is_multi_speaker(micro_tts):
    config = yaml.safe_load(micro_tts.config.read_text())
    spk2sid = dict(line.split() for line in lines(micro_tts.spk2sid))
    assert len(spk2sid) == 10 and spk2sid["<unk>"] == "0"  # 9 speakers + <unk>
    assert config["tts_conf"]["spks"] == 10 and config["token_type"] == "word"
    state = torch.load(micro_tts.checkpoint)
    assert state["tts.sid_emb.weight"].shape == (10, 64)
    assert state["tts.encoder.embed.0.weight"].shape[0] == len(config["token_list"])
    assert config["tts_conf"]["use_guided_attn_loss"] is True
    first = lines(micro_tts.train_dir / "text")[0].split()  # "3 haki ya ..." pre-tokenized
    assert first[1:5] == ["3", "<space>", "h", "a"]


def test_finished_steps_are_skipped(micro_asr):
    before = micro_asr.checkpoint.stat().st_mtime
    start = time.time()
    stats = micro_asr.stats_file.parents[1]
    assert espnet_io.collect_stats("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir,
                                   stats, micro_asr.token_list, "char") == stats
    recorded = yaml.safe_load((micro_asr.exp_dir / ".done").read_text())["argv"]
    base = espnet_io.train_args("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir,
                                stats, micro_asr.exp_dir, micro_asr.token_list, "char")
    assert recorded[: len(base)] == base
    assert espnet_io.train("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir, stats,
                           micro_asr.exp_dir, micro_asr.token_list, "char",
                           extra_args=recorded[len(base):]) == micro_asr.exp_dir
    assert time.time() - start < 2.0
    assert micro_asr.checkpoint.stat().st_mtime == before
    shapes = lines(stats / "train" / "text_shape.char")
    vocab = len(espnet_io.read_token_list(micro_asr.token_list))
    assert all(line.endswith(f",{vocab}") for line in shapes) and len(shapes) == 18


def test_training_with_new_arguments_continues(micro_asr, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(micro_asr.exp_dir, exp, symlinks=True)
    stats = micro_asr.stats_file.parents[1]
    espnet_io.train("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir, stats, exp,
                    micro_asr.token_list, "char",
                    extra_args=["--max_epoch", "3", "--num_iters_per_epoch", "1",
                                "--num_att_plot", "0", "--use_tensorboard", "false"])
    assert (exp / "3epoch.pth").is_file()  # resumed from epoch 2, trained one more
    recorded = yaml.safe_load((exp / ".done").read_text())["argv"]
    assert recorded[recorded.index("--max_epoch") + 1] == "3"
