"""Audio loading (files, pipes, segments), mono, exact-ratio resampling, trimming, writing."""

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import (
    AudioError,
    audio_info,
    check_audio,
    load_audio,
    pipe_spec,
    resample,
    speech_islands,
    trim_bounds,
    trim_silence,
    wav_truncation,
    write_wav,
)
from lrspeech.data.errors import EMPTY_AUDIO, MISSING_AUDIO, UNREADABLE_AUDIO


def _tone(sr: int, seconds: float, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


def test_loads_real_flac_mono_float32(sw_rows: list) -> None:
    path = sw_rows[0]["audio"]
    x, sr = load_audio(path)
    info = sf.info(path)
    assert sr == 16000 and x.dtype == np.float32 and x.ndim == 1
    assert len(x) == info.frames
    assert audio_info(path).duration == pytest.approx(float(sw_rows[0]["duration_s"]), abs=1e-3)


def test_resamples_real_speech_with_exact_ratio(sw_rows: list, lj_rows: list) -> None:
    x16, _ = load_audio(sw_rows[0]["audio"])
    x22, sr = load_audio(sw_rows[0]["audio"], target_sr=22050)
    assert sr == 22050 and len(x22) == math.ceil(len(x16) * 441 / 320)
    lj, sr = load_audio(lj_rows[0]["audio"], target_sr=16000)
    assert sr == 16000 and len(lj) == math.ceil(sf.info(lj_rows[0]["audio"]).frames * 320 / 441)


def test_resampling_keeps_pitch_and_level() -> None:
    x = _tone(16000, 1.0, 440.0)
    y = resample(x, 16000, 22050)
    assert y.dtype == np.float32 and len(y) == 22050
    assert _peak_hz(y, 22050) == pytest.approx(440.0, abs=1.5)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert resample(x, 16000, 16000) is x


def test_stereo_is_averaged(tmp_path: Path) -> None:
    left, right = _tone(8000, 0.5, 300, 0.4), _tone(8000, 0.5, 500, 0.2)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    x, sr = load_audio(tmp_path / "st.wav")
    assert sr == 8000 and x.ndim == 1
    np.testing.assert_allclose(x, (left + right) / 2, atol=1e-6)


def test_trim_keeps_speech_and_margin() -> None:
    sr = 16000
    rng = np.random.default_rng(0)
    sig = np.concatenate([np.zeros(sr // 2), _tone(sr, 1.0), np.zeros(int(0.7 * sr))])
    sig = (sig + 1e-4 * rng.standard_normal(len(sig))).astype(np.float32)
    first, last = trim_bounds(sig, sr, top_db=40, margin_s=0.05)
    assert abs(first - (sr // 2 - 800)) <= 400  # 0.5 s minus 0.05 s margin, within a frame
    assert abs(last - (int(1.5 * sr) + 800)) <= 400
    assert len(trim_silence(sig, sr, 40)) == last - first
    zeros = np.zeros(sr, dtype=np.float32)
    assert len(trim_silence(zeros, sr)) == sr  # nothing to measure: kept whole


def test_speech_islands_find_bursts_and_bridge_short_gaps() -> None:
    sr = 16000
    rng = np.random.default_rng(1)
    # (silence before, burst) in seconds; the 0.03 s gap is a closure inside a word
    layout = [(0.4, 1.0), (0.3, 0.6), (0.03, 0.5), (0.8, 0.7)]
    parts, truth, t = [], [], 0.0
    for gap, burst in layout:
        parts += [np.zeros(int(gap * sr)), _tone(sr, burst, 300, 0.3)]
        truth.append((t + gap, t + gap + burst))
        t += gap + burst
    parts.append(np.zeros(int(0.5 * sr)))
    sig = (np.concatenate(parts) + 3e-4 * rng.standard_normal(int(round((t + 0.5) * sr))))
    islands = speech_islands(sig.astype(np.float32), sr)
    expected = [truth[0], (truth[1][0], truth[2][1]), truth[3]]
    assert len(islands) == 3
    for (a, b), (ea, eb) in zip(islands, expected):
        assert abs(a - ea) <= 0.03 and abs(b - eb) <= 0.03
    assert speech_islands(np.zeros(sr, dtype=np.float32), sr) == []
    assert speech_islands(np.zeros(10, dtype=np.float32), sr) == []


def test_speech_islands_follow_the_noise_floor() -> None:
    """A quiet burst over a loud floor is found; the floor alone is not speech."""
    sr = 16000
    rng = np.random.default_rng(2)
    floor = 0.01 * rng.standard_normal(3 * sr)
    floor[sr: 2 * sr] += _tone(sr, 1.0, 200, 0.1)
    islands = speech_islands(floor.astype(np.float32), sr)
    assert len(islands) == 1
    assert abs(islands[0][0] - 1.0) <= 0.03 and abs(islands[0][1] - 2.0) <= 0.03


def test_trim_on_load(tmp_path: Path) -> None:
    sr = 16000
    write_wav(tmp_path / "a.wav", np.concatenate([np.zeros(sr), _tone(sr, 1.0), np.zeros(sr)]), sr)
    x, _ = load_audio(tmp_path / "a.wav", trim_db=40)
    assert 1.0 <= len(x) / sr <= 1.15


def test_segment_reads_the_same_samples(sw_rows: list) -> None:
    full, sr = load_audio(sw_rows[0]["audio"])
    part, _ = load_audio(sw_rows[0]["audio"], start=0.5, end=1.25)
    np.testing.assert_array_equal(part, full[8000:20000])
    tail, _ = load_audio(sw_rows[0]["audio"], start=3.0, end=99.0)
    assert len(tail) == len(full) - 48000
    with pytest.raises(AudioError, match=r"segment 9.0..10.0 s starts after the audio ends"):
        load_audio(sw_rows[0]["audio"], start=9.0, end=10.0)


def test_pipes(sw_rows: list, tmp_path: Path) -> None:
    path = sw_rows[1]["audio"]
    full, _ = load_audio(path)
    piped, sr = load_audio(pipe_spec("cat", path))
    np.testing.assert_array_equal(piped, full)
    if Path("/usr/bin/sox").exists():
        x, sr = load_audio(f"sox {path} -t wav -r 8000 - |")
        assert sr == 8000 and abs(len(x) - len(full) / 2) <= 2
    with pytest.raises(AudioError) as err:
        load_audio("ls /no/such/dir |")
    assert "ls /no/such/dir |: command exited with status 2" in str(err.value)
    assert "run the command by hand" in str(err.value)
    with pytest.raises(AudioError, match="command wrote no audio") as err:
        load_audio("true |")
    assert err.value.kind == EMPTY_AUDIO


def test_write_wav_is_16_bit_clipped_and_atomic(tmp_path: Path) -> None:
    x = np.array([0.0, 0.5, -0.5, 1.7, -3.0], dtype=np.float32)
    write_wav(tmp_path / "o.wav", x, 16000)
    info = sf.info(tmp_path / "o.wav")
    assert (info.subtype, info.samplerate, info.frames) == ("PCM_16", 16000, 5)
    y, _ = sf.read(tmp_path / "o.wav", dtype="float32")
    np.testing.assert_allclose(y, [0.0, 0.5, -0.5, 1.0, -1.0], atol=1 / 32768)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.wav"]
    with pytest.raises(ValueError, match="refusing to write"):
        write_wav(tmp_path / "e.wav", np.zeros(0), 16000)


def _truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def test_check_audio_catches_broken_files(tmp_path: Path, sw_rows: list) -> None:
    write_wav(tmp_path / "ok.wav", _tone(16000, 1.0), 16000)
    assert check_audio(tmp_path / "ok.wav").frames == 16000
    cases = {
        "missing": (tmp_path / "none.wav", "audio file does not exist", MISSING_AUDIO),
        "garbage": (tmp_path / "g.wav", "cannot be read as audio", UNREADABLE_AUDIO),
        "trunc_wav": (_truncated(tmp_path / "ok.wav", tmp_path / "t.wav"),
                      "is truncated: header announces 32000 data bytes", UNREADABLE_AUDIO),
        "trunc_flac": (_truncated(Path(sw_rows[0]["audio"]), tmp_path / "t.flac"),
                       "is truncated or corrupt", UNREADABLE_AUDIO),
        "empty": (tmp_path / "z.wav", "has no samples (zero-length audio)", EMPTY_AUDIO),
    }
    (tmp_path / "g.wav").write_bytes(b"RIFF not really audio")
    sf.write(tmp_path / "z.wav", np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    for name, (path, message, kind) in cases.items():
        with pytest.raises(AudioError) as err:
            check_audio(path)
        assert str(err.value).startswith(f"{path}: {message}"), name
        assert err.value.kind == kind, name
        assert "fix_data_dir" in err.value.fix or "wav.scp" in err.value.fix, name


def test_header_check_does_not_decode_flac(tmp_path: Path, sw_rows: list) -> None:
    bad = _truncated(Path(sw_rows[0]["audio"]), tmp_path / "t.flac")
    assert check_audio(bad, decode=False).frames == sf.info(sw_rows[0]["audio"]).frames


def test_streamed_wav_header_is_not_judged(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", _tone(16000, 0.2), 16000)
    data = bytearray((tmp_path / "a.wav").read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"
    (tmp_path / "s.wav").write_bytes(bytes(data))
    assert wav_truncation(tmp_path / "s.wav") is None
    assert wav_truncation(tmp_path / "a.wav") is None
