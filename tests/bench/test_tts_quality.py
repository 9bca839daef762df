"""bench/tts_quality.py helpers: recipe options and copies, the rows' figures and the table."""

import json
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tq(bench_module):
    return bench_module("tts_quality")


def test_recipe_options_pin_the_hifigan_tier_and_one_round(tq):
    opts = tq.recipe_opts(False, {"pretrain": 3, "finetune": 7, "dt": 2}, ["--nj", "1"])
    assert opts[opts.index("--finetune_epochs") + 1] == "7"
    assert opts[opts.index("--finetune_tts_epochs") + 1] == "7"  # not the demo's
    assert opts[opts.index("--pretrain_tts_epochs") + 1] == "3"  # not the demo's either
    assert opts[opts.index("--train_args") + 1] == ""  # ESPnet's plots kept, as before
    assert opts[opts.index("--tts_vocoder") + 1] == "griffin_lim"  # as measured
    assert opts[opts.index("--dt_epochs") + 1] == "2"
    assert opts[opts.index("--tts_config") + 1] == str(tq.TTS_CONFIG)
    assert opts.count("--dt_rounds") == 1 and opts[opts.index("--dt_rounds") + 1] == "1"
    assert opts[-2:] == ["--nj", "1"]
    quick = tq.recipe_opts(True, {"pretrain": 3, "finetune": 7, "dt": 2}, [])
    assert quick.count("--dt_rounds") == 1 and "--finetune_epochs" in quick
    assert quick[quick.index("--finetune_epochs") + 1] != "7"  # the micro budget, not ours


def test_speech_seconds_from_utt2dur_or_the_audio(tq, tmp_path, test_data, sw_rows):
    from lrspeech.data.corpus import datadir_from_metadata

    datadir_from_metadata(test_data / "sw" / "metadata.tsv").save(tmp_path / "d")
    listed = sum(float(r["duration_s"]) for r in sw_rows)
    assert tq.speech_seconds(tmp_path / "d") == pytest.approx(listed)  # utt2dur
    (tmp_path / "d" / "utt2dur").unlink()
    assert tq.speech_seconds(tmp_path / "d") == pytest.approx(listed, abs=0.01 * len(sw_rows))


def _fake_row(cell: Path, cer: float, ovrl: float, mcd: float) -> None:
    (cell / "ir").mkdir(parents=True)
    (cell / "ir" / "ir.json").write_text(json.dumps(
        {"judge_cer": cer, "judge_wer": 2 * cer, "num_utts": 4}))
    (cell / "mos").mkdir()
    (cell / "mos" / "mos.json").write_text(json.dumps(
        {"metrics": {"dnsmos_ovrl": {"mean": ovrl}, "mcd": {"mean": mcd}}}))


def test_evaluate_scores_every_row_and_vocoder_against_the_real_ceiling(tq, tmp_path,
                                                                        monkeypatch):
    models = {"enc_paired": tmp_path / "m1", "enc_labelled": tmp_path / "m2"}
    calls = []

    def fake_synth(model, dev, out, vocoder, nj):
        calls.append((model.name, vocoder))
        return {"griffin_lim": 0.05, "hifigan_universal": 0.3}[vocoder]

    monkeypatch.setattr(tq, "synthesize", fake_synth)
    work = tmp_path / "w"
    figures = {("enc_paired", "griffin_lim"): 0.6, ("enc_paired", "hifigan_universal"): 0.4,
               ("enc_labelled", "griffin_lim"): 0.5, ("enc_labelled", "hifigan_universal"): 0.3}
    for (row, voc), cer in figures.items():
        _fake_row(work / "eval" / row / voc, cer, 1.0 + cer, 5.0)
    figs = tq.evaluate(models, tq.VOCODERS, tmp_path / "dev", tmp_path / "judge",
                       tmp_path / "lang.yaml", work, 0.2, 2, True)
    assert calls == [("m1", "griffin_lim"), ("m1", "hifigan_universal"),
                     ("m2", "griffin_lim"), ("m2", "hifigan_universal")]
    by = {(f.row, f.vocoder): f for f in figs}
    assert by["enc_labelled", "hifigan_universal"].vs_real == pytest.approx(1.5)
    assert by["enc_paired", "griffin_lim"].judge_wer == pytest.approx(1.2)
    assert by["enc_paired", "griffin_lim"].dnsmos_ovrl == pytest.approx(1.6)
    assert by["enc_paired", "hifigan_universal"].rtf == 0.3
    md = tq.markdown(figs, {"judge_cer": 0.2, "judge_wer": 0.5, "dnsmos_ovrl": 3.1, "utts": 4},
                     {"kept": 120, "total": 130, "dev_cer_kept": 0.17}, "corpus", {"a": 12.0})
    assert "| enc_labelled | hifigan_universal | 30.0% | 60.0% | 1.50x | 1.30 | 5.00 | 0.300 |" \
        in md
    assert "real dev recordings: 20.0%" in md and "120 of 130" in md


def test_synthesize_is_redone_when_the_model_changed(tq, tmp_path, monkeypatch, test_data):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.pth").write_bytes(b"1")
    runs = []

    def fake_run(cmd, stdout=None, stderr=None):
        out = Path(cmd[cmd.index("--out_dir") + 1])
        out.mkdir(parents=True, exist_ok=True)
        wav = sorted((test_data / "sw").rglob("*.flac"))[0]
        (out / "wav.scp").write_text(f"u1 {wav}\n")
        (out / "text").write_text("u1 habari\n")
        runs.append(cmd)

        class R:
            returncode = 0
        return R()

    monkeypatch.setattr(tq.subprocess, "run", fake_run)
    out = tmp_path / "synth"
    rtf = tq.synthesize(model, tmp_path / "dev", out, "griffin_lim", 2)
    assert rtf > 0 and len(runs) == 1
    assert runs[0][runs[0].index("--vocoder") + 1] == "griffin_lim"
    assert tq.synthesize(model, tmp_path / "dev", out, "griffin_lim", 2) == rtf
    assert len(runs) == 1  # same model: reused
    st = (model / "model.pth").stat()
    os.utime(model / "model.pth", (st.st_atime, st.st_mtime + 10))
    tq.synthesize(model, tmp_path / "dev", out, "griffin_lim", 2)
    assert len(runs) == 2  # retrained model: synthesized again


def test_eval_only_takes_the_trained_rows_and_names_a_missing_one(
        tq, tmp_path, test_data, capsys):
    models = tq.row_models(tmp_path)
    assert set(models) == set(tq.ROWS)
    for row, model in models.items():
        if row != "enc_labelled":
            model.mkdir(parents=True)
            (model / "model.pth").write_bytes(b"x")
    with pytest.raises(SystemExit, match="enc_labelled"):
        tq.trained_rows(tmp_path)
    models["enc_labelled"].mkdir(parents=True)
    (models["enc_labelled"] / "model.pth").write_bytes(b"x")
    assert tq.trained_rows(tmp_path) == models
    with pytest.raises(SystemExit):  # --eval_only without a judge is a usage error
        tq.main(["--db_root", str(test_data / "sw"), "--work_dir", str(tmp_path / "w"),
                 "--eval_only"])
    assert "--eval_only needs --judge" in capsys.readouterr().err
