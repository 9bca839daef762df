"""Tests for lrspeech.models.postfilter and its use in packing, synthesis and gv_stats."""

import shutil

import numpy as np
import pytest
import torch

from lrspeech.bin import gv_stats
from lrspeech.models import postfilter as pf
from lrspeech.models.packing import PackError, load_tts, pack_model, read_yaml

FEATS = {"feats_extract": "fbank",
         "feats_extract_conf": {"n_fft": 1024, "hop_length": 256, "win_length": None,
                                "fs": 16000, "fmin": 80, "fmax": 7600, "n_mels": 80}}


def smooth_and_sharp(frames: int = 200, bins: int = 4) -> np.ndarray:
    """Features whose bins vary by 0.1, 0.2, 0.5 and 1.0 around means 1..4."""
    rng = np.random.default_rng(0)
    spread = np.array([0.1, 0.2, 0.5, 1.0])[:bins]
    return (np.arange(1, bins + 1) + rng.standard_normal((frames, bins)) * spread).astype(
        np.float32)


def test_parse_postfilter():
    assert pf.parse_postfilter("gv") == ("gv", 1.0)
    assert pf.parse_postfilter("gv:0.75") == ("gv", 0.75)
    assert pf.parse_postfilter("auto") == ("auto", 1.0)
    assert pf.parse_postfilter(None) == ("none", 1.0)
    for bad, why in [("wiener", "use none, auto"), ("none:1", "use none, auto"),
                     ("gv:x", "must be a number"), ("gv:0", r"must be in \(0, 2\]"),
                     ("gv:3", r"must be in \(0, 2\]")]:
        with pytest.raises(pf.PostfilterError, match=why):
            pf.parse_postfilter(bad)


def test_measure_gv_averages_per_utterance_spread_and_skips_one_frame_clips():
    a, b = smooth_and_sharp(), smooth_and_sharp() * 3
    stats = pf.measure_gv([a, b, np.ones((1, 4))], {"name": "fbank"})
    assert stats.n_utts == 2 and stats.n_frames == 400
    np.testing.assert_allclose(stats.std, (a.std(0) + b.std(0)) / 2, rtol=1e-5)
    with pytest.raises(pf.PostfilterError, match="no utterance of at least 2 frames"):
        pf.measure_gv([np.ones((1, 4))], {})


def test_apply_gv_gives_each_bin_the_target_spread_and_keeps_its_mean():
    x = smooth_and_sharp()
    gv = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)
    y = pf.apply_gv(x, gv)
    np.testing.assert_allclose(y.std(0), gv, rtol=1e-4)
    np.testing.assert_allclose(y.mean(0), x.mean(0), rtol=1e-5)
    half = pf.apply_gv(x, gv, strength=0.5)  # halfway in log: sqrt(gv * std)
    np.testing.assert_allclose(half.std(0), np.sqrt(gv * x.std(0)), rtol=1e-4)
    t = pf.apply_gv(torch.from_numpy(x), gv)  # the vocoder gets torch tensors
    np.testing.assert_allclose(t.numpy(), y, rtol=1e-4, atol=1e-5)


def test_apply_gv_limits_the_scale_and_leaves_a_single_frame():
    x = smooth_and_sharp()
    y = pf.apply_gv(x, np.full(4, 1000.0, dtype=np.float32))
    np.testing.assert_allclose(y.std(0), x.std(0) * pf.MAX_SCALE, rtol=1e-4)
    one = x[:1]
    assert pf.apply_gv(one, np.ones(4)) is one
    with pytest.raises(pf.PostfilterError, match="features have 4 bins, the GV statistics 80"):
        pf.apply_gv(x, np.ones(80))


def test_stats_file_round_trip_and_errors(tmp_path):
    stats = pf.measure_gv([smooth_and_sharp()], pf.feature_settings(FEATS))
    stats.save(tmp_path / "gv.npz")
    back = pf.GvStats.load(tmp_path / "gv.npz")
    np.testing.assert_array_equal(back.std, stats.std)
    assert back.n_utts == 1 and back.features == pf.feature_settings(FEATS)
    pf.check_features(back, FEATS, "here")
    other = {**FEATS, "feats_extract_conf": {**FEATS["feats_extract_conf"], "hop_length": 160}}
    with pytest.raises(pf.PostfilterError, match=r"here: the GV statistics were measured with "
                       r"other features than this TTS's \(hop_length differ\)"):
        pf.check_features(back, other, "here")
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(pf.PostfilterError, match=r"bad.npz: not a GV statistics file"):
        pf.GvStats.load(tmp_path / "bad.npz")


def test_gv_of_real_speech_and_the_speaker_filter(micro_tts):
    """Real Swahili and AN4 clips: the target speaker's statistics are its own."""
    one = pf.gv_of_data_dirs([micro_tts.data_dir], FEATS, speaker="sw_35d")
    every = pf.gv_of_data_dirs([micro_tts.data_dir], FEATS)
    assert 0 < one.n_utts < every.n_utts
    assert one.std.shape == (80,) and np.all(one.std > 0)
    assert not np.allclose(one.std, every.std)
    with pytest.raises(pf.PostfilterError, match=r"no utterance of speaker 'nobody' with audio"):
        pf.gv_of_data_dirs([micro_tts.data_dir], FEATS, speaker="nobody")


@pytest.fixture()
def tts_with_gv(packed_tts, micro_tts, tmp_path):
    model = tmp_path / "tts"
    shutil.copytree(packed_tts, model)
    assert gv_stats.main(["--model_dir", str(model), "--data_dir", str(micro_tts.data_dir)]) == 0
    return model


def test_gv_stats_cli_measures_the_target_speaker(tts_with_gv, micro_tts, capsys):
    stats = pf.GvStats.load(tts_with_gv / pf.GV_FILE)
    want = pf.gv_of_data_dirs([micro_tts.data_dir], read_yaml(tts_with_gv / "config.yaml"),
                              speaker="sw_35d")
    np.testing.assert_allclose(stats.std, want.std, rtol=1e-5)
    assert gv_stats.main(["--model_dir", str(tts_with_gv), "--data_dir",
                          str(micro_tts.data_dir), "--speaker", "nobody"]) == 1
    assert "no utterance of speaker 'nobody'" in capsys.readouterr().err


def test_load_tts_applies_the_dirs_statistics(tts_with_gv, packed_tts):
    tokens, sids = np.array([2, 3, 4, 5, 6, 7]), np.array([1])
    kw = {"minlenratio": 2.0, "maxlenratio": 3.0, "always_fix_seed": True}
    plain = load_tts(tts_with_gv, postfilter="none", **kw)
    auto = load_tts(tts_with_gv, **kw)  # auto: the dir has gv.npz
    assert isinstance(auto.vocoder, pf.GvVocoder)
    assert not isinstance(plain.vocoder, pf.GvVocoder)
    feats = plain(tokens, sids=sids)["feat_gen_denorm"]
    stats = pf.GvStats.load(tts_with_gv / pf.GV_FILE)
    filtered = auto.vocoder  # the vocoder reads the filtered features
    seen = []
    filtered.vocoder = lambda x: seen.append(x) or torch.zeros(10)
    filtered(feats)
    np.testing.assert_allclose(seen[0].numpy(), pf.apply_gv(feats.numpy(), stats.std),
                               rtol=1e-4, atol=1e-4)
    assert not isinstance(load_tts(packed_tts, **kw).vocoder, pf.GvVocoder)  # auto, no file
    with pytest.raises(PackError, match=r"--postfilter gv needs gv.npz, the speaker's global "
                       r"variance; write it with python -m lrspeech.bin.gv_stats"):
        load_tts(packed_tts, postfilter="gv")


def test_pack_model_packs_the_statistics_and_checks_them(micro_tts, tts_with_gv, tmp_path):
    gv = pf.GvStats.load(tts_with_gv / pf.GV_FILE)
    out = pack_model(micro_tts.exp_dir, None, tmp_path / "p", gv_stats=gv)
    packed = pf.GvStats.load(out / pf.GV_FILE)
    np.testing.assert_array_equal(packed.std, gv.std)
    assert (packed.n_utts, packed.n_frames) == (gv.n_utts, gv.n_frames)
    assert packed.features == gv.features
    wrong = pf.measure_gv([np.ones((3, 80)) + np.arange(3)[:, None]], {"name": "other"})
    with pytest.raises(PackError, match=r"other features than this TTS's \(.*name.*\)"):
        pack_model(micro_tts.exp_dir, None, tmp_path / "q", gv_stats=wrong)
    assert not (tmp_path / "q").exists()
