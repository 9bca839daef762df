"""Tests for lrspeech.models.world_vocoder, its CLI (world_source) and `--vocoder world`."""

import json
import shutil

import numpy as np
import pytest
import torch

from lrspeech.bin import world_source
from lrspeech.models import world_vocoder as wv
from lrspeech.models.griffin_lim import SeededGriffinLim
from lrspeech.models.packing import load_tts, read_yaml
from lrspeech.models.postfilter import feature_extractor, feature_settings
from lrspeech.models.vocoder import VocoderError

FEATS = {"feats_extract": "fbank",
         "feats_extract_conf": {"n_fft": 1024, "hop_length": 256, "win_length": None,
                                "fs": 16000, "fmin": 80, "fmax": 7600, "n_mels": 80}}
MEL = wv.MelSettings.from_tts_config(FEATS, "test")
FS = 16000


def logmel(wav: np.ndarray) -> np.ndarray:
    extractor, _ = feature_extractor(FEATS)
    with torch.no_grad():
        out, _ = extractor(torch.as_tensor(wav, dtype=torch.float32)[None],
                           torch.tensor([len(wav)]))
    return out[0].numpy()


def voiced(f0: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A vowel-like harmonic signal: harmonics of f0 under a falling spectral slope."""
    t = np.arange(int(seconds * FS)) / FS
    wobble = f0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(wobble) / FS
    x = sum(np.sin(k * phase) / k for k in range(1, int(7000 / (f0 * 1.1))))
    return 0.1 * x + 0.002 * rng.standard_normal(len(t))


def unvoiced(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Fricative-like noise (high-passed by a first difference)."""
    return 0.05 * np.diff(rng.standard_normal(int(seconds * FS) + 1))


def clip(f0s, rng) -> np.ndarray:
    """Voiced stretches at `f0s`, each followed by noise."""
    return np.concatenate([seg for f0 in f0s
                           for seg in (voiced(f0, 0.4, rng), unvoiced(0.25, rng))]).astype(
        np.float32)


@pytest.fixture(scope="module")
def source() -> wv.WorldSource:
    rng = np.random.default_rng(0)
    clips = [clip([120 + 15 * i, 200 - 10 * i, 160 + 5 * i], rng) for i in range(6)]
    return wv.train_source(((c, logmel(c)) for c in clips), MEL, feature_settings(FEATS),
                           f0_range=(80, 400))


def test_context_frames_stack_neighbours_and_repeat_the_edges():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = wv.context_frames(x, 1)
    assert out.shape == (3, 6)
    np.testing.assert_array_equal(out[0], [0, 1, 0, 1, 2, 3])
    np.testing.assert_array_equal(out[2], [2, 3, 4, 5, 4, 5])


def test_mel_envelope_gives_back_a_smooth_amplitude_spectrum():
    """A known smooth amplitude spectrum, put through the mel filterbank as ESPnet's fbank
    does (log10 of the Slaney mel of the magnitude), comes back within 5% between the band
    edges (a wrong band weight or mel scale is off by far more)."""
    import librosa

    freqs = np.linspace(0, FS / 2, 513)
    amp = 50.0 * np.exp(-freqs / 2500.0) * (1.5 + np.cos(2 * np.pi * freqs / 3000.0))
    basis = librosa.filters.mel(sr=FS, n_fft=1024, n_mels=80, fmin=80, fmax=7600)
    frames = np.log10(basis @ amp)[None].repeat(3, axis=0)
    env = np.sqrt(wv.MelEnvelope(MEL)(frames)[1] * 1024)
    inside = (freqs > 300) & (freqs < 7000)
    assert np.max(np.abs(np.log(env[inside] / amp[inside]))) < np.log(1.05)


def test_the_source_model_learns_voicing_and_f0(source):
    """On a clip it did not train on, at F0s it did not hear."""
    rng = np.random.default_rng(1)
    x = clip([140, 185], rng)
    feats = logmel(x)
    p, f0 = source.predict(feats)
    truth = wv.analyse_f0(x, MEL, len(feats), (80, 400))
    assert np.mean((p > 0.5) == (truth > 0)) > 0.9
    both = (p > 0.5) & (truth > 0)
    assert np.median(np.abs(np.log(f0[both] / truth[both]))) < 0.05
    assert 0.4 < source.voiced_share < 0.8 and source.train_accuracy > 0.9


def test_the_vocoder_speaks_at_the_predicted_pitch_and_the_input_level(source):
    rng = np.random.default_rng(2)
    x = voiced(150, 1.0, rng).astype(np.float32)
    feats = logmel(x)
    extractor, _ = feature_extractor(FEATS)
    vocoder = wv.WorldVocoder(source, MEL, extractor)
    y = vocoder(torch.as_tensor(feats))
    assert isinstance(y, torch.Tensor) and abs(len(y) - len(x)) <= 2 * MEL.n_shift
    f0 = wv.analyse_f0(y.numpy(), MEL, len(feats), (80, 400))
    assert abs(np.median(f0[f0 > 0]) - 150) < 8
    assert abs(logmel(y.numpy()).mean() - feats.mean()) < 0.05
    quiet = wv.WorldVocoder(source, MEL)(feats * 1.0 - 1.0)  # 10x quieter in, no extractor
    assert isinstance(quiet, np.ndarray) and 0 < np.abs(quiet).max() < np.abs(y.numpy()).max()


def _espnet_gl():
    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    conf = FEATS["feats_extract_conf"]
    return Spectrogram2Waveform(n_fft=conf["n_fft"], n_shift=conf["hop_length"], fs=FS,
                                n_mels=conf["n_mels"], fmin=conf["fmin"], fmax=conf["fmax"])


def test_griffin_lim_starts_from_the_same_phase_every_time():
    """ESPnet's Griffin-Lim draws a new initial phase on every call (librosa >= 0.10); the
    seeded one gives the same waveform for the same features, with the same settings."""
    feats = logmel(clip([150], np.random.default_rng(5)))
    gl = SeededGriffinLim(_espnet_gl())
    first, again = gl(feats), SeededGriffinLim(_espnet_gl())(torch.as_tensor(feats))
    assert isinstance(again, torch.Tensor)
    np.testing.assert_array_equal(first, again.numpy())
    assert not np.array_equal(first, SeededGriffinLim(_espnet_gl(), seed=1)(feats))
    # it renders the features it is given: its output's log-mel is close to them
    assert np.abs(logmel(first)[2:-2] - feats[2:-2]).mean() < 0.25


def test_world_above_the_crossover_in_voiced_frames_griffin_lim_elsewhere(source, monkeypatch):
    rng = np.random.default_rng(4)
    feats = logmel(clip([140, 180], rng))
    extractor, _ = feature_extractor(FEATS)
    world = wv.WorldVocoder(source, MEL, extractor)
    gl = SeededGriffinLim(_espnet_gl())
    hybrid = wv.WorldGriffinLim(world, gl)
    voiced_p, _ = source.predict(feats)
    w = hybrid.weights(voiced_p, len(feats))
    freqs = np.linspace(0, FS / 2, 513)
    v, u = int(np.argmax(voiced_p)), int(np.argmin(voiced_p))
    assert voiced_p[v] > 0.9 and voiced_p[u] < 0.1
    assert w[freqs < 100, v].max() < 0.25 and w[freqs > 2000, v].min() > 0.85
    assert w[:, u].max() < 0.15  # an unvoiced frame is Griffin-Lim's at every frequency
    # where the source model hears no voicing at all, the output is Griffin-Lim's waveform
    monkeypatch.setattr(source, "predict", lambda m: (np.zeros(len(m)), np.full(len(m), 150.0)))
    np.testing.assert_allclose(hybrid(feats), gl(feats), atol=1e-4)
    # voiced everywhere: above 2 kHz the output's spectrum is WORLD's, below 100 Hz mostly GL's
    monkeypatch.setattr(source, "predict", lambda m: (np.ones(len(m)), np.full(len(m), 150.0)))
    import librosa

    def spec(y):
        return np.abs(librosa.stft(np.asarray(y, dtype=np.float64), n_fft=1024, hop_length=256))

    out, ref_w, ref_g = spec(hybrid(feats)), spec(world(feats)), spec(gl(feats))
    frames = min(out.shape[1], ref_w.shape[1], ref_g.shape[1]) - 2
    high = freqs > 2000

    def err(a, b):
        return np.abs(np.log(a[high, 2:frames] + 1e-6) - np.log(b[high, 2:frames] + 1e-6)).mean()

    assert err(out, ref_w) < 0.5 * err(out, ref_g)


def test_source_file_round_trip_and_errors(source, tmp_path):
    path = tmp_path / wv.WORLD_FILE
    source.save(path)
    back = wv.WorldSource.load(path)
    feats = np.random.default_rng(3).standard_normal((20, 80)).astype(np.float32) - 2
    for a, b in zip(source.predict(feats), back.predict(feats)):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert back.n_frames == source.n_frames and back.features == source.features
    path.write_bytes(b"not a model")
    with pytest.raises(wv.WorldError, match="not a WORLD source model .*world_source"):
        wv.WorldSource.load(path)


def test_features_the_vocoder_cannot_read_are_refused(source):
    with pytest.raises(wv.WorldError, match="feats_extract is 'linear_spectrogram', not fbank"):
        wv.MelSettings.from_tts_config({"feats_extract": "linear_spectrogram"}, "x.yaml")
    other = {"feats_extract": "fbank",
             "feats_extract_conf": {**FEATS["feats_extract_conf"], "log_base": 2.0}}
    with pytest.raises(wv.WorldError, match="log_base is 2.0, not 10"):
        wv.MelSettings.from_tts_config(other, "x.yaml")
    moved = {"feats_extract": "fbank", "feats_extract_conf": {**FEATS["feats_extract_conf"],
                                                              "fmax": 8000}}
    with pytest.raises(wv.WorldError, match=r"other features than this TTS's \(fmax differ\)"):
        wv.check_source(source, moved, "world.pt")


@pytest.fixture()
def tts_with_world(packed_tts, micro_tts, tmp_path):
    model = tmp_path / "tts"
    shutil.copytree(packed_tts, model)
    assert world_source.main(["--model_dir", str(model), "--data_dir",
                              str(micro_tts.data_dir), "--epochs", "2"]) == 0
    return model


def test_world_source_cli_and_load_tts(tts_with_world, packed_tts):
    """The CLI trains on the target speaker's real clips; load_tts(vocoder="world") speaks."""
    source = wv.WorldSource.load(tts_with_world / wv.WORLD_FILE)
    assert source.features == feature_settings(read_yaml(tts_with_world / "config.yaml"))
    assert source.n_utts > 0 and source.n_frames > 100
    t2s = load_tts(tts_with_world, vocoder="world", minlenratio=2.0, maxlenratio=3.0,
                   always_fix_seed=True)
    assert isinstance(t2s.vocoder, wv.WorldVocoder)
    # auto: for a TTS off HiFi-GAN's features whose dir has world.pt, WORLD above 500 Hz in
    # voiced frames (or WORLD alone when its meta.json says so), else Griffin-Lim
    assert isinstance(load_tts(tts_with_world, vocoder="auto").vocoder, wv.WorldGriffinLim)
    assert isinstance(load_tts(tts_with_world, vocoder="world_gl").vocoder, wv.WorldGriffinLim)
    meta = json.loads((tts_with_world / "meta.json").read_text())
    (tts_with_world / "meta.json").write_text(json.dumps({**meta, "world_vocoder": "world"}))
    assert isinstance(load_tts(tts_with_world, vocoder="auto").vocoder, wv.WorldVocoder)
    (tts_with_world / "meta.json").write_text(json.dumps({**meta, "world_vocoder": "wrld"}))
    with pytest.raises(VocoderError, match=r"world_vocoder 'wrld' \(meta.json\): use one of "
                       r"world_gl, world"):
        load_tts(tts_with_world, vocoder="auto")
    (tts_with_world / "meta.json").write_text(json.dumps(meta))
    assert isinstance(load_tts(packed_tts, vocoder="auto").vocoder, SeededGriffinLim)
    assert isinstance(load_tts(tts_with_world, vocoder="griffin_lim").vocoder, SeededGriffinLim)
    out = t2s(np.array([2, 3, 4, 5, 6, 7]), sids=np.array([1]))
    assert out["wav"].numel() == pytest.approx(out["feat_gen"].shape[0] * 256, abs=512)
    with pytest.raises(wv.WorldError, match=r"--vocoder world needs world.pt, the speaker's "
                       r"source model; train it with python -m lrspeech.bin.world_source"):
        load_tts(packed_tts, vocoder="world")
    with pytest.raises(wv.WorldError, match=r"--vocoder world_gl needs world.pt"):
        load_tts(packed_tts, vocoder="world_gl")
    t2s = load_tts(tts_with_world, vocoder="world_gl")
    wav = t2s(np.array([2, 3, 4, 5, 6, 7]), sids=np.array([1]))["wav"]
    assert wav.numel() > 0 and torch.isfinite(wav).all()


def test_world_source_cli_errors(packed_tts, micro_tts, tmp_path, capsys):
    model = tmp_path / "tts"
    shutil.copytree(packed_tts, model)
    assert world_source.main(["--model_dir", str(model), "--data_dir", str(micro_tts.data_dir),
                              "--epochs", "0"]) == 2
    assert "--epochs must be >= 1, not 0" in capsys.readouterr().err
    assert world_source.main(["--model_dir", str(model), "--data_dir", str(micro_tts.data_dir),
                              "--speaker", "nobody"]) == 1
    err = capsys.readouterr().err
    assert "no utterance of speaker 'nobody' with audio to train the WORLD source model" in err
    assert not (model / wv.WORLD_FILE).exists()
    assert world_source.main(["--model_dir", str(model), "--data_dir", str(micro_tts.data_dir),
                              "--max_utts", "2", "--epochs", "1"]) == 0
    assert '"utterances": 2' in capsys.readouterr().out
    assert wv.WorldSource.load(model / wv.WORLD_FILE).n_utts == 2
