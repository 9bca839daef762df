"""Wall times of the recipe stages, from the file utils/log.sh appends to (LOG_STAGE_TIMES).

Usage: python -c "from lrspeech.eval.stage_times import read_stage_times as r; \
print(r('exp/stage_times.tsv'))"

Each line is one run of one stage: `stage<TAB>start<TAB>end<TAB>exit status<TAB>what`, the
times in seconds since the epoch. A stage run again (resumed, rerun with --force, or skipped
as complete in a second second) gets a line per run, so the table shows the last run and the
sum of all: the wall time the stage has cost so far.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

logger = logging.getLogger(__name__)


@dataclass
class StageTime:
    """One stage: its runs' durations in order (s), the last run's exit status, what it does."""

    stage: str
    what: str
    seconds: List[float]
    status: int


def read_stage_times(path: Path) -> List[StageTime]:
    """The stages in the order they first ran; malformed lines are skipped with a warning."""
    stages: Dict[str, StageTime] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        try:
            stage, status = fields[0], int(fields[3])
            start, end = float(fields[1]), float(fields[2])
        except (IndexError, ValueError):
            logger.warning("%s:%d: not `stage start end status what`; line skipped", path, n)
            continue
        what = fields[4] if len(fields) > 4 else ""
        entry = stages.setdefault(stage, StageTime(stage, what, [], status))
        entry.seconds.append(max(0.0, end - start))
        entry.status, entry.what = status, what or entry.what
    return list(stages.values())


def format_duration(seconds: float) -> str:
    """2 h 03 min, 12 min 04 s, 7 s."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def times_table(times: List[StageTime]) -> Tuple[List[str], List[List[str]]]:
    """Header and rows: stage, what, last run (with its outcome), all runs, and a total row."""
    header = ["stage", "what", "last run", "all runs"]
    rows = []
    for t in times:
        last = format_duration(t.seconds[-1])
        if t.status != 0:
            last += f" (failed, exit {t.status})"
        runs = format_duration(sum(t.seconds))
        runs += f" ({len(t.seconds)} runs)" if len(t.seconds) > 1 else ""
        rows.append([t.stage, t.what, last, runs])
    total = sum(sum(t.seconds) for t in times)
    rows.append(["total", "", "", format_duration(total)])
    return header, rows
