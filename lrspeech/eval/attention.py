"""Attention-quality scores of TTS alignments: WCR, ADR and focus rate.

Usage: python -c "import numpy as n; from lrspeech.eval.attention import adr; print(adr(n.eye(5)))"

All functions take an attention matrix A of shape (S frames, T tokens) whose rows sum to 1
(a decoder step's distribution over input tokens), as ESPnet's `Text2Speech` returns it.
LRSpeech filters knowledge-distillation pairs with two of them:

- word coverage ratio, WCR = min over words w of max over (frames s, tokens t in w) A[s, t]:
  a word that no frame attends to strongly was skipped (or mumbled);
- attention diagonal ratio, ADR = attention mass inside the band |s - k t| <= b around the
  diagonal (k = S / T), divided by the total mass: low when attention stalls, jumps back
  or repeats. Frames and tokens are compared at their centres, (s + 1/2) and k (t + 1/2).
  The band b defaults to 10% of the frames, and never less than one token's width k:
  wide enough for natural changes of speaking rate and pauses, narrow enough that a
  repeated or skipped phrase falls outside it.

Focus rate (mean over frames of the largest attention weight) is the score ESPnet uses to
pick the most diagonal head; it is reported for reference.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

SPACE = "<space>"
DEFAULT_BAND_RATIO = 0.1
DEFAULT_IGNORE = ("<sos/eos>", "<blank>", "<unk>")

Span = Tuple[int, int]


def _check(att: np.ndarray) -> np.ndarray:
    a = np.asarray(att, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(
            f"attention must be a non-empty (frames, tokens) matrix, got shape {a.shape}; "
            "pick one head with select_head() first"
        )
    return a


def word_spans(
    tokens: Sequence[str],
    separator: str = SPACE,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    keep_separators: bool = True,
) -> List[Span]:
    """[start, end) token index ranges of the words of a `<space>`-separated token sequence.

    Indices refer to columns of the attention matrix, so with `keep_separators` (the
    default) the `<space>` tokens are columns too and the spans skip over them; set it to
    False when the model's input had no separator tokens. Tokens in `ignore` (e.g. a final
    `<sos/eos>` column) belong to no word.
    """
    spans: List[Span] = []
    start: Optional[int] = None
    col = 0
    for tok in tokens:
        if tok == separator or tok in ignore:
            if start is not None:
                spans.append((start, col))
                start = None
            if tok in ignore or keep_separators:
                col += 1
            continue
        if start is None:
            start = col
        col += 1
    if start is not None:
        spans.append((start, col))
    return spans


def wcr(att: np.ndarray, spans: Sequence[Span]) -> float:
    """Word coverage ratio: the weakest word's strongest attention weight."""
    a = _check(att)
    if not spans:
        raise ValueError("wcr needs at least one word span; derive them with word_spans()")
    best = []
    for start, end in spans:
        if not 0 <= start < end <= a.shape[1]:
            raise ValueError(
                f"word span [{start}, {end}) is outside the {a.shape[1]} attention columns; "
                "the tokens do not match the attention matrix"
            )
        best.append(float(a[:, start:end].max()))
    return min(best)


def default_band(frames: int, tokens: int, ratio: float = DEFAULT_BAND_RATIO) -> float:
    """b = max(ratio * S, k) frames with k = S / T."""
    return max(ratio * frames, frames / tokens)


def diagonal_mask(frames: int, tokens: int, band: float) -> np.ndarray:
    """Boolean (S, T) mask of |(s + 1/2) - k (t + 1/2)| <= b."""
    k = frames / tokens
    s = np.arange(frames)[:, None] + 0.5
    t = np.arange(tokens)[None, :] + 0.5
    return np.abs(s - k * t) <= band


def adr(att: np.ndarray, band: Optional[float] = None) -> float:
    """Attention diagonal ratio; `band` b in frames (default: see module docstring)."""
    a = _check(att)
    total = a.sum()
    if total <= 0:
        return 0.0
    frames, tokens = a.shape
    b = default_band(frames, tokens) if band is None else float(band)
    return float(a[diagonal_mask(frames, tokens, b)].sum() / total)


def focus_rate(att: np.ndarray) -> float:
    """Mean over frames of the largest attention weight of the frame."""
    return float(_check(att).max(axis=1).mean())


def select_head(att: np.ndarray) -> np.ndarray:
    """One (frames, tokens) matrix from stacked heads/layers: the one with the best focus rate.

    ESPnet returns (S, T) for Tacotron2 and (layers, heads, S, T) for Transformer-TTS; the
    most focused head is the one that learned the alignment (as ESPnet's DurationCalculator).
    """
    a = np.asarray(att, dtype=np.float64)
    if a.ndim == 2:
        return a
    if a.ndim < 2:
        raise ValueError(f"attention must have at least 2 dims (frames, tokens), got {a.shape}")
    heads = a.reshape(-1, a.shape[-2], a.shape[-1])
    return heads[int(np.argmax([focus_rate(h) for h in heads]))]


def attention_scores(
    att: np.ndarray, tokens: Sequence[str], band: Optional[float] = None
) -> Dict[str, float]:
    """WCR, ADR and focus rate of one utterance; `tokens` are the attention's columns."""
    a = select_head(att)
    if len(tokens) != a.shape[1]:
        raise ValueError(
            f"{len(tokens)} tokens but the attention has {a.shape[1]} columns; pass the token "
            "sequence the model read (with <space> and a final <sos/eos> if it had them)"
        )
    return {"wcr": wcr(a, word_spans(tokens)), "adr": adr(a, band), "focus_rate": focus_rate(a)}
