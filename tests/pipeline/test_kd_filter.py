"""KD filter: clean diagonal attention is kept, a skipped word is dropped, report is written."""

import json
from pathlib import Path

import numpy as np
import pytest

from lrspeech.data.audio import write_wav
from lrspeech.data.datadir import DataDir
from lrspeech.pipeline.kd_filter import filter_synthetic
from lrspeech.text.lang import LangConfig
from lrspeech.text.tokenizer import Tokenizer

REPO = Path(__file__).resolve().parents[2]
SW = REPO / "conf" / "lang" / "sw.yaml"


def diagonal(frames: int, tokens: int) -> np.ndarray:
    att = np.zeros((frames, tokens))
    for s in range(frames):
        att[s, min(tokens - 1, s * tokens // frames)] = 1.0
    return att


def skipping(frames: int, tokens: int, span: range) -> np.ndarray:
    """Diagonal attention that never looks at the tokens of `span` (a skipped word)."""
    att = diagonal(frames, tokens)
    for s in range(frames):
        t = int(np.argmax(att[s]))
        if t in span:
            att[s] = 0.0
            att[s, span.stop] = 1.0
    return att


@pytest.fixture()
def synth(tmp_path: Path):
    texts = {"a-1": "habari yako rafiki", "a-2": "habari yako rafiki"}
    tok = Tokenizer(LangConfig.load(SW))
    att_dir = tmp_path / "att_ws"
    att_dir.mkdir()
    wavs = {}
    for utt, text in texts.items():
        write_wav(tmp_path / f"{utt}.wav", 0.1 * np.ones(1600, dtype=np.float32), 16000)
        wavs[utt] = str(tmp_path / f"{utt}.wav")
    tokens = tok.tokenize(texts["a-1"])
    cols = len(tokens) + 1
    np.save(att_dir / "a-1.npy", diagonal(4 * cols, cols))
    second = tokens.index("<space>") + 1  # first token of "yako"
    end = second + tokens[second:].index("<space>")
    np.save(att_dir / "a-2.npy", skipping(4 * cols, cols, range(second, end)))
    DataDir(wav_scp=wavs, text=texts, utt2spk={u: "a" for u in texts}).save(tmp_path / "synth")
    return tmp_path


def test_skipped_word_is_dropped_and_report_has_distributions(synth: Path) -> None:
    summary = filter_synthetic(
        synth / "synth",
        [synth / "att_ws"],
        SW,
        synth / "kept",
        synth / "report.json",
        wcr_min=0.5,
        adr_min=0.5,
    )
    assert DataDir.load(synth / "kept").audio_utt_ids == ["a-1"]
    assert summary["kept"] == 1 and summary["total"] == 2
    assert "wcr" in summary["dropped"]["a-2"]
    report = json.loads((synth / "report.json").read_text())
    assert report["wcr"]["q100"] == 1.0 and report["wcr"]["q0"] == 0.0
    assert report["adr"]["q100"] > 0.9


def test_all_dropped_is_a_clear_error(synth: Path) -> None:
    with pytest.raises(ValueError, match="every synthetic pair was dropped.*lower the thresholds"):
        filter_synthetic(
            synth / "synth",
            [synth / "att_ws"],
            SW,
            synth / "kept",
            synth / "report.json",
            wcr_min=1.1,
        )
    assert not (synth / "kept").exists()


def test_without_attention_everything_is_kept(synth: Path) -> None:
    summary = filter_synthetic(
        synth / "synth", [synth / "none"], SW, synth / "kept", synth / "report.json", wcr_min=0.9
    )
    assert summary["kept"] == 2 and summary["attention"] is False
