"""lrspeech.pipeline.distributed: ranks of a distributed step, and how the others wait."""

import json
import os

import pytest

from lrspeech.pipeline.distributed import (
    PREPARED,
    common_argv,
    launch_rank,
    single_process_env,
    wait_for_rank0,
)


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


def test_other_ranks_stop_when_rank0_fails(tmp_path, monkeypatch):
    (tmp_path / PREPARED).write_text(json.dumps({"error": "ValueError: dev/text: bad line 3"}))
    with pytest.raises(RuntimeError, match="rank 1: rank 0 failed to prepare .*bad line 3"):
        wait_for_rank0(tmp_path, 1)


def test_other_ranks_time_out_without_rank0(tmp_path, monkeypatch):
    monkeypatch.setenv("LRSPEECH_DIST_WAIT", "0.2")
    with pytest.raises(TimeoutError, match="rank 0 did not prepare .*LRSPEECH_DIST_WAIT"):
        wait_for_rank0(tmp_path, 2)


def test_the_others_get_rank0s_command_without_its_own_options(tmp_path):
    (tmp_path / PREPARED).write_text(json.dumps({"argv": ["--a", "1"], "train": True}))
    assert wait_for_rank0(tmp_path, 1) == {"argv": ["--a", "1"], "train": True}
    assert common_argv(["--a", "1", "--dist_rank", "0"], ["--dist_rank", "0"]) == ["--a", "1"]
