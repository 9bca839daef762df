"""bench/data_budget.py helpers: the sizes a corpus allows, the options per size, the table,
the topline and the plot."""

import json

import pytest


@pytest.fixture(scope="module")
def db(bench_module):
    return bench_module("data_budget")


def test_only_sizes_the_target_speaker_can_fill_within_max_dur(db, test_data):
    # tests/data/sw: 10 train clips of one speaker, 3.3-5.9 s
    assert db.feasible_sizes(test_data / "sw", [2, 5, 9, 10, 25], 16.0) == [2, 5, 9]
    assert db.feasible_sizes(test_data / "sw", [2, 5, 9], 4.0) == [2]  # 4 clips within 4 s


def test_each_size_adds_n_paired_to_the_data_options(db):
    base = ["--dt_rounds", "2", "--local_data_opts", "--unpaired_text /x.tsv"]
    opts = db.size_options(base, 25)
    assert opts[opts.index("--local_data_opts") + 1] == "--unpaired_text /x.tsv --n_paired 25"
    assert base[-1] == "--unpaired_text /x.tsv"  # the shared list is not changed
    tail = db.size_options(["--dt_rounds", "2"], 10)[-2:]
    assert tail == ["--local_data_opts", "--n_paired 10"]


def test_the_ablations_size_keeps_the_ablations_options(db):
    # local/data.sh's default is the size bench/ablation.py runs: the same options, so that its
    # recipe (and its step markers) is that point, not a new run
    n = db.default_paired()
    assert n == 50
    base = ["--dt_rounds", "2", "--local_data_opts", "--unpaired_text /x.tsv"]
    assert db.size_options(base, n) == base


def test_table_topline_and_plot(db, tmp_path):
    points = [{"paired": 10, "baseline": {"asr_cer": 0.9, "judge_cer": 0.95},
               "lrspeech": {"asr_cer": 0.4, "judge_cer": 0.7}},
              {"paired": 50, "baseline": {"asr_cer": 0.6, "judge_cer": 0.8}}]  # recipe not done
    assert db.topline_of({}) is None
    assert db.topline_of({"topline": {"asr_cer": 0.1, "judge_cer": None}}) is None  # ASR only
    top = db.topline_of({"baseline": {"asr_cer": 0.9, "judge_cer": 0.9},
                         "topline": {"asr_cer": 0.1, "judge_cer": 0.3}})
    assert top == {"asr_cer": 0.1, "judge_cer": 0.3}
    md = db.markdown(points, top, "head")
    assert "| 10 | 90.0 | 40.0 | 95.0 | 70.0 |" in md
    assert "| 50 | 60.0 | n/a | 80.0 | n/a |" in md
    assert "| topline (every train clip transcribed) | 10.0 | | 30.0 | |" in md
    png = tmp_path / "plot" / "budget.png"
    db.plot(points, top, png, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_every_size_starts_from_the_ablations_pretrained_models(db, tmp_path):
    assert db.shared_pretraining(None) == []  # no ablation: each size pretrains
    pre = tmp_path / "abl" / "recipe" / "exp" / "pretrain"
    (pre / "asr" / "model").mkdir(parents=True)
    (pre / "asr" / "model" / "model.pth").write_bytes(b"x")
    with pytest.raises(SystemExit, match="no pretrained tts model yet"):
        db.shared_pretraining(tmp_path / "abl")
    (pre / "tts" / "model").mkdir(parents=True)
    (pre / "tts" / "model" / "model.pth").write_bytes(b"x")
    opts = db.shared_pretraining(tmp_path / "abl")
    assert opts == ["--pretrained_asr", str(pre / "asr" / "model"),
                    "--pretrained_tts", str(pre / "tts" / "model")]


def _tuned(recipe, lang=b"language: xx\n"):
    (recipe / "conf").mkdir(parents=True, exist_ok=True)
    (recipe / "conf" / "lang.yaml").write_bytes(lang)
    for task in ("asr", "tts"):
        model = recipe / "exp" / "finetune" / task / "model"
        model.mkdir(parents=True)
        (model / "meta.json").write_text(json.dumps({"token_type": "char"}))


def test_a_baseline_takes_its_token_types_from_its_own_stage5_else_the_ablations(db, tmp_path):
    size = tmp_path / "budget" / "recipe_10"
    (size / "conf").mkdir(parents=True)
    (size / "conf" / "lang.yaml").write_bytes(b"language: xx\n")
    abl = tmp_path / "abl"
    with pytest.raises(SystemExit, match="recipe_10: no fine-tuned model gives the baseline"):
        db.types_source(size, None)
    with pytest.raises(SystemExit, match="finished stage 5"):
        db.types_source(size, abl)  # the ablation has not fine-tuned either
    _tuned(abl / "recipe", b"language: yy\n")
    with pytest.raises(SystemExit, match="the same lang.yaml"):
        db.types_source(size, abl)  # another language's token types would not do
    (abl / "recipe" / "conf" / "lang.yaml").write_bytes(b"language: xx\n")
    assert db.types_source(size, abl) == abl.resolve() / "recipe"
    _tuned(size)
    assert db.types_source(size, abl) == size  # its own once its stage 5 has finished


def test_the_setting_reads_token_types_from_types_from(db, bench_module, tmp_path):
    abl_mod = bench_module("ablation")
    _tuned(tmp_path / "other")
    meta = tmp_path / "other" / "exp" / "finetune" / "tts" / "model" / "meta.json"
    meta.write_text(json.dumps({"token_type": "phn"}))
    s = abl_mod.Setting.of(tmp_path / "own", tmp_path / "rows", [])
    with pytest.raises(FileNotFoundError):
        s.token_type("tts")  # its own recipe has no fine-tuned model
    from dataclasses import replace
    s = replace(s, types_from=tmp_path / "other")
    assert (s.token_type("tts"), s.token_type("asr")) == ("phn", "char")


def test_train_only_and_eval_only_exclude_each_other(db, test_data, tmp_path, capsys):
    with pytest.raises(SystemExit):
        db.main(["--db_root", str(test_data / "sw"), "--work_dir", str(tmp_path / "w"),
                 "--train_only", "baseline", "--eval_only"])
    assert "exclude each other" in capsys.readouterr().err


def test_the_ablations_rows_count_only_with_the_same_judge_and_dev(db, tmp_path):
    judge, dev, other_dev = tmp_path / "judge", tmp_path / "dev", tmp_path / "dev2"
    for d, text in ((dev, "u1 a b\n"), (other_dev, "u1 a b\nu2 c\n")):
        d.mkdir()
        (d / "text").write_text(text)
    abl = tmp_path / "abl"
    assert db.ablation_rows(None, judge, dev) == {}
    assert db.ablation_rows(abl, judge, dev) == {}  # not evaluated yet
    abl.mkdir()
    (abl / "results.json").write_text(json.dumps({"rows": []}))  # an older run: no judge/dev
    assert db.ablation_rows(abl, judge, dev) == {}
    rows = [{"row": "baseline", "asr_cer": 0.5, "asr_wer": 1.0, "judge_cer": 0.7, "ir": 0.0},
            {"row": "kd", "asr_cer": 0.3, "asr_wer": 0.8, "judge_cer": 0.33, "ir": 0.1}]
    (abl / "results.json").write_text(json.dumps(
        {"rows": rows, "judge": str(judge), "dev": str(other_dev)}))
    assert db.ablation_rows(abl, judge, dev) == {}  # another dev set
    (abl / "results.json").write_text(json.dumps(
        {"rows": rows, "judge": str(tmp_path / "judge2"), "dev": str(dev)}))
    assert db.ablation_rows(abl, judge, dev) == {}  # another judge
    (abl / "results.json").write_text(json.dumps({"rows": rows, "judge": str(judge),
                                                  "dev": str(dev)}))
    known = db.ablation_rows(abl, judge, dev)
    assert set(known) == {"baseline", "kd"}
    # the ablation's size takes both rows from there: nothing to train or evaluate
    a = type("A", (), {"mos": "none"})()
    point = db.evaluate_size(a, tmp_path, tmp_path / "recipe", tmp_path / "rows", 50, judge,
                             dev, known)
    assert point == {"paired": 50, "baseline": {k: rows[0][k] for k in db.FIGURES},
                     "lrspeech": {k: rows[1][k] for k in db.FIGURES}}
    # another size, nothing trained: both rows left out
    assert db.evaluate_size(a, tmp_path, tmp_path / "recipe", tmp_path / "rows", 10, judge,
                            dev, {}) == {"paired": 10}
