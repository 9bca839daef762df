"""Tests for utils/parse_options.sh (sourced by a small script written per test)."""

import subprocess
from pathlib import Path
from typing import List

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
nj=4              # number of parallel jobs
use_gpu=false     # train on a GPU
stop_stage=100
tag="base run"    # experiment tag
help_message="Usage: demo.sh [options] <data-dir>"
. {utils}/parse_options.sh
echo "nj=$nj use_gpu=$use_gpu stop_stage=$stop_stage tag=$tag args=$*"
"""


@pytest.fixture()
def script(tmp_path: Path) -> Path:
    path = tmp_path / "demo.sh"
    path.write_text(SCRIPT.format(utils=UTILS))
    return path


def run(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, cwd=script.parent
    )


def values(result: subprocess.CompletedProcess) -> List[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(" ")


def test_defaults_kept_without_options(script: Path) -> None:
    out = run(script, "data/x")
    assert out.stdout.strip() == "nj=4 use_gpu=false stop_stage=100 tag=base run args=data/x"


def test_dash_underscore_and_equals_forms(script: Path) -> None:
    out = run(script, "--nj", "3", "--use-gpu", "true", "--stop_stage=5", "a", "b")
    assert out.stdout.strip() == "nj=3 use_gpu=true stop_stage=5 tag=base run args=a b"


def test_value_with_spaces_and_leading_dash(script: Path) -> None:
    out = run(script, "--tag", "my tag", "--stop-stage", "-1")
    assert out.stdout.strip() == "nj=4 use_gpu=false stop_stage=-1 tag=my tag args="


def test_double_dash_ends_options(script: Path) -> None:
    out = run(script, "--nj", "2", "--", "--not-an-option")
    assert out.stdout.strip().endswith("args=--not-an-option")


def test_unknown_option_names_it_and_lists_valid(script: Path) -> None:
    out = run(script, "--foo", "1")
    assert out.returncode == 1
    assert "unknown option --foo" in out.stderr
    assert "valid options: --nj --use_gpu --tag (see --help)" in out.stderr


def test_environment_variables_are_not_options(script: Path) -> None:
    out = run(script, "--PATH", "/nowhere")
    assert out.returncode == 1
    assert "unknown option --PATH" in out.stderr


def test_script_without_comments_lists_every_assignment(tmp_path: Path) -> None:
    path = tmp_path / "plain.sh"
    path.write_text(f"set -eu\nnj=4\ndir=exp\n. {UTILS}/parse_options.sh\necho $nj $dir\n")
    out = subprocess.run(["bash", str(path), "--help"], capture_output=True, text=True)
    assert "  --nj <4>\n  --dir <exp>\n" in out.stdout
    out = subprocess.run(["bash", str(path), "--dir", "x"], capture_output=True, text=True)
    assert out.stdout == "4 x\n"


def test_missing_value(script: Path) -> None:
    out = run(script, "--nj")
    assert out.returncode == 1
    assert "option --nj needs a value" in out.stderr


def test_boolean_validated(script: Path) -> None:
    out = run(script, "--use_gpu", "yes")
    assert out.returncode == 1
    assert "--use_gpu expects true or false, got 'yes'" in out.stderr


def test_help_shows_message_defaults_and_comments(script: Path) -> None:
    out = run(script, "--help")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0] == "Usage: demo.sh [options] <data-dir>"
    by_option = {line.split()[0]: line for line in lines if line.startswith("  --")}
    assert by_option["--nj"].split(None, 2)[1:] == ["<4>", "number of parallel jobs"]
    assert by_option["--use_gpu"].split(None, 2)[1:] == ["<false>", "train on a GPU"]
    assert "--stop_stage" not in by_option  # no comment: settable, not documented
    assert "<base run>" in by_option["--tag"] and by_option["--tag"].endswith("experiment tag")
    assert "--help_message" not in by_option
    assert out.stdout.count("demo.sh") == 1  # the script body did not run


def test_help_shows_defaults_not_overrides(script: Path) -> None:
    out = run(script, "--nj", "9", "-h")
    assert out.returncode == 0
    assert "--nj <4>" in out.stdout


def test_config_file(script: Path, tmp_path: Path) -> None:
    conf = tmp_path / "run.conf"
    conf.write_text('# a comment\n\nnj=7   # jobs\ntag="from config"\n--use-gpu=true\n')
    out = run(script, "--config", str(conf), "--nj", "2", "dir")
    assert values(out)[:3] == ["nj=2", "use_gpu=true", "stop_stage=100"]
    assert "tag=from config" in out.stdout


def test_config_errors_name_file_and_line(script: Path, tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("nj=2\nbogus=1\n")
    out = run(script, "--config", str(conf))
    assert out.returncode == 1
    assert f"unknown option 'bogus' ({conf}:2)" in out.stderr
    conf.write_text("use_gpu=maybe\n")
    assert "expects true or false, got 'maybe'" in run(script, "--config", str(conf)).stderr
    conf.write_text("just words\n")
    assert f"{conf}:1: expected name=value" in run(script, "--config", str(conf)).stderr
    missing = run(script, "--config", str(tmp_path / "none.conf"))
    assert missing.returncode == 1 and "cannot read the file" in missing.stderr


def test_parser_leaves_no_helpers_behind(tmp_path: Path) -> None:
    path = tmp_path / "probe.sh"
    path.write_text(
        f"set -euo pipefail\nnj=1  # jobs\n. {UTILS}/parse_options.sh\n"
        "declare -F | grep -c _po_ || true\n( set -o posix; set ) | grep -c '^_po_' || true\n"
    )
    out = subprocess.run(["bash", str(path), "--nj", "2"], capture_output=True, text=True)
    assert out.stdout.split() == ["0", "0"]
