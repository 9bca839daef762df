"""Phonemes from any espeak-ng language through phonemizer, cached per unique word.

Usage: python -c "from lrspeech.text.g2p import available_voices as v; print(sorted(v()))"

ESPnet's own g2p list is hard-coded to a few languages; phonemizer's espeak-ng backend covers
every voice espeak-ng has. A phonemizer call has a fixed cost, so words are phonemized once,
in one batch per call of `word_phones`, and cached: tokenizing 100k sentences costs one call
per new vocabulary chunk, not one per sentence. Words are phonemized in isolation, which
loses cross-word effects (English "the" before a vowel); that is the price of the cache.
"""

import difflib
import logging
import shutil
from typing import Dict, Iterable, List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

WORD_SEPARATOR = "|"
STRESS_MARKS = "ˈˌ"
LIST_VOICES_HINT = (
    "list the voices with `espeak-ng --voices` (first column) or set `espeak_voice: none` "
    "to use grapheme tokens"
)


class G2PError(LrspeechError, ValueError):
    """espeak-ng/phonemizer is missing or the configured voice does not exist."""


def available_voices() -> Dict[str, str]:
    """espeak-ng language codes -> names, as phonemizer sees them."""
    from phonemizer.backend import EspeakBackend

    if shutil.which("espeak-ng") is None and not EspeakBackend.is_available():
        raise G2PError(
            "espeak-ng is not installed; install it (e.g. `apt-get install espeak-ng`) or set "
            "`espeak_voice: none` in the language config to use grapheme tokens"
        )
    return dict(EspeakBackend.supported_languages())


def check_voice(cfg: LangConfig) -> str:
    """Return cfg.espeak_voice if espeak-ng has it, else raise naming the yaml and the fix."""
    voice = cfg.espeak_voice
    if voice is None:
        raise G2PError(f"{cfg.where}: espeak_voice is none; phonemes need an espeak-ng voice")
    voices = available_voices()
    if voice in voices:
        return voice
    close = difflib.get_close_matches(voice, list(voices), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise G2PError(
        f"{cfg.where}: espeak_voice: {voice!r} is not an espeak-ng voice{hint}; "
        f"{LIST_VOICES_HINT}"
    )


def split_phones(phonemized: str, keep_stress: bool) -> List[str]:
    """Phone tokens of one phonemized word; espeak's own word breaks become `<space>`."""
    tokens: List[str] = []
    for tok in phonemized.split():
        if tok == WORD_SEPARATOR:
            if tokens and tokens[-1] != "<space>":
                tokens.append("<space>")
            continue
        if not keep_stress:
            tok = tok.translate({ord(m): None for m in STRESS_MARKS})
        if tok:
            tokens.append(tok)
    while tokens and tokens[-1] == "<space>":
        tokens.pop()
    return tokens


class Phonemizer:
    """Word -> phone tokens for one language config, with a per-word cache."""

    def __init__(self, cfg: LangConfig) -> None:
        from phonemizer.backend import EspeakBackend
        from phonemizer.separator import Separator

        self.cfg = cfg
        self.voice = check_voice(cfg)
        self.keep_stress = cfg.stress == "keep"
        quiet = logging.getLogger("lrspeech.text.g2p.phonemizer")
        quiet.setLevel(logging.ERROR)
        self._backend = EspeakBackend(
            self.voice,
            with_stress=self.keep_stress,
            language_switch="remove-flags",
            logger=quiet,
        )
        self._separator = Separator(phone=" ", word=f" {WORD_SEPARATOR} ", syllable="")
        self._cache: Dict[str, List[str]] = {}

    def word_phones(self, words: Iterable[str]) -> Dict[str, List[str]]:
        """Phone tokens for each distinct word (an empty list if espeak-ng gives none)."""
        words = list(dict.fromkeys(words))
        new = [w for w in words if w not in self._cache]
        if new:
            out = self._backend.phonemize(new, separator=self._separator, strip=True, njobs=1)
            for word, phonemized in zip(new, out):
                self._cache[word] = split_phones(phonemized, self.keep_stress)
        return {w: self._cache[w] for w in words}

    def phones(self, word: str) -> List[str]:
        """Phone tokens of one word (uses the cache)."""
        return self.word_phones([word])[word]

    @property
    def cache_size(self) -> int:
        return len(self._cache)


def char_sounds(cfg: LangConfig, chars: Iterable[str]) -> Dict[str, Optional[str]]:
    """The phone each character stands for in this language, or None if unclear.

    espeak-ng reads a lone consonant letter by its name ("k" -> k e), so a character whose
    lone reading is not a single phone is read before "a" ("ka" -> k a) and the first of
    the two phones is kept. Without a voice every value is None.
    """
    chars = list(chars)
    if cfg.espeak_voice is None:
        return {c: None for c in chars}
    ph = Phonemizer(cfg)
    alone = ph.word_phones(chars)
    with_a = ph.word_phones([c + "a" for c in chars])
    out: Dict[str, Optional[str]] = {}
    for c in chars:
        if len(alone[c]) == 1:
            out[c] = alone[c][0]
        elif len(with_a[c + "a"]) == 2:
            out[c] = with_a[c + "a"][0]
        else:
            out[c] = None
    return out
