"""lrspeech.pipeline.letters: which letters of a word each of its phones reads."""

import pytest

from lrspeech.pipeline.letters import align_letters, spellings


@pytest.mark.parametrize("word, phones, groups", [
    ("hicho", "h i tʃ o", [[0], [1], [2, 3], [4]]),  # a digraph: its second letter joins
    ("shule", "ʃ u l e", [[0, 1], [2], [3], [4]]),
    ("nyumba", "ɲ u m b a", [[0, 1], [2], [3], [4], [5]]),
    ("ng'ombe", "ŋ ɔ m b e", [[0, 1, 2], [3], [4], [5], [6]]),  # ng' -> ŋ
    ("mtu", "m̩ t u", [[0], [1], [2]]),  # a syllabic mark does not hide the letter
    ("aliyepewa", "a l i j e p e w a", [[k] for k in range(9)]),  # y spells j
    ("gaza", "ɡ a z a", [[0], [1], [2], [3]]),  # IPA ɡ is not ASCII g
    ("kwa", "k w a ʔ", [[0], [1], [2], []]),  # a phone no letter spells gets none
])
def test_letters_go_to_the_phones_that_read_them(word, phones, groups):
    assert align_letters(list(word), phones.split()) == groups


def test_every_letter_once_in_order_even_when_nothing_matches():
    # Cyrillic against IPA: no match at all, so the letters spread evenly in order
    assert align_letters(list("абвгд"), ["x", "y"]) == [[0, 1, 2], [3, 4]]
    assert align_letters(list("аб"), ["x", "y", "z", "w"]) == [[0], [], [1], []]
    assert align_letters([], ["a"]) == [[]]
    assert align_letters(["a"], []) == []


def test_spellings_of_affricates_and_long_vowels():
    assert "c" in spellings("tʃ") and "t" in spellings("tʃ")
    assert "a" in spellings("ɑː")
    assert "h" not in spellings("tʃ")
