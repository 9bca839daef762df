"""Empty and too-short clips through every step that feeds audio to an ASR encoder.

A data dir holds a real Swahili clip, a clip of 3 ASR frames (400 samples at 16 kHz, 10 ms
hop: the Conv2d subsampling needs 7) and an empty clip. CTC alignment, decoding and the IR
judge must leave the last two out, count them per reason, and go on with the real one.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.skips import collect_counts
from lrspeech.eval.inputs import audio_set
from lrspeech.eval.ir import evaluate_ir, write_ir
from lrspeech.eval.judge import EspnetJudge
from lrspeech.models.asr_decode import decode_data_dir
from lrspeech.pipeline.align import CtcAligner
from lrspeech.pipeline.align_data import Transcripts, align_data_dir
from lrspeech.pipeline.durations import TtsFrames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def packed_asr(packed_micro_asr) -> Path:
    return packed_micro_asr


@pytest.fixture(scope="module")
def short_dir(tmp_path_factory, sw_rows) -> Path:
    root = tmp_path_factory.mktemp("short_dir")
    row = sorted(sw_rows, key=lambda r: r["id"])[0]
    x, sr = load_audio(row["audio"], 16000)
    sf.write(root / "three_frames.wav", x[8000:8400], sr)  # 400 samples: frames 400//160 + 1
    sf.write(root / "empty.wav", np.zeros(0, dtype=np.float32), sr)
    text = "habari za asubuhi"
    dd = DataDir(wav_scp={"a_real": row["audio"], "b_three": str(root / "three_frames.wav"),
                          "c_empty": str(root / "empty.wav")},
                 text={"a_real": row["text"].lower(), "b_three": text, "c_empty": text},
                 utt2spk={u: "s" for u in ("a_real", "b_three", "c_empty")})
    dd.save(root / "data")
    return root / "data"


def test_alignment_skips_and_counts_them(packed_asr, short_dir, tmp_path):
    aligner = CtcAligner.from_model(packed_asr)
    assert aligner.input_limit.min_samples == 960  # (7 - 1) frames x 160 samples
    dd = DataDir.load(short_dir)
    report = align_data_dir(aligner, short_dir, tmp_path / "align", TtsFrames(16000, 256),
                            Transcripts(text=dd.text, clean=str.lower))
    assert report.skips.reasons == {"b_three": "too_short", "c_empty": "empty"}
    assert "a_real" in report.scores or "a_real" in report.skipped  # the real clip was tried
    assert report.skips.reasons.get("a_real") not in ("too_short", "empty")
    saved = json.loads((tmp_path / "align" / "skipped.json").read_text())
    assert saved["counts"] == {"empty": 1, "too_short": 1}
    assert json.loads((tmp_path / "align" / "report.json").read_text())["skipped_counts"][
        "too_short"] == 1


def test_decoding_skips_and_counts_them(packed_asr, short_dir, tmp_path, caplog):
    hyps, took = decode_data_dir(packed_asr, short_dir, tmp_path / "dec")
    assert [h.utt for h in hyps] == ["a_real"] and took.utterances == 1
    assert (tmp_path / "dec" / "text").read_text().split(" ", 1)[0] == "a_real"
    saved = json.loads((tmp_path / "dec" / "skipped.json").read_text())
    assert saved["counts"] == {"empty": 1, "too_short": 1}
    assert "400 samples" in saved["utts"]["b_three"]
    assert any("2 skipped (empty 1, too_short 1" in r.getMessage() for r in caplog.records)


def test_ir_judge_skips_and_counts_them(packed_asr, short_dir, tmp_path):
    judge = EspnetJudge(packed_asr)
    dd = DataDir.load(short_dir)
    unpadded = evaluate_ir(judge, dd.text, audio_set(short_dir), pad_s=0.0)
    assert unpadded.skips.counts == {"empty": 1, "too_short": 1}
    hyps = {u.utt: u.hyp for u in unpadded.score.utts}
    assert hyps["b_three"] == "" and hyps["c_empty"] == ""  # heard as nothing: unintelligible
    padded = evaluate_ir(judge, dd.text, audio_set(short_dir))  # 0.3 s of silence each side
    assert padded.skips.counts == {"empty": 1}
    write_ir(unpadded, tmp_path / "ir")
    assert json.loads((tmp_path / "ir" / "ir.json").read_text())["skipped"] == {
        "empty": 1, "too_short": 1}
    assert collect_counts([tmp_path]) == {tmp_path.name + "/ir": {"empty": 1, "too_short": 1}}
