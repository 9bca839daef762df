"""Tests for utils/log.sh: timestamp, stage tag, caller location, die."""

import os
import subprocess
from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "utils"


def test_log_sh_prefix_stage_and_die(tmp_path: Path) -> None:
    path = tmp_path / "stages.sh"
    path.write_text(
        f"set -euo pipefail\n. {UTILS}/log.sh\nlog first\nlog_stage 3 Text frontend\n"
        "log inside\ndie 'data/x/text is empty; run local/data.sh'\necho unreachable\n"
    )
    out = subprocess.run(["bash", str(path)], capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.splitlines()
    assert lines[0].endswith(" (stages.sh:3) first")
    assert lines[1].endswith(" [stage 3] (stages.sh:4) Stage 3: Text frontend")
    assert lines[2].endswith(" [stage 3] (stages.sh:5) inside")
    assert lines[3].endswith("ERROR: data/x/text is empty; run local/data.sh")
    assert all(line[:4].isdigit() and line[10] == "T" for line in lines)


def test_stage_wall_times_are_appended_per_run(tmp_path: Path) -> None:
    """With LOG_STAGE_TIMES set, each stage's run is one line; the EXIT trap closes the last
    one with the script's exit status, which the trap leaves unchanged; subshells add none."""
    times = tmp_path / "exp" / "stage_times.tsv"
    path = tmp_path / "run.sh"
    path.write_text(
        f"set -euo pipefail\n. {UTILS}/log.sh\nLOG_STAGE_TIMES={times}\n"
        "trap 'log_stage_end $?' EXIT\nlog_stage 1 Data preparation\nx=$(echo sub)\n"
        "( true )\nlog_stage 2 Audio\n[ \"${FAIL:-}\" = 1 ] && die 'stopped'\nexit 0\n"
    )
    assert subprocess.run(["bash", str(path)], capture_output=True).returncode == 0
    out = subprocess.run(["bash", str(path)], capture_output=True, env=dict(os.environ, FAIL="1"))
    assert out.returncode == 1
    rows = [line.split("\t") for line in times.read_text().splitlines()]
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("1", "0", "Data preparation"), ("2", "0", "Audio"),
        ("1", "0", "Data preparation"), ("2", "1", "Audio")]
    assert all(int(r[1]) <= int(r[2]) for r in rows)
    quiet = tmp_path / "quiet.sh"  # without LOG_STAGE_TIMES nothing is written
    quiet.write_text(f". {UTILS}/log.sh\nlog_stage 1 x\nlog_stage_end 0\n")
    assert subprocess.run(["bash", str(quiet)], cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "quiet.sh", "run.sh"]
