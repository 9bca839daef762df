"""Tests of lrspeech.text.digits: which sentences keep digits no one can say."""

from lrspeech.text.digits import describe, split_by_digits, unspoken_digits

TEXT = {
    "v1": "Mwaka 1990 ulikuwa mzuri.",
    "v2": "Watoto wanacheza nje.",
    "v3": "Saa ٣ asubuhi.",  # an Arabic-Indic digit: no normalizer spells it
    "v4": "Bei ni shilingi 25,000 tu.",
}


def test_none_leaves_every_digit_and_a_normalizer_only_other_scripts(write_lang, sw_cfg):
    from lrspeech.text.lang import LangConfig

    none = LangConfig.load(write_lang(number_normalizer="none"))
    assert unspoken_digits(TEXT["v1"], none) == "1990"
    assert unspoken_digits(TEXT["v1"], sw_cfg) == ""  # "elfu moja mia tisa tisini"
    assert unspoken_digits(TEXT["v3"], sw_cfg) == "٣"
    split = split_by_digits(TEXT, none)
    assert split.clean == ["v2"] and split.with_digits == ["v1", "v3", "v4"]
    assert split_by_digits(TEXT, sw_cfg).with_digits == ["v3"]


def test_the_log_line_counts_and_shows_examples(write_lang, sw_cfg):
    from lrspeech.text.lang import LangConfig

    none = LangConfig.load(write_lang(number_normalizer="none"))
    split = split_by_digits(TEXT, none)
    line = describe(split, TEXT, none, "drop", "unpaired_text", examples=2)
    assert line == (
        "unpaired_text: 3 of 4 sentences have digits that number_normalizer none leaves "
        "unspoken, dropped (--digits drop), 1 kept; e.g. v1 'Mwaka 1990 ulikuwa mzuri.'; "
        "v3 'Saa ٣ asubuhi.'")
    assert "kept (--digits keep): their digits become tokens" in describe(
        split, TEXT, none, "keep", "t")
    clean = {"a": "Habari za asubuhi."}
    assert describe(split_by_digits(clean, sw_cfg), clean, sw_cfg, "drop", "t") == (
        "t: none of 1 sentences has digits left unspoken (number_normalizer sw)")
