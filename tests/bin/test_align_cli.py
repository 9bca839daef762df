"""Tests for the ctc_align and segment_data_dir CLIs on real clips with a micro ASR."""

import importlib.util
import json
from pathlib import Path

import pytest
import soundfile as sf

from lrspeech.bin import ctc_align, segment_data_dir
from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.validate import validate_data_dir
from lrspeech.pipeline.durations import read_durations, read_scores, read_token_file

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


@pytest.fixture(scope="session")
def asr_exp(tmp_path_factory, sw_rows, an4_rows) -> Path:
    """The micro ASR of tests/models/conftest.py, shared with tests/pipeline/test_align.py."""
    spec = importlib.util.spec_from_file_location(
        "models_conftest_builders", TESTS / "models" / "conftest.py"
    )
    builders = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builders)
    rows = builders.split_rows(sw_rows, an4_rows)
    root = tmp_path_factory.getbasetemp() / "ctc_align_micro_asr"
    return builders.build_micro_asr(root, rows["train"], rows["valid"]).exp_dir


@pytest.fixture
def data_dir(tmp_path, sw_rows) -> Path:
    """Three good Swahili clips, one with a character the ASR never saw, one cut too short."""
    rows = sorted(sw_rows, key=lambda r: r["id"])[:4]
    short = tmp_path / "short.wav"
    wav, sr = load_audio(rows[0]["audio"], end=0.25)
    sf.write(short, wav, sr)
    wav_scp = {r["id"]: r["audio"] for r in rows}
    text = {r["id"]: r["text"].lower().rstrip(".") for r in rows}
    text[rows[3]["id"]] = text[rows[3]["id"]] + " \u00df"
    wav_scp["zz_short"], text["zz_short"] = str(short), "hakuna uhuru wa kujieleza kukusanyika"
    path = tmp_path / "data"
    path.mkdir()
    (path / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(wav_scp.items())))
    (path / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(text.items())))
    (path / "utt2spk").write_text("".join(f"{u} sw_35d\n" for u in sorted(wav_scp)))
    return path


def test_ctc_align_writes_durations_and_reports_what_it_skipped(
    tmp_path, asr_exp, data_dir, capsys
):
    out = tmp_path / "align"
    lists = tmp_path / "lists"
    rc = ctc_align.main([
        "--asr_model", str(asr_exp), "--data_dir", str(data_dir), "--out_dir", str(out),
        "--tts_config", str(REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"),
        "--lists_dir", str(lists), "--min_score", "none", "--no_sids",
    ])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["align"]["aligned"] == 4 and printed["align"]["skipped"] == 1
    assert printed["align"]["with_unk_tokens"] == 1
    assert printed["fastspeech2_inputs"]["kept"] == 4
    report = json.loads((out / "report.json").read_text())
    assert "too short" in report["skipped_reasons"]["zz_short"]
    assert list(report["unk_tokens"].values()) == ["\u00df"]
    durations = read_durations(out / "durations")
    tokens = read_token_file(out / "tokens")
    scores = read_scores(out / "scores")
    assert sorted(durations) == sorted(tokens) == sorted(scores) == sorted(
        u for u in DataDir.load(data_dir).wav_scp if u != "zz_short"
    )
    wav_scp = DataDir.load(data_dir).wav_scp
    for utt, d in durations.items():
        assert len(d) == len(tokens[utt]) + 1
        assert sum(d) == sf.info(wav_scp[utt]).frames // 256 + 1
        assert scores[utt] <= 0
    ctm_words = [line.split()[4] for line in (out / "ctm").read_text().splitlines()]
    n_words = sum(len(" ".join(t).split("<space>")) for t in tokens.values())
    assert len(ctm_words) == n_words
    assert read_durations(lists / "durations") == durations
    assert not (lists / "utt2sid").exists()
    pitch = dict(line.split() for line in (lists / "pitch.scp").read_text().splitlines())
    assert sorted(pitch) == sorted(durations) and (lists / "energy.scp").is_file()


def test_segment_cli_cuts_the_aligned_dir(tmp_path, asr_exp, data_dir, capsys):
    out = tmp_path / "align"
    assert ctc_align.main([
        "--asr_model", str(asr_exp), "--data_dir", str(data_dir), "--out_dir", str(out),
        "--fs", "16000", "--hop_length", "256",
    ]) == 0
    capsys.readouterr()
    seg = tmp_path / "seg"
    rc = segment_data_dir.main([
        "--data_dir", str(data_dir), "--ctm", str(out / "ctm"), "--out_dir", str(seg),
        "--min_len", "0.5", "--max_len", "3.0", "--min_pause", "0.05",
    ])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["utterances_in"] == 5 and summary["not_aligned"] == 1
    validate_data_dir(seg)
    dd = DataDir.load(seg)
    assert summary["segments_out"] == len(dd.segments) > 0
    assert all(s.duration <= 3.0 for s in dd.segments.values())


def test_ctc_align_names_a_bad_model_dir(tmp_path, data_dir, capsys):
    rc = ctc_align.main([
        "--asr_model", str(tmp_path), "--data_dir", str(data_dir), "--out_dir",
        str(tmp_path / "a"), "--fs", "16000",
    ])
    assert rc == 1
    assert "neither a packed model dir (meta.json) nor an ESPnet exp dir" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_segment_cli_without_ctm_cuts_untranscribed_speech_at_pauses(tmp_path, data_dir, capsys):
    rc = segment_data_dir.main(["--data_dir", str(data_dir), "--out_dir", str(tmp_path / "s")])
    assert rc == 1
    assert "data/text: the dir has transcripts" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    (data_dir / "text").unlink()
    longest = max(DataDir.load(data_dir).wav_scp.values(), key=lambda p: sf.info(p).duration)
    max_len = 0.7 * sf.info(longest).duration
    rc = segment_data_dir.main([
        "--data_dir", str(data_dir), "--out_dir", str(tmp_path / "s"), "--min_len", "0.1",
        "--max_len", f"{max_len:.3f}", "--min_pause", "0.1",
    ])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    validate_data_dir(tmp_path / "s")
    dd = DataDir.load(tmp_path / "s")
    assert not dd.text and summary["segments_out"] == len(dd.segments)
    cut = [s for s in dd.segments.values() if s.recording == Path(longest).stem]
    assert len(cut) >= 2 and all(s.duration <= max_len for s in cut)
