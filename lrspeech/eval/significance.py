"""Paired bootstrap intervals for the difference of two systems' corpus rates (same utterances).

Usage: python -m lrspeech.eval.significance --a exp/eval/finetune/asr_score/score.json \
    --b exp/eval/dt_round1/asr_score/score.json --metric char

A corpus rate is a ratio of sums (errors over reference characters, correct words over
reference words), so the utterances are resampled with replacement and the ratio recomputed
for both systems on the same sample: the spread of `rate(b) - rate(a)` shows whether a
difference between two stages is larger than what the choice of dev utterances alone gives.
Inputs are the per-utterance counts that `lrspeech.eval.scoring` (score.json) and
`lrspeech.bin.eval_ir` (ir_utts.tsv) write.
"""

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from lrspeech.eval.inputs import EvalInputError

Counts = Mapping[str, Tuple[float, float]]  # utt -> (numerator, denominator)


@dataclass(frozen=True)
class Difference:
    """rate(b) - rate(a) on the common utterances, with its bootstrap interval."""

    diff: float
    low: float
    high: float
    num_utts: int
    level: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def describe(self) -> str:
        """In percentage points: 'diff [low, high]'."""
        return f"{100 * self.diff:+.1f} [{100 * self.low:+.1f}, {100 * self.high:+.1f}]"


def paired_bootstrap(a: Counts, b: Counts, n_resamples: int = 2000, level: float = 0.95,
                     seed: int = 0) -> Difference:
    """Bootstrap interval of rate(b) - rate(a), utterances resampled jointly for both systems."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level} must be in (0, 1)")
    utts = sorted(set(a) & set(b))
    if not utts:
        raise EvalInputError("the two systems share no utterance; score them on the same dev set")
    arr = np.array([[a[u][0], a[u][1], b[u][0], b[u][1]] for u in utts], dtype=np.float64)
    if arr[:, 1].sum() <= 0 or arr[:, 3].sum() <= 0:
        raise EvalInputError("the denominators sum to 0 (empty references?)")
    diff = arr[:, 2].sum() / arr[:, 3].sum() - arr[:, 0].sum() / arr[:, 1].sum()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(utts), size=(n_resamples, len(utts)))
    sums = arr[idx].sum(axis=1)  # (n_resamples, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = sums[:, 2] / sums[:, 3] - sums[:, 0] / sums[:, 1]
    diffs = diffs[np.isfinite(diffs)]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return Difference(float(diff), float(low), float(high), len(utts), level)


def score_counts(path: Path, metric: str = "char") -> Dict[str, Tuple[float, float]]:
    """Per-utterance (errors, reference length) from a score.json of lrspeech.eval.scoring."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "utts" not in data:
        raise EvalInputError(f"{path}: no per-utterance scores; rescore with "
                             "lrspeech.bin.score_asr (it writes 'utts')")
    return {u["utt"]: (float(u[metric]["err"]), float(u[metric]["ref_len"])) for u in data["utts"]}


IR_COLUMNS = {"ir": ("words_correct", "ref_words"), "judge_char": ("char_errors", "ref_chars")}


def ir_counts(path: Path, metric: str = "ir") -> Dict[str, Tuple[float, float]]:
    """Per-utterance counts from eval_ir's ir_utts.tsv: `ir` (correct words, reference words)
    or `judge_char` (the judge's character errors, reference characters)."""
    num, den = IR_COLUMNS[metric]
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and not {"utt", num, den} <= set(rows[0]):
        raise EvalInputError(f"{path}: no columns {num}, {den}; rerun lrspeech.bin.eval_ir "
                             "(it writes them)")
    return {r["utt"]: (float(r[num]), float(r[den])) for r in rows}


def load_counts(path: Path, metric: str) -> Dict[str, Tuple[float, float]]:
    """Per-utterance counts of `metric`: char/word from a score.json, ir/judge_char from an
    ir_utts.tsv."""
    return ir_counts(path, metric) if metric in IR_COLUMNS else score_counts(path, metric)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", type=Path, required=True, help="system A: score.json or ir_utts.tsv")
    p.add_argument("--b", type=Path, required=True, help="system B (same kind of file)")
    p.add_argument("--metric", choices=("char", "word", "ir", "judge_char"), default="char",
                   help="char/word: score.json error rates; ir, judge_char: ir_utts.tsv")
    p.add_argument("--n_resamples", type=int, default=2000)
    p.add_argument("--level", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    d = paired_bootstrap(load_counts(a.a, a.metric), load_counts(a.b, a.metric), a.n_resamples,
                         a.level, a.seed)
    print(f"{a.metric}: B - A = {d.describe()} points ({d.num_utts} utts), "
          f"{100 * a.level:.0f}% interval{'' if d.excludes_zero else ' (includes 0)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
