"""Swahili number words on hand-written examples (the issue's list and the corpus's)."""

import pytest

from lrspeech.text import numbers_sw


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "sifuri"),
        (1, "moja"),
        (2, "mbili"),
        (4, "nne"),
        (9, "tisa"),
        (10, "kumi"),
        (11, "kumi na moja"),
        (19, "kumi na tisa"),
        (20, "ishirini"),
        (29, "ishirini na tisa"),
        (30, "thelathini"),
        (40, "arobaini"),
        (50, "hamsini"),
        (60, "sitini"),
        (70, "sabini"),
        (80, "themanini"),
        (90, "tisini"),
        (99, "tisini na tisa"),
        (100, "mia moja"),
        (105, "mia moja na tano"),
        (120, "mia moja na ishirini"),
        (200, "mia mbili"),
        (737, "mia saba thelathini na saba"),
        (1000, "elfu moja"),
        (1999, "elfu moja mia tisa tisini na tisa"),
        (2000, "elfu mbili"),
        (2020, "elfu mbili na ishirini"),
        (25000, "elfu ishirini na tano"),
        (1_000_000, "milioni moja"),
        (2_500_000, "milioni mbili na elfu mia tano"),
        (3_000_000_000, "bilioni tatu"),
    ],
)
def test_cardinal(n, words):
    assert numbers_sw.cardinal(n) == words


def test_na_joins_only_the_last_part():
    # "na" appears once, before the final spoken part, however many parts there are
    assert numbers_sw.cardinal(1_002_003) == "milioni moja elfu mbili na tatu"
    assert numbers_sw.cardinal(737).count(" na ") == 1


def test_negative_decimal_digits_ordinal():
    assert numbers_sw.cardinal(-5) == "hasi tano"
    assert numbers_sw.decimal("3", "5") == "tatu nukta tano"
    assert numbers_sw.digits("007") == "sifuri sifuri saba"
    assert numbers_sw.ordinal(1) == "kwanza"
    assert numbers_sw.ordinal(2) == "pili"
    assert numbers_sw.ordinal(3) == "tatu"


def test_beyond_the_largest_scale_reads_digits():
    assert numbers_sw.cardinal(10**15) == "moja " + " ".join(["sifuri"] * 15)


def test_money():
    assert numbers_sw.money(5, 0) == "dola tano"
    assert numbers_sw.money(2, 50) == "dola mbili na senti hamsini"
