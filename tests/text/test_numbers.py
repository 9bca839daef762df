"""Digits in running text become words (corpus examples), per normalizer."""

import pytest

from lrspeech.text.numbers import expand_numbers


@pytest.mark.parametrize(
    "text, expanded",
    [
        ("Covid 19", "Covid kumi na tisa"),
        ("miaka 29", "miaka ishirini na tisa"),
        ("737 Max 8", "mia saba thelathini na saba Max nane"),
        ("3 haki ya kupiga kura.", "tatu haki ya kupiga kura."),
        ("mwaka 2020", "mwaka elfu mbili na ishirini"),
        ("COVID-19", "COVID kumi na tisa"),
        ("Covid19", "Covid kumi na tisa"),
        ("bei ni 3.5", "bei ni tatu nukta tano"),
        ("watu 1,000,000", "watu milioni moja"),
        ("50%", "asilimia hamsini"),
        ("$2.50", "dola mbili na senti hamsini"),
        ("sura ya 1 na ya 2", "sura ya kwanza na ya pili"),
        ("ya 12", "ya kumi na mbili"),
        ("kurasa 10-20", "kurasa kumi hadi ishirini"),
        ("joto -5", "joto hasi tano"),
        ("namba 007", "namba sifuri sifuri saba"),
        ("hakuna namba", "hakuna namba"),
    ],
)
def test_swahili(text, expanded):
    assert " ".join(expand_numbers(text, "sw").split()) == expanded


@pytest.mark.parametrize(
    "text, expanded",
    [
        ("in 1450 he", "in fourteen fifty he"),
        ("the 21st of May", "the twenty first of May"),
        ("3.14", "three point one four"),
        ("1,234", "one thousand two hundred thirty four"),
        ("$1 or $2.50", "one dollar or two dollars fifty cents"),
        ("50 %", "fifty percent"),
        ("COVID-19 in 2020", "COVID nineteen in twenty twenty"),
        ("pages 10-20", "pages ten to twenty"),
        ("-3 degrees", "minus three degrees"),
        ("Boeing 737", "Boeing seven hundred thirty seven"),
        ("the 1990s and 80s", "the nineteen nineties and eighties"),
    ],
)
def test_english(text, expanded):
    assert " ".join(expand_numbers(text, "en").split()) == expanded


def test_none_leaves_digits():
    assert expand_numbers("miaka 29", "none") == "miaka 29"


def test_unknown_normalizer_lists_choices():
    expected = r"unknown number normalizer 'fr'; choose one of \['en', 'sw', 'none'\]"
    with pytest.raises(ValueError, match=expected):
        expand_numbers("1", "fr")
