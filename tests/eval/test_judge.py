"""Tests of lrspeech.eval.judge on real English speech (tests/data) and espeak-ng readings.

Measured here (pocketsphinx 5.1.1 en-us, 0.3 s padding): WER about 21% on the six
LJSpeech clips and 30% on the ten AN4 words; IR 79% on the real LJSpeech recordings
against about 18% on espeak-ng readings of the same sentences.
"""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from lrspeech.data.audio import load_audio
from lrspeech.eval.ir import intelligibility, pad_silence
from lrspeech.eval.judge import (
    EspnetJudge,
    PocketsphinxJudge,
    detokenize,
    make_judge,
    model_sample_rate,
)
from lrspeech.eval.scoring import score_corpus

pytest.importorskip("pocketsphinx")


@pytest.fixture(scope="module")
def judge():
    return PocketsphinxJudge()


def transcribe_rows(judge, rows):
    out = {}
    for row in rows:
        x, sr = load_audio(row["audio"])
        out[row["id"]] = judge.transcribe(pad_silence(x, sr), sr)
    return out


@pytest.fixture(scope="module")
def lj_real(judge, lj_rows):
    return transcribe_rows(judge, lj_rows)


def test_make_judge_pocketsphinx(judge):
    assert make_judge("pocketsphinx").name == "pocketsphinx"
    assert isinstance(judge.transcribe(np.zeros(8000, dtype=np.float32), 16000), str)


def test_pocketsphinx_wer_on_real_ljspeech(lj_rows, lj_real):
    refs = {r["id"]: r["text"] for r in lj_rows}
    wer = score_corpus(refs, lj_real).wer
    assert wer < 0.40, f"pocketsphinx WER {wer:.1%} on LJSpeech"


def test_pocketsphinx_wer_on_real_an4(judge, an4_rows):
    refs = {r["id"]: r["text"] for r in an4_rows}
    wer = score_corpus(refs, transcribe_rows(judge, an4_rows)).wer
    assert wer < 0.40, f"pocketsphinx WER {wer:.1%} on AN4"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_readings_less_intelligible_than_real(judge, lj_rows, lj_real, tmp_path):
    rows = sorted(lj_rows, key=lambda r: float(r["duration_s"]))[:4]  # keep the test short
    refs = {r["id"]: r["text"] for r in rows}
    synth = {}
    for row in rows:
        wav = tmp_path / f"{row['id']}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), row["text"]], check=True)
        x, sr = load_audio(str(wav))
        synth[row["id"]] = judge.transcribe(pad_silence(x, sr), sr)
    real_ir = intelligibility(refs, {u: lj_real[u] for u in refs}).ir
    synth_ir = intelligibility(refs, synth).ir
    assert real_ir > 0.6
    assert synth_ir < real_ir - 0.2, f"IR real {real_ir:.1%}, espeak-ng {synth_ir:.1%}"


def test_missing_pocketsphinx_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(
        ImportError, match=r"install the eval extra: pip install 'lrspeech\[eval\]'"
    ):
        PocketsphinxJudge()


def test_detokenize_word_tokens():
    assert detokenize("h a <space> b i") == "ha bi"
    assert detokenize("  hello   world ") == "hello world"


def test_model_sample_rate_parses_espnet_forms():
    class Args:
        frontend_conf = {"fs": "22.05k"}

    class S2T:
        asr_train_args = Args()

    assert model_sample_rate(S2T()) == 22050
    Args.frontend_conf = {"fs": 8000}
    assert model_sample_rate(S2T()) == 8000
    Args.frontend_conf = None
    assert model_sample_rate(S2T()) == 16000


def test_espnet_judge_missing_dir_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="judge model dir not found; give a packed ASR dir"):
        EspnetJudge(tmp_path / "nope")
