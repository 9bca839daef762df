"""Repair a data dir: drop broken utterances, sort files, regenerate spk2utt; keep a backup.

Usage: python -m lrspeech.bin.fix_data_dir data/paired_hq  # CLI over fix_data_dir() below

Every problem `lrspeech.data.validate.find_problems` reports is either repairable by rewriting
(order, repeated identical lines, spk2utt, a recording no segment uses) or makes an utterance
unusable (missing/unreadable audio, empty transcript, no partner in another file, ...); those
utterances are dropped and each one is reported with its reason. The old files are kept in
`<dir>/.backup/<timestamp>/` (with `dropped.tsv`) and the new dir replaces the old one in a
single rename, so an interruption never leaves a half-fixed dir.
"""

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import MANAGED_FILES, DataDir, datadir_files, save_datadir
from lrspeech.data.errors import DROP_KINDS, DataDirError, Problem
from lrspeech.data.ops import restrict
from lrspeech.data.validate import find_problems

logger = logging.getLogger(__name__)

BACKUP_DIR = ".backup"


@dataclass
class FixReport:
    """What fix_data_dir did: dropped utterances with reasons, repairs, the backup dir."""

    path: Path
    kept: int
    dropped: Dict[str, str] = field(default_factory=dict)
    repaired: List[str] = field(default_factory=list)
    backup: Optional[Path] = None

    @property
    def changed(self) -> bool:
        return self.backup is not None

    def summary(self) -> str:
        if not self.changed:
            return f"{self.path}: nothing to fix ({self.kept} utterances)"
        return (f"{self.path}: kept {self.kept} utterances, dropped {len(self.dropped)}, "
                f"repaired {len(self.repaired)} other problems; old files in {self.backup}")


def utterances_to_drop(dd: DataDir, problems: List[Problem]) -> Dict[str, str]:
    """Utterance id -> reason, for the problems that make an utterance unusable."""
    by_recording: Dict[str, List[str]] = {}
    for utt, seg in dd.segments.items():
        by_recording.setdefault(seg.recording, []).append(utt)
    drop: Dict[str, str] = {}
    for p in problems:
        if p.kind not in DROP_KINDS or p.utt_id is None or p.noun == "speaker":
            continue
        utts = by_recording.get(p.utt_id, []) if p.noun == "recording" else [p.utt_id]
        for utt in utts:
            drop.setdefault(utt, f"{p.file}" + (f":{p.line}" if p.line else "") + f": {p.message}")
    return drop


def _on_disk(path: Path) -> Dict[str, bytes]:
    return {n: (path / n).read_bytes() for n in MANAGED_FILES if (path / n).is_file()}


def _backup(path: Path, dropped: Dict[str, str]) -> Path:
    """Copy the managed files into `.backup/<timestamp>/` with a list of what gets dropped."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path / BACKUP_DIR / stamp
    n = 1
    while backup.exists():
        n += 1
        backup = path / BACKUP_DIR / f"{stamp}.{n}"
    backup.mkdir(parents=True)
    for name in MANAGED_FILES:
        if (path / name).is_file():
            shutil.copy2(path / name, backup / name)
    lines = "".join(f"{utt}\t{reason}\n" for utt, reason in sorted(dropped.items()))
    atomic_write_text(backup / "dropped.tsv", lines)
    return backup


def fix_data_dir(
    path: Path, audio_check: str = "full", expected_sr: Optional[int] = None
) -> FixReport:
    """Fix `path` in place (with a backup); see the module docstring."""
    path = Path(path)
    dd, problems = find_problems(path, audio_check, expected_sr)
    dropped = utterances_to_drop(dd, problems)
    drop_set: Set[str] = set(dropped)
    fixed = restrict(dd, (u for u in dd.utt_ids if u not in drop_set))
    report = FixReport(path, kept=len(fixed.utt_ids), dropped=dropped)
    report.repaired = [str(p) for p in problems if p.kind not in DROP_KINDS]
    if not fixed.utt_ids:
        raise DataDirError(problems + [Problem(str(path), None, None,
                                               "would lose every utterance, so nothing was changed",
                                               "fix the problems above by hand")])
    if datadir_files(fixed) == {n: b.decode("utf-8", "replace") for n, b in _on_disk(path).items()}:
        return report
    report.backup = _backup(path, dropped)
    save_datadir(fixed, path)
    for utt, reason in sorted(dropped.items()):
        logger.warning("dropped %s: %s", utt, reason)
    logger.info("%s", report.summary())
    return report
