"""A CTC head on frozen Whisper-base features, trained by the recipe's training step on the
shipped Swahili clips: packed with the whisper_ct2 frontend it reads raw audio; pack, load,
decode, align and transcribe as a round trip, and a pack whose encoder differs is refused."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from lrspeech.data.datadir import DataDir
from lrspeech.models.packing import load_asr
from lrspeech.models.speech_encoder import EncoderMismatch
from lrspeech.pipeline.training import TrainStep, run_step
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def data_dir(rows, out: Path) -> Path:
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows}, text={r["id"]: r["text"] for r in rows},
            utt2spk={r["id"]: r["speaker"] for r in rows}).save(out)
    return out


@pytest.fixture(scope="module")
def head(tmp_path_factory, sw_rows) -> Path:
    root = tmp_path_factory.mktemp("whisper_head")
    train = data_dir([r for r in sw_rows if r["split"] == "train"], root / "train")
    valid = data_dir([r for r in sw_rows if r["split"] != "train"], root / "valid")
    cfg = LangConfig.load(REPO / "conf" / "lang" / "sw.yaml")
    chars = sorted({c for r in sw_rows for c in normalize_for_scoring(r["text"], cfg)} - {" "})
    tokens = root / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]) + "\n")
    step = TrainStep(task="asr", config=REPO / "conf" / "asr" / "whisper_ctc_tiny.yaml",
                     train_dirs=[train], valid_dir=valid, lang_config=REPO / "conf" / "lang" /
                     "sw.yaml", token_list=tokens, out_dir=root / "exp", epochs=2,
                     extra_args=["--num_att_plot", "0", "--use_tensorboard", "false"])
    return run_step(step)


def test_the_head_trains_on_cached_features_and_packs_for_audio(head, tmp_path):
    config = yaml.safe_load((head / "config.yaml").read_text())
    assert config["frontend"] == "whisper_ct2" and config["input_size"] is None
    meta = json.loads((head / "meta.json").read_text())
    assert meta["speech_encoder"]["name"] == "whisper-base"
    assert meta["speech_encoder"]["dim"] == config["frontend_conf"]["dim"] == 512
    lists = head.parent / "dump" / "train"
    assert (lists / "feats.scp").is_file()  # trained on the cache, not on audio
    train_src = Path(yaml.safe_load((head.parent / "exp" / "config.yaml").read_text())
                     ["train_data_path_and_name_and_type"][0][0])
    assert train_src.name == "feats.scp"
    s2t = load_asr(head)
    assert s2t.asr_model.frontend.output_size() == 512


def test_decode_align_and_transcribe_raw_audio(head, sw_rows, tmp_path, capsys):
    from lrspeech.bin import transcribe
    from lrspeech.models.asr_decode import decode_data_dir
    from lrspeech.pipeline.align import CtcAligner

    valid = head.parent.parent / "valid"
    hyps, took = decode_data_dir(head, valid, tmp_path / "dec")
    assert len(hyps) == 2 and took.rtf < 1.0
    aligner = CtcAligner.from_model(head)
    assert aligner.frame_shift == pytest.approx(0.02)  # 50 Hz features, no subsampling
    wav = DataDir.load(valid).wav_scp
    assert transcribe.main(["--model_dir", str(head), *wav.values()]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split("\t")[0] for ln in out] == list(wav.values())


def test_the_aligner_reads_the_training_cache_instead_of_the_audio(head, tmp_path):
    import kaldiio
    import numpy as np

    from lrspeech.data.audio import load_audio
    from lrspeech.pipeline.align import CtcAligner
    from lrspeech.pipeline.align_step import cached_features

    train = head.parent.parent / "train"
    aligner = CtcAligner.from_model(head)
    feats = cached_features(aligner, [train])
    dd = DataDir.load(train)
    assert sorted(feats) == sorted(dd.audio_utt_ids)  # the head's training left the cache
    for utt in dd.audio_utt_ids[:2]:
        wav, _ = load_audio(dd.wav_scp[utt], aligner.sample_rate)
        from_audio = aligner.log_posteriors(wav)
        from_cache = aligner.log_posteriors_of_feats(kaldiio.load_mat(feats[utt]))
        np.testing.assert_allclose(from_cache, from_audio, atol=1e-5)
        chunked = CtcAligner(aligner.s2t, chunk_s=1.0)  # windows over the features
        assert chunked.log_posteriors_of_feats(kaldiio.load_mat(feats[utt])).shape == \
            from_audio.shape
    # a copy of the dir whose audio differs (another file) has a stale cache: not read
    copy = tmp_path / "copy"
    shutil.copytree(train, copy)
    utt = dd.audio_utt_ids[0]
    other = tmp_path / "other.wav"
    shutil.copy(dd.wav_scp[dd.audio_utt_ids[1]], other)
    wav_scp = DataDir.load(copy)
    wav_scp.wav_scp[utt] = str(other)
    wav_scp.save(copy)
    assert cached_features(aligner, [copy]) == {}


def test_a_pack_with_other_encoder_weights_is_refused(head, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(head, other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["frontend_conf"]["sha256"] = "f" * 64
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(EncoderMismatch, match="trained with encoder weights of SHA-256 ffff"):
        load_asr(other)
    config["frontend_conf"]["sha256"] = None
    config["frontend_conf"]["dim"] = 768
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(EncoderMismatch, match="trained on 768-dim features"):
        load_asr(other)
