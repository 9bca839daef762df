"""espeak-ng phonemes through phonemizer: real Swahili and English words, voice checks."""

import pytest

from lrspeech.text.g2p import G2PError, Phonemizer, available_voices, char_sounds, split_phones
from lrspeech.text.lang import LangConfig


@pytest.fixture(scope="module")
def sw_phonemizer(sw_cfg: LangConfig) -> Phonemizer:
    return Phonemizer(sw_cfg)


def test_swahili_words(sw_phonemizer: Phonemizer):
    phones = sw_phonemizer.word_phones(["polisi", "nyumbani", "shule", "mchezo", "thelathini"])
    assert phones["polisi"] == ["p", "o", "l", "i", "s", "i"]
    assert phones["nyumbani"] == ["ɲ", "u", "m", "b", "a", "n", "i"]  # ny is one phone
    assert phones["shule"] == ["ʃ", "u", "l", "e"]
    assert phones["mchezo"] == ["m", "tʃ", "e", "z", "o"]  # ch is an affricate token
    assert phones["thelathini"][0] == "θ"


def test_english_words(en_cfg: LangConfig):
    phones = Phonemizer(en_cfg).word_phones(["church", "the", "thirty"])
    assert phones["church"] == ["tʃ", "ɜː", "tʃ"]
    assert phones["the"] == ["ð", "ə"]
    assert phones["thirty"] == ["θ", "ɜː", "ɾ", "i"]


def test_stress_policy(sw_cfg: LangConfig):
    kept = Phonemizer(sw_cfg.with_overrides(stress="keep")).phones("polisi")
    assert kept == ["p", "o", "l", "ˈi", "s", "i"]
    assert Phonemizer(sw_cfg).phones("polisi") == ["p", "o", "l", "i", "s", "i"]


def test_cache_phonemizes_each_word_once(sw_phonemizer: Phonemizer):
    before = sw_phonemizer.cache_size
    sw_phonemizer.word_phones(["kura", "kura", "haki"])
    sw_phonemizer.word_phones(["kura"])
    assert sw_phonemizer.cache_size == before + 2


def test_punctuation_only_word_gives_no_phones(sw_phonemizer: Phonemizer):
    assert sw_phonemizer.phones("'") == []


def test_split_phones():
    assert split_phones(" ˈa b | c ", keep_stress=False) == ["a", "b", "<space>", "c"]
    assert split_phones("ˈa b |", keep_stress=True) == ["ˈa", "b"]


def test_any_espeak_language_works(write_lang):
    # Setswana is not in ESPnet's hard-coded g2p list but espeak-ng has a voice
    assert available_voices()["tn"] == "Setswana"
    cfg = LangConfig.load(write_lang(espeak_voice="tn", iso="tn", language="Setswana"))
    assert Phonemizer(cfg).phones("pula") == ["p", "u", "l", "a"]


def test_unknown_voice_names_yaml_and_how_to_list(write_lang):
    path = write_lang(espeak_voice="swh")
    with pytest.raises(G2PError) as e:
        Phonemizer(LangConfig.load(path))
    msg = str(e.value)
    assert f"{path}: espeak_voice: 'swh' is not an espeak-ng voice" in msg
    assert "espeak-ng --voices" in msg and "espeak_voice: none" in msg
    assert "did you mean" in msg and "sw" in msg


def test_char_sounds(sw_cfg: LangConfig):
    sounds = char_sounds(sw_cfg, ["a", "k", "j", ","])
    assert sounds == {"a": "a", "k": "k", "j": "ɟ", ",": None}
    assert char_sounds(sw_cfg.with_overrides(espeak_voice="none"), ["a"]) == {"a": None}
