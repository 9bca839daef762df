"""Tests for utils/slurm.pl: the dry-run output, and the submit/wait path against a fake sbatch.

There is no Slurm here. The fake `sbatch` runs each array task of the generated batch script
locally (as Slurm would, with SLURM_ARRAY_TASK_ID set) and prints a job id; the fake `squeue`
reports the job as gone, so slurm.pl's status-file and vanished-task logic run for real.
"""

import os
import re
import subprocess
from pathlib import Path
from typing import Dict, Optional

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"

FAKE_SBATCH = """#!/usr/bin/env bash
script="${@: -1}"
echo "$*" >> "$(dirname "$0")/sbatch.calls"
range=$(sed -n 's/^#SBATCH --array=\\([0-9]*-[0-9]*\\).*/\\1/p' "$script")
for t in $(seq "${range%-*}" "${range#*-}"); do
  [ "$t" = "${FAKE_SKIP_TASK:-}" ] && continue
  SLURM_ARRAY_TASK_ID=$t bash "$script" > /dev/null 2>&1
done
echo 4242
"""


def slurm_pl(
    cwd: Path, *args: str, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        ["perl", str(UTILS / "slurm.pl"), *args], capture_output=True, text=True, cwd=cwd,
        env=full_env,
    )


@pytest.fixture()
def fake_slurm(tmp_path: Path) -> Dict[str, str]:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "squeue").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "scancel").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LRSPEECH_SLURM_POLL": "0.05"}


def sbatch_lines(stdout: str) -> Dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"#SBATCH (--?[\w-]+)[= ]?(.*)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_dry_run_prints_array_script_with_options(tmp_path: Path) -> None:
    out = slurm_pl(tmp_path, "--dry-run", "--gpu", "2", "--mem", "8G", "--time", "1:00:00",
                   "--partition", "gpu", "--num-threads", "4", "--max-jobs-run", "2",
                   "JOB=1:3", "exp/log/decode.JOB.log", "python", "-m", "x", "--part", "JOB",
                   "a b", "|", "sort")
    assert out.returncode == 0, out.stderr
    directives = sbatch_lines(out.stdout)
    assert directives == {
        "--export": "ALL", "--ntasks-per-node": "1", "--gres": "gpu:2", "--mem": "8G",
        "--job-name": "decode.JOB",
        "--cpus-per-task": "4", "--partition": "gpu", "--time": "1:00:00", "--array": "1-3%2",
        "--output": f"{tmp_path}/exp/log/q/decode.JOB.%a.slurm.out",
    }
    assert f"sbatch --parsable {tmp_path}/exp/log/q/decode.JOB.sh" in out.stdout
    for n in (1, 2, 3):
        assert (f"# JOB={n} (log exp/log/decode.{n}.log): "
                f'python -m x --part {n} "a b" | sort') in out.stdout
    assert not (tmp_path / "exp").exists()  # a dry run writes nothing


def test_espnet_launcher_call_shape(tmp_path: Path) -> None:
    """espnet2.bin.launch calls `slurm.pl --gpu N --num_threads N --num_nodes N log srun ...`."""
    out = slurm_pl(tmp_path, "--dry-run", "--gpu", "2", "--num_threads", "2", "--num_nodes", "2",
                   "exp/train.log", "srun", "--export=ALL", "python", "-m", "espnet2.bin.asr_train",
                   "--ngpu", "2", "--multiprocessing_distributed", "true")
    assert out.returncode == 0, out.stderr
    directives = sbatch_lines(out.stdout)
    assert (directives["--nodes"], directives["--gres"], directives["--cpus-per-task"]) == (
        "2", "gpu:2", "2"
    )
    assert directives["--ntasks-per-node"] == "1"
    assert ("# command (log exp/train.log): srun --export=ALL python -m espnet2.bin.asr_train "
            "--ngpu 2 --multiprocessing_distributed true") in out.stdout


def test_dry_run_from_environment_and_no_gpu_by_default(tmp_path: Path) -> None:
    out = slurm_pl(tmp_path, "exp/log/one.log", "echo", "hi", env={"LRSPEECH_SLURM_DRY_RUN": "1"})
    assert out.returncode == 0
    directives = sbatch_lines(out.stdout)
    assert directives["--array"] == "1-1"
    assert "--gres" not in directives
    assert "# command (log exp/log/one.log): echo hi" in out.stdout


def test_config_file_maps_options(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text(
        "# site config\ncommand sbatch --export=PATH --account lr\n"
        "option name=* --job-name $0\noption mem=* --mem-per-cpu $0\n"
        "default gpu=0\noption gpu=0 -p cpu\noption gpu=* -p gpu --gres=gpu:$0 -c $0\n"
    )
    out = slurm_pl(tmp_path, "--dry-run", "--gpu", "1", "--mem", "2G", "log/t.log", "true")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("#SBATCH")]
    assert lines[:7] == [
        "#SBATCH --export=PATH", "#SBATCH --account lr", "#SBATCH -p gpu",
        "#SBATCH --gres=gpu:1", "#SBATCH -c 1", "#SBATCH --mem-per-cpu 2G",
        "#SBATCH --job-name t",
    ]
    cpu = slurm_pl(tmp_path, "--dry-run", "log/t.log", "true")
    assert "#SBATCH -p cpu" in cpu.stdout
    unknown = slurm_pl(tmp_path, "--dry-run", "--time", "1:00", "log/t.log", "true")
    assert unknown.returncode == 1
    assert "option --time 1:00 is not in conf/slurm.conf" in unknown.stderr
    assert "add 'option time=*" in unknown.stderr


def test_bad_config_line_is_named(tmp_path: Path) -> None:
    conf = tmp_path / "my.conf"
    conf.write_text("command sbatch\nwhatever here\n")
    out = slurm_pl(tmp_path, "--config", str(conf), "--dry-run", "log/t.log", "true")
    assert out.returncode == 1
    assert f"{conf}:2: cannot parse 'whatever here'" in out.stderr


def test_submit_waits_and_writes_logs(tmp_path: Path, fake_slurm: Dict[str, str]) -> None:
    out = slurm_pl(tmp_path, "JOB=1:3", "exp/log/e.JOB.log", "echo", "task", "JOB", env=fake_slurm)
    assert out.returncode == 0, out.stderr
    for n in (1, 2, 3):
        log = (tmp_path / f"exp/log/e.{n}.log").read_text().splitlines()
        assert log[0] == f"# echo task {n}"
        assert f"task {n}" in log
        assert log[-1].startswith("# Ended (code 0)")
        assert (tmp_path / f"exp/log/q/e.JOB.{n}.status").read_text().strip() == "0"
    calls = (tmp_path / "fakebin/sbatch.calls").read_text().split()
    assert calls == ["--parsable", f"{tmp_path}/exp/log/q/e.JOB.sh"]


def test_failed_task_propagates(tmp_path: Path, fake_slurm: Dict[str, str]) -> None:
    out = slurm_pl(tmp_path, "JOB=1:3", "log/t.JOB.log", "test", "JOB", "-ne", "2", env=fake_slurm)
    assert out.returncode == 1
    assert "1 / 3 failed (Slurm job 4242)" in out.stderr
    assert "JOB=2 exited with status 1, log is in log/t.2.log" in out.stderr


def test_vanished_task_is_reported(tmp_path: Path, fake_slurm: Dict[str, str]) -> None:
    env = dict(fake_slurm, FAKE_SKIP_TASK="3")
    out = slurm_pl(tmp_path, "JOB=1:3", "log/v.JOB.log", "true", env=env)
    assert out.returncode == 1
    assert "JOB=3 left no exit status (killed by Slurm? time or memory limit)" in out.stderr
    assert "JOB=1" not in out.stderr


def test_stale_status_from_earlier_run_is_not_trusted(tmp_path: Path,
                                                      fake_slurm: Dict[str, str]) -> None:
    qdir = tmp_path / "log/q"
    qdir.mkdir(parents=True)
    (qdir / "w.JOB.2.status").write_text("0\n")
    env = dict(fake_slurm, FAKE_SKIP_TASK="2")
    out = slurm_pl(tmp_path, "JOB=1:2", "log/w.JOB.log", "true", env=env)
    assert out.returncode == 1
    assert "JOB=2 left no exit status" in out.stderr


def test_submission_failure_is_reported(tmp_path: Path, fake_slurm: Dict[str, str]) -> None:
    sbatch = Path(fake_slurm["PATH"].split(":")[0]) / "sbatch"
    sbatch.write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified' >&2\nexit 1\n")
    out = slurm_pl(tmp_path, "log/f.log", "true", env=fake_slurm)
    assert out.returncode == 1
    assert "submission failed" in out.stderr and "invalid partition" in out.stderr
