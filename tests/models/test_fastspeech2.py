"""FastSpeech2 (conf/tts/fastspeech2_tiny.yaml) trains on CTC durations and synthesizes."""

from pathlib import Path

import numpy as np
import pytest
import torch

from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.models.espnet_train import TrainedExp, collect_stats, train
from lrspeech.models.tasks import read_config
from lrspeech.models.train_lists import write_token_list
from lrspeech.pipeline.align import CtcAligner
from lrspeech.pipeline.align_data import align_data_dir
from lrspeech.pipeline.duration_files import read_durations
from lrspeech.pipeline.durations import TtsFrames
from lrspeech.pipeline.fastspeech2_lists import write_fastspeech2_lists
from lrspeech.pipeline.pitch_energy import fastspeech2_data_args

REPO = Path(__file__).resolve().parents[2]
FS2_TINY = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
FEW_STEPS = [
    "--max_epoch", "1", "--num_iters_per_epoch", "2", "--batch_size", "4",
    "--num_att_plot", "0", "--use_tensorboard", "false", "--seed", "0",
]


def subset_dir(src: Path, dst: Path, utts) -> Path:
    """A data dir with only `utts` of `src` (wav.scp, text, utt2spk)."""
    dst.mkdir(parents=True)
    for name in ("wav.scp", "text", "utt2spk"):
        lines = (src / name).read_text(encoding="utf-8").splitlines()
        keep = [line for line in lines if line.split(maxsplit=1)[0] in utts]
        (dst / name).write_text("\n".join(keep) + "\n", encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def fastspeech2(micro_asr, tmp_path_factory):
    """Align 4 Swahili + 2 AN4 clips with the micro ASR; train FastSpeech2 two steps on them."""
    root = tmp_path_factory.mktemp("fastspeech2")
    utts = sorted((micro_asr.data_dir / "wav.scp").read_text().split()[0::2])
    sw = [u for u in utts if "swh" in u][:4]
    an4 = [u for u in utts if u.startswith("an")][:2]
    data = subset_dir(micro_asr.data_dir, root / "data", set(sw + an4))
    frames = TtsFrames.from_tts_config(FS2_TINY)
    report = align_data_dir(CtcAligner.from_model(micro_asr.exp_dir), data, root / "align", frames)
    prep = write_fastspeech2_lists(DataDir.load(data), root / "align", root / "lists",
                                   tts_config=FS2_TINY)
    lists = root / "lists"
    tokens = write_token_list(lists / "text", root / "tokens.txt", "word")
    stats = collect_stats("tts", FS2_TINY, lists, lists, root / "stats", tokens)
    exp = train("tts", FS2_TINY, lists, lists, stats, root / "exp", tokens,
                extra_args=FEW_STEPS + fastspeech2_data_args(lists, lists))
    return {"report": report, "prep": prep, "lists": lists, "stats": stats, "exp": exp,
            "data": data}


def test_durations_feed_collect_stats_and_training(fastspeech2):
    assert fastspeech2["report"].skipped == {}
    assert len(fastspeech2["prep"].kept) == 6
    for name in ("feats_stats.npz", "pitch_stats.npz", "energy_stats.npz"):
        assert (fastspeech2["stats"] / "train" / name).is_file()
    spk2sid = (fastspeech2["lists"] / "spk2sid").read_text().split()
    assert len(spk2sid) == 2 * 4  # <unk>, sw_35d and two AN4 speakers
    trained = TrainedExp.load(fastspeech2["exp"])
    config = read_config(trained.config)
    assert config["tts"] == "fastspeech2" and config["tts_conf"]["spks"] == 4
    state = torch.load(trained.checkpoint, map_location="cpu")
    assert all(torch.isfinite(v).all() for v in state.values() if v.dtype.is_floating_point)


def test_precomputed_pitch_and_energy_are_what_espnet_extracts(fastspeech2):
    lists, stats = fastspeech2["lists"], fastspeech2["stats"] / "train"
    durations = read_durations(lists / "durations")
    for name in ("pitch", "energy"):
        scp = dict(line.split() for line in (lists / f"{name}.scp").read_text().splitlines())
        assert sorted(scp) == sorted(durations)
        values = {u: np.load(path) for u, path in scp.items()}
        for utt, v in values.items():
            assert v.shape == (len(durations[utt]), 1) and np.isfinite(v).all()
        espnet = np.load(stats / f"{name}_stats.npz")  # sums over the same utterances
        total = sum(v.sum() for v in values.values())
        assert total == pytest.approx(float(espnet["sum"][0]), rel=1e-4)
        assert sum(len(v) for v in values.values()) == int(espnet["count"])
    config = read_config(TrainedExp.load(fastspeech2["exp"]).config)
    feeds = [entry[1] for entry in config["train_data_path_and_name_and_type"]]
    assert "pitch" in feeds and "energy" in feeds


def test_trained_fastspeech2_synthesizes_with_its_own_and_given_durations(fastspeech2):
    from espnet2.bin.tts_inference import Text2Speech

    trained = TrainedExp.load(fastspeech2["exp"])
    lists = fastspeech2["lists"]
    utt, text = (lists / "text").read_text().splitlines()[0].split(maxsplit=1)
    sid = int(dict(line.split() for line in (lists / "utt2sid").read_text().splitlines())[utt])
    tts = Text2Speech(str(trained.config), str(trained.checkpoint), device="cpu")
    out = tts(text, sids=np.array([sid]))
    n_tokens = len(text.split())
    assert out["duration"].shape == (n_tokens + 1,)
    assert out["feat_gen"].shape[0] == int(out["duration"].sum()) > 0
    assert out["wav"].shape[0] == pytest.approx(out["feat_gen"].shape[0] * 256, abs=256)
    assert torch.isfinite(out["wav"]).all()

    given = torch.tensor(read_durations(lists / "durations")[utt])
    wav_path = dict(line.split(maxsplit=1) for line in (lists / "wav.scp").read_text().splitlines())
    speech, _ = load_audio(wav_path[utt])
    forced = Text2Speech(str(trained.config), str(trained.checkpoint), device="cpu",
                         use_teacher_forcing=True)
    forced.vocoder = None
    out = forced(text, speech=torch.from_numpy(speech), durations=given, sids=np.array([sid]))
    assert out["feat_gen"].shape[0] == int(given.sum()) == len(speech) // 256 + 1


def test_packed_fastspeech2_synthesizes_through_fused_attention(fastspeech2, tmp_path):
    """load_tts fuses the attention (lrspeech.models.fused_attention); ESPnet's own
    Text2Speech on the same checkpoint computes it unfused, and both give the same features."""
    from espnet2.bin.tts_inference import Text2Speech
    from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention

    from lrspeech.models.packing import load_tts, pack_model

    trained = TrainedExp.load(fastspeech2["exp"])
    packed = pack_model(fastspeech2["exp"], trained.checkpoint, tmp_path / "tts")
    fused = load_tts(packed, vocoder=None)
    plain = Text2Speech(str(trained.config), str(trained.checkpoint), device="cpu")
    layers = [[m for m in t.model.modules() if isinstance(m, MultiHeadedAttention)]
              for t in (fused, plain)]
    assert len(layers[0]) == 4 and all(m.use_sdpa for m in layers[0])
    assert not any(m.use_sdpa for m in layers[1])
    text = (fastspeech2["lists"] / "text").read_text().splitlines()[0].split(maxsplit=1)[1]
    a, b = (t(text, sids=np.array([1]))["feat_gen"] for t in (plain, fused))
    assert a.shape == b.shape and torch.allclose(a, b, atol=1e-4)
    # a TTS trained with `fused_attention: false` synthesizes unfused as well
    off = pack_model(fastspeech2["exp"], trained.checkpoint, tmp_path / "tts_off",
                     config_updates={"fused_attention": False})
    unfused = load_tts(off, vocoder=None)
    assert not any(m.use_sdpa for m in unfused.model.modules()
                   if isinstance(m, MultiHeadedAttention))
