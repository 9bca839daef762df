"""Expand digits in running text into words, per language (`number_normalizer` in lang.yaml).

Usage: python -c "from lrspeech.text.numbers import expand_numbers as e; print(e('miaka 29', 'sw'))"

Handles, in this order: English ordinals (21st) and decades (1990s), currency ($5),
percentages (50%), decimals (3.5), thousands groups (1,000,000), numeric ranges (10-20),
signed numbers (-5), the Swahili ordinals after an associative particle ("ya 1" ->
"ya kwanza") and plain integers (English 1100-2099 read as years). Digits glued to letters
("Covid19", "COVID-19") are split off so the words stay separate. Numbers with a leading
zero ("007") are read digit by digit.
"""

import re
from dataclasses import dataclass
from typing import Callable, Dict

from lrspeech.errors import InputError
from lrspeech.text import numbers_en, numbers_sw


@dataclass(frozen=True)
class Speller:
    """The language-specific pieces that `expand_numbers` glues together."""

    integer: Callable[[int], str]  # a bare integer (English reads 1100-2099 as years)
    cardinal: Callable[[int], str]  # an integer written with thousands separators
    digits: Callable[[str], str]
    decimal: Callable[[str, str], str]
    percent: Callable[[str], str]
    money: Callable[[int, int], str]
    range_word: str
    minus: str


SPELLERS: Dict[str, Speller] = {
    "en": Speller(
        integer=numbers_en.year,
        cardinal=numbers_en.cardinal,
        digits=numbers_en.digits,
        decimal=numbers_en.decimal,
        percent=numbers_en.percent,
        money=numbers_en.money,
        range_word="to",
        minus=numbers_en.MINUS,
    ),
    "sw": Speller(
        integer=numbers_sw.cardinal,
        cardinal=numbers_sw.cardinal,
        digits=numbers_sw.digits,
        decimal=numbers_sw.decimal,
        percent=numbers_sw.percent,
        money=numbers_sw.money,
        range_word="hadi",
        minus=numbers_sw.MINUS,
    ),
}
NORMALIZER_NAMES = tuple(SPELLERS) + ("none",)

_NUM = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
_EN_ORDINAL = re.compile(r"\b([0-9]+)(st|nd|rd|th)\b", re.IGNORECASE)
_EN_PLURAL = re.compile(r"\b([0-9]{2,4})'?s\b")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])-?(?=[0-9])|(?<=[0-9])(?=[^\W\d_])")
_CURRENCY = re.compile(r"\$\s?([0-9]+(?:,[0-9]{3})*)(?:\.([0-9]{2}))?(?![0-9])")
_PERCENT = re.compile(rf"({_NUM})\s?%")
_SW_ORDINAL = re.compile(
    rf"\b({'|'.join(numbers_sw.ASSOCIATIVE)})\s+([12])\b(?![.,][0-9])", re.IGNORECASE
)
_RANGE = re.compile(rf"(?<![0-9.,])({_NUM})[-\u2013](?={_NUM})")
_SIGNED = re.compile(rf"(?<![\w.,-])[-\u2212]({_NUM})")
_NUMBER = re.compile(_NUM)


def _number_words(token: str, sp: Speller) -> str:
    """Words for one numeric token as matched by _NUM."""
    grouped = "," in token
    token = token.replace(",", "")
    if "." in token:
        integer, fraction = token.split(".", 1)
        return sp.decimal(integer, fraction)
    if len(token) > 1 and token.startswith("0"):
        return sp.digits(token)
    return sp.cardinal(int(token)) if grouped else sp.integer(int(token))


def _expand(text: str, sp: Speller, lang: str) -> str:
    if lang == "en":
        text = _EN_ORDINAL.sub(lambda m: numbers_en.ordinal(int(m.group(1))), text)
        text = _EN_PLURAL.sub(lambda m: numbers_en.plural(int(m.group(1))), text)
    text = _LETTER_DIGIT.sub(" ", text)
    text = _CURRENCY.sub(
        lambda m: sp.money(int(m.group(1).replace(",", "")), int(m.group(2) or 0)), text
    )
    text = _PERCENT.sub(lambda m: sp.percent(_number_words(m.group(1), sp)), text)
    if lang == "sw":
        text = _SW_ORDINAL.sub(
            lambda m: f"{m.group(1)} {numbers_sw.ordinal(int(m.group(2)))}", text
        )
    text = _RANGE.sub(lambda m: f"{m.group(1)} {sp.range_word} ", text)
    text = _SIGNED.sub(lambda m: f"{sp.minus} {_number_words(m.group(1), sp)}", text)
    return _NUMBER.sub(lambda m: _number_words(m.group(0), sp), text)


def expand_numbers(text: str, normalizer: str) -> str:
    """Replace digits in `text` by words of the `normalizer` language (`none`: unchanged)."""
    if normalizer == "none":
        return text
    if normalizer not in SPELLERS:
        raise InputError(
            f"unknown number normalizer {normalizer!r}; choose one of {list(NORMALIZER_NAMES)}"
        )
    return _expand(text, SPELLERS[normalizer], normalizer)
