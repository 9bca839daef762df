"""bench/ablation.py helpers: the scoring dev set, rows, times, gaps and the target checks."""

import subprocess
from pathlib import Path

import pytest

from lrspeech.data.datadir import DataDir
from lrspeech.eval.significance import Difference


@pytest.fixture(scope="module")
def abl(bench_module):
    return bench_module("ablation")


def test_make_dev_formats_every_val_clip_within_max_dur(abl, tmp_path, test_data):
    dev = abl.make_dev(tmp_path, test_data / "sw", 60.0)
    dd = DataDir.load(dev)
    assert len(dd.wav_scp) == 2 and set(dd.text) == set(dd.wav_scp)
    assert all(1.0 <= d <= 60.0 for d in dd.utt2dur.values())
    again = abl.make_dev(tmp_path, test_data / "sw", 1.5)  # made once: the second call reuses it
    assert again == dev and len(DataDir.load(again).wav_scp) == 2
    with pytest.raises(subprocess.CalledProcessError):  # no clip that short: format_audio says so
        abl.make_dev(tmp_path / "b", test_data / "sw", 1.5)
    assert not (tmp_path / "b" / "dev").exists()


def test_make_recipe_takes_the_corpus_lang_and_text(abl, tmp_path, test_data):
    lang = tmp_path / "lang.yaml"
    lang.write_text("language: suba\niso: sxb\nespeak_voice: none\ntoken_type: char\n")
    text = tmp_path / "text.tsv"
    text.write_text("t1\tomwana\n")
    recipe = abl.make_recipe(tmp_path / "r", test_data / "sw", lang=lang, text=text)
    assert (recipe / "conf" / "lang.yaml").read_text() == lang.read_text()
    assert (recipe / "db" / "unpaired_text.tsv").resolve() == text.resolve()
    assert (recipe / "db" / "corpus").resolve() == (test_data / "sw").resolve()
    again = abl.make_recipe(tmp_path / "r", test_data / "sw", lang=lang, text=text)  # reused
    assert again == recipe
    flag, value = abl.data_opts(text, False)
    assert flag == "--local_data_opts" and value == f"--unpaired_text {text}"
    assert abl.data_opts(None, False) == []  # no text given: the recipe's own


def test_row_seconds_sum_each_rows_own_steps(abl):
    recipe = {"data": 5.0, "format.dev": 2.0, "tokens": 0.5, "tokens.rich": 0.5,
              "train.exp_pretrain_asr": 60.0,
              "align.exp_pretrain_tts_durations": 4.0, "init_asr": 1.0,
              "train.exp_finetune_tts": 120.0, "lm": 30.0, "lm_fusion": 3.0,
              "dt1.data": 2.0, "decode.exp_dt_round1_asr_hyp": 8.0,
              "train.exp_dt_round1_tts": 20.0, "train.exp_dt_round2_asr": 9.0,
              "synth.exp_kd_teacher": 7.0, "kd.filter": 1.0, "train.exp_kd_asr": 10.0,
              "eval.kd": 99.0, "pack": 1.0}
    bench = {"baseline.asr": 10.0, "baseline.tts": 15.0, "topline.data": 3.0,
             "topline.asr": 50.0}
    t = abl.row_seconds(recipe, bench, 2)
    assert t == {"shared": 8.0, "baseline": 25.0, "finetune": 185.0, "finetune_lm": 33.0,
                 "dt_round1": 30.0, "dt_round2": 9.0, "kd": 18.0, "topline": 53.0}


def test_gap_recovered_and_the_targets(abl):
    assert abl.gap_recovered(0.5, 0.3, 0.1) == pytest.approx(0.5)
    assert abl.gap_recovered(0.5, 0.3, 0.6) is None  # a topline no better: undefined
    rows = [{"row": "baseline", "asr_cer": 0.50, "judge_cer": 0.80},
            {"row": "finetune", "asr_cer": 0.30, "judge_cer": 0.80},
            {"row": "kd", "asr_cer": 0.18, "judge_cer": 0.35},
            {"row": "topline", "asr_cer": 0.10, "judge_cer": 0.30}]
    abl.add_gaps(rows)
    assert rows[2]["gap_asr_cer"] == pytest.approx(0.8)
    assert rows[2]["gap_judge_cer"] == pytest.approx(0.9)
    assert rows[0]["gap_asr_cer"] == 0.0 and rows[3]["gap_judge_cer"] == pytest.approx(1.0)
    better = Difference(-0.1, -0.15, -0.05, 40, 0.95)
    unclear = Difference(-0.01, -0.05, 0.02, 40, 0.95)
    steps = [("finetune vs baseline", {"ASR CER": better, "TTS IR": None, "judge CER": unclear}),
             ("kd vs finetune", {"ASR CER": unclear, "TTS IR": None, "judge CER": None}),
             ("topline vs kd", {"ASR CER": better, "TTS IR": None, "judge CER": better})]
    checks = abl.check_targets(rows, steps)
    assert checks[0] == "finetune vs baseline: lowers ASR CER (95% interval below 0)"
    assert checks[1].startswith("kd vs finetune: lowers neither")
    assert len(checks) == 6  # the topline is no step
    assert checks[2] == "kd/baseline ASR CER 0.36 (target <= 0.4: met)"
    assert checks[3] == "kd/baseline judge CER 0.44 (target <= 0.5: met)"
    assert checks[4] == "kd gap recovered, ASR CER: 80% (target >= 60%: met)"
    rows[2]["judge_cer"] = 0.72
    abl.add_gaps(rows)
    checks = abl.check_targets(rows, steps)
    assert checks[3] == "kd/baseline judge CER 0.90 (target <= 0.5: NOT met)"
    assert checks[5] == "kd gap recovered, judge CER: 16% (target >= 60%: NOT met)"


def test_rows_in_order_with_and_without_the_lm(abl, tmp_path):
    rows = abl.rows_of(tmp_path / "r", tmp_path / "rows", 2, True)
    assert [r.label for r in rows] == ["baseline", "finetune", "finetune_lm", "dt_round1",
                                       "dt_round2", "kd", "topline"]
    assert rows[1].evaluation == rows[2].evaluation == "finetune"  # one evaluation, two rows
    assert [r.lm for r in rows] == [False, False, True, True, True, True, True]
    assert rows[-1].stage_dir == tmp_path / "rows" / "topline"
    plain = abl.rows_of(tmp_path / "r", tmp_path / "rows", 1, False)
    assert [r.label for r in plain] == ["baseline", "finetune", "dt_round1", "kd", "topline"]
    assert not any(r.lm for r in plain)
    res = {"asr_cer": 0.2, "asr_wer": 0.5, "asr_lm_cer": 0.15, "asr_lm_wer": 0.4, "ir": 0.3,
           "judge_cer": 0.6, "mos": {"dnsmos_ovrl": {"mean": 2.1}}}
    fig = abl.row_figures(rows[2], res, tmp_path)
    assert (fig["asr_cer"], fig["asr_wer"], fig["asr_cer_no_lm"]) == (0.15, 0.4, 0.2)
    assert fig["files"]["ASR CER"].endswith("finetune/asr_lm_score/score.json")
    fig = abl.row_figures(rows[1], res, tmp_path)
    assert fig["asr_cer"] == 0.2 and fig["files"]["ASR CER"].endswith("asr_score/score.json")
    assert fig["dnsmos_ovrl"] == 2.1


def test_options_pick_the_tier_and_the_last_value_wins(abl):
    opts = ["--dt_rounds", "2", *abl.tier_opts("small"), "--dt_rounds", "3"]
    assert abl.option(opts, "dt_rounds", "1") == "3"
    assert abl.option(opts, "asr_config", "").endswith("conf/asr/whisper_ctc_small.yaml")
    assert abl.option(opts, "kd_epochs", "8") == "8"
    for asr, tts in abl.TIERS.values():
        assert (abl.REPO / "conf" / "asr" / asr).is_file()
        assert (abl.REPO / "conf" / "tts" / tts).is_file()


def test_the_tts_epochs_follow_the_recipe_options(abl, tmp_path):
    """The baseline's and topline's TTS trains as long as the recipe's fine-tuned TTS:
    --finetune_tts_epochs, else --finetune_epochs; the ASR as long as the recipe's ASR."""
    demo = abl.recipe_options()  # the demo budget fine-tunes the TTS longer than the ASR
    assert int(demo["finetune_tts_epochs"]) > int(demo["finetune_epochs"])
    s = abl.Setting.of(tmp_path, tmp_path / "rows", abl.BENCH_OPTS)
    assert (s.epochs, s.tts_epochs) == (20, 20)  # the benchmark's own budget, not the demo's
    s = abl.Setting.of(tmp_path, tmp_path / "rows", ["--finetune_epochs", "7"])
    assert (s.epochs, s.tts_epochs) == (7, int(demo["finetune_tts_epochs"]))
    s = abl.Setting.of(tmp_path, tmp_path / "rows",
                       ["--finetune_epochs", "7", "--finetune_tts_epochs", ""])
    assert (s.epochs, s.tts_epochs) == (7, 7)
    assert abl.option(abl.QUICK_OPTS, "finetune_tts_epochs", "") == "2"
    # The TTS's pretraining too: the demo's budget pretrains it longer, the benchmarks pin their
    # own (the recipe's copies run run.sh, demo budget first, their options after).
    assert int(demo["pretrain_tts_epochs"]) > int(demo["pretrain_epochs"])
    for opts in (abl.BENCH_OPTS, abl.QUICK_OPTS):
        pre = abl.option(opts, "pretrain_epochs", "")
        assert abl.option(opts, "pretrain_tts_epochs", "") == pre
    # The demo's trainings skip ESPnet's per-epoch plots; the benchmarks' keep them (and their
    # markers: train_args is an input of every training step).
    assert demo["train_args"] == "--use_matplotlib false"
    assert abl.option(abl.BENCH_OPTS, "train_args", "x") == ""
    # The benchmarks' figures were measured through Griffin-Lim; lr.sh's default is world_gl.
    lr_sh = (Path(__file__).resolve().parents[2] / "egs" / "TEMPLATE" / "lr1" / "lr.sh").read_text(
        encoding="utf-8")
    assert "\ntts_vocoder=world_gl " in lr_sh
    for opts in (abl.BENCH_OPTS, abl.QUICK_OPTS):
        assert abl.option(opts, "tts_vocoder", "") == "griffin_lim"


def _write_row(work: Path, label: str, asr_hyps, tts_hyps, refs) -> None:
    import json

    from lrspeech.eval.ir import intelligibility, write_ir
    from lrspeech.eval.scoring import score_corpus

    score_dir = work / "eval" / label / "asr_score"
    score_dir.mkdir(parents=True)
    (score_dir / "score.json").write_text(json.dumps(score_corpus(refs, asr_hyps).to_dict()))
    write_ir(intelligibility(refs, tts_hyps), work / "eval" / label / "ir")


def test_step_intervals_compare_each_row_with_the_one_before(abl, tmp_path):
    refs = {f"u{i:02d}": "mvua inanyesha leo asubuhi" for i in range(20)}
    bad = {u: "mvua inanesha lo" for u in refs}
    good = {u: "mvua inanyesha leo asubuhi" for u in refs}
    _write_row(tmp_path, "baseline", bad, bad, refs)
    _write_row(tmp_path, "finetune", good, bad, refs)  # only the ASR improves

    def row(label):
        out = tmp_path / "eval" / label
        return {"row": label, "files": {"ASR CER": out / "asr_score" / "score.json",
                                        "TTS IR": out / "ir" / "ir_utts.tsv",
                                        "judge CER": out / "ir" / "ir_utts.tsv"}}
    steps = abl.step_intervals([row("baseline"), row("finetune"), row("kd")])
    (label, first), (kd_label, kd_step) = steps
    assert label == "finetune vs baseline"
    assert first["ASR CER"].diff < 0 and first["ASR CER"].high < 0
    assert first["TTS IR"] == Difference(0.0, 0.0, 0.0, 20, 0.95)
    assert first["judge CER"].diff == 0.0
    assert kd_label == "kd vs finetune"
    assert kd_step == {"ASR CER": None, "TTS IR": None, "judge CER": None}  # kd not evaluated
    md = "\n".join(abl.intervals_markdown(steps))
    assert "| finetune vs baseline | -" in md and "]* | +0.0 [+0.0, +0.0] |" in md
    assert "| kd vs finetune | n/a | n/a | n/a |" in md


def test_train_only_trains_the_parts_named(abl, tmp_path, monkeypatch):
    """--train_only: the recipe and the topline can train in two processes; the baseline or
    the topline alone needs the recipe's stage 5 (finished) and says so without it."""
    calls = []
    monkeypatch.setattr(abl, "run_recipe", lambda *a: calls.append("recipe"))
    monkeypatch.setattr(abl, "train_baseline", lambda s: calls.append("baseline"))
    monkeypatch.setattr(abl, "train_topline", lambda s, db, m: calls.append("topline"))
    monkeypatch.setattr(abl.Setting, "of", classmethod(lambda cls, *a: None))
    ns = abl.argparse.Namespace(topline_max_dur=30.0)
    recipe = tmp_path / "recipe"
    with pytest.raises(SystemExit, match="stage 5 has not finished"):
        abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [], ["topline"])
    assert calls == []
    abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [], ["recipe"])
    assert calls == ["recipe"]
    (recipe / "exp" / "finetune").mkdir(parents=True)
    (recipe / "exp" / "finetune" / "asr_init.pth").write_bytes(b"x")
    with pytest.raises(SystemExit, match="stage 5 has not finished"):  # the TTS start is missing
        abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [], ["topline"])
    (recipe / "exp" / "finetune" / "tts_init.pth").write_bytes(b"x")
    for task in ("asr", "tts"):  # the starts alone: the fine-tuned models' token types missing
        with pytest.raises(SystemExit, match="stage 5 has not finished"):
            abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [], ["topline"])
        (recipe / "exp" / "finetune" / task / "model").mkdir(parents=True)
        (recipe / "exp" / "finetune" / task / "model" / "meta.json").write_text("{}")
    abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [], ["topline"])
    assert calls == ["recipe", "topline"]
    abl.train_all(ns, recipe, tmp_path / "rows", tmp_path, [])
    assert calls == ["recipe", "topline", "recipe", "baseline", "topline"]


def test_a_row_whose_tts_still_trains_gets_its_asr_columns(abl, packed_micro_asr, test_data,
                                                           tmp_path):
    """evaluate(asr_only=True): the topline's ASR trains before its TTS; meanwhile the row gets
    its ASR figures (eval_stage --asr_only) in evaluate's layout, the TTS columns None, and the
    targets say what is missing instead of failing."""
    import os

    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.eval.significance import score_counts

    dev = tmp_path / "dev"
    datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="val").save(dev)
    stage = tmp_path / "rows" / "topline"
    (stage / "asr").mkdir(parents=True)
    (stage / "asr" / "model").symlink_to(packed_micro_asr)
    lang = abl.REPO / "conf" / "lang" / "sw.yaml"
    work = tmp_path / "work"

    def asr_only():
        return abl.evaluate(stage, "topline", tmp_path / "no_judge", work, dev, "all", lang,
                            asr_only=True)
    res = asr_only()
    assert res["judge_cer"] is None and res["ir"] is None and res["mos"] == {}
    counts = score_counts(work / "eval" / "topline" / "asr_score" / "score.json")
    errors, chars = map(sum, zip(*counts.values()))
    assert len(counts) == 2 and res["asr_cer"] == pytest.approx(errors / chars)
    assert "asr_lm_cer" not in res  # no LM given: one decode
    row = abl.Row("topline", stage, True, "topline")
    fig = abl.row_figures(row, res, work)
    assert fig["asr_cer"] == res["asr_cer"] and not fig["lm"] and fig["judge_cer"] is None
    # cached while the model and the dev set are the same; redone when the model changes
    (work / "eval" / "topline" / "asr_score" / "score.json").unlink()
    assert asr_only() == res
    model = packed_micro_asr / "model.pth"
    st = model.stat()
    try:
        os.utime(model, (st.st_atime, st.st_mtime + 5))
        assert asr_only() == res
        assert (work / "eval" / "topline" / "asr_score" / "score.json").is_file()  # decoded
    finally:
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    rows = [{"row": "baseline", "asr_cer": 0.50, "judge_cer": 0.80},
            {"row": "kd", "asr_cer": 0.20, "judge_cer": 0.35},
            {"row": "topline", "asr_cer": 0.10, "judge_cer": None}]
    abl.add_gaps(rows)
    assert rows[1]["gap_asr_cer"] == pytest.approx(0.75) and rows[1]["gap_judge_cer"] is None
    checks = abl.check_targets(rows, [("kd vs baseline", {"ASR CER": None, "TTS IR": None,
                                                          "judge CER": None})])
    assert checks[1:] == ["kd/baseline ASR CER 0.40 (target <= 0.4: met)",
                          "kd/baseline judge CER 0.44 (target <= 0.5: met)",
                          "kd gap recovered, ASR CER: 75% (target >= 60%: met)",
                          "kd gap recovered, judge CER: n/a (no judge CER of topline yet)"]
    rows[1]["judge_cer"] = None
    assert abl.check_targets(rows, [])[1] == "kd/baseline judge CER: n/a (not evaluated yet)"
