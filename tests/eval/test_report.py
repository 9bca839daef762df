"""Tests of lrspeech.eval.report (and plots): table rows, embedded images and audio."""

import base64
import json
import re

import numpy as np
import pytest

from lrspeech.eval.report import ReportError, collect_stage_result, load_stage, table
from lrspeech.eval.report_page import write_report


def diagonal(frames, tokens):
    a = np.zeros((frames, tokens))
    a[np.arange(frames), (np.arange(frames) * tokens) // frames] = 1.0
    return a


@pytest.fixture
def stage_files(tmp_path, sw_rows):
    np.save(tmp_path / "att0.npy", diagonal(80, 12))
    stages = [
        {
            "stage": "pretrain",
            "data": "espeak en",
            "ir": 0.31,
            "judge_cer": 0.52,
            "asr_cer": 0.6,
            "asr_wer": 0.9,
            "mos": {"dnsmos_ovrl": {"mean": 2.1, "ci95": 0.2}},
        },
        {
            "stage": "finetune",
            "data": "paired_hq 10 utts",
            "ir": 0.74,
            "sentence_ir": 0.4,
            "judge_cer": 0.18,
            "asr_cer": 0.25,
            "asr_wer": 0.5,
            "mos": {"dnsmos_ovrl": {"mean": 3.05, "ci95": 0.12}, "mcd": 7.5},
            "attention": {"wcr": 0.61, "adr": 0.93},
            "samples": [
                {
                    "utt": sw_rows[0]["id"],
                    "text": sw_rows[0]["text"],
                    "wav": sw_rows[0]["audio"],
                    "att": "att0.npy",
                }
            ],
        },
    ]
    paths = []
    for i, s in enumerate(stages):
        paths.append(tmp_path / f"{i}_{s['stage']}.json")
        paths[-1].write_text(json.dumps(s))
    return paths


def test_table_rows(stage_files):
    header, rows = table([load_stage(p) for p in stage_files])
    assert header == [
        "stage",
        "data",
        "IR",
        "sent. IR",
        "judge CER",
        "ASR CER",
        "ASR WER",
        "WCR",
        "ADR",
        "dnsmos_ovrl",
        "mcd",
    ]
    assert rows[0] == [
        "pretrain",
        "espeak en",
        "31.0%",
        "–",
        "52.0%",
        "60.0%",
        "90.0%",
        "–",
        "–",
        "2.10 ± 0.20",
        "–",
    ]
    assert rows[1][2:] == [
        "74.0%",
        "40.0%",
        "18.0%",
        "25.0%",
        "50.0%",
        "0.610",
        "0.930",
        "3.05 ± 0.12",
        "7.50",
    ]


def test_nan_attention_scores_show_as_dashes(tmp_path):
    """A FastSpeech2 stage has no attention; older attention.json files hold NaN for it."""
    ar = {"stage": "dt_round1", "ir": 0.5, "attention": {"wcr": 0.61, "adr": 0.93}}
    fs2 = {"stage": "kd", "ir": 0.6, "attention": {"wcr": float("nan"), "adr": None}}
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for p, data in zip(paths, (ar, fs2)):
        p.write_text(json.dumps(data))  # json writes NaN as a bare NaN token
    header, rows = table([load_stage(p) for p in paths])
    assert header == ["stage", "data", "IR", "WCR", "ADR"]
    assert rows == [["dt_round1", "", "50.0%", "0.610", "0.930"], ["kd", "", "60.0%", "–", "–"]]
    header, _ = table([load_stage(paths[1])])
    assert header == ["stage", "data", "IR"]  # no stage has attention: no columns


def test_report_embeds_images_and_audio(stage_files, tmp_path, sw_rows):
    md, page = write_report(stage_files, tmp_path / "report", title="Swahili run")
    text = md.read_text()
    assert "| pretrain | espeak en | 31.0% |" in text
    assert "| finetune | paired_hq 10 utts | 74.0% | 40.0% |" in text
    assert "![Metrics per stage](img/stages.png)" in text
    assert (tmp_path / "report" / "img" / "stages.png").read_bytes()[:4] == b"\x89PNG"
    utt = sw_rows[0]["id"]
    assert f"img/finetune_{utt}_attention.png" in text and f"img/finetune_{utt}_mel.png" in text
    html = page.read_text()
    assert "<h1>Swahili run</h1>" in html and "<td>finetune</td>" in html
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 3  # bars, mel, attention
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    audio = re.findall(r"<audio controls src='data:audio/wav;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(audio) == 1 and base64.b64decode(audio[0])[:4] == b"RIFF"
    assert "src='http" not in html and "src='img/" not in html  # self-contained


def test_missing_sample_file_is_skipped_with_warning(tmp_path, caplog):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"stage": "x", "samples": [{"utt": "u", "wav": "nope.wav"}]}))
    md, page = write_report([path], tmp_path / "r")
    assert "x: sample 'u' audio skipped" in caplog.text
    assert "<td>x</td>" in page.read_text()


def test_bad_stage_files_have_clear_messages(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"stage": "x",\n "ir": }')
    with pytest.raises(ReportError, match=r"bad.json:2: not valid JSON"):
        load_stage(bad)
    bad.write_text(json.dumps({"ir": 0.5}))
    with pytest.raises(ReportError, match="needs a non-empty string 'stage'"):
        load_stage(bad)
    bad.write_text(json.dumps({"stage": "x", "ir": "high"}))
    with pytest.raises(ReportError, match="'ir' must be a number or null, got 'high'"):
        load_stage(bad)
    bad.write_text(json.dumps({"stage": "x", "samples": [{"wav": "a.wav"}]}))
    with pytest.raises(ReportError, match=r"samples\[0\] needs an 'utt' id"):
        load_stage(bad)
    with pytest.raises(ReportError, match="stage result not found; run the evaluation stage first"):
        load_stage(tmp_path / "none.json")
    with pytest.raises(ReportError, match="no stage result files given"):
        write_report([], tmp_path / "r")


def test_collect_stage_result_reads_eval_outputs(tmp_path):
    (tmp_path / "ir.json").write_text(
        json.dumps({"ir": 0.8, "sentence_ir": 0.5, "judge": "pocketsphinx", "judge_cer": 0.1})
    )
    (tmp_path / "score.json").write_text(json.dumps({"cer": 0.2, "wer": 0.4}))
    (tmp_path / "mos.json").write_text(
        json.dumps({"metrics": {"mcd": {"mean": 7.0, "ci95": 0.5, "n": 3}}})
    )
    out = collect_stage_result(
        "finetune",
        "hq",
        tmp_path / "ir.json",
        tmp_path / "score.json",
        tmp_path / "mos.json",
        {"wcr": 0.6},
        [{"utt": "u", "wav": "u.wav"}],
    )
    assert out["ir"] == 0.8 and out["asr_wer"] == 0.4 and out["judge"] == "pocketsphinx"
    assert out["mos"] == {"mcd": {"mean": 7.0, "ci95": 0.5}}
    assert out["attention"] == {"wcr": 0.6} and out["samples"] == [{"utt": "u", "wav": "u.wav"}]
    stage = tmp_path / "stage.json"
    stage.write_text(json.dumps(out))
    assert load_stage(stage).values["ir"] == 0.8
    with pytest.raises(ReportError, match="not found; run the evaluation that writes it first"):
        collect_stage_result("x", ir_json=tmp_path / "missing.json")


def test_best_stage_lowest_error_later_stage_wins_ties(tmp_path):
    from lrspeech.eval.report import best_stage, parse_stage

    rows = [("finetune", 0.45, 0.70), ("dt_round1", 0.42, 0.66), ("dt_round2", 0.42, None),
            ("kd", 0.44, 0.69)]
    stages = [parse_stage({"stage": s, "asr_cer": a, "judge_cer": j}, tmp_path / f"{s}.json")
              for s, a, j in rows]
    assert best_stage(stages, "asr_cer").stage == "dt_round2"  # tie with round 1: the later
    assert best_stage(stages, "judge_cer").stage == "dt_round1"  # null judge CER passed over
    with pytest.raises(ReportError, match="cannot pick a best stage by 'ir'"):
        best_stage(stages, "ir")
    with pytest.raises(ReportError, match="no stage result has 'asr_wer'.*kd.json"):
        best_stage(stages, "asr_wer")


def test_skipped_clips_column_from_collected_skip_records(tmp_path):
    """make_report --collect --skips_from sums each step's skipped.json; the table shows the
    total per stage, and no column when no stage skipped anything."""
    from lrspeech.bin import make_report
    from lrspeech.data.skips import Skips

    s = Skips()
    s.add("u1", "too_short")
    s.add("u2", "empty")
    s.write(tmp_path / "round1" / "asr_hyp" / "split" / "1" / "skipped.json")
    Skips().write(tmp_path / "round1" / "synth_a" / "split" / "1" / "skipped.json")
    out = tmp_path / "dt_round1.json"
    assert make_report.main(["--collect", str(out), "--stage", "dt_round1",
                             "--skips_from", str(tmp_path / "round1")]) == 0
    assert json.loads(out.read_text())["skipped"] == {
        "round1/asr_hyp": {"empty": 1, "too_short": 1}}
    clean = tmp_path / "finetune.json"
    clean.write_text(json.dumps({"stage": "finetune", "ir": 0.1}))
    header, rows = table([load_stage(clean), load_stage(out)])
    assert header[-1] == "skipped clips"
    assert [r[-1] for r in rows] == ["0", "2 (empty 1, too_short 1)"]
    assert table([load_stage(clean)])[0] == ["stage", "data", "IR"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stage": "x", "skipped": {"a": 3}}))
    with pytest.raises(ReportError, match="'skipped' must map step names to"):
        load_stage(bad)
