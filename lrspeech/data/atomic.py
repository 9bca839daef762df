"""Atomic writes: a reader sees the old file/dir or the complete new one, never half of it.

Usage: python -c "import lrspeech.data.atomic as a; a.atomic_write_text('/tmp/x.txt', 'hi\\n')"

Why: recipe stages are resumable and treat an existing output as done, so an output interrupted
mid-write must never exist under its final name. Files are written to a hidden temporary
sibling, fsynced, then renamed (rename is atomic within one file system). A dir is built in
`.<name>.tmp-<pid>-*`; a run killed mid-way (SIGKILL, no cleanup) leaves that behind, and the
next `atomic_dir` of the same name removes it unless its process still runs.
"""

import errno
import glob
import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Collection, Iterator, List, Optional

logger = logging.getLogger(__name__)


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
def atomic_dir(
    path: Path, replace: Collection[str] = (), carry_over: bool = True
) -> Iterator[Path]:
    """Yield an empty temporary sibling dir; on success it replaces `path` in one rename.

    Entries of an existing `path` that the new dir lacks are moved into it (so `.backup/` or
    files the caller does not manage survive), except the names in `replace`, which the new
    dir owns: they are dropped when it does not write them. `carry_over=False` replaces the
    whole dir (nothing of the old one survives). The old dir is renamed aside and deleted only
    after the new one is in place. On any exception, KeyboardInterrupt included, the temporary
    dir is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_tmp(path)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        for entry in tmp.iterdir():
            if entry.is_file():
                with open(entry, "rb+") as f:
                    os.fsync(f.fileno())
        fsync_dir(tmp)
        _swap_in(tmp, path, set(replace), carry_over)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _tmp_prefix(path: Path) -> str:
    """Temporary siblings of `path` are `.<name>.tmp-<pid>-*`: hidden, and the pid tells
    `remove_stale_tmp` whether their run is still alive."""
    return f".{path.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


def _tmp_pid(name: str, final: str) -> Optional[int]:
    """The pid in a temporary sibling's name (also the `<final>.tmp-<pid>` of lrspeech < 0.2),
    or None when `name` is not one."""
    for prefix in (f".{final}.tmp-", f"{final}.tmp-"):
        if name.startswith(prefix):
            digits = re.match(r"\d+", name[len(prefix):])
            return int(digits.group()) if digits else None
    return None


def remove_stale_tmp(final: Path) -> int:
    """Remove the temporary siblings of `final` left by killed runs; return how many.

    One whose process still runs belongs to a concurrent run and is left alone; one with this
    process's own pid is a leftover of an earlier run that had the same pid (containers reuse
    low pids), since a run writes one output once.
    """
    final = Path(final)
    if not final.parent.is_dir():
        return 0
    removed = 0
    for sibling in sorted(final.parent.glob(f"*{glob.escape(final.name)}.tmp-*")):
        pid = _tmp_pid(sibling.name, final.name)
        if pid is None:
            continue
        if pid != os.getpid() and _pid_alive(pid):
            logger.warning("%s: left alone, process %d still runs", sibling, pid)
            continue
        logger.info("%s: removing the leftover of an interrupted run", sibling)
        _remove(sibling)
        removed += 1
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def carried_over(tmp: Path, path: Path, replace: Collection[str]) -> List[Path]:
    """Entries of the existing dir `path` that would be moved into the new dir `tmp`."""
    if not path.is_dir():
        return []
    return sorted(
        e for e in path.iterdir() if e.name not in replace and not (tmp / e.name).exists()
    )


def _swap_in(tmp: Path, path: Path, replace: Collection[str], carry_over: bool = True) -> None:
    """Rename `tmp` onto `path`, carrying over the old entries it does not replace."""
    if not (path.exists() or path.is_symlink()):
        os.rename(tmp, path)
        fsync_dir(path.parent)
        return
    if not path.is_dir():
        msg = f"{path}: exists and is not a directory; remove it or pick another"
        raise NotADirectoryError(msg)
    carried = carried_over(tmp, path, replace) if carry_over else []
    for entry in carried:
        os.rename(entry, tmp / entry.name)
    old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path), suffix="-old", dir=path.parent))
    try:
        os.rename(path, old / "dir")
        try:
            os.rename(tmp, path)
        except OSError:
            os.rename(old / "dir", path)
            raise
    except OSError:
        for entry in carried:  # give the old dir back what it lent the new one
            os.rename(tmp / entry.name, path / entry.name)
        shutil.rmtree(old)
        raise
    fsync_dir(path.parent)
    shutil.rmtree(old)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the `with` block.

    For work that processes running side by side share and only one must do: the first to
    take the lock does it, the others wait, then find it done. The lock is the OS's (`flock`),
    so a process that dies releases it; the file itself stays, empty.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
