"""Tests of lrspeech.eval.nisqa and its skip path (no real weights are available to tests)."""

import logging

import numpy as np
import pytest
import torch

from lrspeech.eval.mos import load_nisqa
from lrspeech.eval.nisqa import NisqaModel, NisqaTTS, segments

# The architecture settings published with NISQA-TTS.
ARGS = {
    "ms_n_fft": 4096,
    "ms_hop_length": 0.01,
    "ms_win_length": 0.02,
    "ms_n_mels": 48,
    "ms_fmax": 20000,
    "ms_seg_length": 15,
    "ms_seg_hop_length": 4,
    "cnn_model": "adapt",
    "cnn_c_out_1": 16,
    "cnn_c_out_2": 32,
    "cnn_c_out_3": 64,
    "cnn_kernel_size": 3,
    "cnn_dropout": 0.2,
    "cnn_pool_1": [24, 7],
    "cnn_pool_2": [12, 5],
    "cnn_pool_3": [6, 3],
    "cnn_fc_out_h": None,
    "td": "self_att",
    "td_sa_d_model": 64,
    "td_sa_nhead": 1,
    "td_sa_pos_enc": False,
    "td_sa_num_layers": 2,
    "td_sa_h": 64,
    "td_sa_dropout": 0.1,
    "td_2": "skip",
    "pool": "att",
    "pool_att_h": 128,
    "pool_att_dropout": 0.1,
}


def test_no_path_skips_with_one_message(caplog):
    caplog.set_level(logging.INFO)
    assert load_nisqa(None) is None
    assert load_nisqa("") is None
    msgs = [r.getMessage() for r in caplog.records if "NISQA-TTS skipped" in r.getMessage()]
    assert len(msgs) == 2 and "no weights path given (--nisqa_model)" in msgs[0]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="NISQA-TTS weights not found; download nisqa_tts.tar yourself"
    ):
        load_nisqa(tmp_path / "nisqa_tts.tar")


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "weights.tar"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot be read as a torch checkpoint"):
        NisqaTTS(bad)
    torch.save({"state_dict": {}}, bad)
    with pytest.raises(ValueError, match="needs the keys 'args' and 'model_state_dict'"):
        NisqaTTS(bad)


def test_wrong_architecture_is_rejected(tmp_path):
    path = tmp_path / "other.tar"
    torch.save({"args": dict(ARGS, td="lstm"), "model_state_dict": {}}, path)
    with pytest.raises(ValueError, match="td='lstm' is not supported"):
        NisqaTTS(path)
    torch.save({"args": ARGS, "model_state_dict": {"cnn.model.conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="weights do not fit the NISQA-TTS architecture .*size"):
        NisqaTTS(path)
    torch.save({"args": ARGS, "model_state_dict": {}}, path)
    with pytest.raises(ValueError, match=r"architecture \(missing: \['cnn.model.conv1.weight'"):
        NisqaTTS(path)


def test_checkpoint_round_trip_scores_a_clip(tmp_path, lj_rows):
    from lrspeech.data.audio import load_audio

    torch.manual_seed(0)
    model = NisqaModel(ARGS)
    params = sum(p.numel() for p in model.parameters())
    assert 200_000 < params < 300_000  # NISQA's CNN-SA-AP is about a quarter million parameters
    path = tmp_path / "nisqa_tts.tar"
    torch.save({"args": ARGS, "model_state_dict": model.state_dict()}, path)
    nisqa = NisqaTTS(path)
    x, sr = load_audio(lj_rows[0]["audio"])
    assert np.isfinite(nisqa(x, sr))
    assert nisqa(x, sr) == nisqa(x, sr)  # eval mode: deterministic


def test_segments_shape():
    spec = np.arange(48 * 40, dtype=np.float32).reshape(48, 40)
    segs = segments(spec, 15, 4)
    assert segs.shape == (7, 1, 48, 15)  # 26 windows, every 4th
    assert segs[1, 0, 0, 0] == 4
