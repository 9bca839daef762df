"""Tests for utils/install.sh: its check that ESPnet imports prints no nltk download attempt."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _warm_up_import() -> str:
    """The Python code of install.sh's import check (the line importing ESPnet's tasks)."""
    text = (REPO / "utils" / "install.sh").read_text()
    codes = [c for c in re.findall(r'python" -c "([^"]+)"', text) if "espnet2.tasks" in c]
    assert len(codes) == 1, "install.sh should have one import check of espnet2.tasks"
    return codes[0]


def test_the_import_check_tries_no_nltk_download(tmp_path: Path) -> None:
    code = _warm_up_import()
    assert "espnet2.tasks.asr" in code and "espnet2.tasks.tts" in code
    # No nltk data to find: importing g2p_en for real would try to download it and print
    # '[nltk_data] Error loading ...' (offline) or '[nltk_data] Downloading ...' (online).
    env = dict(os.environ, NLTK_DATA=str(tmp_path), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[nltk_data]" not in out.stdout + out.stderr
