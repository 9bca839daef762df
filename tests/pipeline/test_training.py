"""lrspeech.pipeline.training: ranks of a distributed step, and a two-process CPU DDP run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lrspeech.models.train_lists import write_token_list
from lrspeech.pipeline.training import (
    PREPARED,
    TrainStep,
    _follow_rank0,
    at_model_rate,
    launch_rank,
    single_process_env,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_launcher(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_launch_rank_sources(no_launcher):
    assert launch_rank([]) == (0, 1)
    assert launch_rank(["--dist_rank", "1", "--dist_world_size", "4"]) == (1, 4)
    assert launch_rank(["--dist_rank=2", "--dist_world_size=3"]) == (2, 3)
    no_launcher.setenv("SLURM_PROCID", "1")
    no_launcher.setenv("SLURM_NTASKS", "2")
    assert launch_rank([]) == (0, 1)  # a Slurm job that did not ask ESPnet for DDP
    assert launch_rank(["--dist_launcher", "slurm"]) == (1, 2)
    no_launcher.setenv("RANK", "3")
    no_launcher.setenv("WORLD_SIZE", "4")  # torchrun's variables come before Slurm's
    assert launch_rank(["--dist_launcher", "slurm"]) == (3, 4)
    assert launch_rank(["--dist_rank", "0", "--dist_world_size", "2"]) == (0, 2)


def test_launch_rank_rejects_bad_values(no_launcher):
    no_launcher.setenv("WORLD_SIZE", "2")
    no_launcher.setenv("RANK", "2")
    with pytest.raises(ValueError, match="rank 2 is outside world size 2"):
        launch_rank([])
    no_launcher.setenv("RANK", "x")
    with pytest.raises(ValueError, match="not integers"):
        launch_rank([])


def test_single_process_env_hides_and_restores(no_launcher):
    no_launcher.setenv("RANK", "1")
    no_launcher.setenv("WORLD_SIZE", "2")
    with single_process_env():
        assert "RANK" not in os.environ and "WORLD_SIZE" not in os.environ
    assert os.environ["RANK"] == "1" and os.environ["WORLD_SIZE"] == "2"


def step_in(out_dir: Path) -> TrainStep:
    return TrainStep(task="asr", config=REPO / "conf" / "asr" / "transformer_tiny.yaml",
                     train_dirs=[], valid_dir=out_dir, lang_config=REPO / "conf" / "lang" /
                     "en.yaml", token_list=out_dir / "tokens.txt", out_dir=out_dir, epochs=1)


def test_other_ranks_stop_when_rank0_fails(tmp_path, monkeypatch):
    (tmp_path / PREPARED).write_text(json.dumps({"error": "ValueError: dev/text: bad line 3"}))
    with pytest.raises(RuntimeError, match="rank 1: rank 0 failed to prepare .*bad line 3"):
        _follow_rank0(step_in(tmp_path), 1)


def test_other_ranks_time_out_without_rank0(tmp_path, monkeypatch):
    monkeypatch.setenv("LRSPEECH_DIST_WAIT", "0.2")
    with pytest.raises(TimeoutError, match="rank 0 did not prepare .*LRSPEECH_DIST_WAIT"):
        _follow_rank0(step_in(tmp_path), 2)


def kaldi_dir(rows, out: Path) -> Path:
    out.mkdir(parents=True)
    for name, column in (("wav.scp", "audio"), ("text", "text"), ("utt2spk", "speaker")):
        lines = "".join(f"{r['id']} {r[column]}\n" for r in sorted(rows, key=lambda r: r["id"]))
        (out / name).write_text(lines, encoding="utf-8")
    return out


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
