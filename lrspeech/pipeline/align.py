"""CTC forced alignment: where each transcript token sits in a recording, from an ASR's CTC.

Usage: python -m lrspeech.bin.ctc_align --asr_model exp/asr --train data/paired_hq \
    --fs 16000 --hop_length 256 --out_dir exp/align/paired_hq

Why: with minutes of real speech a TTS attention decoder does not learn to align, while the
CTC branch of an ASR trained on the same speech does (see the design notes). The ASR's CTC
posteriors and the known transcript give, through a Viterbi search over the standard CTC
topology, the frames where each token is emitted; `lrspeech.pipeline.durations` turns those into
per-token TTS durations and `lrspeech.pipeline.segment` cuts long recordings at word pauses.

The alignment score of an utterance is the mean log posterior per ASR frame of the best CTC
path: 0 means every frame was certain; a transcript that does not match the audio drives it far
below the scores of its corpus (compare against the corpus' distribution, not a fixed value).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

BLANK = "<blank>"
UNK = "<unk>"
SPACE = "<space>"
SOS_EOS = "<sos/eos>"
SP_WORD_START = "\u2581"  # sentencepiece's word-start mark

# Back-pointer codes of the Viterbi search: stay, advance one state, skip a blank.
_STAY, _NEXT, _SKIP = 0, 1, 2


UNALIGNABLE = "unalignable"  # skip reason of alignment errors other than short audio
TOO_SHORT_FOR_TEXT = "too_short_for_text"


class AlignmentError(LrspeechError, ValueError):
    """An utterance cannot be aligned; the message names it and says what to do.

    `reason` is a short code for counting skipped utterances (lrspeech.data.skips).
    """

    def __init__(self, message: str, reason: str = UNALIGNABLE) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CtcPath:
    """Best CTC path: for every frame the transcript position it emits (-1 for blank)."""

    token_index: np.ndarray
    log_prob: float

    @property
    def score(self) -> float:
        """Mean log posterior per frame of the path (0 = certain)."""
        return self.log_prob / max(len(self.token_index), 1)

    def spans(self, n_tokens: int) -> List[Tuple[int, int]]:
        """Frames [first, last + 1) that emit each transcript position, in order."""
        frames = np.arange(len(self.token_index))
        out = []
        for i in range(n_tokens):
            hits = frames[self.token_index == i]
            out.append((int(hits[0]), int(hits[-1]) + 1))
        return out


def min_ctc_frames(targets: Sequence[int]) -> int:
    """Fewest frames a CTC path for `targets` needs: one per token plus a blank per repeat."""
    repeats = sum(1 for a, b in zip(targets[:-1], targets[1:]) if a == b)
    return len(targets) + repeats


def ctc_viterbi(log_probs: np.ndarray, targets: Sequence[int], blank: int = 0) -> CtcPath:
    """Best path of `targets` through CTC log posteriors (T, V), blanks optional between tokens.

    The states are the usual CTC expansion `blank y1 blank y2 ... yU blank`; a state is entered
    from itself, from the previous state, or (for a token unlike the token two states back)
    across the blank in between, so repeated tokens are separated by at least one blank.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    n_frames = log_probs.shape[0]
    targets = [int(t) for t in targets]
    if not targets:
        raise AlignmentError("empty transcript: there is nothing to align")
    needed = min_ctc_frames(targets)
    if n_frames < needed:
        raise AlignmentError(
            f"{n_frames} ASR frames cannot hold {len(targets)} tokens (needs {needed})",
            TOO_SHORT_FOR_TEXT,
        )
    states = np.full(2 * len(targets) + 1, blank, dtype=np.int64)
    states[1::2] = targets
    can_skip = np.zeros(len(states), dtype=bool)
    can_skip[3::2] = states[3::2] != states[1:-2:2]
    emit = log_probs[:, states]  # (T, S)
    back = np.zeros((n_frames, len(states)), dtype=np.int8)
    score = np.full(len(states), -np.inf)
    score[:2] = emit[0, :2]
    for t in range(1, n_frames):
        cands = np.full((3, len(states)), -np.inf)
        cands[_STAY] = score
        cands[_NEXT, 1:] = score[:-1]
        cands[_SKIP, 2:] = np.where(can_skip[2:], score[:-2], -np.inf)
        back[t] = np.argmax(cands, axis=0)
        score = cands[back[t], np.arange(len(states))] + emit[t]
    return _backtrack(score, back)


def _backtrack(score: np.ndarray, back: np.ndarray) -> CtcPath:
    """Follow back-pointers from the better of the two final states."""
    last = len(score) - 1
    state = last if score[last] >= score[last - 1] else last - 1
    total = float(score[state])
    if not np.isfinite(total):
        raise AlignmentError("no CTC path fits: the posteriors rule the transcript out")
    path = np.empty(back.shape[0], dtype=np.int64)
    for t in range(back.shape[0] - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])
    token_index = np.where(path % 2 == 1, (path - 1) // 2, -1)
    return CtcPath(token_index=token_index, log_prob=total)


@dataclass
class AsrTokens:
    """A transcript in the ASR's units, with what could not be kept as it was."""

    tokens: List[str]
    ids: List[int]
    unk: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)


def to_asr_tokens(tokens: Sequence[str], token_list: Sequence[str], unk_policy: str) -> AsrTokens:
    """Map tokens to ASR ids; tokens the ASR cannot emit become `<unk>` or are dropped.

    `unk_policy` "unk" maps them to `<unk>` (dropped if the list has none), "drop" drops them.
    """
    if unk_policy not in ("unk", "drop"):
        raise AlignmentError(f"unk_policy must be 'unk' or 'drop', not {unk_policy!r}")
    index = {tok: i for i, tok in enumerate(token_list)}
    not_emitted = {BLANK, SOS_EOS}
    out = AsrTokens(tokens=[], ids=[])
    for tok in tokens:
        if tok in index and tok not in not_emitted:
            out.tokens.append(tok)
            out.ids.append(index[tok])
        elif unk_policy == "unk" and UNK in index:
            out.unk.append(tok)
            out.tokens.append(UNK)
            out.ids.append(index[UNK])
        else:
            out.dropped.append(tok)
    return out


def is_word_break(token: str) -> bool:
    """True for a token that only separates words: `<space>`, or sentencepiece's bare mark."""
    return token in (SPACE, SP_WORD_START) or (
        token != "" and all(unicodedata.category(c).startswith("Z") for c in token)
    )


def word_index(tokens: Sequence[str], each_token_a_word: bool = False) -> List[int]:
    """Word number of every token (-1 for word breaks); words break at `<space>` and at `▁x`."""
    out, word, in_word = [], -1, False
    for tok in tokens:
        if is_word_break(tok):
            out.append(-1)
            in_word = False
            continue
        if not in_word or each_token_a_word or tok.startswith(SP_WORD_START):
            word += 1
        in_word = True
        out.append(word)
    return out


@dataclass(frozen=True)
class WordSpan:
    """A word and the seconds [start, end) from its first to its last emitted ASR frame."""

    word: str
    start: float
    end: float


@dataclass
class TokenAlignment:
    """One utterance aligned in the ASR's units.

    `spans` are [start, end) seconds of the frames that emit each token (blank frames are not
    in them); `score` is the mean log posterior per ASR frame of the best path.
    """

    utt_id: str
    tokens: List[str]
    spans: List[Tuple[float, float]]
    words: List[int]
    duration: float
    frame_shift: float
    score: float
    unk: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)

    def word_spans(self) -> List[WordSpan]:
        """Per word: its text (ASR units joined) and first-to-last emission span in seconds."""
        out: List[WordSpan] = []
        for w in range(max(self.words, default=-1) + 1):
            idx = [i for i, k in enumerate(self.words) if k == w]
            text = "".join(self.tokens[i] for i in idx).replace(SP_WORD_START, "")
            out.append(WordSpan(text, self.spans[idx[0]][0], self.spans[idx[-1]][1]))
        return out


ModelLike = Union[str, Path, Any]


def _sample_rate(fs: Union[None, int, str]) -> int:
    """ESPnet's frontend `fs` (16000, "16k" or unset = 16000) in Hz."""
    if fs is None:
        return 16000
    if isinstance(fs, str):
        import humanfriendly

        return int(humanfriendly.parse_size(fs))
    return int(fs)


class CtcAligner:
    """Forced aligner around an ESPnet `Speech2Text` (its CTC branch and tokenizer).

    Recordings longer than `chunk_s` are encoded in windows of that length with `context_s`
    of extra audio on both sides, whose frames are discarded, so memory stays bounded.
    """

    def __init__(
        self,
        speech2text: Any,
        unk_policy: str = "unk",
        chunk_s: float = 60.0,
        context_s: float = 2.0,
    ) -> None:
        model = speech2text.asr_model
        if getattr(model, "ctc", None) is None:
            raise AlignmentError("the ASR model has no CTC branch; train it with ctc_weight > 0")
        if getattr(model, "frontend", None) is None:
            raise AlignmentError(
                "the ASR model reads precomputed features; a raw-audio ASR is needed"
            )
        self.s2t = speech2text
        self.model = model
        self.unk_policy = unk_policy
        self.chunk_s = chunk_s
        self.context_s = context_s
        self.token_list: List[str] = list(model.token_list)
        args = speech2text.asr_train_args
        self.sample_rate = _sample_rate((getattr(args, "frontend_conf", None) or {}).get("fs"))
        self.token_type = getattr(args, "token_type", None)
        self.blank = self.token_list.index(BLANK) if BLANK in self.token_list else 0
        self.frame_shift = self._measure_frame_shift()
        from lrspeech.models.input_limits import measure_limit

        self.input_limit = measure_limit(model, self.sample_rate)

    @classmethod
    def from_model(cls, model: ModelLike, **kwargs: Any) -> "CtcAligner":
        """From a `Speech2Text`, a packed model dir or an ESPnet exp dir (`load_speech2text`)."""
        if isinstance(model, (str, Path)):
            model = load_speech2text(model)
        return cls(model, **kwargs)

    def _encode(self, wav: np.ndarray) -> np.ndarray:
        """CTC log posteriors (T, V) of one waveform at the ASR's rate."""
        import torch

        speech = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None]
        lengths = torch.tensor([speech.shape[1]], dtype=torch.long)
        with torch.no_grad():
            enc, enc_lens = self.model.encode(speech, lengths)
            if isinstance(enc, tuple):  # some encoders return intermediate outputs too
                enc = enc[0]
            log_probs = self.model.ctc.log_softmax(enc)[0, : int(enc_lens[0])]
        return log_probs.cpu().numpy().astype(np.float64)

    def _measure_frame_shift(self) -> float:
        """Seconds per encoder frame: frontend hop times the encoder's subsampling."""
        hop = int(getattr(self.model.frontend, "hop_length", 0) or 0)
        if hop <= 0:
            raise AlignmentError("cannot read the ASR frontend's hop_length")
        probe = np.random.default_rng(0).normal(0, 0.01, 8 * self.sample_rate)
        n_in = len(probe) // hop + 1
        n_out = self._encode(probe).shape[0]
        subsampling = max(1, int(round(n_in / n_out)))
        return subsampling * hop / self.sample_rate

    @property
    def speech_encoder(self) -> Any:
        """The frozen speech encoder of a `whisper_ct2` frontend (its cached features can stand
        for the audio: `log_posteriors_of_feats`), else None."""
        from lrspeech.models.whisper_frontend import WhisperFrontend

        frontend = self.model.frontend
        return frontend.encoder if isinstance(frontend, WhisperFrontend) else None

    def _encode_feats(self, feats: np.ndarray) -> np.ndarray:
        """CTC log posteriors (T, V) of the frontend's output for one clip: the model's own
        `encode` with the frontend set aside, as the head was trained on cached features."""
        import torch

        x = torch.tensor(np.asarray(feats, dtype=np.float32))[None]  # a copy: arks are read-only
        lengths = torch.tensor([x.shape[1]], dtype=torch.long)
        frontend = self.model.frontend
        self.model.frontend = None
        try:
            with torch.no_grad():
                enc, enc_lens = self.model.encode(x, lengths)
        finally:
            self.model.frontend = frontend
        if isinstance(enc, tuple):
            enc = enc[0]
        log_probs = self.model.ctc.log_softmax(enc)[0, : int(enc_lens[0])]
        return log_probs.detach().cpu().numpy().astype(np.float64)

    def log_posteriors_of_feats(self, feats: np.ndarray) -> np.ndarray:
        """CTC log posteriors (T, V) from `speech_encoder`'s features (frames x dim) of a clip,
        windowed as `log_posteriors` windows audio."""
        if self.speech_encoder is None:
            raise AlignmentError("the ASR reads audio, not cached encoder features")
        rate = self.sample_rate / self.model.frontend.hop_length  # feature frames per second
        return self._windowed(feats, rate, self._encode_feats)

    def log_posteriors(self, wav: np.ndarray) -> np.ndarray:
        """CTC log posteriors (T, V) of a waveform at `sample_rate`, windowed when long."""
        return self._windowed(wav, self.sample_rate, self._encode)

    def _windowed(self, x: np.ndarray, rate: float, encode: Any) -> np.ndarray:
        """`encode` of `x` (`rate` rows per second) whole when within `chunk_s`, else in windows
        of `chunk_s` with `context_s` more on each side, whose extra frames are dropped."""
        duration = len(x) / rate
        if duration <= self.chunk_s:
            return encode(x)
        parts = []
        for start in np.arange(0.0, duration, self.chunk_s):
            end = min(start + self.chunk_s, duration)
            lo, hi = max(0.0, start - self.context_s), min(duration, end + self.context_s)
            log_probs = encode(x[int(lo * rate) : int(hi * rate)])
            first = int(round((start - lo) / self.frame_shift))
            last = int(round((end - lo) / self.frame_shift))
            parts.append(log_probs[first : min(last, len(log_probs))])
        return np.concatenate(parts, axis=0)

    def tokenize(self, text: str) -> List[str]:
        """The ASR's own tokenization of a (cleaned) transcript."""
        if self.s2t.tokenizer is None:
            return text.split()
        return list(self.s2t.tokenizer.text2tokens(text))

    def align(
        self,
        utt_id: str,
        wav: np.ndarray,
        text: Optional[str] = None,
        tokens: Optional[Sequence[str]] = None,
        feats: Optional[np.ndarray] = None,
    ) -> TokenAlignment:
        """Align a transcript (`text` for the ASR's tokenizer, or its `tokens`) to `wav`.

        `feats`: the speech encoder's cached features of `wav` (`speech_encoder`), used instead
        of encoding the audio again. Raises AlignmentError naming the utterance when nothing can
        be aligned or the audio is too short for the transcript.
        """
        if tokens is None:
            if text is None:
                raise ValueError("give the transcript as text or tokens")
            tokens = self.tokenize(text)
        asr = to_asr_tokens(tokens, self.token_list, self.unk_policy)
        if asr.unk or asr.dropped:
            logger.warning(
                "utterance '%s': tokens the ASR cannot emit: %s (%s)",
                utt_id,
                " ".join(asr.unk + asr.dropped),
                "dropped" if asr.dropped else f"aligned as {UNK}",
            )
        words = word_index(asr.tokens, self._each_token_a_word(asr.tokens))
        if max(words, default=-1) < 0:
            raise AlignmentError(
                f"utterance '{utt_id}': no token of its transcript can be emitted by the ASR; "
                "check the transcript and the ASR's token list"
            )
        short = self.input_limit.reason(len(wav))
        if short is not None:
            raise AlignmentError(
                f"utterance '{utt_id}': {self.input_limit.describe(len(wav))}; left out", short
            )
        log_probs = self.log_posteriors(wav) if feats is None else \
            self.log_posteriors_of_feats(feats)
        try:
            path = ctc_viterbi(log_probs, asr.ids, self.blank)
        except AlignmentError as err:
            raise AlignmentError(
                f"utterance '{utt_id}' ({len(wav) / self.sample_rate:.2f} s): {err}; "
                "the audio is too short or cut for its transcript: check the pair or drop it",
                err.reason,
            ) from err
        shift = self.frame_shift
        spans = [(a * shift, b * shift) for a, b in path.spans(len(asr.ids))]
        return TokenAlignment(
            utt_id=utt_id,
            tokens=asr.tokens,
            spans=spans,
            words=words,
            duration=len(wav) / self.sample_rate,
            frame_shift=shift,
            score=path.score,
            unk=asr.unk,
            dropped=asr.dropped,
        )

    def _each_token_a_word(self, tokens: Sequence[str]) -> bool:
        """A word-level ASR vocabulary without `<space>` marks: every token is a word."""
        return self.token_type == "word" and SPACE not in self.token_list


def frame_energy_db(wav: np.ndarray, hop_length: int) -> np.ndarray:
    """Energy in dB of frames centred on samples 0, hop, 2*hop, ... (two hops wide).

    The count, len(wav) // hop_length + 1, is that of a centred STFT such as ESPnet's.
    """
    x = np.asarray(wav, dtype=np.float64)
    n_frames = len(x) // hop_length + 1
    padded = np.pad(x, (hop_length, 2 * hop_length))
    csum = np.concatenate([[0.0], np.cumsum(padded**2)])
    starts = np.arange(n_frames) * hop_length
    power = (csum[starts + 2 * hop_length] - csum[starts]) / (2 * hop_length)
    return 10.0 * np.log10(power + 1e-12)


def silence_mask(
    wav: np.ndarray, hop_length: int, level: float = 0.3, min_range_db: float = 10.0
) -> np.ndarray:
    """Frames quieter than `level` of the way from the noise floor to the speech peak.

    Floor and peak are the 10th and 99th percentiles of the frame energies, so the rule follows
    each recording's noise; a recording whose range is under `min_range_db` has no silence.
    """
    db = frame_energy_db(wav, hop_length)
    floor, peak = np.percentile(db, [10, 99])
    if peak - floor < min_range_db:
        return np.zeros(len(db), dtype=bool)
    return db < floor + level * (peak - floor)


def longest_run(mask: np.ndarray, start: int, end: int) -> Tuple[int, int]:
    """[first, last) of the longest run of True in mask[start:end], or (start, start)."""
    best, run_start = (start, start), None
    for i in range(start, end + 1):
        on = i < end and bool(mask[i])
        if on and run_start is None:
            run_start = i
        elif not on and run_start is not None:
            if i - run_start > best[1] - best[0]:
                best = (run_start, i)
            run_start = None
    return best


@dataclass
class WordLayout:
    """Words and the pauses around them on a frame grid, tiling [0, n_frames).

    `pauses[i]` precedes `words[i]`; `pauses[-1]` follows the last word. An empty pause is
    (c, c): the neighbouring words meet at frame c.
    """

    words: List[Tuple[int, int]]
    pauses: List[Tuple[int, int]]
    n_frames: int


def layout_words(
    spans: Sequence[WordSpan],
    n_frames: int,
    frame_s: float,
    silent: np.ndarray,
    min_pause_frames: int,
) -> WordLayout:
    """Give every frame to a word or a pause.

    CTC emits a token in a frame or two and blanks elsewhere, so the frames between two
    words' emissions belong partly to each. In each such gap the longest silent run, if it
    lasts `min_pause_frames`, is a pause, sounding frames before it extend the previous word
    and after it the next one; without a pause the words meet in the middle of the gap's
    quietest stretch. Sound before the first word joins it; after the last word, it does
    until a pause, and the rest is the final pause.
    """
    bounds = _emission_frames(spans, n_frames, frame_s)
    starts = [b[0] for b in bounds] + [n_frames]
    ends = [0] + [b[1] for b in bounds]
    words = [list(b) for b in bounds]
    pauses = []
    for i in range(len(bounds) + 1):
        lo, hi = ends[i], starts[i]
        run = longest_run(silent, lo, hi)
        if run[1] - run[0] >= max(min_pause_frames, 1):
            pause = (lo if i == 0 else run[0], hi if i == len(bounds) else run[1])
        elif i == 0:
            pause = (0, 0)
        elif i == len(bounds):
            pause = (n_frames, n_frames)
        else:
            cut = (run[0] + run[1]) // 2 if run[1] > run[0] else (lo + hi) // 2
            pause = (cut, cut)
        if i > 0:
            words[i - 1][1] = pause[0]
        if i < len(bounds):
            words[i][0] = pause[1]
        pauses.append(pause)
    return WordLayout([(a, b) for a, b in words], pauses, n_frames)


def _emission_frames(
    spans: Sequence[WordSpan], n_frames: int, frame_s: float
) -> List[Tuple[int, int]]:
    """Word emission spans in seconds -> non-overlapping, non-empty frame spans in order."""
    out: List[Tuple[int, int]] = []
    prev_end = 0
    for k, span in enumerate(spans):
        room = n_frames - (len(spans) - k)  # leave a frame for each later word
        first = min(max(int(np.floor(span.start / frame_s)), prev_end), room)
        last = min(max(int(np.ceil(span.end / frame_s)), first + 1), room + 1)
        out.append((first, last))
        prev_end = last
    return out


def load_speech2text(model: Union[str, Path], device: str = "cpu") -> Any:
    """An ESPnet `Speech2Text` from a packed model dir (meta.json) or an ESPnet exp dir.

    CTC-only decoding settings are used: only the encoder and the CTC branch are needed.
    """
    model = Path(model)
    if (model / "meta.json").is_file():
        from lrspeech.models.packing import load_asr

        return load_asr(model, device=device)
    if (model / "config.yaml").is_file():
        from espnet2.bin.asr_inference import Speech2Text

        from lrspeech.models.espnet_train import TrainedExp
        from lrspeech.models.tasks import register_models

        register_models()
        exp = TrainedExp.load(model)
        return Speech2Text(
            str(exp.config), str(exp.checkpoint), device=device, ctc_weight=1.0, beam_size=1,
            lm_weight=0.0,
        )
    raise FileNotFoundError(
        f"{model}: neither a packed model dir (meta.json) nor an ESPnet exp dir (config.yaml); "
        "give the ASR's packed dir or its training output dir"
    )
