"""Text cleaners: what TTS/ASR models see, and what CER/WER/IR compare.

Usage: python -c "from lrspeech.text.cleaners import normalize_for_scoring as n; print(n('Hi!'))"

`clean_text` applies a language's policies in a fixed order: Unicode NFC (so regexes see
composed characters), typographic quotes/dashes to plain ones, numbers to words, case,
punctuation, whitespace, then the configured Unicode form (NFC keeps tone marks as one
character; NFD splits them into base + combining mark). Combining marks are letters'
parts here and are never removed: in tonal orthographies they carry meaning.
"""

import dataclasses
import re
import unicodedata
from typing import Optional

from lrspeech.text.lang import LangConfig
from lrspeech.text.numbers import expand_numbers

SENTENCE_PUNCTUATION = frozenset(".,?!;:")
APOSTROPHE = "'"  # the joiner both policies keep inside a word (ng'ombe)
WORD_JOINERS = frozenset(APOSTROPHE + "-")
KEEP_FORMAT = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner
_TYPOGRAPHY = str.maketrans(
    {
        "\u2019": "'",  # right single quote, the usual apostrophe in "ng’ombe"
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)
_DASH_PAUSE = re.compile(r"\s+[-\u2013\u2014]+\s+|\s*[\u2013\u2014]\s*")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,?!;:])")
_WHITESPACE = re.compile(r"\s+")


def _drop_format_chars(text: str) -> str:
    """Remove invisible format/control characters (zero-width space, BOM, soft hyphen).

    Zero-width (non-)joiners stay: some scripts spell with them.
    """
    return "".join(
        " " if unicodedata.category(ch) == "Cc" and not ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch) != "Cf" or ch in KEEP_FORMAT
    )


def _is_punct_or_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def _joins_word(text: str, i: int) -> bool:
    """True for an apostrophe or hyphen with a letter (or mark) on both sides."""
    if text[i] not in WORD_JOINERS or i == 0 or i == len(text) - 1:
        return False
    return _is_word_char(text[i - 1]) and _is_word_char(text[i + 1])


def _apply_punctuation(text: str, policy: str) -> str:
    """keep: sentence punctuation and word-internal ' and -; strip: only word-internal '."""
    out = []
    for i, ch in enumerate(text):
        if not _is_punct_or_symbol(ch):
            out.append(ch)
        elif _joins_word(text, i) and (policy == "keep" or ch == APOSTROPHE):
            out.append(ch)
        elif policy == "keep" and ch in SENTENCE_PUNCTUATION:
            out.append(ch)
        else:
            out.append(" ")
    return "".join(out)


def clean_text(text: str, cfg: LangConfig) -> str:
    """The text a model of this language sees (numbers expanded, policies applied)."""
    text = _drop_format_chars(unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY))
    text = _DASH_PAUSE.sub(", ", text)
    text = expand_numbers(text, cfg.number_normalizer)
    if cfg.case == "lower":
        text = text.lower()
    text = _apply_punctuation(text, cfg.punctuation)
    text = _WHITESPACE.sub(" ", text).strip()
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = text.lstrip(",;: ")
    return unicodedata.normalize(cfg.unicode_form, text)


def normalize_for_scoring(text: str, cfg: Optional[LangConfig] = None) -> str:
    """Lower case, no punctuation, numbers expanded (with a cfg), single spaces, NFC."""
    if cfg is not None:
        scoring = dataclasses.replace(cfg, case="lower", punctuation="strip", unicode_form="NFC")
        return clean_text(text, scoring)
    text = _drop_format_chars(unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY))
    text = _apply_punctuation(text.lower(), "strip")
    return _WHITESPACE.sub(" ", text).strip()
