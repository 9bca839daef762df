"""Cross-lingual token map: each method on specific pairs, the tsv format, bad files."""

from pathlib import Path

import pytest

from lrspeech.text.lang import LangConfig
from lrspeech.text.token_map import (
    MapEntry,
    TokenMapError,
    build_token_map,
    read_token_map,
    read_token_map_entries,
    summarize,
    write_token_map,
)

EN_PHONES = ["<blank>", "<unk>", "<space>", "ə", "t", "n", "s", "ɪ", "d", "l", "k", "ð", "ɹ",
             "m", "z", "p", "iː", "b", "ɛ", "æ", "f", "w", "v", "ɡ", "ʃ", "h", "ŋ", "tʃ", "dʒ",
             "uː", "aɪ", "eɪ", "oʊ", "ɑː", "ʌ", ".", ",", "<sos/eos>"]


def _as_dict(entries):
    return {e.target: (e.source, e.method) for e in entries}


def test_phone_map_swahili_to_english():
    sw = ["<blank>", "<unk>", "<space>", "a", "t", "ɣ", "ɓ", "x", "aː", "ɲ", "θ", "?", "<sos/eos>"]
    got = _as_dict(build_token_map(sw, EN_PHONES, token_type="phn"))
    assert got["<blank>"] == ("<blank>", "identity")
    assert got["<space>"] == ("<space>", "identity")
    assert got["t"] == ("t", "identity")
    assert got["a"] == ("æ", "features")  # open front vowel -> near-open front
    assert got["aː"] == ("æ", "features")  # length stripped, then features
    assert got["ɣ"] == ("ɡ", "features")  # voiced velar fricative -> voiced velar stop
    assert got["ɓ"] == ("b", "features")  # implosive -> plosive
    assert got["x"] == ("k", "features")
    assert got["ɲ"] == ("ŋ", "features")  # palatal nasal -> the nearest-place nasal
    assert got["θ"] == ("s", "features")  # ties with f; the earlier (more frequent) wins
    assert got["?"] == (".", "features")  # final punctuation groups together


def test_decomposed_phones_and_chars():
    got = _as_dict(build_token_map(["iː", "i", "ˈe"], ["i", "e"], token_type="phn"))
    assert got["iː"] == ("i", "decomposed")
    assert got["i"] == ("i", "identity")
    assert got["ˈe"] == ("e", "decomposed")
    chars = _as_dict(build_token_map(["é", "ɛ̀", "ọ̀"], ["e", "ɛ", "o"], token_type="char"))
    assert chars == {"é": ("e", "decomposed"), "ɛ̀": ("ɛ", "decomposed"), "ọ̀": ("o", "decomposed")}


def test_decomposed_prefers_fewest_differing_marks():
    got = _as_dict(build_token_map(["aː"], ["ˈa", "a", "ˈaː"], token_type="phn"))
    assert got["aː"] == ("a", "decomposed")


def test_char_phoneme_method_uses_target_voice(sw_cfg: LangConfig):
    # "q" is not in the source list; the Swahili voice reads it as k
    got = _as_dict(build_token_map(["q", "a"], ["a", "k", "s", "t"], token_type="char",
                                   target_cfg=sw_cfg))
    assert got["q"] == ("k", "phoneme")
    assert got["a"] == ("a", "identity")


def test_char_features_without_voice(write_lang):
    cfg = LangConfig.load(write_lang(espeak_voice="none", token_type="char"))
    got = _as_dict(build_token_map(["ɛ̀", "ɔ", "ŋ"], ["a", "e", "i", "o", "u", "n", "m"],
                                   target_cfg=cfg))
    assert got["ɛ̀"] == ("e", "features")  # decomposes to ɛ, absent; nearest vowel e
    assert got["ɔ"] == ("o", "features")
    assert got["ŋ"] == ("n", "features")


def test_unmapped_and_summary():
    entries = build_token_map(["a", "#", "日", "ʘ"], ["a", "e"], token_type="char")
    got = _as_dict(entries)
    assert got["#"] == (None, "unmapped")
    assert got["日"] == (None, "unmapped")
    assert got["ʘ"] == (None, "unmapped")  # a click is nowhere near a vowel
    assert summarize(entries) == "4 target tokens; identity: 1, unmapped: 3; unmapped: # 日 ʘ"


def test_lone_combining_marks_map_only_to_the_same_mark(sw_cfg: LangConfig):
    # NFD Yoruba tokens: base letters and the marks alone (grave, acute, dot below)
    targets = ["<blank>", "o", "e", "\u0300", "\u0301", "\u0323", "<sos/eos>"]
    source = ["<blank>", "a", "e", "o", "é", "ò", "\u0300", "<sos/eos>"]
    for cfg in (None, sw_cfg):  # with or without a target voice to read characters
        entries = build_token_map(targets, source, token_type="char", target_cfg=cfg)
        got = _as_dict(entries)
        assert got["o"] == ("o", "identity") and got["e"] == ("e", "identity")
        assert got["\u0300"] == ("\u0300", "identity")
        assert got["\u0301"] == (None, "unmapped")  # not "é": a tone is not a vowel
        assert got["\u0323"] == (None, "unmapped")
    assert summarize(entries).endswith("; unmapped: U+0301 U+0323")


def test_max_distance_limits_features():
    assert build_token_map(["ɣ"], ["ɡ"], token_type="phn", max_distance=0.5)[0].method == "unmapped"
    assert build_token_map(["ɣ"], ["ɡ"], token_type="phn", max_distance=1.0)[0].source == "ɡ"


def test_write_read_round_trip(tmp_path: Path):
    entries = [MapEntry("<blank>", "<blank>", "identity"), MapEntry("ɣ", "ɡ", "features"),
               MapEntry("日", None, "unmapped")]
    path = tmp_path / "token_map.tsv"
    write_token_map(entries, path)
    assert path.read_text(encoding="utf-8") == (
        "<blank>\t<blank>\tidentity\nɣ\tɡ\tfeatures\n日\t\tunmapped\n"
    )
    assert read_token_map(path) == {"<blank>": "<blank>", "ɣ": "ɡ", "日": None}
    assert [e.method for e in read_token_map_entries(path)] == ["identity", "features", "unmapped"]


@pytest.mark.parametrize(
    "content, expected",
    [
        ("a\tb\n", ":1: expected `target<TAB>source<TAB>method`"),
        ("a\tb\tguess\n", ":1: method 'guess' is not one of"),
        ("a\t\tidentity\n", ":1: token 'a': the source must be empty exactly when"),
        ("a\tb\tunmapped\n", ":1: token 'a': the source must be empty exactly when"),
        ("a\tb\tidentity\na\tc\tfeatures\n", ":2: target token 'a' already mapped on line 1"),
    ],
)
def test_bad_token_map_files(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "token_map.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenMapError) as e:
        read_token_map(path)
    assert str(e.value).startswith(f"{path}{expected}")


def test_missing_token_map(tmp_path: Path):
    with pytest.raises(TokenMapError, match=r"nope.tsv: token map not found; make one with"):
        read_token_map(tmp_path / "nope.tsv")
