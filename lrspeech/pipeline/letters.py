"""Which letters of a written word each of its phones reads: a monotonic letter-phone alignment.

Usage: python -c "from lrspeech.pipeline.letters import align_letters; \
print(align_letters('hicho', ['h', 'i', 'tʃ', 'o']))"

Why: the recipe's ASR spells (characters or BPE pieces) while its TTS reads phonemes, so a CTC
alignment times letters, not phones. Within a word the letters' emission times still say where
each sound sits; this module says which letters make which phone, so that
`lrspeech.pipeline.durations` can cut a word at the letter boundaries between its phones instead
of sharing the word's frames out equally.

How: an edit-distance alignment of the word's letters to its phones. A letter and a phone match
(cost 0) when the letter is one the phone is commonly spelled with in Latin script (the phone's
own base letter after dropping diacritics, or an entry of `SPELLINGS`); any other pairing costs
1, and so does a letter no phone reads (the second letter of a digraph: "ch" -> tʃ) or a phone no
letter spells. A letter left unread joins the phone before it (the first phone if none), so every
letter belongs to a phone; a phone without letters shares its neighbour's time. Scripts other
than Latin match nothing and fall back to an even, in-order spread of letters over phones.
"""

from __future__ import annotations

import unicodedata
from typing import Dict, FrozenSet, List, Sequence

# Latin letters that commonly spell an IPA symbol (besides its own base letter).
SPELLINGS: Dict[str, str] = {
    "ɡ": "g", "ɟ": "jg", "j": "yij", "ŋ": "ng", "ɲ": "ny", "ʃ": "sc", "ʒ": "zjsg", "θ": "t",
    "ð": "dt", "ɣ": "gh", "x": "hk", "χ": "hk", "ħ": "h", "ç": "h", "ʔ": "'", "ɛ": "e", "e": "eé",
    "ɔ": "o", "o": "o", "ə": "eauio", "ɐ": "a", "æ": "a", "ɑ": "a", "ʌ": "uo", "ɪ": "iy",
    "i": "iy", "ʊ": "uo", "ɨ": "iu", "ɯ": "u", "y": "uy", "ø": "o", "œ": "o", "ɹ": "r", "ɾ": "r",
    "ʁ": "r", "ɻ": "r", "ɫ": "l", "ɬ": "l", "β": "bv", "ɸ": "f", "ʋ": "vw", "ɥ": "u", "c": "ck",
    "k": "kcq", "s": "sc", "z": "zs", "w": "wu", "ts": "tcz", "tʃ": "c", "dʒ": "jg", "dz": "dz",
    "ɓ": "b", "ɗ": "d", "ʄ": "j", "ɠ": "g", "ŋɡ": "n",
}


def _base(text: str) -> str:
    """Lower-case letters of `text` without combining marks (m̩ -> m, é -> e)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spellings(phone: str) -> FrozenSet[str]:
    """Latin letters that can spell `phone` ("tʃ" -> c, t, ʃ's s and c; "m̩" -> m)."""
    base = _base(phone).replace("ː", "").replace("ˑ", "")
    out = set(SPELLINGS.get(base, ""))
    for ch in base:
        out.add(ch)
        out.update(SPELLINGS.get(ch, ""))
    return frozenset(c for c in out if c.isalpha() or c == "'")


def _matches(letters: Sequence[str], phones: Sequence[str]) -> List[List[bool]]:
    """match[i][j]: letter i is one that can spell phone j."""
    spell = [spellings(p) for p in phones]
    bases = [_base(c) for c in letters]
    return [[bool(b) and b in sp for sp in spell] for b in bases]


def _table(match: List[List[bool]]) -> List[List[float]]:
    """Edit-distance table of letters (rows) against phones (columns)."""
    n, m = len(match), len(match[0])
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = float(i)
    for j in range(1, m + 1):
        cost[0][j] = float(j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            pair = 0.0 if match[i - 1][j - 1] else 1.0
            cost[i][j] = min(cost[i - 1][j - 1] + pair, cost[i - 1][j] + 1.0, cost[i][j - 1] + 1.0)
    return cost


def align_letters(letters: Sequence[str], phones: Sequence[str]) -> List[List[int]]:
    """For each phone, the (ascending, contiguous) indices of the letters it reads.

    Every letter is in exactly one list; a list may be empty (a phone no letter spells). With
    no letters every list is empty.
    """
    n, m = len(letters), len(phones)
    groups: List[List[int]] = [[] for _ in range(m)]
    if n == 0 or m == 0:
        return groups
    match = _matches(letters, phones)
    if not any(any(row) for row in match):
        for k in range(n):  # nothing to go by: the letters in order, spread evenly
            groups[k * m // n].append(k)
        return groups
    cost = _table(match)
    owner = [-1] * n  # the phone that reads each letter; -1: no phone (joins a neighbour)
    i, j = n, m
    while i > 0 and j > 0:
        pair = 0.0 if match[i - 1][j - 1] else 1.0
        if cost[i][j] == cost[i - 1][j - 1] + pair:
            owner[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1.0:
            i -= 1
        else:
            j -= 1
    last = next((o for o in owner if o >= 0), 0)
    for k in range(n):  # an unread letter joins the phone before it (the first one at the start)
        if owner[k] < 0:
            owner[k] = last
        last = owner[k]
    for k, o in enumerate(owner):
        groups[o].append(k)
    return groups
