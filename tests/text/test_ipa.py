"""IPA feature table: parsing modifiers, affricates, diphthongs, and distances."""

import pytest

from lrspeech.text.ipa import (
    CONSONANTS,
    VOWELS,
    Consonant,
    Vowel,
    base_symbols,
    parse_phone,
    phone_distance,
)


def test_table_entries():
    assert CONSONANTS["ɲ"].manner == "nasal" and CONSONANTS["ɲ"].voiced
    assert CONSONANTS["θ"] == Consonant((2.0,), "fricative", False)
    assert VOWELS["ɛ"] == Vowel(3.0, 0.0, False)
    assert VOWELS["u"].rounded and not VOWELS["i"].rounded


def test_modifiers_are_stripped():
    assert base_symbols("ˈaː") == "a"
    assert base_symbols("t͡ʃʰ") == "tʃ"
    assert base_symbols("ɑ̃") == "ɑ"
    assert base_symbols("ʧ") == "tʃ"
    phone = parse_phone("ˈaː")
    assert phone.segments == (VOWELS["a"],) and phone.modifiers == {"ˈ", "ː"}


def test_affricate_and_diphthong():
    (affricate,) = parse_phone("tʃ").segments
    assert affricate.manner == "affricate" and affricate.places == (4.0,)
    assert parse_phone("aɪ").segments == (VOWELS["a"], VOWELS["ɪ"])
    assert parse_phone("ka") is None  # consonant + vowel is not one phone
    assert parse_phone("ǃ").segments[0].manner == "click"
    assert parse_phone("@") is None


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("a", "a", 0.0),
        ("ɛ", "e", 0.2),  # one height row apart (open-mid vs close-mid), both front
        ("p", "b", 0.5),  # voicing only
        ("ɓ", "b", 0.3),  # implosive vs plosive
        ("r", "ɾ", 0.3),  # trill vs tap
        ("aː", "a", 0.1),  # length is a modifier
        ("j", "i", 1.0),  # semivowel vs its vowel
        ("k", "a", 3.0),  # consonant vs vowel
        (",", ";", 0.5),
    ],
)
def test_distances(a, b, expected):
    assert phone_distance(a, b) == pytest.approx(expected)


def test_distance_is_symmetric_and_unknown_is_none():
    assert phone_distance("ɣ", "ɡ") == phone_distance("ɡ", "ɣ")
    assert phone_distance("ɣ", "@") is None
    assert phone_distance("<space>", "a") is None


def test_nearest_neighbours_make_phonetic_sense():
    def nearest(target, pool):
        return min(pool, key=lambda p: phone_distance(target, p))

    english = ["p", "b", "t", "d", "k", "ɡ", "f", "v", "s", "z", "ʃ", "h", "m", "n", "ŋ",
               "l", "ɹ", "w", "j", "tʃ", "dʒ", "i", "ɪ", "ɛ", "æ", "ɑ", "ʌ", "ʊ", "u", "ə"]
    assert nearest("ɣ", english) == "ɡ"  # voiced velar fricative -> voiced velar stop
    assert nearest("x", english) == "k"
    assert nearest("ɓ", english) == "b"
    assert nearest("ð", english) == "v"
    assert nearest("e", english) == "ɛ"
    assert nearest("o", english + ["ɔ"]) == "ɔ"
    assert nearest("o", english) == "u"
    assert nearest("r", english) == "ɹ"
