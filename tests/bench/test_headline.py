"""bench/headline.py: the README's line per language from an ablation's results.json."""

import json

import pytest


@pytest.fixture(scope="module")
def hl(bench_module):
    return bench_module("headline")


def rows(*spec):
    return [{"row": name, "asr_cer": asr, "judge_cer": tts, "gap_asr_cer": ga,
             "gap_judge_cer": gt} for name, asr, tts, ga, gt in spec]


def test_a_finished_run_gives_baseline_final_topline_and_gaps(hl, tmp_path, capsys):
    done = tmp_path / "abl_sw"
    done.mkdir()
    (done / "results.json").write_text(json.dumps({"rows": rows(
        ("baseline", 0.60, 0.90, 0.0, 0.0), ("finetune", 0.20, 0.70, 0.8, 0.4),
        ("kd", 0.15, 0.50, 0.9, 0.8), ("topline", 0.10, 0.40, 1.0, 1.0))}))
    part = tmp_path / "abl_sxb"
    part.mkdir()
    (part / "results.json").write_text(json.dumps({"rows": rows(
        ("baseline", 0.6, 0.9, None, None), ("finetune", 0.3, 0.8, None, None))}))
    pending = tmp_path / "abl_xx"
    pending.mkdir()
    (pending / "results.json").write_text(json.dumps({"rows": rows(
        ("baseline", 0.5, 0.8, None, None), ("finetune", 0.3, 0.6, None, None),
        ("kd", 0.25, 0.4, None, None))}))
    assert hl.main([f"Swahili={done}", f"Suba={part}", f"Other={tmp_path / 'none'}",
                    f"Xx={pending}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| Swahili | 60.0 / 15.0 / 10.0 | 90% | 90.0 / 50.0 / 40.0 | 80% |"
    assert out[3].startswith("| Suba | partial: baseline, finetune evaluated so far")
    assert out[4].startswith("| Other | partial: no row")
    # the topline still training: baseline and final now, the topline and gaps pending
    assert out[5] == "| Xx | 50.0 / 25.0 / pending | pending | 80.0 / 40.0 / pending | pending |"


def test_a_topline_with_its_asr_alone_gives_the_asr_side(hl, tmp_path, capsys):
    """bench/ablation.py evaluates the topline's ASR while its TTS trains: the ASR gap is
    known, the TTS side pending."""
    run = tmp_path / "abl"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"rows": rows(
        ("baseline", 0.50, 0.70, 0.0, None), ("kd", 0.30, 0.35, 0.8, None),
        ("topline", 0.25, None, 1.0, None))}))
    early = tmp_path / "early"  # the topline evaluated before the recipe's final row
    early.mkdir()
    (early / "results.json").write_text(json.dumps({"rows": rows(
        ("baseline", 0.50, 0.70, 0.0, None), ("finetune", 0.35, 0.60, 0.6, None),
        ("topline", 0.25, None, 1.0, None))}))
    assert hl.main([f"Suba={run}", f"Early={early}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| Suba | 50.0 / 30.0 / 25.0 | 80% | 70.0 / 35.0 / pending | pending |"
    assert out[3].startswith("| Early | partial: baseline, finetune, topline evaluated so far")


def test_a_bad_run_spec_is_refused(hl):
    with pytest.raises(SystemExit):
        hl.main(["Swahili"])
