"""Grapheme tokens keep tone marks on their letter under NFC."""

from lrspeech.text.graphemes import SPACE, split_graphemes, strip_marks


def test_nfc_clusters_keep_tone_marks():
    # "ɛ̀" has no precomposed form: ɛ + U+0300 must stay one token
    assert split_graphemes("ɛ̀bá  ọ̀") == ["ɛ̀", "b", "á", SPACE, "ọ̀"]


def test_nfd_splits_code_points():
    assert split_graphemes("bá", "NFD") == ["b", "a", "\u0301"]


def test_spaces_are_collapsed_and_trimmed():
    assert split_graphemes("  a  b ") == ["a", SPACE, "b"]


def test_strip_marks():
    assert strip_marks("é") == "e"
    assert strip_marks("ɛ̀") == "ɛ"
    assert strip_marks("ọ̀") == "o"
    assert strip_marks("\u0301") == ""
