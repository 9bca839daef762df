"""English number words: cardinals, years, ordinals."""

import pytest

from lrspeech.text import numbers_en


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (21, "twenty one"),
        (40, "forty"),
        (101, "one hundred one"),
        (999, "nine hundred ninety nine"),
        (1000, "one thousand"),
        (1234567, "one million two hundred thirty four thousand five hundred sixty seven"),
        (2_000_000_000, "two billion"),
    ],
)
def test_cardinal(n, words):
    assert numbers_en.cardinal(n) == words


@pytest.mark.parametrize(
    "n, words",
    [
        (1450, "fourteen fifty"),
        (1900, "nineteen hundred"),
        (1905, "nineteen oh five"),
        (1999, "nineteen ninety nine"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (2020, "twenty twenty"),
        (3000, "three thousand"),
        (999, "nine hundred ninety nine"),
    ],
)
def test_year(n, words):
    assert numbers_en.year(n) == words


@pytest.mark.parametrize(
    "n, words",
    [(1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (8, "eighth"), (9, "ninth"),
     (12, "twelfth"), (20, "twentieth"), (21, "twenty first"), (100, "one hundredth")],
)
def test_ordinal(n, words):
    assert numbers_en.ordinal(n) == words


def test_plural():
    assert numbers_en.plural(1990) == "nineteen nineties"
    assert numbers_en.plural(1800) == "eighteen hundreds"
    assert numbers_en.plural(60) == "sixties"
    assert numbers_en.plural(26) == "twenty sixes"


def test_decimal_money_negative():
    assert numbers_en.decimal("3", "14") == "three point one four"
    assert numbers_en.money(1, 0) == "one dollar"
    assert numbers_en.money(2, 50) == "two dollars fifty cents"
    assert numbers_en.money(0, 1) == "zero dollars one cent"
    assert numbers_en.cardinal(-3) == "minus three"
