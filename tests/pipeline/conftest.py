"""Fixtures of the alignment-step tests: an aligner that needs no ASR, a TTS token list."""

import collections
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest

from lrspeech.pipeline.align import AlignmentError, TokenAlignment, word_index

REPO = Path(__file__).resolve().parents[2]


class FakeAligner:
    """Stands in for CtcAligner: the ASR's char tokens, each token emitted at an even step
    through the clip, a fixed score per utterance (-0.1 unless given)."""

    sample_rate = 16000

    def __init__(self, scores: Optional[Dict[str, float]] = None) -> None:
        self.scores = scores or {}
        self.texts: Dict[str, List[str]] = {}  # the tokens each utterance was aligned with

    def tokenize(self, text: str) -> List[str]:
        return ["<space>" if c == " " else c for c in text]

    def align(self, utt: str, wav: np.ndarray, text: Optional[str] = None,
              tokens: Optional[Sequence[str]] = None) -> TokenAlignment:
        tokens = list(tokens if tokens is not None else self.tokenize(text or ""))
        words = word_index(tokens)
        if max(words, default=-1) < 0:
            raise AlignmentError(f"utterance '{utt}': nothing to align")
        self.texts[utt] = tokens
        duration = len(wav) / self.sample_rate
        step = duration / (len(tokens) + 1)
        spans = [((i + 0.5) * step, (i + 0.5) * step + 0.01) for i in range(len(tokens))]
        return TokenAlignment(utt, tokens, spans, words, duration, 0.04,
                              self.scores.get(utt, -0.1))


@pytest.fixture
def fake_aligner():
    return FakeAligner


def write_tts_token_list(lang_config: Path, texts: Sequence[str], out: Path,
                         token_type: str = "char") -> Path:
    """The token list of the TTS tokens of `texts` (as stage 3 makes it)."""
    from lrspeech.text import token_list as tl
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.tokenizer import Tokenizer

    tokenizer = Tokenizer(LangConfig.load(lang_config), token_type=token_type)
    counts: collections.Counter = collections.Counter()
    for text in texts:
        counts.update(tokenizer.tokenize(text))
    tl.write_token_list(tl.build_token_list(counts), out)
    return out


@pytest.fixture
def tts_token_list():
    return write_tts_token_list
