"""Tests for lrspeech.models.packing: pack the micro models, move them, load them back."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from lrspeech.data.audio import load_audio
from lrspeech.models.packing import (
    PackError,
    iter_strings,
    load_asr,
    load_state_dict,
    load_tts,
    pack_model,
    read_meta,
    resolve_config,
    speaker_table,
)
from lrspeech.models.speakers import read_spk2sid, write_speaker_embeddings

LANG_YAML = """language: test
iso: sw
espeak_voice: none
token_type: char
punctuation: strip
number_normalizer: none
"""
TARGET = "sw_35d"


def write_lang(path: Path) -> Path:
    path.write_text(LANG_YAML, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def packed_asr(micro_asr, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packed_asr")
    return pack_model(micro_asr.exp_dir, None, root / "asr",
                      lang_config=write_lang(root / "l.yaml"), meta={"token_type": "char"})


@pytest.fixture(scope="module")
def packed_tts(micro_tts, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packed_tts")
    meta = {"token_type": "char", "speakers": read_spk2sid(micro_tts.spk2sid),
            "target_speaker": TARGET}
    return pack_model(micro_tts.exp_dir, None, root / "tts",
                      lang_config=write_lang(root / "l.yaml"), meta=meta)


def first_clip(micro_asr) -> np.ndarray:
    line = (micro_asr.data_dir / "wav.scp").read_text().splitlines()[0]
    return load_audio(line.split(maxsplit=1)[1], target_sr=16000)[0]


def test_packed_asr_layout_and_relative_paths(packed_asr, micro_asr):
    names = sorted(p.name for p in packed_asr.iterdir())
    assert names == ["config.yaml", "feats_stats.npz", "lang.yaml", "meta.json", "model.pth",
                     "tokens.txt"]
    config = yaml.safe_load((packed_asr / "config.yaml").read_text())
    assert config["token_list"] == "tokens.txt"
    assert config["normalize_conf"]["stats_file"] == "feats_stats.npz"
    assert config["train_data_path_and_name_and_type"] == [] and config["output_dir"] is None
    assert not [v for _, v in iter_strings(config) if v.startswith(str(micro_asr.exp_dir.parent))]
    tokens = (packed_asr / "tokens.txt").read_text().split("\n")[:-1]
    assert tokens == micro_asr.token_list.read_text().split("\n")[:-1]
    assert (packed_asr / "feats_stats.npz").read_bytes() == micro_asr.stats_file.read_bytes()
    meta = read_meta(packed_asr)
    assert (meta["task"], meta["token_type"], meta["sample_rate"]) == ("asr", "char", 16000)
    # the packed weights are the chosen checkpoint's, parameter for parameter
    packed, best = load_state_dict(packed_asr / "model.pth"), load_state_dict(micro_asr.checkpoint)
    assert packed.keys() == best.keys()
    assert all(np.array_equal(packed[k].numpy(), best[k].numpy()) for k in best)


def test_resolve_config_points_inside_the_dir(packed_asr):
    config = resolve_config(packed_asr)
    assert config["normalize_conf"]["stats_file"] == str(packed_asr.resolve() / "feats_stats.npz")
    assert config["token_list"] == str(packed_asr.resolve() / "tokens.txt")


def test_moved_packed_asr_decodes_the_same(packed_asr, micro_asr, tmp_path):
    moved = shutil.copytree(packed_asr, tmp_path / "elsewhere" / "asr")
    x = first_clip(micro_asr)
    here, there = load_asr(packed_asr)(x)[0], load_asr(moved)(x)[0]
    assert here[0] == there[0] and here[2] == there[2]
    assert float(here[3].score) == pytest.approx(float(there[3].score))


def test_trainer_checkpoint_packs_model_weights_only(micro_asr, tmp_path):
    packed = pack_model(micro_asr.exp_dir, micro_asr.exp_dir / "checkpoint.pth", tmp_path / "a")
    state = load_state_dict(packed / "model.pth")
    assert set(state) == set(load_state_dict(micro_asr.checkpoint))


def test_packed_tts_records_speakers_and_target(packed_tts, micro_tts):
    meta = read_meta(packed_tts)
    assert meta["speakers"] == read_spk2sid(micro_tts.spk2sid)
    assert meta["target_speaker"] == TARGET and meta["speakers"]["<unk>"] == 0
    table = speaker_table(packed_tts)
    assert table.resolve("target") == (TARGET, meta["speakers"][TARGET])
    t2s = load_tts(packed_tts, vocoder=None)
    assert t2s.use_sids and t2s.vocoder is None
    assert t2s.tts.spks == len(meta["speakers"])


def test_repacking_replaces_the_dir(packed_tts, micro_tts, tmp_path):
    out = shutil.copytree(packed_tts, tmp_path / "tts")
    (out / "stale.txt").write_text("old")
    pack_model(micro_tts.exp_dir, None, out, meta={"speakers": {"<unk>": 0, "x": 1}})
    assert not (out / "stale.txt").exists() and not (out / "lang.yaml").exists()
    assert read_meta(out)["speakers"] == {"<unk>": 0, "x": 1}


def test_speaker_embeddings_are_packed(micro_tts, tmp_path):
    emb = write_speaker_embeddings({TARGET: np.ones(3)}, tmp_path / "e.npz")
    out = pack_model(micro_tts.exp_dir, None, tmp_path / "tts", speaker_embeddings=emb,
                     meta={"speakers": {"<unk>": 0, TARGET: 1}, "target_speaker": TARGET})
    np.testing.assert_array_equal(speaker_table(out).embedding("target"), np.ones(3))


# ---------------------------------------------------------------- bad inputs


def test_missing_exp_dir(tmp_path):
    with pytest.raises(PackError, match=r"nope/config.yaml: not found; give an ESPnet exp dir"):
        pack_model(tmp_path / "nope", None, tmp_path / "out")


def test_missing_checkpoint(micro_asr, tmp_path):
    with pytest.raises(PackError, match=r"x.pth: checkpoint not found"):
        pack_model(micro_asr.exp_dir, tmp_path / "x.pth", tmp_path / "out")


def test_out_dir_that_is_not_a_packed_dir_is_left_alone(micro_asr, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    with pytest.raises(PackError, match="out: exists and is not a packed model dir"):
        pack_model(micro_asr.exp_dir, None, tmp_path / "out")
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


def test_unknown_target_speaker(micro_tts, tmp_path):
    meta = {"speakers": read_spk2sid(micro_tts.spk2sid), "target_speaker": "nobody"}
    with pytest.raises(PackError, match="target speaker 'nobody' is not a known speaker "
                                        r"\(known speakers: .*sw_35d"):
        pack_model(micro_tts.exp_dir, None, tmp_path / "out", meta=meta)
    assert not (tmp_path / "out").exists()


def test_speaker_id_beyond_the_model(micro_tts, tmp_path):
    with pytest.raises(PackError, match=r"speaker 'far' has sid 99 but the model has "
                                        r"tts_conf.spks=\d+"):
        pack_model(micro_tts.exp_dir, None, tmp_path / "out", meta={"speakers": {"far": 99}})


def test_task_mismatch_in_meta(micro_asr, tmp_path):
    with pytest.raises(PackError, match="meta says task 'tts' but the config is a asr model"):
        pack_model(micro_asr.exp_dir, None, tmp_path / "out", meta={"task": "tts"})


def test_stats_file_that_does_not_exist(micro_asr, tmp_path):
    config = yaml.safe_load((micro_asr.exp_dir / "config.yaml").read_text())
    config["normalize_conf"]["stats_file"] = str(tmp_path / "gone.npz")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(PackError, match=r"normalize_conf.stats_file points to .*gone.npz, which "
                                        "does not exist"):
        pack_model(tmp_path / "config.yaml", micro_asr.checkpoint, tmp_path / "out")


def test_checkpoint_of_another_model_is_refused_at_load(micro_asr, micro_tts, tmp_path):
    out = pack_model(micro_asr.exp_dir, micro_tts.checkpoint, tmp_path / "out")
    with pytest.raises(PackError, match=r"model.pth: does not match .*parameters missing .*"
                                        r"unexpected .*repack config and checkpoint"):
        load_asr(out)


def test_loading_the_wrong_task_or_a_plain_dir(packed_asr, tmp_path):
    with pytest.raises(PackError, match="this is a asr model; a tts model is needed here"):
        load_tts(packed_asr)
    with pytest.raises(PackError, match="meta.json: not found; .* is not a packed model dir"):
        load_asr(tmp_path)


def test_file_missing_from_a_packed_dir(packed_asr, tmp_path):
    broken = shutil.copytree(packed_asr, tmp_path / "asr")
    (broken / "feats_stats.npz").unlink()
    with pytest.raises(PackError, match="normalize_conf.stats_file names feats_stats.npz, which "
                                        "is missing from .*; repack"):
        load_asr(broken)


def test_bad_meta_json(packed_asr, tmp_path):
    broken = shutil.copytree(packed_asr, tmp_path / "asr")
    (broken / "meta.json").write_text(json.dumps({"task": "mt"}))
    with pytest.raises(PackError, match=r"meta.json: task must be one of \('asr', 'tts', 'lm'\)"):
        load_asr(broken)


# ---------------------------------------------------------------- GAN vocoder


def write_gan_vocoder(out: Path, stats: Path, hop: int = 256) -> Path:
    """An ESPnet GAN-TTS checkpoint (joint_text2wav with a HiFiGAN generator), tiny, untrained.

    Training a GAN vocoder is hours of GPU work; what is tested here is the loading path
    (config, weights, feature checks, its own global MVN), so ESPnet's initial weights do.
    """
    import argparse

    import torch
    from espnet2.tasks.gan_tts import GANTTSTask

    scales = [8, 8, 2, 2] if hop == 256 else [5, 4, 4, 2]  # product = hop
    args = vars(GANTTSTask.get_parser().parse_args([]))
    args.update(
        token_list=["<blank>", "<unk>", "a", "<sos/eos>"], token_type="word",
        feats_extract="fbank", normalize="global_mvn", normalize_conf={"stats_file": str(stats)},
        feats_extract_conf={"n_fft": 1024, "hop_length": hop, "win_length": None, "fs": 16000,
                            "fmin": 80, "fmax": 7600, "n_mels": 80},
        tts="joint_text2wav",
        tts_conf={"sampling_rate": 16000, "segment_size": 8, "text2mel_type": "transformer",
                  "text2mel_params": {"adim": 16, "aheads": 2, "elayers": 1, "eunits": 16,
                                      "dlayers": 1, "dunits": 16, "postnet_layers": 0,
                                      "dprenet_units": 16, "embed_dim": 0,
                                      "eprenet_conv_layers": 0},
                  "vocoder_type": "hifigan_generator",
                  "vocoder_params": {"channels": 16, "upsample_scales": scales,
                                     "upsample_kernel_sizes": [2 * s for s in scales],
                                     "resblock_kernel_sizes": [3], "resblock_dilations": [[1]]},
                  "discriminator_type": "hifigan_scale_discriminator",
                  "discriminator_params": {"channels": 16, "max_downsample_channels": 32,
                                           "downsample_scales": [2, 2], "max_groups": 4}})
    out.mkdir(parents=True, exist_ok=True)
    torch.save(GANTTSTask.build_model(argparse.Namespace(**args)).state_dict(), out / "gan.pth")
    (out / "config.yaml").write_text(yaml.safe_dump(args))
    return out / "gan.pth"


def test_gan_vocoder_checkpoint_makes_the_waveform(packed_tts, micro_tts, tmp_path):
    from lrspeech.models.packing import GanVocoder

    gan = write_gan_vocoder(tmp_path / "voc", micro_tts.stats_file)
    t2s = load_tts(packed_tts, vocoder_file=gan, vocoder_config=gan.parent / "config.yaml",
                   minlenratio=1.0, maxlenratio=1.5)
    assert isinstance(t2s.vocoder, GanVocoder) and t2s.vocoder.normalize is not None
    out = t2s(np.array([2, 3, 4, 5]), sids=np.array([1]))
    assert out["wav"].shape[0] == out["feat_gen"].shape[0] * 256  # HiFiGAN upsamples x256


def test_gan_vocoder_trained_on_other_features_is_refused(packed_tts, micro_tts, tmp_path):
    gan = write_gan_vocoder(tmp_path / "voc", micro_tts.stats_file, hop=160)
    with pytest.raises(PackError, match=r"the vocoder was trained on other features \(n_shift: "
                                        "vocoder 160 vs TTS 256\\)"):
        load_tts(packed_tts, vocoder_file=gan, vocoder_config=gan.parent / "config.yaml")
