"""Atomic file and dir writes: complete or absent, temp files cleaned, extras carried over,
leftovers of killed runs removed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lrspeech.data.atomic import (
    atomic_dir,
    atomic_file,
    atomic_write_bytes,
    atomic_write_text,
    exclusive_lock,
    remove_stale_tmp,
)

REPO = Path(__file__).resolve().parents[2]


def _hidden_temps(folder: Path) -> list:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") and "tmp" in p.name]


def test_write_text_is_complete_with_normal_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "sub" / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    target = tmp_path / "sub" / "a.txt"
    assert target.read_bytes() == "héllo\n".encode("utf-8")
    assert target.stat().st_mode & 0o777 == 0o644
    assert _hidden_temps(tmp_path / "sub") == []


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert _hidden_temps(tmp_path) == []


def test_dir_replaces_and_carries_unmanaged_entries(tmp_path: Path) -> None:
    final = tmp_path / "d"
    (final / ".backup" / "t1").mkdir(parents=True)
    (final / "segments").write_text("stale\n")
    (final / "feats.scp").write_text("mine\n")
    (final / "text").write_text("old\n")
    with atomic_dir(final, replace=("text", "segments")) as tmp:
        (tmp / "text").write_text("new\n")
        assert (final / "text").read_text() == "old\n"  # untouched until the rename
    assert (final / "text").read_text() == "new\n"
    assert not (final / "segments").exists()
    assert (final / "feats.scp").read_text() == "mine\n"
    assert (final / ".backup" / "t1").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert final.stat().st_mode & 0o077 != 0  # not left at mkdtemp's 0700


def test_failed_dir_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "text").write_text("half\n")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_dir_over_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").write_text("x")
    with pytest.raises(NotADirectoryError, match="exists and is not a directory"):
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "text").write_text("new\n")
    assert (tmp_path / "d").read_text() == "x"


def test_dir_without_carry_over_replaces_everything(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with atomic_dir(final, carry_over=False) as tmp:
        assert tmp.name.startswith(f".out.tmp-{os.getpid()}-") and not any(tmp.iterdir())
        (tmp / "new.txt").write_text("new")
        assert (final / "old.txt").exists()  # the old output stays readable while we work
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_interrupt_keeps_previous_dir(tmp_path: Path) -> None:
    final = tmp_path / "feats"
    final.mkdir()
    (final / "good.ark").write_text("complete")
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(final) as tmp:
            (tmp / "good.ark").write_text("half")
            raise KeyboardInterrupt
    assert (final / "good.ark").read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["feats"]


def test_killed_run_leftover_is_cleaned(tmp_path: Path) -> None:
    final = tmp_path / "dump"
    # a real process that wrote a temp dir and was killed with SIGKILL (no cleanup ran)
    code = (
        "import os, signal\n"
        "from lrspeech.data.atomic import atomic_dir\n"
        f"with atomic_dir({str(final)!r}) as tmp:\n"
        "    (tmp / 'x').write_text('partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO)
    assert proc.returncode == -9
    leftovers = list(tmp_path.glob(".dump.tmp-*"))
    assert len(leftovers) == 1 and not final.exists()
    (tmp_path / "dump.tmp-999999999").mkdir()  # the name lrspeech < 0.2 used
    (tmp_path / ".other.tmp-999999999-x").mkdir()  # another output's: not ours to remove
    with atomic_dir(final) as tmp:
        (tmp / "x").write_text("complete")
    assert not leftovers[0].exists()
    assert (final / "x").read_text() == "complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-999999999-x", "dump"]


def test_live_process_tmp_dir_is_left_alone(tmp_path: Path) -> None:
    final = tmp_path / "exp"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as sleeper:
        busy = tmp_path / f".exp.tmp-{sleeper.pid}-abc"
        busy.mkdir()
        dead = tmp_path / ".exp.tmp-999999999-abc-old"
        dead.mkdir()
        assert remove_stale_tmp(final) == 1
        assert busy.exists() and not dead.exists()
        sleeper.kill()


def test_exclusive_lock_makes_a_second_process_wait(tmp_path: Path) -> None:
    """A second process taking the same lock waits until the first has left its block."""
    import time

    lock, started, ended = tmp_path / "x.lock", tmp_path / "started", tmp_path / "ended"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path\n"
        "from lrspeech.data.atomic import exclusive_lock\n"
        "with exclusive_lock(Path(sys.argv[1])):\n"
        "    Path(sys.argv[2]).touch(); time.sleep(0.5); Path(sys.argv[3]).touch()\n"),
        str(lock), str(started), str(ended)])
    deadline = time.time() + 30
    while not started.exists() and time.time() < deadline and holder.poll() is None:
        time.sleep(0.02)
    assert started.exists()
    with exclusive_lock(lock):
        assert ended.exists()  # taken only once the holder had finished its block
    assert holder.wait(timeout=30) == 0
