"""CTC alignment scores: their distribution, and the threshold that leaves mismatched pairs out.

Usage: python -c "from lrspeech.pipeline.align_scores import select_by_score as s; \
print(s({'a': -0.1, 'b': -0.12, 'c': -3.0}, 'auto').low_score)"

The score of an utterance is the mean log posterior per ASR frame of its best CTC path
(`lrspeech.pipeline.align`); a transcript that does not match its audio scores far below its
corpus. The threshold is chosen on the corpus' own distribution (`auto`), or given.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from lrspeech.errors import InputError

LOW_SCORE = "low_score"  # skip reason: aligned, but below the threshold


def score_distribution(scores: Mapping[str, float], bins: int = 8) -> Dict[str, Any]:
    """Count, quantiles and a histogram of alignment scores (for reports and thresholds)."""
    if not scores:
        return {"n": 0}
    x = np.asarray(sorted(scores.values()), dtype=np.float64)
    q = np.percentile(x, [0, 5, 25, 50, 75, 95, 100])
    counts, edges = np.histogram(x, bins=bins)
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    out: Dict[str, Any] = {"n": int(len(x)), "mean": round(float(x.mean()), 4)}
    out.update({k: round(float(v), 4) for k, v in zip(keys, q)})
    out["histogram"] = [
        {"from": round(float(a), 4), "to": round(float(b), 4), "count": int(c)}
        for a, b, c in zip(edges[:-1], edges[1:], counts)
    ]
    return out


def auto_min_score(scores: Mapping[str, float], k: float = 4.0, margin: float = 0.2) -> float:
    """Robust outlier threshold: median - max(k * 1.4826 * MAD, margin).

    The scale of the score depends on how sure the ASR is, so a fixed value would keep
    everything with one ASR and drop everything with another; outliers of the corpus' own
    distribution are the transcripts that do not match their audio. The margin keeps a very
    tight distribution (an ASR that saw these clips) from cutting good pairs: measured with
    such an ASR on 12 Swahili clips, right transcripts scored -0.01 to -0.13, the same with
    one word replaced -0.33 to -1.7, another clip's transcript -2.9 to -6.0.
    """
    x = np.asarray(list(scores.values()), dtype=np.float64)
    if len(x) == 0:
        return -np.inf
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med)))
    return med - max(k * 1.4826 * mad, margin)


def resolve_min_score(min_score: Union[None, str, float], scores: Mapping[str, float]) -> float:
    """None or "none": keep all; "auto": `auto_min_score`; a number: that threshold."""
    if min_score is None or min_score == "none":
        return -np.inf
    if isinstance(min_score, str):
        if min_score == "auto":
            return auto_min_score(scores)
        try:
            return float(min_score)
        except ValueError:
            raise InputError(
                f"min_score {min_score!r}: give a number (mean log posterior per frame, <= 0), "
                "'auto' or none"
            ) from None
    return float(min_score)


@dataclass
class Selection:
    """Which aligned utterances a threshold keeps: `min_score` as given, the value it gave."""

    min_score: Optional[str]
    threshold: float
    kept: List[str]
    low_score: Dict[str, float]

    def summary(self) -> Dict[str, Any]:
        finite = bool(np.isfinite(self.threshold))
        return {"min_score": self.min_score,
                "threshold": round(self.threshold, 4) if finite else None,
                "kept": len(self.kept), "low_score": len(self.low_score)}


def select_by_score(scores: Mapping[str, float], min_score: Union[None, str, float]) -> Selection:
    """Keep the utterances whose score reaches `min_score` (see `resolve_min_score`)."""
    threshold = resolve_min_score(min_score, scores)
    kept = sorted(u for u, s in scores.items() if s >= threshold)
    low = {u: float(s) for u, s in sorted(scores.items()) if s < threshold}
    given = None if min_score is None else str(min_score)
    return Selection(given, float(threshold), kept, low)
