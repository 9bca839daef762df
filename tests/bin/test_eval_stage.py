"""eval_stage: bad input is named before any model loads (a full run is in tests/recipe)."""

import argparse
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


def test_a_judge_is_needed_unless_asr_only(tmp_path: Path, capsys) -> None:
    stage = tmp_path / "exp" / "topline"
    argv = _args(stage, tmp_path)
    del argv[argv.index("--judge"):argv.index("--judge") + 2]
    assert eval_stage.main(argv) == 1
    err = capsys.readouterr().err
    assert "give --judge" in err and "--asr_only to evaluate the stage's ASR alone" in err
    # --asr_only needs the ASR alone: the missing TTS is not asked for
    (stage / "tts").mkdir(parents=True)
    assert eval_stage.main(argv + ["--asr_only"]) == 1
    err = capsys.readouterr().err
    assert f"{stage}/asr/model is not a packed model" in err and "tts/model" not in err


def test_summary_percentages() -> None:
    assert eval_stage._pct(0.1234) == "12.3%" and eval_stage._pct(None) == "n/a"


def _real_args(tmp_path: Path, judge: Path, mos: str = "all") -> argparse.Namespace:
    dev = tmp_path / "dev"
    dev.mkdir(exist_ok=True)
    (dev / "text").write_text("u1 habari\n", encoding="utf-8")
    (dev / "wav.scp").write_text("u1 wav/u1.wav\nu2 sox a.flac -t wav - |\n", encoding="utf-8")
    argv = _args(tmp_path / "stage", tmp_path)
    argv[argv.index("pocketsphinx")] = str(judge)
    return eval_stage.get_parser().parse_args(argv + ["--real_dir", str(tmp_path / "real"),
                                                      "--mos", mos])


def test_real_reference_is_computed_once_per_judge_and_data(tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    """The judge's figures on the real recordings are reused from --real_dir while the judge's
    files and the dev data are the same, and made afresh when either changes."""
    import json
    import os

    calls = []

    def fake(name: str, payload: dict):
        def main(argv):
            out = Path(argv[argv.index("--out_dir") + 1])
            out.mkdir(parents=True)
            (out / f"{name}.json").write_text(json.dumps(payload))
            calls.append((name, argv[argv.index("--wav_dir") + 1]))
            return 0
        return main

    monkeypatch.setattr(eval_stage.eval_ir, "main", fake("ir", {"ir": 0.9, "judge_cer": 0.05}))
    monkeypatch.setattr(eval_stage.eval_mos, "main", fake("mos", {"metrics": {}}))
    judge = tmp_path / "judge"
    judge.mkdir()
    (judge / "model.pth").write_bytes(b"1")
    a = _real_args(tmp_path, judge)
    opts, ir = eval_stage.real_reference(a)
    assert ir == {"ir": 0.9, "judge_cer": 0.05}
    assert opts == ["--real_ir_json", str(tmp_path / "real" / "ir" / "ir.json"),
                    "--real_mos_json", str(tmp_path / "real" / "mos" / "mos.json")]
    assert calls == [("ir", str(tmp_path / "dev")), ("mos", str(tmp_path / "dev"))]
    eval_stage.real_reference(a)  # same judge, same data: reused
    assert len(calls) == 2 and "reused (same judge and data)" in capsys.readouterr().out
    os.utime(judge / "model.pth", ns=(1, 1))  # the judge was retrained in place
    eval_stage.real_reference(a)
    assert len(calls) == 4
    (tmp_path / "dev" / "text").write_text("u1 habari yako\n", encoding="utf-8")
    opts, _ = eval_stage.real_reference(_real_args(tmp_path, judge, mos="none"))
    assert len(calls) == 5 and calls[-1][0] == "ir" and "--real_mos_json" not in opts


def test_parallel_stages_compute_the_real_figures_once(tmp_path: Path, monkeypatch) -> None:
    """lr.sh stage 8 evaluates stages in parallel lanes that share --real_dir: the first
    computes the real recordings' figures, the other waits for them instead of deleting and
    redoing them under its feet."""
    import json
    import threading
    import time

    calls = []

    def slow_ir(argv):
        calls.append("ir")
        out = Path(argv[argv.index("--out_dir") + 1])
        out.mkdir(parents=True)
        time.sleep(0.3)  # long enough for the second evaluation to arrive meanwhile
        (out / "ir.json").write_text(json.dumps({"ir": 0.9, "judge_cer": 0.05}))
        return 0

    monkeypatch.setattr(eval_stage.eval_ir, "main", slow_ir)
    judge = tmp_path / "judge"
    judge.mkdir()
    (judge / "model.pth").write_bytes(b"1")
    a = _real_args(tmp_path, judge, mos="none")
    results, errors = [], []

    def evaluate() -> None:
        try:
            results.append(eval_stage.real_reference(a)[1])
        except Exception as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and calls == ["ir"]
    assert results == [{"ir": 0.9, "judge_cer": 0.05}] * 2
