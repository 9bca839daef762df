"""English number words: cardinals, years, ordinals, decimals.

Usage: python -c "from lrspeech.text.numbers_en import cardinal; print(cardinal(1234))"

American style without "and" ("one hundred one"), words joined by spaces rather than
hyphens ("twenty one") so that scoring and tokenization see plain words. Years 1100-2099
are read in pairs ("nineteen ninety", "twenty twenty", "two thousand five"), which is how
LJSpeech-style read speech says them.
"""

from typing import List

ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand")]
MAX_CARDINAL = 10**15 - 1
IRREGULAR_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
POINT = "point"
MINUS = "minus"


def _below_thousand(n: int) -> List[str]:
    words: List[str] = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
        if n:
            words.append(ONES[n])
    elif n > 0:
        words.append(ONES[n])
    return words


def cardinal(n: int) -> str:
    """Cardinal words; digits are read one by one beyond MAX_CARDINAL."""
    if n < 0:
        return f"{MINUS} {cardinal(-n)}"
    if n == 0:
        return ONES[0]
    if n > MAX_CARDINAL:
        return digits(str(n))
    words: List[str] = []
    for value, name in SCALES:
        if n >= value:
            words += _below_thousand(n // value) + [name]
            n %= value
    words += _below_thousand(n)
    return " ".join(words)


def year(n: int) -> str:
    """Read 1100-2099 as a year; other values as cardinals."""
    if not 1100 <= n <= 2099 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def ordinal(n: int) -> str:
    """21 -> "twenty first", 12 -> "twelfth", 100 -> "one hundredth"."""
    words = cardinal(n).split()
    last = words[-1]
    if last in IRREGULAR_ORDINALS:
        words[-1] = IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def plural(n: int) -> str:
    """Decades and plural numbers: 1990 -> "nineteen nineties", 80 -> "eighties"."""
    words = year(n).split()
    last = words[-1]
    words[-1] = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last == "six" else "s")
    return " ".join(words)


def digits(text: str) -> str:
    """Read a digit string one digit at a time."""
    return " ".join(ONES[int(d)] for d in text)


def decimal(integer: str, fraction: str) -> str:
    """3.14 -> "three point one four"."""
    return f"{cardinal(int(integer))} {POINT} {digits(fraction)}"


def percent(words: str) -> str:
    return f"{words} percent"


def money(dollars: int, cents: int) -> str:
    """$2.50 -> "two dollars fifty cents"; $1 -> "one dollar"."""
    words = f"{cardinal(dollars)} {'dollar' if dollars == 1 else 'dollars'}"
    if cents:
        words += f" {cardinal(cents)} {'cent' if cents == 1 else 'cents'}"
    return words
