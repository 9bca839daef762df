"""ESPnet arguments (sort-key order), checkpoints, and the trained micro models."""

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lrspeech.models import espnet_train
from lrspeech.models.espnet_train import TrainedExp
from lrspeech.models.tasks import ConfigError, build_model
from lrspeech.models.train_lists import DataListError, write_lists
from lrspeech.text.token_list import read_token_list

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"


def lists_dir(tmp_path: Path, with_sids: bool = False) -> Path:
    """Three utterances, two speakers (spkA, spkB) when `with_sids`."""
    wav = {"u1": "/a/1.flac", "u2": "/a/2.flac", "u3": "/a/3.flac"}
    text = {"u1": "a b", "u2": "b <space> c", "u3": "c"}
    utt2spk = {"u1": "spkB", "u2": "spkA", "u3": "spkB"} if with_sids else None
    return write_lists(tmp_path / "dump", wav, text, utt2spk)


def lines(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


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
    lists = lists_dir(tmp_path)
    argv = espnet_train.train_args("asr", ASR_CONFIG, lists, lists,
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
    lists = lists_dir(tmp_path, with_sids=True)
    argv = espnet_train.train_args("tts", TTS_CONFIG, lists, lists,
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
    lists = lists_dir(tmp_path)
    with pytest.raises(DataListError, match=r"stats/train/feats_stats.npz: missing; run "
                                            r"collect_stats"):
        espnet_train.train_args("asr", ASR_CONFIG, lists, lists, stats_dir(tmp_path),
                                tmp_path / "exp", tmp_path / "t.txt", "char")
    with pytest.raises(DataListError, match=r"nolists/wav.scp: missing; write the lists"):
        espnet_train.data_args("asr", tmp_path / "nolists", lists, tmp_path / "t.txt", "char")
    with pytest.raises(ConfigError, match=r"token_type bpe needs the sentencepiece model"):
        espnet_train.data_args("asr", lists, lists, tmp_path / "t.txt", "bpe")
    with pytest.raises(ConfigError, match=r"no checkpoint"):
        espnet_train.find_checkpoint(tmp_path)


def test_the_checkpoint_used_is_the_average_then_the_best_then_the_last(tmp_path):
    for name in ("1epoch.pth", "12epoch.pth", "3epoch.pth"):
        (tmp_path / name).write_bytes(b"x")
    assert espnet_train.find_checkpoint(tmp_path).name == "12epoch.pth"
    (tmp_path / "valid.loss.best.pth").write_bytes(b"x")
    assert espnet_train.find_checkpoint(tmp_path).name == "valid.loss.best.pth"
    (tmp_path / "valid.loss.ave_5best.pth").write_bytes(b"x")
    (tmp_path / "valid.loss.ave.pth").symlink_to("valid.loss.ave_5best.pth")
    assert espnet_train.find_checkpoint(tmp_path).name == "valid.loss.ave_5best.pth"


# ---------------------------------------------------------------- the trained micro models


def test_micro_asr_exp_dir(micro_asr):
    trained = TrainedExp.load(micro_asr.exp_dir)
    tokens = read_token_list(micro_asr.token_list)
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
    assert espnet_train.collect_stats("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir,
                                      stats, micro_asr.token_list, "char") == stats
    recorded = yaml.safe_load((micro_asr.exp_dir / ".done").read_text())["argv"]
    base = espnet_train.train_args("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir,
                                   stats, micro_asr.exp_dir, micro_asr.token_list, "char")
    assert recorded[: len(base)] == base
    assert espnet_train.train("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir, stats,
                              micro_asr.exp_dir, micro_asr.token_list, "char",
                              extra_args=recorded[len(base):]) == micro_asr.exp_dir
    assert time.time() - start < 2.0
    assert micro_asr.checkpoint.stat().st_mtime == before
    shapes = lines(stats / "train" / "text_shape.char")
    vocab = len(read_token_list(micro_asr.token_list))
    assert all(line.endswith(f",{vocab}") for line in shapes) and len(shapes) == 18


def test_training_with_new_arguments_continues(micro_asr, tmp_path):
    exp = tmp_path / "exp"
    shutil.copytree(micro_asr.exp_dir, exp, symlinks=True)
    stats = micro_asr.stats_file.parents[1]
    espnet_train.train("asr", ASR_CONFIG, micro_asr.train_dir, micro_asr.valid_dir, stats, exp,
                       micro_asr.token_list, "char",
                       extra_args=["--max_epoch", "3", "--num_iters_per_epoch", "1",
                                   "--num_att_plot", "0", "--use_tensorboard", "false"])
    assert (exp / "3epoch.pth").is_file()  # resumed from epoch 2, trained one more
    recorded = yaml.safe_load((exp / ".done").read_text())["argv"]
    assert recorded[recorded.index("--max_epoch") + 1] == "3"


def test_inference_model_names_the_file_as_espnet_recipes_do(tmp_path):
    for name in ("1epoch.pth", "2epoch.pth", "valid.loss.best.pth"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "latest.pth").symlink_to("2epoch.pth")
    assert espnet_train.find_checkpoint(tmp_path, "latest.pth").name == "2epoch.pth"
    assert espnet_train.find_checkpoint(tmp_path, "1epoch.pth").name == "1epoch.pth"
    assert espnet_train.find_checkpoint(tmp_path, "best").name == "valid.loss.best.pth"
    assert espnet_train.find_checkpoint(tmp_path, None).name == "valid.loss.best.pth"
    with pytest.raises(ConfigError, match=r"no 7epoch.pth \(the training kept 1epoch.pth, "
                       r"2epoch.pth, latest.pth, valid.loss.best.pth\); train first, or choose"):
        espnet_train.find_checkpoint(tmp_path, "7epoch.pth")
    for bad in ("../x.pth", "latest", "checkpoint.pth"):
        with pytest.raises(ConfigError, match=r"give 'best' or the name of a model file"):
            espnet_train.find_checkpoint(tmp_path, bad)


@pytest.mark.parametrize("config,expect", [({"tts": "fastspeech2"}, "2epoch.pth"),
                                           ({"encoder": "conformer"}, "valid.loss.best.pth"),
                                           ({"lm": "transformer"}, "valid.loss.best.pth")])
def test_without_inference_model_an_exp_dir_gives_its_tasks_model(tmp_path, config, expect):
    for name in ("1epoch.pth", "2epoch.pth"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "valid.loss.best.pth").symlink_to("1epoch.pth")
    (tmp_path / "latest.pth").symlink_to("2epoch.pth")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    want = (tmp_path / expect).resolve()
    assert espnet_train.find_checkpoint(tmp_path) == want
    assert espnet_train.default_inference_model(tmp_path) == (
        "latest.pth" if "tts" in config else "best")


def test_without_inference_model_an_unknown_config_is_named(tmp_path):
    (tmp_path / "1epoch.pth").write_bytes(b"x")
    (tmp_path / "config.yaml").write_text("batch_size: 2\n")
    with pytest.raises(ConfigError, match=r"config.yaml: none of `tts:`, `encoder:`, `lm:` set"):
        espnet_train.find_checkpoint(tmp_path)
