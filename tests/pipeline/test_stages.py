"""Tests for lrspeech.pipeline.stages and its CLI lrspeech.bin.stage_marker."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrspeech.bin import stage_marker
from lrspeech.pipeline.stages import (
    clear_done,
    inputs_fingerprint,
    mark_done,
    read_marker,
    stage_done,
)

REPO = Path(__file__).resolve().parents[2]


def test_mark_then_done_and_marker_content(tmp_path: Path) -> None:
    assert not stage_done(tmp_path, "stage3")
    fp = inputs_fingerprint([], {"fs": 16000})
    path = mark_done(tmp_path, "stage3", {"utts": 12}, fingerprint=fp, command="run.sh --stage 3")
    assert path == tmp_path / ".done" / "stage3.json"
    marker = json.loads(path.read_text())
    assert marker["name"] == "stage3" and marker["fingerprint"] == fp
    assert marker["command"] == "run.sh --stage 3" and marker["info"] == {"utts": 12}
    assert marker["time"][:2] == "20"
    assert stage_done(tmp_path, "stage3") and stage_done(tmp_path, "stage3", fp)
    assert [p.name for p in path.parent.iterdir()] == ["stage3.json"]  # no temp file left
    assert clear_done(tmp_path, "stage3") and not clear_done(tmp_path, "stage3")
    assert not stage_done(tmp_path, "stage3")


def test_changed_inputs_invalidate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "text").write_text("u1 hello\n")
    (tmp_path / "lang.yaml").write_text("token_type: phn\n")
    inputs = [data, tmp_path / "lang.yaml"]
    fp = inputs_fingerprint(inputs, {"nj": 4})
    mark_done(tmp_path / "exp", "tokens", fingerprint=fp)
    assert stage_done(tmp_path / "exp", "tokens", inputs_fingerprint(inputs, {"nj": 4}))
    (data / "text").write_text("u1 hellO\n")  # same size, other content
    assert not stage_done(tmp_path / "exp", "tokens", inputs_fingerprint(inputs, {"nj": 4}))
    (data / "text").write_text("u1 hello\n")
    assert inputs_fingerprint(inputs, {"nj": 4}) == fp
    assert inputs_fingerprint(inputs, {"nj": 8}) != fp  # options count
    (data / "utt2spk").write_text("u1 s1\n")  # a new file in an input dir counts
    assert inputs_fingerprint(inputs, {"nj": 4}) != fp


def test_fingerprint_is_content_not_location(tmp_path: Path) -> None:
    """A recipe or checkout that moves keeps its markers; the inputs' order still counts."""
    for where in ("a", "b"):
        (tmp_path / where / "data").mkdir(parents=True)
        (tmp_path / where / "data" / "text").write_text("u1 hello\n")
        (tmp_path / where / "lang.yaml").write_text("token_type: phn\n")
    a = [tmp_path / "a" / "data", tmp_path / "a" / "lang.yaml"]
    b = [tmp_path / "b" / "data", tmp_path / "b" / "lang.yaml"]
    assert inputs_fingerprint(a) == inputs_fingerprint(b)
    assert inputs_fingerprint(a) != inputs_fingerprint(a[::-1])
    assert inputs_fingerprint(a, with_paths=True) != inputs_fingerprint(b, with_paths=True)
    (tmp_path / "b" / "data" / "text.1").write_text("")  # names inside an input dir count
    assert inputs_fingerprint(a) != inputs_fingerprint(b)


def test_cli_accepts_markers_of_the_older_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x\n")
    inputs = [str(tmp_path / "in.txt")]
    legacy = inputs_fingerprint(inputs, with_paths=True)
    mark_done(tmp_path / "exp", "s1", fingerprint=legacy)
    check = ["check", "--dir", str(tmp_path / "exp"), "--name", "s1", "--inputs", *inputs]
    assert stage_marker.main(check) == 0
    (tmp_path / "in.txt").write_text("y\n")
    assert stage_marker.main(check) == 1


def test_fingerprint_missing_path_and_large_file(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "later.txt"
    before = inputs_fingerprint([missing])
    missing.write_text("")
    assert inputs_fingerprint([missing]) != before
    import lrspeech.pipeline.stages as stages

    monkeypatch.setattr(stages, "CONTENT_HASH_LIMIT", 4)
    big = tmp_path / "big.bin"
    big.write_bytes(b"0123456789")
    fp = inputs_fingerprint([big])
    os.utime(big, ns=(1, 2_000_000_000))
    assert inputs_fingerprint([big]) != fp  # large files count by size and mtime


def test_empty_input_is_a_value_not_the_current_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    fp = inputs_fingerprint(["", "data"])
    (tmp_path / "log.txt").write_text("changes all the time")
    assert inputs_fingerprint(["", "data"]) == fp
    assert inputs_fingerprint([".", "data"]) != fp


def test_fingerprint_ignores_markers_inside_inputs(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    fp = inputs_fingerprint([tmp_path])
    mark_done(tmp_path, "self")
    assert inputs_fingerprint([tmp_path]) == fp


def test_corrupt_marker_counts_as_not_done(tmp_path: Path, caplog) -> None:
    (tmp_path / ".done").mkdir()
    (tmp_path / ".done" / "s.json").write_text("{half")
    assert read_marker(tmp_path, "s") is None and not stage_done(tmp_path, "s")
    assert "unreadable stage marker" in caplog.text


def test_bad_marker_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'a/b' is not a plain file name"):
        mark_done(tmp_path, "a/b")


def run_cli(*argv: str) -> int:
    return stage_marker.main(list(argv))


def test_cli_check_mark_clear(tmp_path: Path) -> None:
    data = tmp_path / "text"
    data.write_text("a b\n")
    args = ["--dir", str(tmp_path / "exp"), "--name", "s3", "--inputs", str(data)]
    assert run_cli("check", *args, "--option", "fs=16000") == 1
    assert run_cli("mark", *args, "--option", "fs=16000", "--command", "run.sh --stage 3") == 0
    assert run_cli("check", *args, "--option", "fs=16000") == 0
    assert run_cli("check", *args, "--option", "fs=22050") == 1
    marker = read_marker(tmp_path / "exp", "s3")
    assert marker["info"] == {"inputs": [str(data)], "options": {"fs": "16000"}}
    assert marker["command"] == "run.sh --stage 3"
    data.write_text("a c\n")
    assert run_cli("check", *args, "--option", "fs=16000") == 1
    assert run_cli("clear", *args) == 0
    assert read_marker(tmp_path / "exp", "s3") is None


def test_cli_from_shell_records_caller(tmp_path: Path) -> None:
    script = (
        f"{sys.executable} -m lrspeech.bin.stage_marker mark --dir {tmp_path} --name s1 && "
        f"{sys.executable} -m lrspeech.bin.stage_marker check --dir {tmp_path} --name s1"
    )
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert read_marker(tmp_path, "s1")["command"].startswith("bash -c ")


def test_cli_usage_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        run_cli("mark", "--dir", str(tmp_path), "--name", "s", "--option", "novalue")
    assert err.value.code == 2
    assert "--option 'novalue': expected key=value" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli("check", "--dir", str(tmp_path), "--name", "../x")
    assert "is not a plain file name" in capsys.readouterr().err
