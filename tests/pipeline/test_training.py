"""lrspeech.pipeline.training: which models take durations, resuming or redoing a prepared step,
resampling, and a two-process CPU DDP run."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lrspeech.errors import InputError
from lrspeech.models.train_lists import write_token_list
from lrspeech.pipeline import training
from lrspeech.pipeline.distributed import PREPARED
from lrspeech.pipeline.training import TrainStep, at_model_rate

REPO = Path(__file__).resolve().parents[2]


def kaldi_dir(rows, out: Path) -> Path:
    out.mkdir(parents=True)
    for name, column in (("wav.scp", "audio"), ("text", "text"), ("utt2spk", "speaker")):
        lines = "".join(f"{r['id']} {r[column]}\n" for r in sorted(rows, key=lambda r: r["id"]))
        (out / name).write_text(lines, encoding="utf-8")
    return out


def tts_step(tmp_path: Path, config: str, **kw) -> TrainStep:
    data = tmp_path / "data"
    return TrainStep(task="tts", config=REPO / "conf" / "tts" / config, train_dirs=[data],
                     valid_dir=data, lang_config=REPO / "conf" / "lang" / "sw.yaml",
                     token_list=tmp_path / "tokens.txt", out_dir=tmp_path / "exp", epochs=1,
                     token_type="char", **kw)


def test_a_duration_tts_needs_durations_and_only_it_takes_them(tmp_path):
    with pytest.raises(InputError, match=r"fastspeech2_tiny.yaml trains on durations "
                       r"\(fastspeech2\); give --durations DIR, the output of "
                       r"lrspeech.bin.ctc_align"):
        tts_step(tmp_path, "fastspeech2_tiny.yaml").check()
    with pytest.raises(InputError, match=r"--durations .*: .*transformer_tiny.yaml does not "
                       r"train on durations .*; drop --durations"):
        tts_step(tmp_path, "transformer_tiny.yaml", durations=tmp_path).check()
    with pytest.raises(InputError, match=r"align.json: missing; .* not an output of "
                       r"lrspeech.bin.ctc_align"):
        tts_step(tmp_path, "fastspeech2_tiny.yaml", durations=tmp_path).check()
    tts_step(tmp_path, "transformer_tiny.yaml").check()


def test_durations_must_cover_both_splits_and_count_the_same_tokens(tmp_path):
    record = {"token_type": "phn", "splits": {"train": {"data_dirs": []}}}
    (tmp_path / "align.json").write_text(json.dumps(record))
    step = tts_step(tmp_path, "fastspeech2_tiny.yaml", durations=tmp_path)
    with pytest.raises(InputError, match="no valid split; run lrspeech.bin.ctc_align with the "
                       "same --train and --valid"):
        step.check()
    record["splits"]["valid"] = {"data_dirs": []}
    (tmp_path / "align.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match="the durations count phn's tokens, this TTS trains on "
                       "char; rerun lrspeech.bin.ctc_align with --token_type char"):
        step.check()


def test_a_prepared_step_is_reused_for_the_same_inputs_and_redone_for_others(
        tmp_path, sw_rows, monkeypatch):
    """An interrupted step resumes on the data it prepared; changed inputs redo it whole."""
    rows = sw_rows[:2]
    data = kaldi_dir(rows, tmp_path / "data")
    (tmp_path / "tokens.txt").write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    calls = []

    def fake_prepare(step):
        calls.append(1)
        (step.out_dir / "exp").mkdir(parents=True, exist_ok=True)
        (step.out_dir / "exp" / "checkpoint.pth").write_text("x")
        return ["--max_epoch", str(step.epochs)], step.out_dir / "exp"

    monkeypatch.setattr(training, "_prepare", fake_prepare)
    step = tts_step(tmp_path, "transformer_tiny.yaml")
    assert training.prepared(step) == (["--max_epoch", "1"], tmp_path / "exp" / "exp")
    (tmp_path / "exp" / "log").mkdir()  # the recipe's log of this step survives a redo
    assert training.prepared(step)[0] == ["--max_epoch", "1"] and len(calls) == 1
    assert (tmp_path / "exp" / "exp" / "checkpoint.pth").is_file()  # resumed from there
    with open(data / "text", "a", encoding="utf-8") as f:
        f.write("zz_new habari\n")
    (tmp_path / "exp" / "exp" / "stale.pth").write_text("old")
    training.prepared(step)
    assert len(calls) == 2 and not (tmp_path / "exp" / "exp" / "stale.pth").exists()
    assert (tmp_path / "exp" / "log").is_dir()
    training.prepared(tts_step(tmp_path, "transformer_tiny.yaml", seed=2))
    assert len(calls) == 3


@pytest.mark.slow
def test_two_process_cpu_ddp_training(an4_rows, tmp_path):
    """train_model under torchrun: 2 CPU processes, gloo; rank 0 prepares, both train, one
    packed model. This is the path a multi-GPU or multi-node run takes (with nccl)."""
    train = kaldi_dir(an4_rows[:8], tmp_path / "data" / "train")
    valid = kaldi_dir(an4_rows[8:], tmp_path / "data" / "valid")
    tokens = write_token_list(train / "text", tmp_path / "tokens.txt", "char")
    out = tmp_path / "exp" / "asr"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "lrspeech.bin.train_model", "--task", "asr",
           "--config", str(REPO / "conf" / "asr" / "transformer_tiny.yaml"),
           "--train", str(train), "--valid", str(valid),
           "--lang_config", str(REPO / "conf" / "lang" / "en.yaml"), "--token_list", str(tokens),
           "--out_dir", str(out), "--epochs", "2", "--",
           "--ngpu", "0", "--dist_backend", "gloo", "--batch_size", "2",
           "--use_tensorboard", "false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    log = res.stdout + res.stderr
    if res.returncode != 0 and "terminate called without an active exception" in log:
        # Known flake, not yet understood (about 2 in 6 full `make test` runs, never alone):
        # a Gloo rank aborts after a successful epoch. One retry from scratch; a second abort
        # fails the test. See the session 5 note on issue 15.
        shutil.rmtree(out, ignore_errors=True)
        res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env,
                             timeout=600)
        log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    plan = json.loads((out / PREPARED).read_text())
    assert plan["world_size"] == 2 and plan["train"] is True
    assert "rank 1: waiting for rank 0 to prepare" in log
    config = yaml.safe_load((out / "exp" / "config.yaml").read_text())
    assert config["distributed"] is True and config["dist_backend"] == "gloo"
    for epoch in (1, 2):  # both ranks ran both epochs (ESPnet splits each mini-batch over them)
        assert log.count(f"{epoch}/2epoch started") == 2
    from lrspeech.models.packing import load_asr

    assert (out / "exp" / "2epoch.pth").is_file()  # rank 0 saved the checkpoint
    assert load_asr(out / "model").asr_model is not None


def test_audio_is_resampled_to_the_rate_the_config_reads(sw_rows, tmp_path):
    """A TTS on the HiFi-GAN vocoder's 22,050-Hz features trains on 16-kHz dirs: the step uses
    a resampled copy (same utterances, same durations); a 16-kHz config uses the dir itself."""
    import soundfile as sf

    from lrspeech.data.datadir import DataDir

    rows = sw_rows[:3]
    data = tmp_path / "data"
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows}, text={r["id"]: r["text"] for r in rows},
            utt2spk={r["id"]: r["speaker"] for r in rows}).save(data)

    def step(config: str) -> TrainStep:
        return TrainStep(task="tts", config=REPO / "conf" / "tts" / config, train_dirs=[data],
                         valid_dir=data, lang_config=REPO / "conf" / "lang" / "sw.yaml",
                         token_list=tmp_path / "tokens.txt", out_dir=tmp_path / "exp", epochs=1)

    assert at_model_rate(step("fastspeech2_tiny.yaml"), "train", data) == data
    out = at_model_rate(step("fastspeech2_hifigan.yaml"), "train", data)
    assert out == tmp_path / "exp" / "data" / "train_22050hz"
    dd = DataDir.load(out)
    assert sorted(dd.utt_ids) == sorted(r["id"] for r in rows)
    assert dd.text == DataDir.load(data).text
    for r in rows:
        info, src = sf.info(dd.wav_scp[r["id"]]), sf.info(r["audio"])
        assert info.samplerate == 22050 and src.samplerate == 16000
        assert abs(info.duration - src.duration) < 0.01
    assert at_model_rate(step("fastspeech2_hifigan.yaml"), "train", out) == out  # already there


def test_packing_only_options_belong_to_a_tts_and_do_not_change_the_training(tmp_path):
    """gv_data and world_source are packed with a TTS: an ASR refuses them, and neither is one
    of the inputs whose change retrains (step_inputs)."""
    from lrspeech.pipeline.training import step_inputs

    asr = replace(tts_step(tmp_path, "transformer_tiny.yaml"), task="asr",
                  config=REPO / "conf" / "asr" / "transformer_tiny.yaml")
    with pytest.raises(InputError, match=r"--world_source w.pt: a WORLD source model is a TTS's "
                       r"vocoder; drop it for an asr"):
        replace(asr, world_source=Path("w.pt")).check()
    with pytest.raises(InputError, match=r"--gv_data d: the global variance is a TTS's"):
        replace(asr, gv_data=[Path("d")]).check()
    plain = tts_step(tmp_path, "transformer_tiny.yaml")
    packed = replace(plain, world_source=tmp_path / "w.pt", gv_data=[tmp_path])
    assert step_inputs(packed) == step_inputs(plain)
    assert step_inputs(replace(packed, world_vocoder="world")) == step_inputs(plain)
    with pytest.raises(InputError, match=r"--world_vocoder 'wrld': use one of world_gl, world"):
        replace(packed, world_vocoder="wrld").check()
    assert step_inputs(replace(plain, epochs=2)) != step_inputs(plain)


def test_a_packed_world_source_records_what_auto_runs(tmp_path):
    """meta.json's world_vocoder (read by --vocoder auto) is written with a WORLD source only."""
    from lrspeech.pipeline.training import _meta

    plain = tts_step(tmp_path, "transformer_tiny.yaml")
    assert "world_vocoder" not in _meta(plain, tmp_path)
    assert _meta(replace(plain, world_source=tmp_path / "w.pt"), tmp_path)["world_vocoder"] \
        == "world_gl"
    assert _meta(replace(plain, world_source=tmp_path / "w.pt", world_vocoder="world"),
                 tmp_path)["world_vocoder"] == "world"
