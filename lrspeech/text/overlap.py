"""Keep held-out sentences out of a language model's text: exact and near-duplicate overlap.

Usage: python -c "from lrspeech.text.overlap import find_overlap; \
print(find_overlap({'a': 'Habari za asubuhi.'}, ['habari za asubuhi']))"

A language model fitted on text that holds the dev or test sentences would make the dev
figures of LM decoding meaningless. Sentences are compared after the scoring normalization
(lower case, no punctuation, numbers expanded, single spaces; `normalize_for_scoring`):

- exact: the same normalized sentence;
- contains: the LM sentence contains a held-out sentence of at least `min_contained` characters
  (a Bible verse that quotes a dev sentence);
- near: the character 4-gram sets of the two sentences have a Jaccard similarity of at least
  `near` (0.8: a word or two differ), for sentences of at least `min_near` characters.
"""

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig

SHINGLE = 4


@dataclass(frozen=True)
class OverlapRules:
    """What counts as overlap (see the module docstring)."""

    near: float = 0.8
    min_near: int = 12
    min_contained: int = 20


def shingles(text: str, n: int = SHINGLE) -> Set[str]:
    """Character n-grams of a normalized sentence (with its word boundaries)."""
    padded = f" {text} "
    return {padded[i:i + n] for i in range(max(len(padded) - n + 1, 1))}


def jaccard(a: Set[str], b: Set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def find_overlap(sentences: Mapping[str, str], held_out: Iterable[str],
                 cfg: Optional[LangConfig] = None,
                 rules: OverlapRules = OverlapRules()) -> Dict[str, str]:
    """The ids of `sentences` that overlap a held-out sentence, with the kind of overlap
    ("exact", "contains" or "near")."""
    held = sorted({normalize_for_scoring(t, cfg) for t in held_out} - {""})
    exact = set(held)
    long_held = [h for h in held if len(h) >= rules.min_contained]
    near_held: List[Tuple[str, Set[str]]] = [(h, shingles(h)) for h in held
                                             if len(h) >= rules.min_near]
    out: Dict[str, str] = {}
    for sid, text in sentences.items():
        norm = normalize_for_scoring(text, cfg)
        if norm in exact:
            out[sid] = "exact"
        elif any(h in norm for h in long_held):
            out[sid] = "contains"
        elif len(norm) >= rules.min_near and near_held:
            mine = shingles(norm)
            # Jaccard >= t needs the sizes within a factor t of each other: skip the rest.
            if any(rules.near * len(s) <= len(mine) <= len(s) / rules.near
                   and jaccard(mine, s) >= rules.near for _, s in near_held):
                out[sid] = "near"
    return out
