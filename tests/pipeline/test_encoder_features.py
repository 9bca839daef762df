"""Tests for lrspeech.pipeline.encoder_features: the cache of a data dir's encoder features."""

import json
import shutil
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf

from lrspeech.bin import extract_features as cli
from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.models.speech_encoder import SpeechEncoder
from lrspeech.pipeline.encoder_features import cache_dir, extract_features, read_scp


@pytest.fixture(scope="module")
def encoder() -> SpeechEncoder:
    return SpeechEncoder.load("whisper-base", threads=1)


@pytest.fixture
def data(tmp_path, sw_rows) -> Path:
    rows = sorted(sw_rows, key=lambda r: r["id"])[:4]
    wav = {}
    for r in rows:  # copies, so that a test may change one
        wav[r["id"]] = str(tmp_path / f"{r['id']}.flac")
        shutil.copy(r["audio"], wav[r["id"]])
    sf.write(tmp_path / "tiny.wav", np.zeros(100, np.float32), 16000)  # < one encoder frame
    wav["zz_tiny"] = str(tmp_path / "tiny.wav")
    DataDir(wav_scp=wav, utt2spk={u: "s" for u in wav}).save(tmp_path / "d")
    return tmp_path / "d"


def test_cached_features_equal_fresh_ones_and_are_reused(data, encoder):
    first = extract_features(data, encoder)
    assert first.computed and first.out_dir == cache_dir(data, "whisper-base")
    feats = dict(kaldiio.load_scp(str(first.out_dir / "feats.scp")))
    dd = DataDir.load(data)
    assert sorted(feats) == sorted(u for u in dd.wav_scp if u != "zz_tiny")
    for utt, mat in feats.items():
        np.testing.assert_array_equal(mat, encoder.encode(load_audio(dd.wav_scp[utt], 16000)[0]))
    assert first.skips.counts == {"too_short": 1}
    meta = json.loads((first.out_dir / "meta.json").read_text())
    assert meta["dim"] == 512 and meta["sha256"] == encoder.resolved.sha256
    again = extract_features(data, encoder)
    assert not again.computed and read_scp(again.out_dir) == read_scp(first.out_dir)


def test_changed_audio_or_half_written_cache_is_recomputed(data, encoder):
    out = extract_features(data, encoder).out_dir
    dd = DataDir.load(data)
    utt = sorted(dd.wav_scp)[0]
    x, sr = sf.read(dd.wav_scp[utt])
    sf.write(dd.wav_scp[utt], x[: len(x) // 2], sr)  # the recording was replaced
    redone = extract_features(data, encoder)
    assert redone.computed
    assert kaldiio.load_mat(read_scp(out)[utt]).shape[0] < len(x) / sr * 50 * 0.6
    (out / "meta.json").unlink()  # as if killed before the end
    assert extract_features(data, encoder).computed


def test_two_jobs_equal_one_and_the_cli(data, tmp_path, capsys):
    one = extract_features(data, "whisper-base", tmp_path / "one", nj=1)
    assert cli.main(["--data_dir", str(data), "--out_dir", str(tmp_path / "two"),
                     "--nj", "2"]) == 0
    assert "4 clips, 1 skipped, computed (RTF" in capsys.readouterr().out
    a = dict(kaldiio.load_scp(str(one.out_dir / "feats.scp")))
    b = dict(kaldiio.load_scp(str(tmp_path / "two" / "feats.scp")))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert cli.main(["--data_dir", str(tmp_path / "none"), "--out_dir", str(tmp_path / "x")]) == 1
