"""Tests of the evaluation CLIs: score_asr, eval_ir (+ utils/eval_ir.sh), eval_mos, make_report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrspeech.bin import eval_ir, eval_mos, make_report, score_asr

REPO = Path(__file__).resolve().parents[2]


def write_lines(path: Path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in sorted(lines)), encoding="utf-8")
    return path


def test_score_asr_writes_result_and_json(tmp_path, capsys):
    ref = write_lines(tmp_path / "ref" / "text", ["u1 Watu 3 walikuja.", "u2 habari yako"])
    hyp = write_lines(tmp_path / "hyp" / "text", ["u1 watu tatu walikuja", "u2 habari"])
    out = tmp_path / "score"
    rc = score_asr.main(
        [
            "--ref",
            str(ref),
            "--hyp",
            str(hyp),
            "--out_dir",
            str(out),
            "--lang_config",
            str(REPO / "conf" / "lang" / "sw.yaml"),
        ]
    )
    assert rc == 0
    data = json.loads((out / "score.json").read_text())
    assert data["wer"] == pytest.approx(1 / 5) and data["word"]["del"] == 1
    assert "id: (u2)" in (out / "result.txt").read_text()
    assert "WER 20.00%" in capsys.readouterr().out


def test_score_asr_unknown_hypothesis_names_file_and_line(tmp_path, capsys):
    ref = write_lines(tmp_path / "ref", ["u1 a"])
    hyp = write_lines(tmp_path / "hyp", ["u1 a", "u9 b"])
    rc = score_asr.main(["--ref", str(ref), "--hyp", str(hyp), "--out_dir", str(tmp_path / "o")])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"{hyp}:2: utterance 'u9' is not in the reference {ref}; score against" in err
    assert not (tmp_path / "o").exists()


def test_score_asr_bad_lang_config(tmp_path, capsys):
    ref = write_lines(tmp_path / "ref", ["u1 a"])
    rc = score_asr.main(
        [
            "--ref",
            str(ref),
            "--hyp",
            str(ref),
            "--out_dir",
            str(tmp_path / "o"),
            "--lang_config",
            str(tmp_path / "xx.yaml"),
        ]
    )
    assert rc == 1 and "xx.yaml: language config not found" in capsys.readouterr().err


@pytest.fixture
def lj_dir(tmp_path, lj_rows):
    """A sorted data dir of the two shortest LJSpeech clips."""
    rows = sorted(lj_rows, key=lambda r: float(r["duration_s"]))[:2]
    d = tmp_path / "lj"
    write_lines(d / "text", [f"{r['id']} {r['text']}" for r in rows])
    write_lines(d / "wav.scp", [f"{r['id']} {r['audio']}" for r in rows])
    return d


def test_eval_ir_shell_wrapper_with_pocketsphinx(lj_dir, tmp_path):
    pytest.importorskip("pocketsphinx")
    out = tmp_path / "ir"
    env = dict(os.environ, LRSPEECH_PYTHON=sys.executable)
    proc = subprocess.run(
        [
            str(REPO / "utils" / "eval_ir.sh"),
            "--judge",
            "pocketsphinx",
            "--lang_config",
            str(REPO / "conf" / "lang" / "en.yaml"),
            str(lj_dir),
            str(lj_dir),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "ir.json").read_text())
    assert data["judge"] == "pocketsphinx" and data["ref_words"] == 8 and data["num_utts"] == 2
    assert data["ir"] >= 0.6 and data["pad_s"] == 0.3
    lines = (out / "ir_utts.tsv").read_text().splitlines()
    assert lines[0] == "utt\tref\thyp\twords_correct\tref_words\tchar_errors\tref_chars"
    assert len(lines) == 3
    assert "IR " in proc.stdout


def test_eval_ir_audio_without_text(lj_dir, tmp_path, capsys):
    text = write_lines(tmp_path / "t" / "text", ["other one"])
    rc = eval_ir.main(
        [
            "--judge",
            "pocketsphinx",
            "--text",
            str(text),
            "--wav_dir",
            str(lj_dir),
            "--out_dir",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "has no text in" in err and "give the text dir the audio was synthesized from" in err


def test_eval_ir_missing_judge_dir(lj_dir, tmp_path, capsys):
    rc = eval_ir.main(
        [
            "--judge",
            str(tmp_path / "nojudge"),
            "--text",
            str(lj_dir),
            "--wav_dir",
            str(lj_dir),
            "--out_dir",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 1 and "judge model dir not found" in capsys.readouterr().err


def test_eval_mos_reference_metrics(tmp_path, sw_rows, capsys):
    rows = sw_rows[:2]
    ref = tmp_path / "ref"
    write_lines(ref / "wav.scp", [f"{r['id']} {r['audio']}" for r in rows])
    synth = tmp_path / "synth"
    synth.mkdir()
    for r in rows:
        (synth / f"{r['id']}.flac").symlink_to(r["audio"])
    out = tmp_path / "mos"
    rc = eval_mos.main(
        ["--wav_dir", str(synth), "--ref_dir", str(ref), "--out_dir", str(out), "--no_dnsmos"]
    )
    assert rc == 0
    metrics = json.loads((out / "mos.json").read_text())["metrics"]
    assert metrics["mcd"]["mean"] == pytest.approx(0.0, abs=1e-9) and metrics["mcd"]["n"] == 2
    assert metrics["stoi"]["mean"] == pytest.approx(1.0, abs=1e-3)
    assert "mcd\t0.000" in capsys.readouterr().out


def test_eval_mos_missing_dir(tmp_path, capsys):
    rc = eval_mos.main(["--wav_dir", str(tmp_path / "none"), "--out_dir", str(tmp_path / "o")])
    assert rc == 1 and "not a directory; give a data dir with wav.scp" in capsys.readouterr().err


def test_make_report_collect_then_build(tmp_path, sw_rows):
    (tmp_path / "ir.json").write_text(json.dumps({"ir": 0.7, "judge_cer": 0.2}))
    (tmp_path / "score.json").write_text(json.dumps({"cer": 0.3, "wer": 0.6}))
    stage = tmp_path / "eval" / "finetune.json"
    rc = make_report.main(
        [
            "--collect",
            str(stage),
            "--stage",
            "finetune",
            "--data",
            "hq",
            "--ir_json",
            str(tmp_path / "ir.json"),
            "--score_json",
            str(tmp_path / "score.json"),
            "--sample",
            sw_rows[0]["id"],
            sw_rows[0]["audio"],
        ]
    )
    assert rc == 0 and json.loads(stage.read_text())["asr_wer"] == 0.6
    rc = make_report.main(["--results", str(stage), "--out_dir", str(tmp_path / "report")])
    assert rc == 0
    assert (
        "| finetune | hq | 70.0% | 20.0% | 30.0% | 60.0% |"
        in (tmp_path / "report" / "report.md").read_text()
    )
    assert "data:audio/wav;base64," in (tmp_path / "report" / "report.html").read_text()


def test_make_report_errors(tmp_path, capsys):
    rc = make_report.main(["--collect", str(tmp_path / "s.json")])
    assert rc == 1 and "--collect needs --stage" in capsys.readouterr().err
    rc = make_report.main(["--collect", str(tmp_path / "s.json"), "--stage", "x", "--sample", "u"])
    assert rc == 1 and "--sample u: give UTT WAV [ATT]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        make_report.main(["--out_dir", str(tmp_path)])
    assert "give --results and --out_dir" in capsys.readouterr().err


def test_make_report_best_prints_the_stage_label(tmp_path, capsys):
    files = []
    for label, cer in (("finetune", 0.5), ("dt_round1", 0.4), ("kd", 0.45)):
        files.append(tmp_path / f"{label}.json")
        files[-1].write_text(json.dumps({"stage": label, "asr_cer": cer, "judge_cer": 1 - cer}))
    assert make_report.main(["--results", *map(str, files), "--best", "asr_cer"]) == 0
    assert capsys.readouterr().out == "dt_round1\n"
    assert make_report.main(["--results", *map(str, files), "--best", "judge_cer"]) == 0
    assert capsys.readouterr().out == "finetune\n"
    assert make_report.main(["--results", *map(str, files), "--best", "asr_cer", "judge_cer"]) == 0
    assert capsys.readouterr().out == "dt_round1 finetune\n"
    files.append(tmp_path / "missing.json")
    assert make_report.main(["--results", *map(str, files), "--best", "asr_cer"]) == 1
    assert "missing.json: stage result not found" in capsys.readouterr().err


def test_make_report_collect_real_reference_then_report_with_rounds_and_packed(tmp_path, sw_rows):
    """--collect takes the judge's figures on the real recordings and, from --dev_dir, each
    sample's sentence and real recording; the report marks the packed stages."""
    real, synth = sw_rows[-1], sw_rows[0]
    dev = tmp_path / "dev"
    write_lines(dev / "text", [f"{real['id']} {real['text']}"])
    write_lines(dev / "wav.scp", [f"{real['id']} {real['audio']}"])
    (tmp_path / "ir.json").write_text(json.dumps({"ir": 0.1, "judge_cer": 0.6}))
    (tmp_path / "real_ir.json").write_text(json.dumps({"ir": 0.9, "sentence_ir": 0.5,
                                                       "judge_cer": 0.05, "judge": "j"}))
    (tmp_path / "real_mos.json").write_text(json.dumps(
        {"metrics": {"dnsmos_ovrl": {"mean": 3.3, "ci95": 0.1, "n": 1}}}))
    files = []
    for label in ("finetune", "kd"):
        files.append(tmp_path / "eval" / f"{label}.json")
        assert make_report.main([
            "--collect", str(files[-1]), "--stage", label, "--ir_json", str(tmp_path / "ir.json"),
            "--real_ir_json", str(tmp_path / "real_ir.json"), "--real_mos_json",
            str(tmp_path / "real_mos.json"), "--sample", real["id"], synth["audio"],
            "--dev_dir", str(dev)]) == 0
    result = json.loads(files[0].read_text())
    assert result["real"] == {"judge": "j", "ir": 0.9, "sentence_ir": 0.5, "judge_cer": 0.05,
                              "mos": {"dnsmos_ovrl": {"mean": 3.3, "ci95": 0.1}}}
    assert result["samples"] == [{"utt": real["id"], "wav": synth["audio"], "text": real["text"],
                                  "real_wav": real["audio"]}]
    out = tmp_path / "report"
    assert make_report.main(["--results", *map(str, files), "--out_dir", str(out),
                             "--rounds", str(files[0]), "--packed", "kd", "finetune"]) == 0
    md = (out / "report.md").read_text()
    assert "| finetune |  | TTS | 10.0% |" in md and "| kd |  | ASR | 10.0% |" in md
    assert f"> {real['text']}" in md and "## Dual transformation rounds" in md
    assert make_report.main(["--results", str(files[0]), "--out_dir", str(out),
                             "--packed", "kd", "kd"]) == 1
