"""Atomic file and dir writes: complete or absent, temp files cleaned, extras carried over."""

import os
from pathlib import Path

import pytest

from lrspeech.data.atomic import atomic_dir, atomic_file, atomic_write_bytes, atomic_write_text


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
