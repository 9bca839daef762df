"""Cleaners: NFC, case, punctuation policy, numbers, and the scoring normalization."""

import unicodedata

from lrspeech.text.cleaners import clean_text, normalize_for_scoring
from lrspeech.text.lang import LangConfig


def test_swahili_corpus_sentence(sw_cfg: LangConfig):
    assert clean_text("3 haki ya kupiga kura.", sw_cfg) == "tatu haki ya kupiga kura."
    assert clean_text("Polisi walinikamata.", sw_cfg) == "polisi walinikamata."


def test_keep_policy_keeps_sentence_punctuation_only(sw_cfg: LangConfig):
    text = 'Ng’ombe wa 1 — "mzuri" (sana)!'
    assert clean_text(text, sw_cfg) == "ng'ombe wa kwanza, mzuri sana!"


def test_strip_policy_and_case_keep(sw_cfg: LangConfig):
    cfg = sw_cfg.with_overrides(punctuation="strip", case="keep")
    assert clean_text("Martin Luther King Jr., ng'ombe!", cfg) == "Martin Luther King Jr ng'ombe"


def test_word_internal_hyphen_kept_for_tts_split_for_scoring(en_cfg: LangConfig):
    text = 'the ""lower-case"" being'
    assert clean_text(text, en_cfg) == "the lower-case being"
    assert normalize_for_scoring(text, en_cfg) == "the lower case being"


def test_nfc_composes_and_nfd_decomposes(sw_cfg: LangConfig):
    decomposed = "cafe\u0301"
    assert clean_text(decomposed, sw_cfg) == "caf\u00e9"
    nfd = sw_cfg.with_overrides(unicode_form="NFD")
    assert clean_text("caf\u00e9", nfd) == "cafe\u0301"


def test_tone_marks_survive(sw_cfg: LangConfig):
    text = "Ɛ̀bá ọ̀rọ̀"
    out = clean_text(text, sw_cfg)
    assert out == unicodedata.normalize("NFC", "ɛ̀bá ọ̀rọ̀")
    assert "\u0300" in out


def test_invisible_characters_removed(sw_cfg: LangConfig):
    assert clean_text("\ufeffha\u00adbari\u200b yako", sw_cfg) == "habari yako"


def test_scoring_normalization_with_config(sw_cfg: LangConfig, en_cfg: LangConfig):
    assert normalize_for_scoring("Boeing 737 Max 8, miaka 29!", sw_cfg) == (
        "boeing mia saba thelathini na saba max nane miaka ishirini na tisa"
    )
    assert normalize_for_scoring("It's the 21st,   isn't it?", en_cfg) == (
        "it's the twenty first isn't it"
    )


def test_scoring_normalization_without_config_keeps_digits():
    assert normalize_for_scoring("  Hello,  WORLD!! 29 ") == "hello world 29"
    assert normalize_for_scoring("Ng’ombe.") == "ng'ombe"
