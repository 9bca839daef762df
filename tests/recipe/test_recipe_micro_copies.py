"""The micro recipe's tests that run stages again in a copy of their own: distillation without
dual transformation and with broken clips, a changed pretrained model, DDP training.

tests/conftest.py puts this file last, so that in `make test` the pytest-xdist worker that is
not busy with test_recipe_micro.py takes it once it has run the other files; the recipe is
built once for both (fixture `built`).
"""

import json
import os
import re
import shutil
from pathlib import Path
from typing import Tuple

import pytest
from micro_recipe import FAULT_TTS, copy_of, lines, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]


def test_training_with_two_ddp_processes(built: Path,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """--train_nproc 2: stage 5 trains the ASR in two CPU processes (torchrun, gloo backend)."""
    import yaml

    from lrspeech.models.packing import load_asr

    copy = copy_of(built, tmp_path_factory, "ddp")
    exp = copy / "exp" / "finetune" / "asr"
    shutil.rmtree(exp)
    res = run(copy, "--stage", "5", "--stop_stage", "5", "--train_nproc", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((exp / ".prepared").read_text())["world_size"] == 2
    config = yaml.safe_load((exp / "exp" / "config.yaml").read_text())
    assert config["distributed"] is True and config["dist_backend"] == "gloo"
    assert "rank 1: waiting for rank 0" in (exp / "log" / "train_model.log").read_text()
    assert load_asr(exp / "model").asr_model is not None


@pytest.fixture(scope="module")
def kd_short_clips(built: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Tuple[Path, str, str]:
    """Stage 7 with --dt_rounds 0 on a copy of the recipe, its TTS teacher forced to emit an
    empty clip and a clip too short for the ASR's subsampling (tests/recipe/fault_tts), and
    --synth_min_dur 0 so that the short one reaches alignment and ASR training."""
    copy = copy_of(built, tmp_path_factory, "kd_short")
    shutil.rmtree(copy / "exp" / "kd")
    empty, short = [ln.split()[0] for ln in lines(built / "exp" / "kd" / "text" / "text")][:2]
    env = {**os.environ, "PYTHONPATH": str(FAULT_TTS),
           "LRSPEECH_TEST_TTS_FAULTS": f"{empty}=0,{short}=100"}  # 100 samples: 6 ms, below
    # what any ASR of the recipe takes (a Whisper frame needs 160, Conv2d subsampling 960)
    res = run(copy, "--stage", "7", "--stop_stage", "7", "--dt_rounds", "0",
              "--synth_min_dur", "0", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return copy, empty, short


def test_distillation_without_dual_transformation(kd_short_clips) -> None:
    """--dt_rounds 0: the fine-tuned models are the teachers; the ASR student's synthetic
    speech is the TTS teacher's."""
    copy, _, _ = kd_short_clips
    kd = copy / "exp" / "kd"
    tts_meta = json.loads((kd / "tts" / "model" / "meta.json").read_text())
    assert tts_meta["init"] == "exp/finetune/tts/model"
    decode_cmd = lines(kd / "asr_hyp" / "log" / "decode.1.log")[0]
    assert "--model_dir exp/finetune/asr/model " in decode_cmd
    train = set(lines(kd / "asr_train" / "wav.scp"))
    assert set(lines(kd / "tts_pairs" / "wav.scp")) <= train
    assert set(lines(kd / "speech_pairs" / "wav.scp")) <= train


def test_distillation_survives_empty_and_too_short_clips(kd_short_clips) -> None:
    """The empty clip is recorded as failed at synthesis (text kept); the too-short one is
    skipped by the CTC alignment and by the ASR student's training, each counted. (A one-epoch
    teacher also makes clips too short for their text: counted under their own reason.)"""
    from lrspeech.data.skips import collect_counts

    copy, empty, short = kd_short_clips
    kd = copy / "exp" / "kd"
    failed = dict(ln.split(" ", 1) for ln in lines(kd / "teacher" / "split" / "1" / "failed"))
    text = dict(ln.split(" ", 1) for ln in lines(kd / "text" / "text"))
    assert failed[empty] == text[empty] and short not in failed
    pairs = [ln.split()[0] for ln in lines(kd / "tts_pairs" / "wav.scp")]
    assert empty not in pairs and short in pairs
    aligned = json.loads((kd / "tts_durations" / "train" / "skipped.json").read_text())
    assert aligned["counts"]["too_short"] == 1
    assert aligned["utts"][short].startswith("too_short: ")
    asr_skips = json.loads((kd / "asr" / "short_clips" / "train" / "skipped.json").read_text())
    assert list(asr_skips["utts"]) == [short]
    assert (kd / "asr" / "model" / "meta.json").is_file()
    counts = collect_counts([kd])
    assert counts["kd/teacher"]["empty"] >= 1 and "near_empty" not in counts["kd/teacher"]
    assert counts["kd/tts_durations/train"]["too_short"] == 1
    assert counts["kd/asr/short_clips/train"] == {"too_short": 1}


def test_a_changed_pretrained_model_reaches_fine_tuning(built: Path,
                                                        tmp_path_factory: pytest.TempPathFactory
                                                        ) -> None:
    """Issue 19's first hole: stage 5 rebuilt its transfer init only when the file was
    missing, so a retrained stage 4 left fine-tuning "complete" on the old init."""
    import torch

    copy = copy_of(built, tmp_path_factory, "hole")
    ckpt = copy / "exp" / "pretrain" / "asr" / "model" / "model.pth"
    state = torch.load(ckpt, map_location="cpu")
    for name, value in state.items():  # "stage 4 retrained": other weights, same names
        if value.is_floating_point():
            state[name] = value + 0.01
    torch.save(state, ckpt)
    init = copy / "exp" / "finetune" / "asr_init.pth"
    before = init.read_bytes()
    res = run(copy, "--stage", "5", "--stop_stage", "5")
    assert res.returncode == 0, res.stderr[-3000:]
    assert init.read_bytes() != before  # rebuilt from the new pretrained weights
    assert "training asr -> exp/finetune/asr" in res.stderr  # and fine-tuned again
    # The TTS's durations come from that ASR's alignment: it trains again too.
    assert "training tts -> exp/finetune/tts" in res.stderr
    res = run(copy, "--stage", "5", "--stop_stage", "5")  # unchanged now: all skipped
    assert res.returncode == 0 and not re.search(r"training (asr|tts) ->", res.stderr)
