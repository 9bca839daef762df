"""Tests of lrspeech.eval.report_page: the real-recording reference (row and plot lines), the
dual-transformation rounds plot, packed marks, stage times, and the assembled report folder."""

import json
import re
from pathlib import Path

import pytest

from lrspeech.eval.report import ReportError, load_stage, packed_marks, reference, table
from lrspeech.eval.report_page import ReportInputs, round_panels, stage_panels, write_report

REAL = {"judge": "exp/kd/asr/model", "ir": 0.85, "sentence_ir": 0.5, "judge_cer": 0.07,
        "mos": {"dnsmos_ovrl": {"mean": 3.2, "ci95": 0.1}}}


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def stages(tmp_path, sw_rows):
    rows = [("finetune", 0.04, 0.59, 0.16, 1.2), ("dt_round1", 0.07, 0.55, 0.15, 1.3),
            ("kd", 0.06, 0.58, 0.17, 1.4)]
    real_wav = sw_rows[-1]["audio"]  # a val clip stands for the real recording
    paths = []
    for label, ir, jcer, cer, dns in rows:
        paths.append(_write(tmp_path / f"{label}.json", {
            "stage": label, "ir": ir, "judge_cer": jcer, "asr_cer": cer,
            "judge": "exp/kd/asr/model", "mos": {"dnsmos_ovrl": {"mean": dns, "ci95": 0.1},
                                                 "mcd": 6.0},
            "samples": [{"utt": "dev1", "text": "habari", "wav": sw_rows[0]["audio"],
                         "real_wav": real_wav}],
            "real": REAL}))
    return paths


def test_reference_row_and_packed_column(stages):
    results = [load_stage(p) for p in stages]
    ref = reference(results)
    header, rows = table(results, ref, {"asr": "dt_round1", "tts": "kd"})
    assert header == ["stage", "data", "packed", "IR", "judge CER", "ASR CER", "dnsmos_ovrl",
                      "mcd"]
    assert rows[-1] == ["real recordings", "the real dev recordings, same judge", "", "85.0%",
                        "7.0%", "–", "3.20 ± 0.10", "–"]
    assert [r[2] for r in rows[:-1]] == ["", "ASR", "TTS"]
    assert packed_marks(results, {"asr": "kd", "tts": "kd"}) == ["", "", "ASR + TTS"]
    with pytest.raises(ReportError, match="packed TTS stage 'round9' is not among"):
        packed_marks(results, {"tts": "round9"})


def test_plot_reference_lines_are_the_judge_on_real_recordings(stages):
    results = [load_stage(p) for p in stages]
    panels = {p.name: p for p in stage_panels(results, reference(results),
                                              {"asr": "dt_round1", "tts": "kd"})}
    assert list(panels) == ["IR", "judge CER", "ASR CER", "dnsmos_ovrl", "mcd"]
    assert panels["IR"].values == [0.04, 0.07, 0.06] and panels["IR"].reference == 0.85
    assert panels["judge CER"].reference == 0.07 and panels["dnsmos_ovrl"].reference == 3.2
    assert panels["ASR CER"].reference is None  # the ASR already reads the real recordings
    assert panels["mcd"].reference is None  # needs a reference of its own: none on real
    assert panels["ASR CER"].highlight == 1 and panels["IR"].highlight == 2
    assert panels["dnsmos_ovrl"].errors == [0.1, 0.1, 0.1]
    assert panels["IR"].percent and not panels["dnsmos_ovrl"].percent
    no_ref = stage_panels(results, None)
    assert all(p.reference is None and p.highlight is None for p in no_ref)


def test_rounds_plot_data(tmp_path):
    paths = [_write(tmp_path / f"round{r}.json", {
        "stage": f"round{r}", "asr_cer": cer, "ir": ir, "judge_cer": 0.6 - r / 100,
        "judge": "exp/finetune/asr/model", "real": dict(REAL, judge_cer=0.12)})
        for r, (cer, ir) in enumerate([(0.2, 0.03), (0.18, 0.05), (0.17, 0.04)])]
    rounds = [load_stage(p) for p in paths]
    panels = {p.name: p for p in round_panels(rounds, reference(rounds))}
    assert list(panels) == ["IR", "judge CER", "ASR CER"]
    assert panels["ASR CER"].values == [0.2, 0.18, 0.17]
    assert panels["judge CER"].values == [0.6, 0.59, 0.58]
    assert panels["judge CER"].reference == 0.12 and panels["IR"].reference == 0.85


def test_report_folder_has_everything_and_links_stay_inside(stages, tmp_path):
    rounds = [_write(tmp_path / f"round{r}.json",
                     {"stage": f"round{r}", "asr_cer": 0.2 - r / 50, "real": REAL})
              for r in range(3)]
    times = tmp_path / "stage_times.tsv"
    times.write_text("1\t100\t160\t0\tData preparation\n5\t200\t500\t1\tFine-tuning\n"
                     "5\t600\t1500\t0\tFine-tuning\n", encoding="utf-8")
    out = tmp_path / "report"
    md, page = write_report(stages, out, "T", extra=ReportInputs(
        rounds, times, {"asr": "finetune", "tts": "kd"}))
    text = md.read_text(encoding="utf-8")
    for heading in ("## Stages", "## Metrics per stage", "## Dual transformation rounds",
                    "## Stage wall times", "## Samples: the real recording"):
        assert heading in text
    assert "| real recordings | the real dev recordings, same judge |  | 85.0% |" in text
    assert "| 5 | Fine-tuning | 15 min 00 s | 20 min 00 s (2 runs) |" in text
    assert "| total |  |  | 21 min 00 s |" in text
    rows: dict = {}
    for line in text.splitlines():  # the stage table comes first
        rows.setdefault(line.split(" | ")[0][2:], line)
    assert rows["finetune"].startswith("| finetune |  | ASR | 4.0% |")
    assert rows["kd"].startswith("| kd |  | TTS | 6.0% |")
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert links and all((out / link).is_file() for link in links)  # inside the folder
    assert {"img/rounds.png", "img/stages.png", "audio/real_recording_dev1.wav"} <= set(links)
    html = page.read_text(encoding="utf-8")
    assert html.count("<audio controls") == 4  # the one sentence: real once + 3 stages
    assert "<tr class='ref'><td>real recordings</td>" in html
    assert "src='img/" not in html and "src='audio/" not in html  # self-contained
