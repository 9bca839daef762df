"""eval_stage: bad input is named before any model loads (a full run is in tests/recipe)."""

from pathlib import Path

from lrspeech.bin import eval_stage


def _args(stage_dir: Path, tmp_path: Path) -> list:
    return ["--stage_dir", str(stage_dir), "--data_dir", str(tmp_path / "dev"), "--judge",
            "pocketsphinx", "--lang_config", "conf/lang/sw.yaml", "--out_dir",
            str(tmp_path / "out")]


def test_missing_packed_model_is_named(tmp_path: Path, capsys) -> None:
    stage = tmp_path / "exp" / "dt" / "round1"
    (stage / "asr" / "model").mkdir(parents=True)
    (stage / "asr" / "model" / "meta.json").write_text("{}")
    assert eval_stage.main(_args(stage, tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"{stage}/tts/model is not a packed model" in err and "train the stage first" in err
    assert not (tmp_path / "out").exists()


def test_summary_percentages() -> None:
    assert eval_stage._pct(0.1234) == "12.3%" and eval_stage._pct(None) == "n/a"
