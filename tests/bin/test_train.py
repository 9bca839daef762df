"""asr_train / tts_train CLIs: ESPnet's arguments pass through; real runs on tests/data."""

from pathlib import Path

import numpy as np
import pytest
import torch

from lrspeech.bin import asr_train, tts_train
from lrspeech.models.espnet_train import data_args, find_checkpoint, train_args
from lrspeech.models.train_lists import write_token_list, write_train_lists
from lrspeech.text.token_list import read_token_list

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "conformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
ONE_STEP = ["--max_epoch", "1", "--num_iters_per_epoch", "1", "--num_att_plot", "0",
            "--use_tensorboard", "false", "--batch_size", "4"]


def kaldi_dir(rows, out: Path) -> Path:
    out.mkdir(parents=True)
    rows = sorted(rows, key=lambda r: r["id"])
    for name, column in (("wav.scp", "audio"), ("text", "text"), ("utt2spk", "speaker")):
        text = "".join(f"{r['id']} {r[column].lower().strip('.')}\n" for r in rows)
        (out / name).write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def an4_lists(an4_rows, tmp_path_factory):
    """AN4 (1 s clips, 8 speakers): ESPnet lists with speaker ids and a char token list."""
    root = tmp_path_factory.mktemp("an4")
    lists = {}
    for split, rows in (("train", an4_rows[:4]), ("valid", an4_rows[8:])):
        data = kaldi_dir(rows, root / "data" / split)
        spk2sid = lists["train"] / "spk2sid" if split == "valid" else None
        lists[split] = write_train_lists(data, root / "dump" / split, with_sids=True,
                                         spk2sid=spk2sid)
    tokens = write_token_list(lists["train"] / "text", root / "tokens.txt", "char")
    return root, lists, tokens


def run_cli(main, task, config, root, lists, tokens, name):
    """collect_stats then one training step, both through the CLI's main(argv)."""
    data = data_args(task, lists["train"], lists["valid"], tokens, "char")
    stats = root / f"stats_{name}"
    main(["--collect_stats", "true", "--config", str(config), *data, "--normalize", "none",
          "--train_shape_file", str(lists["train"] / "wav.scp"),
          "--valid_shape_file", str(lists["valid"] / "wav.scp"), "--output_dir", str(stats)])
    vocab = len(read_token_list(tokens))
    for split in ("train", "valid"):
        shape = (stats / split / "text_shape").read_text().splitlines()
        (stats / split / "text_shape.char").write_text("".join(f"{s},{vocab}\n" for s in shape))
    exp = root / f"exp_{name}"
    main([*train_args(task, config, lists["train"], lists["valid"], stats, exp,
                      tokens, "char"), *ONE_STEP])
    return stats, exp


def test_asr_train_cli_collects_stats_and_trains(an4_lists):
    root, lists, tokens = an4_lists
    stats, exp = run_cli(asr_train.main, "asr", ASR_CONFIG, root, lists, tokens, "asr")
    feats = np.load(stats / "train" / "feats_stats.npz")
    assert feats["sum"].shape == (80,) and int(feats["count"]) == 4 * 101  # 4 clips x 1 s
    state = torch.load(find_checkpoint(exp))
    assert state["ctc.ctc_lo.weight"].shape[0] == len(read_token_list(tokens))
    assert any(k.startswith("encoder.encoders.0.conv_module") for k in state)  # Conformer


def test_tts_train_cli_trains_multi_speaker(an4_lists):
    root, lists, tokens = an4_lists
    stats, exp = run_cli(tts_train.main, "tts", TTS_CONFIG, root, lists, tokens, "tts")
    assert len((stats / "train" / "speech_shape").read_text().splitlines()) == 4
    state = torch.load(find_checkpoint(exp))
    assert state["tts.sid_emb.weight"].shape[0] == 5  # 4 speakers + <unk>


def test_espnet_help_passes_through_with_mixspeech(capsys):
    with pytest.raises(SystemExit) as err:
        asr_train.main(["--help"])
    assert err.value.code == 0
    out = capsys.readouterr().out
    assert "--model {espnet,maskctc,pit_espnet,mixspeech}" in out
    assert "--collect_stats" in out


def test_bad_config_exits_with_the_file_and_choices(tmp_path):
    bad = tmp_path / "asr.yaml"
    bad.write_text("encoder: transformer\nmodel: mixspeeech\n")
    with pytest.raises(SystemExit) as err:
        asr_train.main(["--config", str(bad), "--output_dir", str(tmp_path / "exp")])
    assert str(err.value).startswith(f"asr_train: error: {bad}: unknown model 'mixspeeech'")
    missing = tmp_path / "tts.yaml"
    missing.write_text("feats_extract: fbank\n")
    with pytest.raises(SystemExit) as err:
        tts_train.main(["--config", str(missing)])
    assert str(err.value).startswith(f"tts_train: error: {missing}: no model name under 'tts:'")
    assert not (tmp_path / "exp").exists()
