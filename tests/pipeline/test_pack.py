"""Tests for lrspeech.pipeline.pack (stage 9's choice and packed dir) and bin/pack_stages."""

import json
from pathlib import Path

import pytest

from lrspeech.bin import pack_stages
from lrspeech.errors import InputError
from lrspeech.pipeline import pack


def result(path: Path, stage: str, asr_cer: float, judge_cer: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stage": stage, "asr_cer": asr_cer, "judge_cer": judge_cer}))
    return path


def stage_dir(root: Path, label: str) -> Path:
    for task in ("asr", "tts"):
        model = root / label / task / "model"
        model.mkdir(parents=True)
        (model / "meta.json").write_text(json.dumps({"task": task}))
        (model / "model.pth").write_text(f"{label} {task}")
    return root / label


@pytest.fixture()
def stages(tmp_path: Path):
    results = [result(tmp_path / "eval" / "ft.json", "ft", 0.30, 0.50),
               result(tmp_path / "eval" / "dt.json", "dt", 0.20, 0.60),
               result(tmp_path / "eval" / "kd.json", "kd", 0.20, 0.70)]
    dirs = {label: stage_dir(tmp_path / "exp", label) for label in ("ft", "dt", "kd")}
    return results, dirs


def test_best_picks_each_task_on_its_metric_and_a_tie_goes_later(stages) -> None:
    results, _ = stages
    assert pack.choose(results, "best") == pack.Choice("best", "kd", "ft")
    assert pack.choose(results, "final") == pack.Choice("final", "kd", "kd")
    with pytest.raises(InputError, match="--pack"):
        pack.choose(results, "worst")
    with pytest.raises(InputError, match="stage 8"):
        pack.choose([], "best")


def test_with_the_lm_packed_the_asr_is_chosen_by_its_cer_with_the_lm(stages, tmp_path) -> None:
    results, _ = stages
    for path, lm_cer in zip(results, (0.15, 0.18, 0.17)):  # ft reads best with the LM
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "asr_lm_cer": lm_cer}))
    assert pack.choose(results, "best", with_lm=True) == pack.Choice("best", "ft", "ft")
    assert pack.choose(results, "best") == pack.Choice("best", "kd", "ft")  # no LM packed
    # a stage decoded without the LM: the stages are compared without it
    data = json.loads(results[0].read_text())
    results[0].write_text(json.dumps({**data, "asr_lm_cer": None}))
    assert pack.choose(results, "best", with_lm=True) == pack.Choice("best", "kd", "ft")


def test_the_packed_dir_holds_the_chosen_models_and_replaces_the_old_one(stages,
                                                                         tmp_path: Path) -> None:
    results, dirs = stages
    out = tmp_path / "packed"
    (out / "stale").mkdir(parents=True)
    pack.pack_models(pack.Choice("best", "kd", "ft"), dirs, out)
    assert (out / "asr" / "model.pth").read_text() == "kd asr"
    assert (out / "tts" / "model.pth").read_text() == "ft tts"
    assert json.loads((out / "packed.json").read_text()) == {"pack": "best", "asr": "kd",
                                                             "tts": "ft"}
    assert not (out / "stale").exists()


def test_a_missing_stage_or_model_is_refused_before_anything_is_written(stages,
                                                                        tmp_path: Path) -> None:
    _, dirs = stages
    with pytest.raises(InputError, match="no --stage_dirs entry"):
        pack.pack_models(pack.Choice("best", "gone", "ft"), dirs, tmp_path / "p")
    (dirs["dt"] / "tts" / "model" / "meta.json").unlink()
    with pytest.raises(InputError, match="rerun its stage"):
        pack.pack_models(pack.Choice("best", "ft", "dt"), dirs, tmp_path / "p")
    with pytest.raises(InputError, match="both"):
        pack.pack_models(pack.Choice("best", "ft", "ft"), dirs, tmp_path / "p",
                         lm_dir=tmp_path / "lm")
    assert not (tmp_path / "p").exists()


def test_the_cli_prints_the_choice_and_names_a_bad_stage_dir(stages, tmp_path: Path,
                                                             capsys) -> None:
    results, dirs = stages
    argv = ["--results", *map(str, results), "--stage_dirs",
            *(f"{k}={v}" for k, v in dirs.items()), "--out", str(tmp_path / "packed")]
    assert pack_stages.main(argv) == 0
    assert capsys.readouterr().out.strip() == "kd ft"
    # With the report (lr.sh's call), stdout is still that one line: lr.sh reads the labels
    # from it (the report's own "report -> ..." line had taken their place).
    assert pack_stages.main([*argv, "--report_dir", str(tmp_path / "report")]) == 0
    out = capsys.readouterr()
    assert out.out == "kd ft\n" and "report -> " in out.err
    assert (tmp_path / "report" / "report.md").is_file()
    assert pack_stages.main(argv[:-3] + ["oops", "--out", str(tmp_path / "x")]) == 1
    assert "LABEL=DIR" in capsys.readouterr().err
