"""Clean text and split it into tokens (phonemes, characters or BPE pieces) for ESPnet.

Usage: python -m lrspeech.bin.tokenize_text --lang_config conf/lang/sw.yaml --in data/x/text --out t

Word boundaries are `<space>` tokens and kept punctuation is a token of its own, so the
output works with ESPnet's `--token_type word` for any language. For phonemes, a batch of
sentences is phonemized in one call over its unique words (see g2p.py). A language without
an espeak-ng voice falls back to grapheme tokens. Characters a model will likely not handle
(digits left unexpanded, symbols of other kinds) are counted in an `UnknownReport`, to be
logged once at the end instead of once per line.
"""

import collections
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Dict, List, Optional, Sequence, Union

from lrspeech.errors import InputError
from lrspeech.text.bpe import UNK, BpeModel
from lrspeech.text.cleaners import SENTENCE_PUNCTUATION, WORD_JOINERS, clean_text
from lrspeech.text.g2p import Phonemizer
from lrspeech.text.graphemes import SPACE, split_graphemes
from lrspeech.text.lang import TOKEN_TYPES, LangConfig

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 10
_SEGMENTS = re.compile(r"(\s+)|([.,?!;:])|([^\s.,?!;:]+)")


@dataclass
class UnknownReport:
    """Counts of characters/words/tokens that the tokenizer could not map cleanly."""

    chars: collections.Counter = field(default_factory=collections.Counter)
    char_examples: Dict[str, str] = field(default_factory=dict)
    unpronounceable: collections.Counter = field(default_factory=collections.Counter)
    oov_tokens: collections.Counter = field(default_factory=collections.Counter)

    def add_chars(self, text: str, where: str, charset: Optional[Collection[str]] = None) -> None:
        """Count characters outside `charset` (default: letters, marks, kept punctuation)."""
        for ch in text:
            known = _is_known_char(ch) if charset is None else ch == " " or ch in charset
            if not known:
                self.chars[ch] += 1
                self.char_examples.setdefault(ch, where)

    @property
    def empty(self) -> bool:
        return not (self.chars or self.unpronounceable or self.oov_tokens)

    def summary(self) -> str:
        """One paragraph: counts and a few examples of each kind of problem."""
        if self.empty:
            return "no unknown characters"
        parts = []
        if self.chars:
            shown = ", ".join(
                f"{ch!r} (U+{ord(ch):04X}) x{n} e.g. in {self.char_examples[ch]}"
                for ch, n in self.chars.most_common(MAX_EXAMPLES)
            )
            parts.append(
                f"{sum(self.chars.values())} unknown characters ({len(self.chars)} distinct): "
                f"{shown}; set number_normalizer for digits or clean the text"
            )
        if self.unpronounceable:
            parts.append(
                f"{sum(self.unpronounceable.values())} words espeak-ng gave no phonemes for "
                f"(written as <unk>): {_examples(self.unpronounceable)}"
            )
        if self.oov_tokens:
            parts.append(
                f"{sum(self.oov_tokens.values())} tokens not in the token list (written as "
                f"<unk>): {_examples(self.oov_tokens)}"
            )
        return "; ".join(parts)


def _examples(counter: collections.Counter) -> str:
    return ", ".join(f"{k!r} x{n}" for k, n in counter.most_common(MAX_EXAMPLES))


def _is_known_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or ch == " " or ch in SENTENCE_PUNCTUATION or ch in WORD_JOINERS


class Tokenizer:
    """Text -> tokens for one language config.

    `token_type` and `punctuation` override the config (ASR often strips punctuation that
    TTS keeps); `token_list` maps tokens outside it to `<unk>` (counted in the report).
    """

    def __init__(
        self,
        cfg: LangConfig,
        token_type: Optional[str] = None,
        bpemodel: Optional[Union[str, Path]] = None,
        punctuation: Optional[str] = None,
        token_list: Optional[Sequence[str]] = None,
    ) -> None:
        self.cfg = cfg.with_overrides(punctuation=punctuation)
        self.token_type = token_type or cfg.token_type
        if self.token_type not in TOKEN_TYPES:
            raise InputError(
                f"token type {self.token_type!r} is not valid; choose one of {list(TOKEN_TYPES)}"
            )
        self.report = UnknownReport()
        self._phonemizer: Optional[Phonemizer] = None
        self._bpe: Optional[BpeModel] = None
        self._known = frozenset(token_list) if token_list is not None else None
        if self.token_type == "phn" and cfg.espeak_voice is None:
            logger.info("%s: espeak_voice is none: using grapheme tokens", cfg.where)
            self.token_type = "char"
        if self.token_type == "phn":
            self._phonemizer = Phonemizer(self.cfg)
        if self.token_type == "bpe":
            if bpemodel is None:
                raise InputError(
                    f"{cfg.where}: token type bpe needs a sentencepiece model; pass --bpemodel "
                    f"(train one with `python -m lrspeech.bin.train_bpe`)"
                )
            self._bpe = BpeModel(bpemodel)

    def clean(self, text: str) -> str:
        return clean_text(text, self.cfg)

    def tokenize(self, text: str, where: str = "<text>") -> List[str]:
        """Tokens of one raw sentence; `where` names it in the unknown report."""
        return self.tokenize_batch([text], [where])[0]

    def tokenize_batch(self, texts: Sequence[str], wheres: Sequence[str]) -> List[List[str]]:
        """Tokens of many raw sentences (phonemes: one espeak-ng call for all new words)."""
        cleaned = [self.clean(t) for t in texts]
        charset = self._bpe.chars if self._bpe is not None else None
        for text, where in zip(cleaned, wheres):
            self.report.add_chars(text, where, charset)
        if self._phonemizer is not None:
            words = [m.group(3) for t in cleaned for m in _SEGMENTS.finditer(t) if m.group(3)]
            self._phonemizer.word_phones(words)
        return [self._check_known(self._split(t)) for t in cleaned]

    def _split(self, text: str) -> List[str]:
        if self.token_type == "char":
            return split_graphemes(text, self.cfg.unicode_form)
        if self.token_type == "bpe":
            assert self._bpe is not None
            return self._bpe.encode(text)
        return self._phone_tokens(text)

    def _phone_tokens(self, text: str) -> List[str]:
        assert self._phonemizer is not None
        tokens: List[str] = []
        pending_space = False
        for space, punct, word in _SEGMENTS.findall(text):
            if space:
                pending_space = bool(tokens)
                continue
            if pending_space:
                tokens.append(SPACE)
                pending_space = False
            if punct:
                tokens.append(punct)
                continue
            phones = self._phonemizer.phones(word)
            if not phones:
                self.report.unpronounceable[word] += 1
                phones = [UNK]
            tokens.extend(phones)
        return tokens

    def _check_known(self, tokens: List[str]) -> List[str]:
        if self._known is None:
            return tokens
        out = []
        for tok in tokens:
            if tok not in self._known:
                self.report.oov_tokens[tok] += 1
                tok = UNK
            out.append(tok)
        return out
