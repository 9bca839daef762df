"""bench/fused_attention.py helpers: stage 5's command per variant, configs, order, summary."""

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FS2_TINY = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"


@pytest.fixture(scope="module")
def fused(bench_module):
    return bench_module("fused_attention")


@pytest.fixture()
def recipe(tmp_path: Path) -> Path:
    """A recipe dir with stage 5's TTS prepared.json, its packed meta and a WORLD source."""
    r = tmp_path / "lr1"
    options = {"task": "tts", "config": str(FS2_TINY), "train_dirs": ["dump/raw/paired_hq"],
               "valid_dir": "dump/raw/dev", "lang_config": "conf/lang.yaml",
               "token_list": "dump/token/target_tts_tokens.txt", "out_dir": "exp/finetune/tts",
               "epochs": 30, "token_type": "phn", "bpemodel": None,
               "init": "exp/finetune/tts_init.pth", "spk2sid": "dump/token/spk2sid",
               "target_speaker": "sw_35d", "durations": "exp/finetune/tts_durations",
               "seed": 1, "extra_args": ["--ngpu", "0"], "encoder_spec": None}
    tts = r / "exp" / "finetune" / "tts"
    (tts / "model").mkdir(parents=True)
    (tts / "prepared.json").write_text(json.dumps({"inputs": {"options": options}}))
    (tts / "model" / "meta.json").write_text(json.dumps({"world_vocoder": "world_gl"}))
    (r / "exp" / "world").mkdir(parents=True)
    (r / "exp" / "world" / "world.pt").write_bytes(b"x")
    return r


def test_each_variant_retrains_stage_five_changing_one_thing(fused, recipe, tmp_path):
    opts = fused.stage5_options(recipe)
    cmds = {}
    for variant in ("espnet", "fused", "fused_nodrop"):
        config = fused.variant_config(Path(opts["config"]), variant, tmp_path / "work")
        cmds[variant] = fused.train_command(opts, recipe, config, variant, 2, tmp_path / variant)
    espnet = cmds["espnet"]
    assert espnet[espnet.index("--epochs") + 1] == "30"
    assert espnet[espnet.index("--seed") + 1] == "2"
    assert espnet[espnet.index("--world_vocoder") + 1] == "world_gl"
    assert espnet[espnet.index("--gv_data") + 1] == "dump/raw/paired_hq"
    assert espnet[-2:] == ["--fused_attention", "false"]  # after the "--" of ESPnet's args
    assert "--fused_attention" not in cmds["fused"]
    assert cmds["fused"][cmds["fused"].index("--config") + 1] == str(FS2_TINY)
    nodrop = Path(cmds["fused_nodrop"][cmds["fused_nodrop"].index("--config") + 1])
    changed = yaml.safe_load(nodrop.read_text())["tts_conf"]
    original = yaml.safe_load(FS2_TINY.read_text())["tts_conf"]
    assert changed["transformer_enc_attn_dropout_rate"] == 0.0
    assert changed["transformer_dec_attn_dropout_rate"] == 0.0
    assert original["transformer_dec_attn_dropout_rate"] > 0
    assert {k: v for k, v in changed.items() if "attn_dropout" not in k} == \
        {k: v for k, v in original.items() if "attn_dropout" not in k}


def test_a_recipe_before_stage_five_says_what_to_run(fused, tmp_path):
    with pytest.raises(SystemExit, match="through stage 5"):
        fused.stage5_options(tmp_path)


def test_variants_alternate_and_the_order_rotates(fused):
    jobs = fused.schedule(["a", "b", "c"], [1, 2])
    assert jobs == [("a", 1), ("b", 1), ("c", 1), ("b", 2), ("c", 2), ("a", 2)]


def ir_utts(path: Path, errors) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["utt\tchar_errors\tref_chars"] + [f"u{i}\t{e}\t10" for i, e in enumerate(errors)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_the_summary_pools_seeds_against_espnet(fused, tmp_path):
    runs = []
    for variant, errs in (("espnet", [4, 4, 4, 4]), ("fused_nodrop", [6, 6, 6, 6])):
        for seed in (1, 2):
            runs.append({"variant": variant, "seed": seed, "wall_s": 100.0,
                         "epoch_s": 10.0 if variant == "espnet" else 4.0,
                         "judge_cer": sum(errs) / 40, "dnsmos_ovrl": 2.5, "mcd": 2.9,
                         "ir_utts": ir_utts(tmp_path / f"{variant}{seed}.tsv", errs)})
    rows = fused.summarize(runs, ["espnet", "fused_nodrop"])
    assert rows["fused_nodrop"]["vs_espnet"].startswith("+20.0")
    text = fused.table(rows)
    assert "| fused_nodrop | 4.00 | 2.50x |" in text and "40.0 / 40.0" in fused.table(rows)
