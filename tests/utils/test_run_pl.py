"""Tests for utils/run.pl: local job arrays, per-job logs, status propagation, concurrency cap."""

import subprocess
from pathlib import Path
from typing import List, Tuple

UTILS = Path(__file__).resolve().parents[2] / "utils"


def run_pl(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["perl", str(UTILS / "run.pl"), *args], capture_output=True, text=True, cwd=cwd
    )


def body(log: Path) -> List[str]:
    """The job's own output: the log lines between the header and the footer."""
    return [line for line in log.read_text().splitlines() if not line.startswith("#")]


def test_job_array_substitutes_job_in_log_and_command(tmp_path: Path) -> None:
    out = run_pl(tmp_path, "JOB=1:3", "log/echo.JOB.log", "echo", "part", "JOB", "a b", "|", "tr",
                 "a-z", "A-Z")
    assert out.returncode == 0, out.stderr
    for n in (1, 2, 3):
        log = tmp_path / "log" / f"echo.{n}.log"
        lines = log.read_text().splitlines()
        assert lines[0] == f'# echo part {n} "a b" | tr a-z A-Z'
        assert lines[1].startswith("# Started at ")
        assert body(log) == [f"PART {n} A B"]
        assert lines[-1].startswith("# Ended (code 0) at ")
        assert lines[-1].endswith(" seconds")


def test_single_job_form(tmp_path: Path) -> None:
    out = run_pl(tmp_path, "exp/log/one.log", "echo", "JOB", "stays")
    assert out.returncode == 0
    assert body(tmp_path / "exp/log/one.log") == ["JOB stays"]


def test_failing_job_exits_nonzero_and_names_its_log(tmp_path: Path) -> None:
    out = run_pl(tmp_path, "JOB=1:4", "log/t.JOB.log", "test", "JOB", "-ne", "3")
    assert out.returncode == 1
    assert "1 / 4 failed" in out.stderr
    assert "JOB=3 exited with status 1, log is in log/t.3.log" in out.stderr
    assert "t.1.log" not in out.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/t.3.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log/t.2.log").read_text()


def test_exit_status_of_a_pipe_is_propagated(tmp_path: Path) -> None:
    out = run_pl(tmp_path, "log/pipe.log", "false", "|", "cat")
    assert out.returncode == 1
    assert "command exited with status 1, log is in log/pipe.log" in out.stderr


def test_single_failing_command_keeps_its_code_in_log(tmp_path: Path) -> None:
    out = run_pl(tmp_path, "log/ls.log", "ls", str(tmp_path / "missing"))
    assert out.returncode == 1
    log = (tmp_path / "log/ls.log").read_text()
    assert "No such file or directory" in log
    assert "# Ended (code 2)" in log


def intervals(stamps: Path, n: int) -> List[Tuple[float, float]]:
    return [
        (float((stamps / f"{i}.start").read_text()), float((stamps / f"{i}.end").read_text()))
        for i in range(1, n + 1)
    ]


def max_overlap(spans: List[Tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_concurrency_cap(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    job = "date +%s.%N > t/JOB.start; sleep 0.3; date +%s.%N > t/JOB.end"
    out = run_pl(tmp_path, "--max-jobs-run", "2", "JOB=1:6", "log/c.JOB.log", "bash", "-c", job)
    assert out.returncode == 0, out.stderr
    spans = intervals(tmp_path / "t", 6)
    assert max_overlap(spans) == 2
    # with the cap the 6 jobs need three rounds of 0.3 s
    assert max(e for _, e in spans) - min(s for s, _ in spans) >= 0.85


def test_nj_max_alias_and_ignored_scheduler_options(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    job = "date +%s.%N > t/JOB.start; sleep 0.2; date +%s.%N > t/JOB.end"
    out = run_pl(tmp_path, "--nj-max", "1", "--gpu", "1", "--mem", "4G", "JOB=1:3",
                 "log/s.JOB.log", "bash", "-c", job)
    assert out.returncode == 0, out.stderr
    assert max_overlap(intervals(tmp_path / "t", 3)) == 1


def test_bad_usage_messages(tmp_path: Path) -> None:
    same_log = run_pl(tmp_path, "JOB=1:2", "log/x.log", "echo")
    assert same_log.returncode == 1
    assert "log file 'log/x.log' does not contain 'JOB'" in same_log.stderr
    unknown = run_pl(tmp_path, "--bogus", "1", "log/x.log", "echo")
    assert unknown.returncode == 1 and "unknown option --bogus" in unknown.stderr
    bad_range = run_pl(tmp_path, "JOB=3:1", "log/x.JOB.log", "echo")
    assert bad_range.returncode == 1 and "the end is before the start" in bad_range.stderr
    bad_cap = run_pl(tmp_path, "--max-jobs-run", "0", "log/x.log", "echo")
    assert "expects a positive integer" in bad_cap.stderr
    assert run_pl(tmp_path, "log/x.log").stderr.startswith("Usage: run.pl")


def test_default_cap_is_the_cores_even_with_omp_num_threads_1(tmp_path: Path) -> None:
    import os

    import pytest

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two usable cores")
    (tmp_path / "t").mkdir()
    job = "date +%s.%N > t/JOB.start; sleep 0.5; date +%s.%N > t/JOB.end"
    out = subprocess.run(["perl", str(UTILS / "run.pl"), "JOB=1:2", "log/d.JOB.log", "bash", "-c",
                          job], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert max_overlap(intervals(tmp_path / "t", 2)) == 2  # the recipe's --nj 2 runs at once
