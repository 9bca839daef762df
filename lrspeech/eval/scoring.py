"""CER and WER with substitutions, deletions and insertions, per utterance and in total.

Usage: python -c "from lrspeech.eval.scoring import score_corpus as s; print(s({'u': 'a'}, {}).wer)"

Both sides go through `normalize_for_scoring` (lower case, no punctuation, numbers expanded
with a language config) before alignment, so "Covid 19!" and "covid nineteen" match.
Characters follow ESPnet's CER convention: word boundaries count as a `<space>` token, so a
split or merged word costs one character error. Rates are fractions (0.25 = 25%); a total
rate divides all errors (insertions included, so it can exceed 1) by the reference tokens.
"""

import logging
from dataclasses import dataclass, field
from typing import List, Mapping, Optional

from lrspeech.eval.align import AlignedPair, ErrorCounts, align, count
from lrspeech.eval.inputs import EvalInputError
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

SPACE = "<space>"


def word_tokens(text: str) -> List[str]:
    """Words of a normalized text."""
    return text.split()


def char_tokens(text: str) -> List[str]:
    """Characters of a normalized text, word boundaries as `<space>`."""
    return [SPACE if ch == " " else ch for ch in " ".join(text.split())]


@dataclass(frozen=True)
class UttScore:
    """One utterance: normalized texts, word and character alignments, and their counts."""

    utt: str
    ref: str
    hyp: str
    words: List[AlignedPair]
    chars: List[AlignedPair]

    @property
    def word(self) -> ErrorCounts:
        return count(self.words)

    @property
    def char(self) -> ErrorCounts:
        return count(self.chars)

    def to_dict(self) -> dict:
        return {
            "utt": self.utt,
            "ref": self.ref,
            "hyp": self.hyp,
            "word": self.word.to_dict(),
            "char": self.char.to_dict(),
        }


@dataclass
class CorpusScore:
    """All utterances of a test set; totals sum the per-utterance counts."""

    utts: List[UttScore] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)

    @property
    def word(self) -> ErrorCounts:
        return sum((u.word for u in self.utts), ErrorCounts())

    @property
    def char(self) -> ErrorCounts:
        return sum((u.char for u in self.utts), ErrorCounts())

    @property
    def wer(self) -> Optional[float]:
        return self.word.rate

    @property
    def cer(self) -> Optional[float]:
        return self.char.rate

    @property
    def sentence_error_rate(self) -> Optional[float]:
        """Share of utterances with at least one word error."""
        if not self.utts:
            return None
        return sum(1 for u in self.utts if u.word.errors) / len(self.utts)

    def to_dict(self, with_utts: bool = True) -> dict:
        out = {
            "cer": self.cer,
            "wer": self.wer,
            "sentence_error_rate": self.sentence_error_rate,
            "num_utts": len(self.utts),
            "missing_hyps": list(self.missing),
            "word": self.word.to_dict(),
            "char": self.char.to_dict(),
        }
        if with_utts:
            out["utts"] = [u.to_dict() for u in self.utts]
        return out


def score_utterance(utt: str, ref: str, hyp: str, cfg: Optional[LangConfig] = None) -> UttScore:
    """Normalize both texts and align them by words and by characters."""
    ref_n = normalize_for_scoring(ref, cfg)
    hyp_n = normalize_for_scoring(hyp, cfg)
    words = align(word_tokens(ref_n), word_tokens(hyp_n))
    chars = align(char_tokens(ref_n), char_tokens(hyp_n))
    return UttScore(utt, ref_n, hyp_n, words, chars)


def score_corpus(
    refs: Mapping[str, str], hyps: Mapping[str, str], cfg: Optional[LangConfig] = None
) -> CorpusScore:
    """Score every reference utterance; one without a hypothesis counts as all deletions.

    A hypothesis for an utterance the reference lacks is an error (wrong reference file).
    """
    extra = sorted(set(hyps) - set(refs))
    if extra:
        shown = ", ".join(repr(u) for u in extra[:5])
        raise EvalInputError(
            f"{len(extra)} hypothesis utterance(s) have no reference ({shown}); score against "
            "the text of the data dir that was decoded"
        )
    score = CorpusScore()
    for utt in sorted(refs):
        if utt not in hyps:
            score.missing.append(utt)
        score.utts.append(score_utterance(utt, refs[utt], hyps.get(utt, ""), cfg))
    if score.missing:
        logger.warning(
            "%d utterance(s) have no hypothesis and count as all deletions (first: %s)",
            len(score.missing),
            score.missing[0],
        )
    return score


def percent(rate: Optional[float]) -> str:
    """A rate as `12.34%`, or `n/a` when undefined."""
    return "n/a" if rate is None else f"{100.0 * rate:.2f}%"
