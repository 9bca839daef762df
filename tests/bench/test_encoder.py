"""bench/encoder.py helpers: the head config per feature kind, the setting, the summary."""

import json

import pytest
import yaml


@pytest.fixture(scope="module")
def enc(bench_module):
    return bench_module("encoder")


def test_head_config_swaps_only_the_features(enc, tmp_path):
    base = yaml.safe_load(enc.HEAD.read_text())
    logmel = yaml.safe_load(enc.head_config("logmel", tmp_path).read_text())
    assert logmel["frontend"] == "default" and logmel["frontend_conf"]["n_mels"] == 80
    assert logmel["encoder_conf"]["input_layer"] == "conv2d2"  # 100 -> 50 frames per second
    assert logmel["specaug_conf"]["freq_mask_width_range"] == [0, 10]
    small = yaml.safe_load(enc.head_config("whisper-small", tmp_path).read_text())
    assert small["frontend"] == "whisper_ct2"
    assert small["frontend_conf"]["speech_encoder"] == "whisper-small"
    for conf in (logmel, small):  # the head itself is the same
        assert conf["encoder"] == base["encoder"] and conf["model_conf"] == base["model_conf"]
        assert {k: v for k, v in conf["encoder_conf"].items() if k != "input_layer"} == \
            {k: v for k, v in base["encoder_conf"].items() if k != "input_layer"}


def test_setting_keeps_dev_validation_and_training_apart(enc, tmp_path, test_data):
    text = tmp_path / "text.tsv"
    text.write_text("v1\tHabari za asubuhi\nv2\tNi mimi\n")
    s = enc.make_setting(test_data / "sw", tmp_path, n_paired=4, max_paired_dur=16.0,
                         dev_max_dur=60.0, text=text)
    ids = {k: set(ln.split()[0] for ln in (v / "wav.scp").read_text().splitlines())
           for k, v in s.items()}
    assert len(ids["train"]) == 4 and 0 < len(ids["valid"]) <= 8 and ids["dev"]
    assert not ids["train"] & ids["valid"] and not ids["train"] & ids["dev"]
    assert not ids["valid"] & ids["dev"]


def test_summary_and_markdown(enc):
    shares = {"1": 0.10, "0.9": 0.10, "0.75": 0.09, "0.5": 0.08, "0.25": 0.06}
    cells = {"whisper-base": [{"cer": 0.10, "wer": 0.5, "train_s": 100, "decode_rtf": 0.02,
                               "label_cer_by_share": shares},
                              {"cer": 0.14, "wer": 0.6, "train_s": 110, "decode_rtf": 0.03,
                               "label_cer_by_share": {k: v + 0.04 for k, v in shares.items()}}]}
    summary = enc.summarize(cells)
    assert summary["whisper-base"]["cer_mean"] == pytest.approx(0.12)
    assert summary["whisper-base"]["cer_sd"] == pytest.approx(0.02)
    args = enc.get_parser().parse_args(["--db_root", "x", "--work_dir", "y", "--seeds", "1", "2"])
    md = enc.markdown(enc.Path("x"), summary, {"whisper-base": {"rtf_5s": 0.03}}, args)
    assert "| whisper-base | 12.0 ± 2.0 | 55.0 ± 5.0 | 105 | 0.025 |" in md
    assert "rtf_5s 0.03" in md
    assert "| whisper-base | 12.0 | 12.0 | 11.0 | 10.0 | 8.0 |" in md
    json.dumps(summary)


def test_label_quality_ranks_dev_hypotheses_by_score(enc, tmp_path):
    """The best-scored half of the dev hypotheses has the CER of those alone."""
    dev, cell = tmp_path / "dev", tmp_path / "cell"
    dev.mkdir()
    (cell / "decode").mkdir(parents=True)
    (dev / "text").write_text("a habari\nb sawa\nc asante\nd ndiyo\n")
    (cell / "decode" / "text").write_text("a habari\nb xxxx\nc asante\nd xxxxx\n")
    (cell / "decode" / "score").write_text("a -0.1\nb -0.9\nc -0.2\nd -0.8\n")
    out = enc.label_quality(cell, dev, enc.SW_LANG)
    assert out["1"] == pytest.approx(9 / 21) and out["0.5"] == 0.0 and out["0.25"] == 0.0


def test_a_cell_is_reused_only_for_the_same_head_config(enc, tmp_path):
    config = enc.head_config("whisper-base", tmp_path)
    cell = tmp_path / "cell"
    cell.mkdir()
    import hashlib

    sha = hashlib.sha256(config.read_bytes()).hexdigest()
    (cell / "result.json").write_text(json.dumps({"cer": 0.2, "head_sha256": sha}))
    assert enc.run_cell(cell, config, {}, tmp_path, tmp_path, 1, 1)["cer"] == 0.2
    (cell / "result.json").write_text(json.dumps({"cer": 0.2, "head_sha256": "0" * 64}))
    with pytest.raises(SystemExit, match="trained with another head config"):
        enc.run_cell(cell, config, {}, tmp_path, tmp_path, 1, 1)
