"""LangConfig: loading, round trip, and a clear message for every bad yaml."""

from pathlib import Path

import pytest

from lrspeech.text.lang import LangConfig, LangConfigError

CONF = Path(__file__).resolve().parents[2] / "conf" / "lang"


def test_shipped_configs_load():
    sw = LangConfig.load(CONF / "sw.yaml")
    assert (sw.language, sw.iso, sw.espeak_voice, sw.token_type) == ("Swahili", "sw", "sw", "phn")
    assert sw.number_normalizer == "sw"
    en = LangConfig.load(CONF / "en.yaml")
    assert (en.espeak_voice, en.number_normalizer) == ("en-us", "en")
    template = LangConfig.load(CONF / "TEMPLATE.yaml")
    assert template.espeak_voice is None and template.token_type == "char"


def test_round_trip_through_yaml(tmp_path: Path, sw_cfg: LangConfig):
    out = tmp_path / "sub" / "lang.yaml"
    sw_cfg.save(out)
    again = LangConfig.load(out)
    assert again == sw_cfg
    assert again.source == out
    assert LangConfig.from_dict(sw_cfg.to_dict()) == sw_cfg


def test_espeak_none_round_trips(write_lang):
    cfg = LangConfig.load(write_lang(espeak_voice="none"))
    assert cfg.espeak_voice is None
    assert cfg.to_dict()["espeak_voice"] == "none"


def test_with_overrides_validates(sw_cfg: LangConfig):
    assert sw_cfg.with_overrides(punctuation="strip").punctuation == "strip"
    assert sw_cfg.with_overrides(punctuation=None) == sw_cfg
    with pytest.raises(LangConfigError, match=r"punctuation: 'none' is not valid"):
        sw_cfg.with_overrides(punctuation="none")


def test_unknown_normalizer_names_yaml_and_choices(write_lang):
    path = write_lang(number_normalizer="fr")
    with pytest.raises(LangConfigError) as e:
        LangConfig.load(path)
    assert str(path) in str(e.value)
    expected = "number_normalizer: 'fr' is not valid; choose one of ['sw', 'en', 'none']"
    assert expected in str(e.value)


def test_missing_keys_are_listed(write_lang):
    path = write_lang(drop=("iso", "espeak_voice"))
    with pytest.raises(LangConfigError) as e:
        LangConfig.load(path)
    assert f"{path}: missing required key(s) ['iso', 'espeak_voice']" in str(e.value)
    assert "TEMPLATE.yaml" in str(e.value)


def test_unknown_key_is_a_typo_error(write_lang):
    path = write_lang(cleaner="lower")
    with pytest.raises(LangConfigError, match=r"unknown key\(s\) \['cleaner'\]; valid keys are"):
        LangConfig.load(path)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("token_type", "word", "token_type: 'word' is not valid; choose one of ['char', 'phn',"),
        ("case", "upper", "case: 'upper' is not valid"),
        ("unicode_form", "NFKC", "unicode_form: 'NFKC' is not valid"),
        ("stress", "yes", "stress: 'yes' is not valid; choose one of ['keep', 'drop']"),
        ("bpe_vocab_size", 1, "bpe_vocab_size: 1 must be an integer >= 2"),
        ("iso", False, "iso: must be a non-empty string, got False; quote it"),
        ("espeak_voice", False, "espeak_voice: YAML read False"),
    ],
)
def test_bad_values(write_lang, key, value, expected):
    path = write_lang(**{key: value})
    with pytest.raises(LangConfigError) as e:
        LangConfig.load(path)
    assert str(path) in str(e.value)
    assert expected in str(e.value)


def test_missing_file_and_bad_yaml(tmp_path: Path):
    with pytest.raises(LangConfigError, match=r"nope.yaml: language config not found; copy"):
        LangConfig.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("language: [unclosed\n", encoding="utf-8")
    with pytest.raises(LangConfigError, match=r"bad.yaml: not valid YAML"):
        LangConfig.load(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- sw\n", encoding="utf-8")
    with pytest.raises(LangConfigError, match=r"list.yaml: expected a mapping"):
        LangConfig.load(listy)
