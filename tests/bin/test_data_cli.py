"""Data-dir CLIs in-process on real clips, and the utils/*.sh wrappers through a shell."""

import os
import subprocess
from pathlib import Path

import pytest

from lrspeech.bin import (
    combine_data,
    compute_utt2dur,
    fix_data_dir,
    split_data_dir,
    subset_data_dir,
    validate_data_dir,
)
from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir

REPO = Path(__file__).resolve().parents[2]
WRAPPERS = ["validate_data_dir", "fix_data_dir", "combine_data", "subset_data_dir",
            "split_data_dir", "compute_utt2dur"]


@pytest.fixture()
def dirs(tmp_path: Path, test_data: Path) -> Path:
    datadir_from_metadata(test_data / "sw" / "metadata.tsv").save(tmp_path / "sw")
    datadir_from_metadata(test_data / "en" / "an4" / "metadata.tsv").save(tmp_path / "an4")
    return tmp_path


def test_validate(dirs: Path, capsys: pytest.CaptureFixture) -> None:
    assert validate_data_dir.main([str(dirs / "sw"), "--expected-sr", "16000"]) == 0
    assert capsys.readouterr().out == (f"{dirs}/sw: OK, paired dir with 12 utterances "
                                       "and 1 speakers\n")
    assert validate_data_dir.main([str(dirs / "sw"), "--expected-sr", "8000"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 12 problems found:\n")
    assert f"{dirs}/sw/wav.scp:1: utterance 'sw_35d-" in err and "expected 8000" in err


def test_fix(dirs: Path, capsys: pytest.CaptureFixture) -> None:
    text = (dirs / "an4" / "text").read_text().splitlines()
    first = text[0].split()[0]
    (dirs / "an4" / "text").write_text("\n".join([first] + text[1:]) + "\n")
    assert fix_data_dir.main([str(dirs / "an4")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"dropped {first}: {dirs}/an4/text:1: has an empty transcript"
    assert out[1].startswith(f"{dirs}/an4: kept 9 utterances, dropped 1, repaired 0 other "
                             f"problems; old files in {dirs}/an4/.backup/")
    assert len(DataDir.load(dirs / "an4").utt_ids) == 9


def test_combine_subset_split(dirs: Path, capsys: pytest.CaptureFixture) -> None:
    assert combine_data.main([str(dirs / "all"), str(dirs / "sw"), str(dirs / "an4")]) == 0
    assert len(DataDir.load(dirs / "all").utt_ids) == 22
    assert combine_data.main([str(dirs / "sw"), str(dirs / "sw"), str(dirs / "an4")]) == 1
    assert "the destination is also a source" in capsys.readouterr().err

    args = [str(dirs / "all"), str(dirs / "r5"), "--random", "5", "--seed", "7"]
    assert subset_data_dir.main(args) == 0
    assert subset_data_dir.main(args[:1] + [str(dirs / "r5b")] + args[2:]) == 0
    assert (dirs / "r5" / "text").read_bytes() == (dirs / "r5b" / "text").read_bytes()
    (dirs / "spk.list").write_text("sw_35d\n")
    assert subset_data_dir.main([str(dirs / "all"), str(dirs / "s"), "--spk-list",
                                 str(dirs / "spk.list")]) == 0
    assert DataDir.load(dirs / "s").speakers == ["sw_35d"]
    assert subset_data_dir.main([str(dirs / "all"), str(dirs / "u"), "--utt-list",
                                 str(dirs / "sw" / "text")]) == 0
    assert DataDir.load(dirs / "u").utt_ids == DataDir.load(dirs / "sw").utt_ids
    (dirs / "bad.list").write_text("nobody\n")
    assert subset_data_dir.main([str(dirs / "all"), str(dirs / "x"), "--utt-list",
                                 str(dirs / "bad.list")]) == 1
    assert "utterance 'nobody' is not in the dir" in capsys.readouterr().err

    assert split_data_dir.main([str(dirs / "all"), "--nj", "4"]) == 0
    parts = [DataDir.load(dirs / "all" / "split4" / str(k)) for k in range(1, 5)]
    assert [len(p.utt_ids) for p in parts] == [6, 6, 5, 5]
    assert split_data_dir.main([str(dirs / "all"), "--dev-share", "0.2", "--train",
                                str(dirs / "tr"), "--dev", str(dirs / "dv")]) == 0
    assert len(DataDir.load(dirs / "dv").utt_ids) == 4
    assert split_data_dir.main([str(dirs / "all"), "--dev-share", "0.2"]) == 1
    assert "--dev-share needs both --train DIR and --dev DIR" in capsys.readouterr().err


def test_utt2dur(dirs: Path, capsys: pytest.CaptureFixture) -> None:
    (dirs / "sw" / "utt2dur").unlink()
    assert compute_utt2dur.main([str(dirs / "sw")]) == 0
    assert capsys.readouterr().out == f"{dirs}/sw/utt2dur: 12 utterances, 56.7 s (0.02 h)\n"
    assert len(DataDir.load(dirs / "sw").utt2dur) == 12


def _sh(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LRSPEECH_PYTHON"}
    return subprocess.run(["bash", str(script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_wrappers_help(tmp_path: Path) -> None:
    for name in WRAPPERS:
        script = REPO / "utils" / f"{name}.sh"
        assert os.access(script, os.X_OK), script
        assert "set -euo pipefail" in script.read_text()
        res = _sh(script, "--help", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith(f"usage: {name} "), res.stdout


def test_wrappers_run_from_a_recipe_dir(dirs: Path) -> None:
    recipe = dirs / "egs" / "xx" / "lr1"
    recipe.mkdir(parents=True)
    (recipe / "utils").symlink_to(REPO / "utils")  # how recipes reach utils/
    res = _sh(recipe / "utils" / "validate_data_dir.sh", str(dirs / "sw"), cwd=recipe)
    assert res.returncode == 0 and res.stdout.startswith(f"{dirs}/sw: OK, paired dir"), res.stderr
    (dirs / "sw" / "text").write_text("zz only text\n")
    res = _sh(recipe / "utils" / "validate_data_dir.sh", str(dirs / "sw"), cwd=recipe)
    assert res.returncode == 1
    assert f"{dirs}/sw/text:1: utterance 'zz' has no audio in wav.scp" in res.stderr
    res = _sh(recipe / "utils" / "compute_utt2dur.sh", str(dirs / "an4"), cwd=recipe)
    assert res.returncode == 0 and "10 utterances" in res.stdout, res.stderr
