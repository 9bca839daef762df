"""Tests for utils/log.sh: timestamp, stage tag, caller location, die."""

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
