"""bench/dt_mix.py helpers: the recipe's round-1 ASR step, each cell's data, the summary."""

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def mix(bench_module):
    return bench_module("dt_mix")


def write(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    return path


def data_dir(path: Path, ids) -> Path:
    write(path / "wav.scp", [f"{u} /x/{u}.wav" for u in ids])
    write(path / "text", [f"{u} habari" for u in ids])
    write(path / "utt2spk", [f"{u} s" for u in ids])
    return path


@pytest.fixture()
def recipe(tmp_path: Path) -> Path:
    """A recipe dir with round 1's prepared.json, paired data and 12 synthetic pairs."""
    r = tmp_path / "lr1"
    data_dir(r / "dump" / "raw" / "paired_hq", [f"p{i}" for i in range(6)])
    data_dir(r / "exp" / "dt" / "round1" / "asr_pairs", [f"s{i:02d}" for i in range(12)])
    options = {"task": "asr", "config": "/abs/conf/whisper_ctc_tiny.yaml",
               "train_dirs": ["dump/raw/paired_hq", "exp/dt/round1/asr_pairs"],
               "valid_dir": "dump/raw/dev", "lang_config": "conf/lang.yaml",
               "token_list": "dump/token/target_asr_tokens.txt", "out_dir": "exp/dt/round1/asr",
               "epochs": 3, "token_type": "char", "bpemodel": None,
               "init": "exp/finetune/asr/model", "spk2sid": None, "target_speaker": None,
               "durations": None, "seed": 1, "extra_args": ["--ngpu", "0"],
               "encoder_spec": "whisper-base"}
    write(r / "exp" / "dt" / "round1" / "asr" / "prepared.json",
          [json.dumps({"inputs": {"options": options, "files": {}}})])
    return r


def test_the_cells_train_as_the_recipe_trained_round_one(mix, recipe: Path) -> None:
    step = mix.recipe_step(recipe)
    assert step.init == recipe / "exp" / "finetune" / "asr" / "model"
    assert step.config == Path("/abs/conf/whisper_ctc_tiny.yaml")  # absolute stays
    assert step.train_dirs[1] == recipe / "exp" / "dt" / "round1" / "asr_pairs"
    assert (step.epochs, step.encoder_spec, step.bpemodel) == (3, "whisper-base", None)


def test_a_recipe_without_round_one_says_what_to_run(mix, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="through stage 6"):
        mix.recipe_step(tmp_path)


def test_each_cell_hears_its_share_of_the_synthetic_pairs(mix, recipe, tmp_path) -> None:
    paired = recipe / "dump" / "raw" / "paired_hq"
    assert mix.cell_data(recipe, tmp_path / "c0", "0", 1) == [paired]
    dirs = mix.cell_data(recipe, tmp_path / "c5", "0.5", 1)
    assert dirs[0] == paired and len((dirs[1] / "text").read_text().splitlines()) == 6
    dirs = mix.cell_data(recipe, tmp_path / "call", "all", 1)
    assert len((dirs[1] / "text").read_text().splitlines()) == 12


def cell(cers, utts: int = 10):
    """A cell's scores: two dev utterances of 10 characters with these error counts."""
    return {"utts": utts, "train_s": 5.0, "lm": {
        "cer": sum(cers) / 20, "wer": 0.5,
        "utts": [{"utt": f"d{i}", "char": {"err": e, "ref_len": 10}} for i, e in enumerate(cers)]}}


def test_the_summary_compares_every_ratio_with_none_and_all(mix) -> None:
    cells = {"0": [cell([1, 1]), cell([1, 2])], "all": [cell([4, 5]), cell([5, 4])]}
    start = {"lm": {"cer": 0.1, "wer": 0.4}}
    s = mix.summarize(cells, ["lm"], start)
    assert s["best_lm"] == "0"
    row = s["ratios"]["all"]["lm"]
    assert row["cer_mean"] == pytest.approx(0.45)
    assert row["vs_0"]["diff"] == pytest.approx(0.45 - 0.125)
    assert row["vs_0"]["excludes_zero"] is True
    assert "vs_all" not in row and "vs_0" not in s["ratios"]["0"]["lm"]
    md = mix.markdown(s, ["lm"])
    assert "| 0 | 10 | 12.5 ± 3.5 | 10.0, 15.0 |" in md and "Lowest mean CER (lm): ratio 0." in md


def test_a_bad_ratio_stops_before_any_training(mix, recipe, tmp_path) -> None:
    from lrspeech.errors import InputError

    with pytest.raises(InputError, match="share in"):
        mix.main(["--recipe", str(recipe), "--work_dir", str(tmp_path / "w"),
                  "--ratios", "0", "1.2"])
    assert not (tmp_path / "w").exists()


def test_a_round_without_synthetic_pairs_says_how_to_make_them(mix, recipe, tmp_path) -> None:
    """With --dt_asr_synth_ratio 0, an earlier round has no synthetic pairs: a nonzero share
    stops before any training and names the stage to rerun; share 0 alone needs none."""
    import shutil

    shutil.rmtree(recipe / "exp" / "dt" / "round1" / "asr_pairs")
    with pytest.raises(SystemExit, match="--dt_asr_synth_ratio all"):
        mix.main(["--recipe", str(recipe), "--work_dir", str(tmp_path / "w"),
                  "--ratios", "0", "0.5"])
    assert not (tmp_path / "w").exists()
