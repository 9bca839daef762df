"""Utterances a step left out, counted per reason, logged once and written as JSON.

Usage: python -c "from lrspeech.data.skips import Skips; s = Skips(); s.add('u1', 'empty', \
'0 samples'); print(s.to_dict())"

Why: synthetic and pseudo-labelled audio (a weak TTS's output, a clip cut at a pause) can be
empty or shorter than an ASR encoder's subsampling can take. Every step that feeds audio to
an ASR leaves such clips out instead of crashing the stage, and says so: one log line per step
with the count per reason, and a `skipped.json` next to the step's outputs, which the stage
result (and so the report) sums up.
"""

import collections
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Mapping, Union

from lrspeech.data.atomic import atomic_write_text
from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

SKIPPED_JSON = "skipped.json"
FAILED_LIST = "failed"  # a synthesis output dir's `utt text` of the clips that came out empty
EMPTY = "empty"  # no audio at all (0 samples or 0 frames)
TOO_SHORT = "too_short"  # shorter than the ASR encoder's subsampling takes
NEAR_EMPTY = "near_empty"  # a TTS output with at most a frame or so per token
MAX_SHOWN = 5


@dataclass
class Skips:
    """Left-out utterances: reason per utterance and a human-readable detail for each."""

    reasons: Dict[str, str] = field(default_factory=dict)
    details: Dict[str, str] = field(default_factory=dict)

    def add(self, utt: str, reason: str, detail: str = "") -> None:
        """Leave `utt` out for `reason` (a short code such as `too_short`); `detail` says more."""
        self.reasons[utt] = reason
        self.details[utt] = f"{reason}: {detail}" if detail else reason

    def update(self, other: "Skips") -> None:
        self.reasons.update(other.reasons)
        self.details.update(other.details)

    def __len__(self) -> int:
        return len(self.reasons)

    def __contains__(self, utt: object) -> bool:
        return utt in self.reasons

    @property
    def counts(self) -> Dict[str, int]:
        return dict(sorted(collections.Counter(self.reasons.values()).items()))

    def to_dict(self) -> Dict[str, object]:
        return {
            "skipped": len(self),
            "counts": self.counts,
            "utts": {u: self.details[u] for u in sorted(self.reasons)},
        }

    def summary(self) -> str:
        """`3 skipped (empty 1, too_short 2; first: u1: 0 samples, ...)` or `none skipped`."""
        if not self.reasons:
            return "none skipped"
        counts = ", ".join(f"{r} {n}" for r, n in self.counts.items())
        shown = "; ".join(f"{u}: {self.details[u]}" for u in sorted(self.reasons)[:MAX_SHOWN])
        more = f"; and {len(self) - MAX_SHOWN} more" if len(self) > MAX_SHOWN else ""
        return f"{len(self)} skipped ({counts}; {shown}{more})"

    def log(self, what: str) -> None:
        """One warning line for the whole step (nothing when none was skipped)."""
        if self.reasons:
            logger.warning("%s: %s", what, self.summary())

    def write(self, path: Union[str, Path]) -> Path:
        """`skipped.json` (atomically), also when nothing was skipped (zero counts)."""
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path


def read_counts(path: Union[str, Path]) -> Dict[str, int]:
    """Counts per reason of a skipped.json; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the skip record ({err}); rerun the step") from err
    counts = data.get("counts") if isinstance(data, dict) else None
    if not isinstance(counts, dict):
        raise InputError(f"{path}: no 'counts' object; rerun the step that wrote it")
    return {str(k): int(v) for k, v in counts.items()}


def merge_counts(parts: Iterable[Mapping[str, int]]) -> Dict[str, int]:
    """Sum counts per reason."""
    total: collections.Counter = collections.Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


def _step_name(root: Path, path: Path) -> str:
    """`<root name>/<dir of the file>` with run.pl's `split/<job>` parts dropped."""
    parts = list(path.parent.relative_to(root).parts)
    kept = [p for i, p in enumerate(parts)
            if not (p == "split" or (i > 0 and parts[i - 1] == "split"))]
    return "/".join([root.name, *kept])


def collect_counts(roots: Iterable[Union[str, Path]]) -> Dict[str, Dict[str, int]]:
    """Counts per reason of every skipped.json under `roots`, per step, non-zero steps only.

    A step split over run.pl jobs (`<step>/split/<job>/skipped.json`) is summed into one.
    """
    steps: Dict[str, collections.Counter] = {}
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(SKIPPED_JSON)):
            steps.setdefault(_step_name(root, path), collections.Counter()).update(
                read_counts(path))
    return {k: dict(sorted(v.items())) for k, v in sorted(steps.items()) if sum(v.values())}
