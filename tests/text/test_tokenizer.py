"""Tokenizer: phones with <space> and punctuation tokens, grapheme fallback, unknown report."""

from pathlib import Path
from typing import Dict, List

import pytest

from lrspeech.text.bpe import train_bpe
from lrspeech.text.lang import LangConfig
from lrspeech.text.tokenizer import Tokenizer


def test_swahili_phones_with_spaces_and_punctuation(sw_cfg: LangConfig):
    tokens = Tokenizer(sw_cfg).tokenize("Polisi walinikamata, sana!")
    assert tokens == [
        "p", "o", "l", "i", "s", "i", "<space>",
        "w", "a", "l", "i", "n", "i", "k", "a", "m", "a", "t", "a", ",", "<space>",
        "s", "a", "n", "a", "!",
    ]


def test_numbers_are_phonemized_as_words(sw_cfg: LangConfig):
    tokens = Tokenizer(sw_cfg, punctuation="strip").tokenize("3 haki.")
    assert tokens == ["t", "a", "t", "u", "<space>", "h", "a", "k", "i"]


def test_real_corpus_text(sw_cfg: LangConfig, sw_rows: List[Dict[str, str]]):
    tok = Tokenizer(sw_cfg)
    out = tok.tokenize_batch([r["text"] for r in sw_rows], [r["id"] for r in sw_rows])
    assert len(out) == len(sw_rows)
    by_id = dict(zip([r["id"] for r in sw_rows], out))
    assert by_id["200702-201811_swh_35d_elicit_55"] == (
        "t u t a k a t a <space> r u f a a .".split()
    )
    assert all(t and " " not in "".join(t) for t in out)
    assert tok.report.empty


def test_char_tokens(sw_cfg: LangConfig):
    assert Tokenizer(sw_cfg, token_type="char").tokenize("Ng'ombe 2.") == [
        "n", "g", "'", "o", "m", "b", "e", "<space>", "m", "b", "i", "l", "i", ".",
    ]


def test_language_without_voice_falls_back_to_graphemes_with_tones(write_lang):
    cfg = LangConfig.load(
        write_lang(language="Yoruba", iso="yo", espeak_voice="none", number_normalizer="none")
    )
    tok = Tokenizer(cfg)  # token_type phn in the yaml, but there is no voice
    assert tok.token_type == "char"
    assert tok.tokenize("Ọ̀rẹ́ mi") == ["ọ̀", "r", "ẹ́", "<space>", "m", "i"]


def test_unknown_characters_summarized_once(write_lang):
    cfg = LangConfig.load(write_lang(number_normalizer="none", token_type="char"))
    tok = Tokenizer(cfg)
    tok.tokenize_batch(["miaka 29", "mwaka 2", "habari"], ["u1", "u2", "u3"])
    assert tok.report.chars == {"2": 2, "9": 1}
    summary = tok.report.summary()
    assert summary.startswith("3 unknown characters (2 distinct): '2' (U+0032) x2 e.g. in u1")
    assert "set number_normalizer" in summary


def test_token_list_maps_oov_to_unk(sw_cfg: LangConfig):
    tok = Tokenizer(sw_cfg, token_type="char", token_list=["<blank>", "<unk>", "a", "b"])
    assert tok.tokenize("abc") == ["a", "b", "<unk>"]
    assert tok.report.oov_tokens == {"c": 1}
    assert "1 tokens not in the token list" in tok.report.summary()


def test_bpe_tokens(sw_cfg: LangConfig, tmp_path: Path):
    sentences = ["habari yako rafiki", "polisi walinikamata", "nilitoka nyumbani jioni"] * 10
    model = train_bpe(sentences, tmp_path / "bpe", vocab_size=25)
    tok = Tokenizer(sw_cfg, token_type="bpe", bpemodel=model, punctuation="strip")
    pieces = tok.tokenize("Habari, rafiki!")
    assert "".join(pieces).replace("\u2581", " ").strip() == "habari rafiki"
    assert pieces[0].startswith("\u2581")
    assert tok.tokenize("xyz") == ["\u2581", "<unk>", "y", "<unk>"]  # no x or z in training
    assert tok.report.chars == {"x": 1, "z": 1}


def test_bpe_without_model_says_how_to_train(sw_cfg: LangConfig):
    expected = r"token type bpe needs a sentencepiece model; pass --bpemodel"
    with pytest.raises(ValueError, match=expected):
        Tokenizer(sw_cfg, token_type="bpe")


def test_bad_token_type(sw_cfg: LangConfig):
    with pytest.raises(ValueError, match=r"token type 'word' is not valid; choose one of"):
        Tokenizer(sw_cfg, token_type="word")


YORUBA = ("Ọmọ náà ń sùn, ṣùgbọ́n ìyá rẹ̀ kò sùn. Ẹ káàárọ̀, ṣé dáadáa ni? Mo fẹ́ràn oúnjẹ "
          "ìbílẹ̀. Ọjà náà kún fún ènìyàn. Òjò ń rọ̀ lónìí.")
MARKS = {"\u0300", "\u0301", "\u0323"}  # grave (low tone), acute (high tone), dot below


def test_tone_marked_yoruba_nfc_letters_vs_nfd_marks(write_lang):
    def tokens(form: str) -> set:
        cfg = LangConfig.load(write_lang(f"{form}.yaml", espeak_voice="none", token_type="char",
                                         unicode_form=form))
        return set(Tokenizer(cfg).tokenize(YORUBA))

    nfc, nfd = tokens("NFC"), tokens("NFD")
    assert len(nfd) < len(nfc)  # one token per mark, not per vowel and tone
    assert {"á", "à", "ọ", "ẹ̀", "ọ́", "ṣ"} <= nfc and not MARKS & nfc  # precomposed letters
    assert MARKS <= nfd and {"a", "e", "o", "s"} <= nfd
    assert all(len(t) == 1 for t in nfd - {"<space>"})  # every code point is its own token
