"""Per-metric summaries: mean with a 95% confidence interval from the t-distribution.

Usage: python -c "from lrspeech.eval.stats import summarize; print(summarize({'a': 3.1, 'b': 3.5}))"

MOS-style numbers over a few dozen dev sentences are noisy; a mean without its interval
invites reading differences between stages that are not there. The interval is
mean +- t(0.975, n-1) * s / sqrt(n) with the sample standard deviation s; it is undefined
(None) for fewer than two values.
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, Mapping, Optional

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean, 95% CI half-width, count, and the per-utterance values."""

    mean: Optional[float]
    ci95: Optional[float]
    n: int
    values: Dict[str, float] = field(default_factory=dict)

    def to_dict(self, with_values: bool = True) -> dict:
        out = asdict(self)
        if not with_values:
            out.pop("values")
        return out

    def __str__(self) -> str:
        if self.mean is None:
            return "n/a"
        return f"{self.mean:.3f}" if self.ci95 is None else f"{self.mean:.3f} ± {self.ci95:.3f}"


def ci_half_width(values: np.ndarray, confidence: float = CONFIDENCE) -> Optional[float]:
    """t-distribution half-width of the mean's confidence interval (None for n < 2)."""
    n = len(values)
    if n < 2:
        return None
    sem = float(np.std(values, ddof=1)) / math.sqrt(n)
    return float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * sem)


def summarize(values: Mapping[str, float], confidence: float = CONFIDENCE) -> Summary:
    """Summary of per-utterance values; non-finite values (failed utterances) are left out."""
    kept = {u: float(v) for u, v in values.items() if v is not None and math.isfinite(v)}
    arr = np.array(list(kept.values()), dtype=np.float64)
    mean = float(arr.mean()) if len(arr) else None
    return Summary(mean, ci_half_width(arr, confidence), len(arr), kept)
