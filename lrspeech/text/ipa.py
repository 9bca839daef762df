"""A compact articulatory feature table for IPA symbols and a distance between phones.

Usage: python -c "from lrspeech.text.ipa import phone_distance; print(phone_distance('ɛ', 'e'))"

Consonants are described by place, manner and voicing; vowels by height, backness and
rounding. A phone token is reduced to its base symbols by stripping stress, length,
combining diacritics and modifier letters (ʰ ʲ ʷ ̃ ̩ ...); what was stripped is kept as a set
of modifiers that adds a small penalty, so "a" prefers "a" to "aː" when both exist.
Affricates (tʃ) and diphthongs (aɪ) are sequences of base symbols. The distance is a
weighted feature mismatch: ordered features (place, height, backness) count by how far
apart they are, manner mismatches count less between related manners (plosive/affricate,
tap/trill), and a consonant is never close to a vowel except a semivowel to its vowel
(j ~ i, w ~ u).
"""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Optional, Sequence, Tuple

PLACES = {
    "bilabial": 0.0, "labiodental": 1.0, "dental": 2.0, "alveolar": 3.0, "postalveolar": 4.0,
    "retroflex": 4.5, "alveolopalatal": 5.0, "palatal": 6.0, "velar": 7.0, "uvular": 8.0,
    "pharyngeal": 9.0, "glottal": 10.0,
}
# symbol: place(s, "+" for doubly articulated), manner, voiced (1) or voiceless (0)
_CONSONANT_TABLE = """
p bilabial plosive 0 | b bilabial plosive 1 | t alveolar plosive 0 | d alveolar plosive 1
ʈ retroflex plosive 0 | ɖ retroflex plosive 1 | c palatal plosive 0 | ɟ palatal plosive 1
k velar plosive 0 | ɡ velar plosive 1 | g velar plosive 1 | q uvular plosive 0
ɢ uvular plosive 1 | ʔ glottal plosive 0 | ʡ pharyngeal plosive 0
m bilabial nasal 1 | ɱ labiodental nasal 1 | n alveolar nasal 1 | ɳ retroflex nasal 1
ɲ palatal nasal 1 | ŋ velar nasal 1 | ɴ uvular nasal 1
ʙ bilabial trill 1 | r alveolar trill 1 | ʀ uvular trill 1
ⱱ labiodental tap 1 | ɾ alveolar tap 1 | ɽ retroflex tap 1
ɸ bilabial fricative 0 | β bilabial fricative 1 | f labiodental fricative 0
v labiodental fricative 1 | θ dental fricative 0 | ð dental fricative 1
s alveolar fricative 0 | z alveolar fricative 1 | ʃ postalveolar fricative 0
ʒ postalveolar fricative 1 | ʂ retroflex fricative 0 | ʐ retroflex fricative 1
ɕ alveolopalatal fricative 0 | ʑ alveolopalatal fricative 1 | ç palatal fricative 0
ʝ palatal fricative 1 | x velar fricative 0 | ɣ velar fricative 1 | χ uvular fricative 0
ʁ uvular fricative 1 | ħ pharyngeal fricative 0 | ʕ pharyngeal fricative 1
h glottal fricative 0 | ɦ glottal fricative 1 | ʍ bilabial+velar fricative 0
ɬ alveolar lateral_fricative 0 | ɮ alveolar lateral_fricative 1
ʋ labiodental approximant 1 | ɹ alveolar approximant 1 | ɻ retroflex approximant 1
j palatal approximant 1 | ɰ velar approximant 1 | w bilabial+velar approximant 1
ɥ bilabial+palatal approximant 1 | l alveolar lateral 1 | ɫ alveolar lateral 1
ɭ retroflex lateral 1 | ʎ palatal lateral 1 | ʟ velar lateral 1 | ɺ alveolar lateral 1
ɓ bilabial implosive 1 | ɗ alveolar implosive 1 | ʄ palatal implosive 1
ɠ velar implosive 1 | ʛ uvular implosive 1
ʘ bilabial click 0 | ǀ dental click 0 | ǃ postalveolar click 0 | ǂ palatal click 0
ǁ alveolar click 0
"""
# symbol: height, backness, rounded. Height rows: close 0, near-close 1, close-mid 2, mid 2.5,
# open-mid 3, near-open 4, open 5 (mid sits between the two mid rows instead of adding a row,
# so e and ɛ are one row apart, as languages with one mid vowel treat them). Backness: front 0,
# central 1, back 2; the lax near-close ɪ ʏ ʊ sit half-way toward central.
_VOWEL_TABLE = """
i 0 0 0 | y 0 0 1 | ɨ 0 1 0 | ʉ 0 1 1 | ɯ 0 2 0 | u 0 2 1 | ɪ 1 0.5 0 | ʏ 1 0.5 1 | ᵻ 1 1 0
ʊ 1 1.5 1 | e 2 0 0 | ø 2 0 1 | ɘ 2 1 0 | ɵ 2 1 1 | ɤ 2 2 0 | o 2 2 1 | ə 2.5 1 0 | ɚ 2.5 1 0
ɛ 3 0 0 | œ 3 0 1 | ɜ 3 1 0 | ɝ 3 1 0 | ɞ 3 1 1 | ʌ 3 2 0 | ɔ 3 2 1 | æ 4 0 0 | ɐ 4 1 0
a 5 0 0 | ɶ 5 0 1 | ɑ 5 2 0 | ɒ 5 2 1
"""
LIGATURES = {"ʧ": "tʃ", "ʤ": "dʒ", "ʦ": "ts", "ʣ": "dz", "ʨ": "tɕ", "ʥ": "dʑ"}
STRESS = frozenset("ˈˌ")
MANNER_NEAR = {
    frozenset({"plosive", "affricate"}): 0.5,
    frozenset({"fricative", "affricate"}): 0.5,
    frozenset({"tap", "trill"}): 0.3,
    frozenset({"tap", "approximant"}): 0.6,
    frozenset({"trill", "approximant"}): 0.7,
    frozenset({"approximant", "lateral"}): 0.5,
    frozenset({"tap", "lateral"}): 0.6,
    frozenset({"fricative", "lateral_fricative"}): 0.5,
    frozenset({"lateral", "lateral_fricative"}): 0.5,
    frozenset({"plosive", "implosive"}): 0.3,
    frozenset({"plosive", "click"}): 0.6,
    frozenset({"plosive", "fricative"}): 0.8,
    frozenset({"fricative", "approximant"}): 0.9,
}
W_PLACE, W_MANNER, W_VOICE = 1.0, 1.0, 0.5
W_HEIGHT, W_BACK, W_ROUND = 1.0, 1.0, 0.5
W_MODIFIER, W_LENGTH_MISMATCH = 0.1, 0.5
CROSS_CLASS, SEMIVOWEL = 3.0, 1.0
MAX_HEIGHT = 5.0
PAUSE_PUNCT, FINAL_PUNCT = frozenset(",;:"), frozenset(".!?")


@dataclass(frozen=True)
class Vowel:
    height: float
    back: float
    rounded: bool


@dataclass(frozen=True)
class Consonant:
    places: Tuple[float, ...]
    manner: str
    voiced: bool
    vocalic: Optional[Vowel] = None  # the vowel a semivowel (j w ɥ ɰ) corresponds to


@dataclass(frozen=True)
class Phone:
    """A parsed phone token: base segments plus the modifiers stripped from it."""

    segments: Tuple[object, ...]
    modifiers: FrozenSet[str]

    @property
    def is_vowel(self) -> bool:
        return all(isinstance(s, Vowel) for s in self.segments)


def _rows(table: str) -> Sequence[Sequence[str]]:
    return [row.split() for row in table.replace("\n", "|").split("|") if row.strip()]


VOWELS: Dict[str, Vowel] = {
    sym: Vowel(float(h), float(b), r == "1") for sym, h, b, r in _rows(_VOWEL_TABLE)
}
SEMIVOWELS = {"j": "i", "w": "u", "ɥ": "y", "ɰ": "ɯ"}
CONSONANTS: Dict[str, Consonant] = {
    sym: Consonant(
        tuple(PLACES[p] for p in place.split("+")),
        manner,
        voiced == "1",
        VOWELS[SEMIVOWELS[sym]] if sym in SEMIVOWELS else None,
    )
    for sym, place, manner, voiced in _rows(_CONSONANT_TABLE)
}


def is_modifier(ch: str) -> bool:
    """Stress, length, diacritics and modifier letters: stripped before the table lookup."""
    return unicodedata.category(ch) in ("Lm", "Sk", "Mn", "Mc", "Me") or ch in STRESS


def base_symbols(token: str) -> str:
    """The token without modifiers, ligatures expanded: "ˈaː" -> "a", "t͡ʃʰ" -> "tʃ"."""
    text = unicodedata.normalize("NFD", token)
    base = "".join(ch for ch in text if not is_modifier(ch))
    return "".join(LIGATURES.get(ch, ch) for ch in base)


@lru_cache(maxsize=None)
def parse_phone(token: str) -> Optional[Phone]:
    """Features of a phone token, or None if a base symbol is not in the table."""
    text = unicodedata.normalize("NFD", token)
    modifiers = frozenset(ch for ch in text if is_modifier(ch))
    base = base_symbols(token)
    if not base:
        return None
    segments = []
    for ch in base:
        feat = CONSONANTS.get(ch) or VOWELS.get(ch)
        if feat is None:
            return None
        segments.append(feat)
    if len(segments) == 2 and all(isinstance(s, Consonant) for s in segments):
        return _affricate(segments, modifiers)
    if len(segments) > 1 and not all(isinstance(s, Vowel) for s in segments):
        return None
    return Phone(tuple(segments), modifiers)


def _affricate(segments: list, modifiers: FrozenSet[str]) -> Optional[Phone]:
    """Stop + fricative at a near place is one affricate with the fricative's place."""
    stop, fric = segments
    if stop.manner != "plosive" or fric.manner not in ("fricative", "lateral_fricative"):
        return None
    affricate = Consonant(fric.places, "affricate", fric.voiced)
    return Phone((affricate,), modifiers)


def _consonant_distance(a: Consonant, b: Consonant) -> float:
    place = min(abs(x - y) for x in a.places for y in b.places)
    manner = 0.0 if a.manner == b.manner else MANNER_NEAR.get(
        frozenset({a.manner, b.manner}), 1.0
    )
    return W_PLACE * min(place / 3.0, 1.0) + W_MANNER * manner + W_VOICE * (a.voiced != b.voiced)


def _vowel_distance(a: Vowel, b: Vowel) -> float:
    return (
        W_HEIGHT * abs(a.height - b.height) / MAX_HEIGHT
        + W_BACK * abs(a.back - b.back) / 2.0
        + W_ROUND * (a.rounded != b.rounded)
    )


def _segment_distance(a: object, b: object) -> float:
    if isinstance(a, Consonant) and isinstance(b, Consonant):
        return _consonant_distance(a, b)
    if isinstance(a, Vowel) and isinstance(b, Vowel):
        return _vowel_distance(a, b)
    semi, vowel = (a, b) if isinstance(a, Consonant) else (b, a)
    if isinstance(semi, Consonant) and semi.vocalic is not None and isinstance(vowel, Vowel):
        return SEMIVOWEL + _vowel_distance(semi.vocalic, vowel)
    return CROSS_CLASS


def feature_distance(a: Phone, b: Phone) -> float:
    """Weighted feature mismatch; diphthongs compare first and last segments."""
    first = _segment_distance(a.segments[0], b.segments[0])
    last = _segment_distance(a.segments[-1], b.segments[-1])
    length = W_LENGTH_MISMATCH * (len(a.segments) != len(b.segments))
    return (first + last) / 2.0 + length + W_MODIFIER * len(a.modifiers ^ b.modifiers)


def punct_distance(a: str, b: str) -> Optional[float]:
    """Pause marks (, ; :) and final marks (. ! ?) are near within their group."""
    for group in (PAUSE_PUNCT, FINAL_PUNCT):
        if a in group and b in group:
            return 0.0 if a == b else 0.5
    if {a, b} <= PAUSE_PUNCT | FINAL_PUNCT:
        return 1.0
    return None


def phone_distance(a: str, b: str) -> Optional[float]:
    """Distance between two tokens, or None if either is not a known phone/punctuation."""
    if a in PAUSE_PUNCT | FINAL_PUNCT or b in PAUSE_PUNCT | FINAL_PUNCT:
        return punct_distance(a, b)
    pa, pb = parse_phone(a), parse_phone(b)
    if pa is None or pb is None:
        return None
    return feature_distance(pa, pb)
