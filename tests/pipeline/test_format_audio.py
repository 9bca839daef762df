"""Stage 2 formatting on real clips: rate, trimming, duration filter, atomic output."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import write_wav
from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir
from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir


@pytest.fixture()
def lj_dir(tmp_path: Path, test_data: Path) -> Path:
    datadir_from_metadata(test_data / "en" / "ljspeech32" / "metadata.tsv").save(tmp_path / "lj")
    return tmp_path / "lj"


def test_resamples_filters_and_keeps_text(lj_dir: Path, tmp_path: Path) -> None:
    src = DataDir.load(lj_dir)
    counts = format_data_dir(lj_dir, tmp_path / "out", FormatOptions(fs=16000, max_dur=4.0, nj=2))
    out = DataDir.load(tmp_path / "out")
    assert counts == {"kept": 3, "too_short": 0, "too_long": 3, "unreadable": 0}
    assert sorted(out.wav_scp) == ["LJ001-0002", "LJ001-0008", "LJ001-0013"]
    for utt, path in out.wav_scp.items():
        info = sf.info(path)
        assert info.samplerate == 16000 and info.channels == 1
        assert abs(info.duration - out.utt2dur[utt]) < 1e-3
        assert out.text[utt] == src.text[utt]
        # trimming at 40 dB cuts a little of LJSpeech's silence, never speech
        assert 0.7 * src.utt2dur[utt] < out.utt2dur[utt] <= src.utt2dur[utt] + 1e-3


def test_trimming_removes_padded_silence(tmp_path: Path) -> None:
    sr = 16000
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    padded = np.concatenate([np.zeros(sr), tone, np.zeros(2 * sr)]).astype(np.float32)
    write_wav(tmp_path / "a.wav", padded, sr)
    DataDir(wav_scp={"u1": str(tmp_path / "a.wav")}, text={"u1": "a"}, utt2spk={"u1": "s"}).save(
        tmp_path / "d"
    )
    format_data_dir(tmp_path / "d", tmp_path / "o", FormatOptions(fs=8000, trim_db=40, min_dur=0.1))
    dur = DataDir.load(tmp_path / "o").utt2dur["u1"]
    assert 1.0 <= dur < 1.2  # the tone plus the trimming margin


def test_nothing_left_is_an_error_and_writes_nothing(lj_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no utterance left.*--min_dur/--max_dur"):
        format_data_dir(lj_dir, tmp_path / "out", FormatOptions(min_dur=30, max_dur=40))
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_text_only_dir_is_copied(tmp_path: Path) -> None:
    DataDir(text={"t1": "habari yako", "t2": "asante"}).save(tmp_path / "txt")
    counts = format_data_dir(tmp_path / "txt", tmp_path / "o", FormatOptions())
    assert counts["kept"] == 2
    assert DataDir.load(tmp_path / "o").text == {"t1": "habari yako", "t2": "asante"}
