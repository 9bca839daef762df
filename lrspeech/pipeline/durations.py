"""Per-token TTS durations from a CTC alignment: the arithmetic of one utterance.

Usage: python -c "from lrspeech.pipeline.durations import split_frames; \
print(split_frames(10, [1, 2, 1]))"

ESPnet's FastSpeech/FastSpeech2 append `<sos/eos>` to the token sequence and read one duration
per token plus one for that final token (`utt d1 ... dN d_eos`, a `text_int` file); with
reduction factor 1 the durations sum exactly to the utterance's feature frames,
len(wav) // hop_length + 1 (ESPnet's centred STFT), which the pitch and energy extractors
assert. The final token takes the trailing silence.

Mapping: the ASR alignment is laid out as words and pauses on the TTS frame grid
(`lrspeech.pipeline.align.layout_words`). Pause frames go to the TTS tokens between the words
that are pauses by nature (`<space>`, punctuation), or to `<sos/eos>` after the last word;
a word's frames go to its TTS tokens, cut where the ASR's letters between them are (the
letters each TTS token reads: lrspeech.pipeline.letters; the ASR's own boundaries when both use
the same units), or with `word_split="even"` in equal shares (per-token weights if given).

The rest of the alignment step lives beside this module: `align_data` aligns a whole data dir,
`duration_files` reads and writes its files, `align_scores` picks the score threshold,
`align_step` is the recipe's ctc_align step, `fastspeech2_lists` and `pitch_energy` turn its
output into training inputs.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import yaml

from lrspeech.errors import InputError
from lrspeech.pipeline.align import (
    SP_WORD_START,
    UNK,
    AlignmentError,
    TokenAlignment,
    WordLayout,
    is_word_break,
    layout_words,
    silence_mask,
)
from lrspeech.pipeline.letters import align_letters
from lrspeech.text.cleaners import APOSTROPHE

logger = logging.getLogger(__name__)

DEFAULT_MIN_PAUSE_S = 0.08
WORD_SPLITS = ("letters", "even")  # how a word's frames go to its TTS tokens


@dataclass(frozen=True)
class TtsFrames:
    """The TTS's frame grid: sample rate and hop, as in its `feats_extract_conf`."""

    fs: int = 22050
    hop_length: int = 256

    @property
    def frame_s(self) -> float:
        return self.hop_length / self.fs

    def n_frames(self, n_samples: int) -> int:
        """Feature frames ESPnet's centred STFT gives for `n_samples` samples."""
        return int(n_samples) // self.hop_length + 1

    @classmethod
    def from_tts_config(cls, path: Union[str, Path]) -> "TtsFrames":
        """Read fs and hop_length from an ESPnet TTS config (feats_extract_conf)."""
        with open(path, encoding="utf-8") as f:
            conf = yaml.safe_load(f) or {}
        feats = conf.get("feats_extract_conf") or {}
        if "fs" not in feats or "hop_length" not in feats:
            raise InputError(
                f"{path}: feats_extract_conf needs fs and hop_length to place TTS frames; "
                "add them (e.g. fs: 22050, hop_length: 256)"
            )
        return cls(fs=int(feats["fs"]), hop_length=int(feats["hop_length"]))


@dataclass
class UttDurations:
    """Durations of one utterance over its TTS tokens plus the final `<sos/eos>`."""

    utt_id: str
    tokens: List[str]
    durations: List[int]
    score: float
    words: List[Tuple[str, float, float]]

    @property
    def n_frames(self) -> int:
        return int(sum(self.durations))


def is_pause_token(token: str) -> bool:
    """`<space>`, whitespace and pure punctuation tokens stand for pauses, not sounds."""
    if is_word_break(token):
        return True
    return token != "" and all(unicodedata.category(c).startswith("P") for c in token)


def joins_word(tokens: Sequence[str], i: int) -> bool:
    """True for an apostrophe token between two sounding tokens ("n g ' o m b e"): inside the
    word, as the cleaners keep it under either punctuation policy, so the ASR transcript (always
    `strip`) has it inside the word too. Hyphens are not: `strip` splits the word there."""
    if tokens[i] != APOSTROPHE or i == 0 or i == len(tokens) - 1:
        return False
    return not is_pause_token(tokens[i - 1]) and not is_pause_token(tokens[i + 1])


def group_tts_tokens(tokens: Sequence[str]) -> Tuple[List[List[int]], List[List[int]]]:
    """Split token positions into words and the pause tokens around them.

    Returns (words, pauses) with len(pauses) == len(words) + 1: pauses[i] are the pause
    tokens before words[i], pauses[-1] those after the last word. A word-internal apostrophe
    belongs to its word (joins_word).
    """
    words: List[List[int]] = []
    for i, tok in enumerate(tokens):
        if is_pause_token(tok) and not joins_word(tokens, i):
            continue
        if words and words[-1][-1] == i - 1:
            words[-1].append(i)
        else:
            words.append([i])
    edges = [-1] + [w[-1] for w in words]
    nexts = [w[0] for w in words] + [len(tokens)]
    return words, [list(range(a + 1, b)) for a, b in zip(edges, nexts)]


def split_frames(n_frames: int, weights: Sequence[float]) -> List[int]:
    """Split frames in proportion to weights (largest remainder), at least 1 each if it can."""
    if len(weights) == 0:
        return []
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-6)
    share = n_frames * w / w.sum()
    out = np.floor(share).astype(int)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: n_frames - int(out.sum())]] += 1
    return _fill_zeros([int(d) for d in out])


def _fill_zeros(durations: List[int]) -> List[int]:
    """Give every zero-length token a frame taken from the longest token, while that can."""
    d = list(durations)
    for i in range(len(d)):
        if d[i] == 0:
            j = int(np.argmax(d))
            if d[j] > 1:
                d[j] -= 1
                d[i] = 1
    return d


def _asr_word_tokens(alignment: TokenAlignment) -> List[List[int]]:
    """ASR token positions of each word."""
    out: List[List[int]] = [[] for _ in range(max(alignment.words, default=-1) + 1)]
    for i, w in enumerate(alignment.words):
        if w >= 0:
            out[w].append(i)
    return out


def _letters_of(token: str) -> str:
    """An ASR token's letters; `<unk>` stands for one letter that spells no phone."""
    return "\ufffd" if token == UNK else token.replace(SP_WORD_START, "")


def _letter_cuts(
    alignment: TokenAlignment, asr_idx: Sequence[int]
) -> Tuple[List[str], List[float]]:
    """The word's letters and the times (s) between consecutive letters.

    Between two ASR tokens the cut is midway between their emissions; the letters inside one
    token (a BPE piece) share the stretch between its neighbours' cuts evenly.
    """
    pieces = [_letters_of(alignment.tokens[i]) for i in asr_idx]
    spans = [alignment.spans[i] for i in asr_idx]
    between = [0.5 * (a[1] + b[0]) for a, b in zip(spans[:-1], spans[1:])]
    edges = [spans[0][0]] + between + [spans[-1][1]]
    letters: List[str] = []
    cuts: List[float] = []
    for k, piece in enumerate(pieces):
        if not piece:
            continue
        if letters:
            cuts.append(edges[k])
        a, b = edges[k], edges[k + 1]
        cuts.extend(a + (b - a) * q / len(piece) for q in range(1, len(piece)))
        letters.extend(piece)
    return letters, cuts


def _split_word(
    span: Tuple[int, int],
    tts_tokens: Sequence[str],
    alignment: TokenAlignment,
    asr_idx: Sequence[int],
    frame_s: float,
    weights: Optional[Mapping[str, float]],
) -> List[int]:
    """Frames of one word over its TTS tokens, cut where the ASR's letters between them are.

    `weights` (per TTS token) share the word out in proportion instead, ignoring the ASR's
    timing within the word.
    """
    start, end = span
    if weights is not None:
        return split_frames(end - start, [float(weights.get(t, 1.0)) for t in tts_tokens])
    letters, cuts = _letter_cuts(alignment, asr_idx)
    groups = align_letters(letters, tts_tokens)
    read = [j for j, g in enumerate(groups) if g]
    if not read:
        return split_frames(end - start, [1.0] * len(tts_tokens))
    edges = [start]
    for j in read[1:]:
        edges.append(int(round(cuts[groups[j][0] - 1] / frame_s)))
    edges.append(end)
    edges = [int(x) for x in np.clip(np.maximum.accumulate(edges), start, end)]
    # a token that reads no letter shares the time of the reading one before it (or after it)
    shares: List[List[int]] = [[] for _ in read]
    n = 0
    for k in range(len(tts_tokens)):
        if groups[k] and k != read[n]:
            n += 1
        shares[n].append(k)
    out = [0] * len(tts_tokens)
    for n, share in enumerate(shares):
        for k, d in zip(share, split_frames(edges[n + 1] - edges[n], [1.0] * len(share))):
            out[k] = d
    return _fill_zeros(out)


def tts_durations(
    alignment: TokenAlignment,
    tts_tokens: Sequence[str],
    wav: np.ndarray,
    frames: TtsFrames,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
    weights: Optional[Mapping[str, float]] = None,
    word_split: str = "letters",
) -> UttDurations:
    """Durations (TTS frames) of `tts_tokens` + `<sos/eos>` for `wav` at `frames.fs`.

    `word_split`: "letters" cuts a word between its TTS tokens where the ASR's letters between
    them are (lrspeech.pipeline.letters); "even" shares the word out equally (in proportion to
    `weights`, per TTS token, when given).

    Raises AlignmentError when the ASR and TTS transcripts have different word counts or
    the audio has fewer frames than the transcript has tokens.
    """
    utt = alignment.utt_id
    if word_split not in WORD_SPLITS:
        raise ValueError(f"word_split {word_split!r}: use one of {', '.join(WORD_SPLITS)}")
    if word_split == "even" and weights is None:
        weights = {}
    tts_words, tts_pauses = group_tts_tokens(tts_tokens)
    spans = alignment.word_spans()
    if len(tts_words) != len(spans):
        raise AlignmentError(
            f"utterance '{utt}': the ASR transcript has {len(spans)} words but the TTS tokens "
            f"have {len(tts_words)}; tokenize both from the same cleaned text"
        )
    n_frames = frames.n_frames(len(wav))
    if n_frames < len(tts_tokens):
        raise AlignmentError(
            f"utterance '{utt}': {n_frames} TTS frames cannot hold {len(tts_tokens)} tokens; "
            "the audio is too short for its transcript: check the pair or drop it"
        )
    silent = silence_mask(wav, frames.hop_length)
    min_pause = int(round(min_pause_s / frames.frame_s))
    layout = layout_words(spans, n_frames, frames.frame_s, silent, min_pause)
    durations = [0] * (len(tts_tokens) + 1)
    _place_words(layout, tts_words, tts_tokens, alignment, frames.frame_s, weights, durations)
    _place_pauses(layout, tts_words, tts_pauses, durations)
    dt = frames.frame_s
    words = [(s.word, a * dt, b * dt) for s, (a, b) in zip(spans, layout.words)]
    assert sum(durations) == n_frames, (utt, sum(durations), n_frames)
    return UttDurations(utt, list(tts_tokens), durations, alignment.score, words)


def _place_words(
    layout: WordLayout,
    tts_words: List[List[int]],
    tts_tokens: Sequence[str],
    alignment: TokenAlignment,
    frame_s: float,
    weights: Optional[Mapping[str, float]],
    durations: List[int],
) -> None:
    """Write each word's frames into `durations` at its TTS token positions."""
    for span, positions, asr_idx in zip(layout.words, tts_words, _asr_word_tokens(alignment)):
        toks = [tts_tokens[p] for p in positions]
        for pos, d in zip(positions, _split_word(span, toks, alignment, asr_idx, frame_s, weights)):
            durations[pos] = d


def _place_pauses(
    layout: WordLayout,
    tts_words: List[List[int]],
    tts_pauses: List[List[int]],
    durations: List[int],
) -> None:
    """Pause frames to the pause tokens; the final pause also to `<sos/eos>`.

    Words are separated by pause tokens, so only the leading pause can lack one: it then
    joins the first word.
    """
    last = len(tts_pauses) - 1
    for i, ((a, b), receivers) in enumerate(zip(layout.pauses, tts_pauses)):
        if i == last:
            receivers = list(receivers) + [len(durations) - 1]
        if not receivers:
            durations[tts_words[0][0]] += b - a
            continue
        for pos, d in zip(receivers, split_frames(b - a, [1.0] * len(receivers))):
            durations[pos] += d
