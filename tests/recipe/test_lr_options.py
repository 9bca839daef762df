"""lr.sh refuses a bad choice before any stage runs, naming the option and its choices."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LR_SH = REPO / "egs" / "TEMPLATE" / "lr1" / "lr.sh"


def run_lr(cwd: Path, *opts: str) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "egs" / "TEMPLATE" / "lr1" / "cmd.sh", cwd / "cmd.sh")
    shutil.copy(REPO / "conf" / "lang" / "sw.yaml", cwd / "lang.yaml")
    return subprocess.run(["bash", str(LR_SH), "--lang_config", "lang.yaml", *opts],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("option,choices", [
    ("--kd_student", "fastspeech or transformer"),
    ("--kd_student_init", "teacher or scratch"),
    ("--kd_tts_real", "paired or labelled"),
    ("--tts_align", "ctc or attention"),
    ("--pack", "best or final"),
    ("--digits", "drop or keep"),
    ("--tts_vocoder", "griffin_lim, world_gl or world"),
    ("--dt_asr_synth_ratio", "all or a share in [0, 1)"),
])
def test_bad_choice_stops_before_any_stage(tmp_path: Path, option: str, choices: str) -> None:
    res = run_lr(tmp_path, option, "bogus")
    assert res.returncode != 0
    assert f"{option} must be {choices}, not 'bogus'" in res.stderr
    assert not (tmp_path / "exp").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("value", ["1.5", "1", "-0.2", "0."])
def test_a_synthetic_ratio_outside_0_1_stops_before_any_stage(tmp_path: Path, value: str) -> None:
    res = run_lr(tmp_path, "--dt_asr_synth_ratio", value)
    assert res.returncode != 0
    assert f"--dt_asr_synth_ratio must be all or a share in [0, 1), not '{value}'" in res.stderr
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize("option", ["--use_lm", "--judge_lm", "--split_unpaired"])
def test_a_bad_boolean_stops_before_any_stage(tmp_path: Path, option: str) -> None:
    res = run_lr(tmp_path, option, "bogus")
    assert res.returncode != 0
    assert f"{option} expects true or false, got 'bogus'" in res.stderr
    assert not (tmp_path / "exp").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("value", ["0", "ten", "-3", "2.5"])
@pytest.mark.parametrize("option", ["pretrain", "finetune", "dt"])
def test_a_bad_tts_epoch_count_stops_before_any_stage(tmp_path: Path, option: str,
                                                      value: str) -> None:
    res = run_lr(tmp_path, f"--{option}_tts_epochs", value)
    assert res.returncode != 0
    assert (f"--{option}_tts_epochs must be a number of epochs (or empty: --{option}_epochs), "
            f"not '{value}'") in res.stderr
    assert not (tmp_path / "exp").exists() and not (tmp_path / "data").exists()


def test_good_choices_pass_the_checks(tmp_path: Path) -> None:
    """Valid choices get past the checks: stage 1 then fails on the missing local/data.sh."""
    res = run_lr(tmp_path, "--kd_student", "transformer", "--kd_student_init", "scratch",
                 "--kd_tts_real", "labelled", "--dt_asr_synth_ratio", "0.25",
                 "--finetune_tts_epochs", "40", "--pretrain_tts_epochs", "16",
                 "--dt_tts_epochs", "6",
                 "--tts_vocoder", "world_gl", "--stop_stage", "1")
    assert "must be" not in res.stderr
    assert "local/data.sh" in res.stderr, res.stderr[-2000:]
