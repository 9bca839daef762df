"""Tests for lrspeech.models.asr_decode: decode real data dirs with a packed micro ASR
(Swahili + AN4), split over jobs and workers, and bad inputs."""

import logging
from pathlib import Path

import pytest
import soundfile as sf

from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.models.asr_decode import decode_data_dir, hypothesis_text
from lrspeech.models.jobs import InferenceError
from lrspeech.models.packing import pack_model


@pytest.fixture(scope="module")
def packed_asr(micro_asr, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inference_asr")
    return pack_model(micro_asr.exp_dir, None, root / "asr", meta={"token_type": "char"})


@pytest.fixture(scope="module")
def eval_dir(sw_rows, an4_rows, tmp_path_factory) -> Path:
    """The held-out real clips (2 Swahili, 2 AN4) as a data dir."""
    rows = [r for r in sw_rows + an4_rows if r["split"] != "train"]
    dd = DataDir(wav_scp={r["id"]: r["audio"] for r in rows},
                 text={r["id"]: r["text"] for r in rows},
                 utt2spk={r["id"]: r["speaker"] for r in rows})
    out = tmp_path_factory.mktemp("eval") / "data"
    dd.save(out)
    return out


def write_text_dir(path: Path, lines: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text(lines, encoding="utf-8")
    return path


def kaldi(path: Path) -> dict:
    return dict(line.split(" ", 1) if " " in line else (line, "")
                for line in path.read_text().splitlines())


def test_hypothesis_text_spells_out_space_tokens():
    assert hypothesis_text("x", ["a", "b", "<space>", "c"], "word") == "ab c"
    assert hypothesis_text("hali  yako", ["h"], "char") == "hali yako"


def test_decode_nj2_equals_nj1(packed_asr, eval_dir, tmp_path):
    hyps1, took = decode_data_dir(packed_asr, eval_dir, tmp_path / "nj1")
    hyps2, _ = decode_data_dir(packed_asr, eval_dir, tmp_path / "nj2", nj=2)
    assert [h.utt for h in hyps1] == sorted(DataDir.load(eval_dir).wav_scp)
    assert (tmp_path / "nj1" / "text").read_text() == (tmp_path / "nj2" / "text").read_text()
    assert (tmp_path / "nj1" / "score").read_text() == (tmp_path / "nj2" / "score").read_text()
    scores = {u: float(v) for u, v in kaldi(tmp_path / "nj1" / "score").items()}
    for h in hyps1:
        assert scores[h.utt] == pytest.approx(h.total_score / (h.tokens + 1), abs=1e-4)
        assert h.score <= 0.0
    assert took.utterances == 4 and took.audio_seconds == pytest.approx(
        sum(sf.info(p).duration for p in DataDir.load(eval_dir).wav_scp.values()))


def test_decode_jobs_split_the_dir(packed_asr, eval_dir, tmp_path):
    decode_data_dir(packed_asr, eval_dir, tmp_path / "all")
    decode_data_dir(packed_asr, eval_dir, tmp_path / "j2", job_index=2, num_jobs=2)
    full, second = kaldi(tmp_path / "all" / "text"), kaldi(tmp_path / "j2" / "text")
    assert list(second) == sorted(full)[2:]
    assert all(second[u] == full[u] for u in second)


def test_audio_at_another_rate_is_resampled_with_one_note(packed_asr, sw_rows, tmp_path, caplog):
    wavs = {}
    for r in sw_rows[:2]:
        x, sr = load_audio(r["audio"], target_sr=8000)
        wavs[r["id"]] = tmp_path / f"{r['id']}.wav"
        sf.write(wavs[r["id"]], x, sr)
    DataDir(wav_scp={u: str(p) for u, p in wavs.items()}).save(tmp_path / "data8k")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        hyps, _ = decode_data_dir(packed_asr, tmp_path / "data8k", tmp_path / "out")
    notes = [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()]
    assert len(notes) == 1 and "2 utterances resampled to the model's 16000 Hz (2 at 8000 Hz" \
        in notes[0]
    assert [h.sample_rate for h in hyps] == [8000, 8000]


def test_decode_needs_audio(packed_asr, tmp_path):
    write_text_dir(tmp_path / "text_only", "u1 hali\n")
    with pytest.raises(InferenceError, match="text_only/wav.scp: missing or empty"):
        decode_data_dir(packed_asr, tmp_path / "text_only", tmp_path / "out")
