"""Sentences whose digits the language's text frontend cannot turn into words.

Usage: python -c "from lrspeech.text.digits import unspoken_digits as u; from lrspeech.text.lang \
import LangConfig as L; print(u('Mwaka 1990', L.load('conf/lang/TEMPLATE.yaml')))"

Why: with `number_normalizer: none` a digit reaches the tokens as a symbol of its own. Nobody
says "1"; they say its words, which the TTS then never learns, and a sentence read for dual
transformation or distillation comes out with a garbled stretch where its number was. A
normalizer (`sw`, `en`) spells ASCII digits out, so what it leaves (other scripts' digits) is
the same problem. The check runs the very cleaner the tokenizer runs, so it counts exactly the
digits that would become tokens.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Mapping

from lrspeech.text.cleaners import clean_text
from lrspeech.text.lang import LangConfig

DIGIT_POLICIES = ("drop", "keep")


def unspoken_digits(text: str, cfg: LangConfig) -> str:
    """The digits (Unicode category Nd) left in `text` after the language's cleaner."""
    return "".join(ch for ch in clean_text(text, cfg) if unicodedata.category(ch) == "Nd")


@dataclass
class DigitSplit:
    """Utterance ids of a text table: sentences without unspoken digits, and with them."""

    clean: List[str] = field(default_factory=list)
    with_digits: List[str] = field(default_factory=list)


def split_by_digits(text: Mapping[str, str], cfg: LangConfig) -> DigitSplit:
    """Sort a `utt -> sentence` table into sentences a model can say and the others."""
    out = DigitSplit()
    for utt, sentence in text.items():
        (out.with_digits if unspoken_digits(sentence, cfg) else out.clean).append(utt)
    return out


def describe(split: DigitSplit, text: Dict[str, str], cfg: LangConfig, policy: str,
             name: str, examples: int = 3) -> str:
    """One log line: how many sentences hold unspoken digits and what became of them."""
    total = len(split.clean) + len(split.with_digits)
    normalizer = f"number_normalizer {cfg.number_normalizer}"
    if not split.with_digits:
        return f"{name}: none of {total} sentences has digits left unspoken ({normalizer})"
    shown = "; ".join(f"{u} {_clip(text[u])!r}" for u in split.with_digits[:examples])
    what = (f"dropped (--digits drop), {len(split.clean)} kept" if policy == "drop" else
            "kept (--digits keep): their digits become tokens of their own")
    return (f"{name}: {len(split.with_digits)} of {total} sentences have digits that "
            f"{normalizer} leaves unspoken, {what}; e.g. {shown}")


def _clip(sentence: str, width: int = 60) -> str:
    return sentence if len(sentence) <= width else sentence[: width - 3] + "..."
