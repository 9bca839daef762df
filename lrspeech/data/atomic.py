"""Atomic writes: a reader sees the old file/dir or the complete new one, never half of it.

Usage: python -c "import lrspeech.data.atomic as a; a.atomic_write_text('/tmp/x.txt', 'hi\\n')"

Why: recipe stages are resumable and treat an existing output as done, so an output interrupted
mid-write must never exist under its final name. Files are written to a hidden temporary
sibling, fsynced, then renamed (rename is atomic within one file system).
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Collection, Iterator, List


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (the rename itself) to disk where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success it is fsynced and renamed onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_dir(path: Path, replace: Collection[str] = ()) -> Iterator[Path]:
    """Yield an empty temporary sibling dir; on success it replaces `path` in one rename.

    Entries of an existing `path` that the new dir lacks are moved into it (so `.backup/` or
    files the caller does not manage survive), except the names in `replace`, which the new
    dir owns: they are dropped when it does not write them. The old dir is renamed aside and
    deleted only after the new one is in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        for entry in tmp.iterdir():
            if entry.is_file():
                with open(entry, "rb+") as f:
                    os.fsync(f.fileno())
        fsync_dir(tmp)
        _swap_in(tmp, path, set(replace))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def carried_over(tmp: Path, path: Path, replace: Collection[str]) -> List[Path]:
    """Entries of the existing dir `path` that would be moved into the new dir `tmp`."""
    if not path.is_dir():
        return []
    return sorted(
        e for e in path.iterdir() if e.name not in replace and not (tmp / e.name).exists()
    )


def _swap_in(tmp: Path, path: Path, replace: Collection[str]) -> None:
    """Rename `tmp` onto `path`, carrying over the old entries it does not replace."""
    if not path.exists():
        os.rename(tmp, path)
        fsync_dir(path.parent)
        return
    if not path.is_dir():
        msg = f"{path}: exists and is not a directory; remove it or pick another"
        raise NotADirectoryError(msg)
    for entry in carried_over(tmp, path, replace):
        os.rename(entry, tmp / entry.name)
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.rename(path, old / "dir")
    os.rename(tmp, path)
    fsync_dir(path.parent)
    shutil.rmtree(old)
