"""Tests for utils/install.sh: its check that ESPnet imports prints no nltk download attempt; the
pinned versions (utils/constraints.txt) are the installed ones and apply to their Python only."""

import os
import re
import site
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Tuple

import pytest

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


def _norm(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> Tuple[str, Dict[str, str]]:
    """(the Python version the file was resolved on, package -> version)."""
    python, pins = "", {}
    for line in path.read_text().splitlines():
        if line.startswith("# python: "):
            python = line.split(": ", 1)[1].strip()
        elif line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    return python, pins


def test_the_environment_has_the_pinned_versions() -> None:
    python, pins = _pins(REPO / "utils" / "constraints.txt")
    assert python and len(pins) > 50
    if python != "%d.%d" % sys.version_info[:2]:
        pytest.skip(f"the pins are for Python {python}; install.sh resolves fresh on this one")
    # the venv's own packages: not those vendored inside another (setuptools/_vendor is put
    # on sys.path by pkg_resources, which pyworld imports)
    sites = {Path(p).resolve() for p in site.getsitepackages()}
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()
                 if Path(str(d.locate_file(""))).resolve() in sites}
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"pinned vs installed: {wrong}; run make install"
    # every installed package is pinned, but those install.sh pins itself (and GPU builds')
    own = {"torch", "setuptools", "pip", "uv", "lrspeech", "triton"}
    loose = sorted(n for n in installed if n not in pins and n not in own
                   and not n.startswith("nvidia-"))
    assert not loose, f"{loose} are not pinned: utils/install.sh --relock"


def _lock_args(constraints: str) -> subprocess.CompletedProcess:
    """install.sh's lock_args for this Python, with LRSPEECH_CONSTRAINTS=constraints."""
    script = f'set -euo pipefail; source "{REPO}/utils/install.sh"; lock_args "{sys.executable}"'
    env = dict(os.environ, LRSPEECH_CONSTRAINTS=constraints)
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_pins_apply_to_their_own_python_only(tmp_path: Path) -> None:
    this = "%d.%d" % sys.version_info[:2]
    mine, other = tmp_path / "mine.txt", tmp_path / "other.txt"
    mine.write_text(f"# python: {this}\nnumpy==1.0\n")
    other.write_text("# python: 2.7\nnumpy==1.0\n")
    out = _lock_args(str(mine))
    assert out.returncode == 0 and out.stdout.split() == ["--constraints", str(mine)]
    out = _lock_args(str(other))
    assert out.returncode == 0 and out.stdout.strip() == ""
    assert f"Python 2.7; this is {this}: resolving fresh" in out.stderr
    out = _lock_args("none")
    assert out.returncode == 0 and out.stdout.strip() == ""
    out = _lock_args(str(tmp_path / "missing.txt"))
    assert out.returncode == 1 and out.stdout.strip() == ""
    assert f"{tmp_path / 'missing.txt'}: no such constraints file" in out.stderr
    assert "LRSPEECH_CONSTRAINTS=none" in out.stderr
