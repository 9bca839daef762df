"""bench/ablation.py helpers: the scoring dev set, row times and the target checks."""

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


def test_row_times_and_targets(abl):
    times = {"stage4": 60.0, "stage5": 120.0, "stage6.round1": 30.0, "stage7": 10.0,
             "baseline": 50.0, "sw_synth.stage1": 5.0, "sw_synth.stage5": 7.0}
    t = abl.row_times(times, 1)
    assert t == {"baseline": 50.0, "finetune": 180.0, "dt_round1": 30.0, "kd": 10.0,
                 "kd_sw_synth": 12.0}
    rows = [{"row": "baseline", "asr_cer": 0.50, "ir": 0.10},
            {"row": "finetune", "asr_cer": 0.40, "ir": 0.05},
            {"row": "kd", "asr_cer": 0.29, "ir": 0.60}]
    checks = abl.check_targets(rows)
    assert checks[0] == "finetune vs baseline: ASR CER lower, IR NOT higher"
    assert checks[1] == "kd vs finetune: ASR CER lower, IR higher"
    assert checks[2] == "final/baseline ASR CER 0.58 (target <= 0.6: met)"
    assert checks[3] == "final/baseline IR error 0.44 (target <= 0.5: met)"
    rows[-1]["asr_cer"] = 0.31
    assert abl.check_targets(rows)[2] == "final/baseline ASR CER 0.62 (target <= 0.6: NOT met)"


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
    steps = abl.step_intervals(tmp_path, ["baseline", "finetune", "kd"])
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
