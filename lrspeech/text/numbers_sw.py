"""Swahili number words: cardinals, decimals and the two irregular ordinals.

Usage: python -c "from lrspeech.text.numbers_sw import cardinal; print(cardinal(737))"

Swahili places the multiplier after its noun ("mia saba" = 700, "elfu mbili" = 2000) and
joins only the last spoken part with "na": 737 = "mia saba thelathini na saba",
2020 = "elfu mbili na ishirini", 11 = "kumi na moja". Multipliers are themselves numbers, so
25,000 = "elfu ishirini na tano". Ordinals are "-a kwanza", "-a pili" and then cardinals
("wa tatu"), so only 1 and 2 change after an associative particle.
"""

from typing import List

UNITS = ["sifuri", "moja", "mbili", "tatu", "nne", "tano", "sita", "saba", "nane", "tisa"]
TENS = {
    1: "kumi",
    2: "ishirini",
    3: "thelathini",
    4: "arobaini",
    5: "hamsini",
    6: "sitini",
    7: "sabini",
    8: "themanini",
    9: "tisini",
}
SCALES = [(10**12, "trilioni"), (10**9, "bilioni"), (10**6, "milioni"), (10**3, "elfu")]
MAX_CARDINAL = 10**15 - 1
ORDINALS = {1: "kwanza", 2: "pili"}
ASSOCIATIVE = ("wa", "ya", "la", "cha", "vya", "za")
POINT = "nukta"
MINUS = "hasi"
PERCENT = "asilimia"
DOLLAR = "dola"
CENT = "senti"


def _parts(n: int) -> List[str]:
    """Spoken components of 0 < n <= MAX_CARDINAL, before "na" is inserted."""
    parts: List[str] = []
    for value, word in SCALES:
        if n >= value:
            parts.append(f"{word} {cardinal(n // value)}")
            n %= value
    if n >= 100:
        parts.append(f"mia {UNITS[n // 100]}")
        n %= 100
    if n >= 10:
        parts.append(TENS[n // 10])
        n %= 10
    if n > 0:
        parts.append(UNITS[n])
    return parts


def cardinal(n: int) -> str:
    """Cardinal number words; digits are read one by one beyond MAX_CARDINAL."""
    if n < 0:
        return f"{MINUS} {cardinal(-n)}"
    if n == 0:
        return UNITS[0]
    if n > MAX_CARDINAL:
        return digits(str(n))
    parts = _parts(n)
    if len(parts) == 1:
        return parts[0]
    return " ".join(parts[:-1]) + " na " + parts[-1]


def digits(text: str) -> str:
    """Read a digit string one digit at a time ("007" -> "sifuri sifuri saba")."""
    return " ".join(UNITS[int(d)] for d in text)


def decimal(integer: str, fraction: str) -> str:
    """3.5 -> "tatu nukta tano"; fraction digits are read one by one."""
    return f"{cardinal(int(integer))} {POINT} {digits(fraction)}"


def ordinal(n: int) -> str:
    """The word after an associative particle: 1 -> kwanza, 2 -> pili, else the cardinal."""
    return ORDINALS.get(n, cardinal(n))


def percent(words: str) -> str:
    """50% -> "asilimia hamsini" (the noun comes first)."""
    return f"{PERCENT} {words}"


def money(dollars: int, cents: int) -> str:
    """$5 -> "dola tano"; $2.50 -> "dola mbili na senti hamsini"."""
    words = f"{DOLLAR} {cardinal(dollars)}"
    if cents:
        words += f" na {CENT} {cardinal(cents)}"
    return words
