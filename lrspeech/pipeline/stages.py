"""Stage completion markers, so that recipe stages can be rerun safely.

Usage: python -c "from lrspeech.pipeline.stages import *; print(inputs_fingerprint(['setup.cfg']))"

Why: a recipe stage is skipped when its marker says it finished with the same inputs. The marker
(`<dir>/.done/<name>.json`) is written only after the outputs are complete, and it records a
fingerprint of the input files and options: editing an input, or running with other options,
makes `stage_done` false again. The recipe's steps (lrspeech.pipeline.steps) build on these
markers; directory outputs are written atomically with lrspeech.data.atomic.atomic_dir.
"""

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Union

from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
MARKER_DIR = ".done"
# Files up to this size are hashed by content; larger ones (audio archives, checkpoints) by size
# and modification time, which is what changes when they are rewritten.
CONTENT_HASH_LIMIT = 16 * 1024 * 1024


def marker_path(dir: PathLike, name: str) -> Path:
    """Where the marker of stage `name` lives under `dir`."""
    if not name or "/" in name or name.startswith("."):
        raise InputError(
            f"stage marker name {name!r} is not a plain file name; use e.g. 'stage3_tokenize'"
        )
    return Path(dir) / MARKER_DIR / f"{name}.json"


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    stat = path.stat()
    h.update(f"size={stat.st_size}\n".encode())
    if stat.st_size > CONTENT_HASH_LIMIT:
        h.update(f"mtime_ns={stat.st_mtime_ns}\n".encode())
        return
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def _hash_path(h: "hashlib._Hash", path: Path, with_path: bool = False) -> None:
    """Feed one input into the hash: file content, every file of a dir, or 'missing'."""
    h.update(f"path={path}\n".encode() if with_path else b"input\n")
    if path.is_file():
        _hash_file(h, path)
    elif path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if MARKER_DIR in child.relative_to(path).parts:
                continue
            h.update(f"file={child.relative_to(path).as_posix()}\n".encode())
            _hash_file(h, child)
    else:
        h.update(b"missing\n")


def inputs_fingerprint(
    paths: Iterable[PathLike], options: Optional[Mapping[str, Any]] = None,
    with_paths: bool = False,
) -> str:
    """SHA-256 over the inputs' content (in the given order) and the JSON of `options`.

    A directory counts as all the files under it (by relative name and content, except `.done`
    markers); a missing path counts as missing, so creating it later changes the fingerprint
    too; an empty string counts as an empty value (shell stages pass unset options as "").
    Where an input lives does not count, so a moved checkout or recipe keeps its markers;
    `with_paths=True` also hashes the path names (markers written before 0.1.1 did).
    """
    h = hashlib.sha256()
    for path in paths:
        if str(path) == "":  # an unset shell option, not the current dir (Path("") is ".")
            h.update(b"path=\nempty\n")
        else:
            _hash_path(h, Path(path), with_paths)
    h.update(json.dumps(dict(options or {}), sort_keys=True, default=str).encode())
    return h.hexdigest()


def read_marker(dir: PathLike, name: str) -> Optional[Dict[str, Any]]:
    """The marker's content, or None when there is none (a corrupt marker counts as none)."""
    path = marker_path(dir, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        logger.warning("%s: unreadable stage marker (%s); the stage will run again", path, err)
        return None
    return data if isinstance(data, dict) else None


def stage_done(dir: PathLike, name: str, fingerprint: Optional[str] = None,
               also: Iterable[str] = ()) -> bool:
    """True when stage `name` has a marker and, if given, its inputs fingerprint matches
    `fingerprint` (or one of `also`, e.g. the fingerprint older markers used)."""
    marker = read_marker(dir, name)
    if marker is None:
        return False
    if fingerprint is not None and marker.get("fingerprint") not in (fingerprint, *also):
        logger.info("%s: inputs or options changed since it ran; not done", marker_path(dir, name))
        return False
    return True


def mark_done(
    dir: PathLike,
    name: str,
    info: Optional[Mapping[str, Any]] = None,
    fingerprint: Optional[str] = None,
    command: Optional[str] = None,
) -> Path:
    """Atomically write `<dir>/.done/<name>.json` (name, time, command, fingerprint, info)."""
    path = marker_path(dir, name)
    record = {
        "name": name,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command if command is not None else " ".join(sys.argv),
        "fingerprint": fingerprint,
        "info": dict(info or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def clear_done(dir: PathLike, name: str) -> bool:
    """Remove the marker of stage `name`; True if there was one."""
    try:
        marker_path(dir, name).unlink()
    except FileNotFoundError:
        return False
    return True
