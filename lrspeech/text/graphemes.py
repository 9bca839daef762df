"""Grapheme tokens: user-perceived characters, with tone marks kept on their letter.

Usage: python -c "from lrspeech.text.graphemes import split_graphemes as s; print(s('ɛ̀bá'))"

Many tonal orthographies write tone with combining marks that have no precomposed form
("ɛ̀" is ɛ + U+0300 even in NFC), so splitting by code point would separate a vowel from its
tone. Under NFC a token is a base character plus all its following combining marks; under
NFD every code point is its own token, which shares base letters across tones at the cost of
longer sequences (the language config chooses).
"""

import unicodedata
from typing import List

SPACE = "<space>"


def is_combining(ch: str) -> bool:
    """Combining marks (Mn, Mc, Me) and zero-width joiners attach to the preceding character."""
    return unicodedata.category(ch).startswith("M") or ch in "\u200d\u034f"


def split_graphemes(text: str, unicode_form: str = "NFC") -> List[str]:
    """Tokens of `text` (already cleaned): clusters under NFC, code points under NFD.

    Whitespace runs become one `<space>` token.
    """
    text = unicodedata.normalize(unicode_form, text)
    tokens: List[str] = []
    for ch in text:
        if ch.isspace():
            if tokens and tokens[-1] != SPACE:
                tokens.append(SPACE)
        elif unicode_form == "NFC" and is_combining(ch) and tokens and tokens[-1] != SPACE:
            tokens[-1] += ch
        else:
            tokens.append(ch)
    if tokens and tokens[-1] == SPACE:
        tokens.pop()
    return tokens


def strip_marks(token: str) -> str:
    """NFD, then drop combining marks: "é" -> "e", "ɛ̀" -> "ɛ"; empty if only marks."""
    return "".join(ch for ch in unicodedata.normalize("NFD", token) if not is_combining(ch))
