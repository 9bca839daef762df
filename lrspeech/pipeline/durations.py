"""Per-token TTS durations from a CTC alignment, in the `durations` format FastSpeech2 reads.

Usage: python -m lrspeech.bin.ctc_align --asr_model exp/asr --data_dir data/paired_hq \
    --tts_config conf/tts/fastspeech2_tiny.yaml --out_dir exp/align/paired_hq

ESPnet's FastSpeech/FastSpeech2 append `<sos/eos>` to the token sequence and read one duration
per token plus one for that final token (`utt d1 ... dN d_eos`, a `text_int` file); with
reduction factor 1 the durations sum exactly to the utterance's feature frames,
len(wav) // hop_length + 1 (ESPnet's centred STFT), which the pitch and energy extractors
assert. The final token takes the trailing silence.

Mapping: the ASR alignment is laid out as words and pauses on the TTS frame grid
(`lrspeech.pipeline.align.layout_words`). Pause frames go to the TTS tokens between the words
that are pauses by nature (`<space>`, punctuation), or to `<sos/eos>` after the last word;
a word's frames go to its TTS tokens, at the ASR's own token boundaries when both use the
same units, else in proportion to per-token weights (1 each unless given).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import yaml

from lrspeech.data.errors import EMPTY_AUDIO
from lrspeech.data.kaldi_files import read_entries, write_mapping
from lrspeech.data.skips import EMPTY, SKIPPED_JSON, Skips
from lrspeech.errors import InputError
from lrspeech.pipeline.align import (
    SP_WORD_START,
    AlignmentError,
    TokenAlignment,
    WordLayout,
    is_word_break,
    layout_words,
    silence_mask,
)

logger = logging.getLogger(__name__)

DEFAULT_MIN_PAUSE_S = 0.08
UNREADABLE = "unreadable"  # skip reason: the audio could not be read


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


def group_tts_tokens(tokens: Sequence[str]) -> Tuple[List[List[int]], List[List[int]]]:
    """Split token positions into words and the pause tokens around them.

    Returns (words, pauses) with len(pauses) == len(words) + 1: pauses[i] are the pause
    tokens before words[i], pauses[-1] those after the last word.
    """
    words: List[List[int]] = []
    for i, tok in enumerate(tokens):
        if is_pause_token(tok):
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


def _word_key(tokens: Sequence[str]) -> str:
    return "".join(tokens).replace(SP_WORD_START, "")


def _asr_word_tokens(alignment: TokenAlignment) -> List[List[int]]:
    """ASR token positions of each word."""
    out: List[List[int]] = [[] for _ in range(max(alignment.words, default=-1) + 1)]
    for i, w in enumerate(alignment.words):
        if w >= 0:
            out[w].append(i)
    return out


def _split_word(
    span: Tuple[int, int],
    tts_tokens: Sequence[str],
    alignment: TokenAlignment,
    asr_idx: Sequence[int],
    frame_s: float,
    weights: Optional[Mapping[str, float]],
) -> List[int]:
    """Frames of one word over its TTS tokens (at ASR boundaries when the units agree)."""
    start, end = span
    asr_tokens = [alignment.tokens[i].replace(SP_WORD_START, "") for i in asr_idx]
    if list(tts_tokens) != asr_tokens:
        w = [1.0 if weights is None else float(weights.get(t, 1.0)) for t in tts_tokens]
        return split_frames(end - start, w)
    cuts = []
    for a, b in zip(asr_idx[:-1], asr_idx[1:]):
        t = 0.5 * (alignment.spans[a][1] + alignment.spans[b][0])
        cuts.append(int(round(t / frame_s)))
    edges = np.clip(np.maximum.accumulate([start] + cuts + [end]), start, end)
    return _fill_zeros([int(x) for x in np.diff(edges)])


def tts_durations(
    alignment: TokenAlignment,
    tts_tokens: Sequence[str],
    wav: np.ndarray,
    frames: TtsFrames,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
    weights: Optional[Mapping[str, float]] = None,
) -> UttDurations:
    """Durations (TTS frames) of `tts_tokens` + `<sos/eos>` for `wav` at `frames.fs`.

    Raises AlignmentError when the ASR and TTS transcripts have different word counts or
    the audio has fewer frames than the transcript has tokens.
    """
    utt = alignment.utt_id
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


def write_durations(path: Path, durations: Mapping[str, Sequence[int]]) -> None:
    """Write `utt d1 ... dN d_eos` lines (sorted by id) atomically."""
    write_mapping(Path(path), {u: " ".join(str(int(x)) for x in d) for u, d in durations.items()})


def read_durations(path: Path) -> Dict[str, List[int]]:
    """Read a durations file; a malformed line raises ValueError naming file and line."""
    entries, problems = read_entries(Path(path))
    if problems:
        raise InputError("; ".join(str(p) for p in problems))
    out: Dict[str, List[int]] = {}
    for e in entries:
        try:
            values = [int(x) for x in e.value.split()]
        except ValueError:
            values = []
        if not values or min(values) < 0:
            raise InputError(
                f"{path}:{e.line}: utterance '{e.key}' needs non-negative integer durations, "
                f"got {e.value!r}; rerun lrspeech.bin.ctc_align"
            )
        out[e.key] = values
    return out


def write_scores(path: Path, scores: Mapping[str, float]) -> None:
    """Write `utt score` lines (sorted by id) atomically."""
    write_mapping(Path(path), {u: f"{float(s):.4f}" for u, s in scores.items()})


def read_scores(path: Path) -> Dict[str, float]:
    """Read a scores file; a malformed line raises ValueError naming file and line."""
    entries, problems = read_entries(Path(path))
    if problems:
        raise InputError("; ".join(str(p) for p in problems))
    out: Dict[str, float] = {}
    for e in entries:
        try:
            out[e.key] = float(e.value)
        except ValueError:
            raise InputError(
                f"{path}:{e.line}: utterance '{e.key}' has score {e.value!r}, not a number; "
                "rerun lrspeech.bin.ctc_align"
            ) from None
    return out


# ---------------------------------------------------------------- scores and filtering


def score_distribution(scores: Mapping[str, float], bins: int = 8) -> Dict[str, Any]:
    """Count, quantiles and a histogram of alignment scores (for reports and thresholds)."""
    if not scores:
        return {"n": 0}
    x = np.asarray(sorted(scores.values()), dtype=np.float64)
    q = np.percentile(x, [0, 5, 25, 50, 75, 95, 100])
    counts, edges = np.histogram(x, bins=bins)
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    out: Dict[str, Any] = {"n": int(len(x)), "mean": round(float(x.mean()), 4)}
    out.update({k: round(float(v), 4) for k, v in zip(keys, q)})
    out["histogram"] = [
        {"from": round(float(a), 4), "to": round(float(b), 4), "count": int(c)}
        for a, b, c in zip(edges[:-1], edges[1:], counts)
    ]
    return out


def auto_min_score(scores: Mapping[str, float], k: float = 4.0, margin: float = 0.2) -> float:
    """Robust outlier threshold: median - max(k * 1.4826 * MAD, margin).

    The scale of the score depends on how sure the ASR is, so a fixed value would keep
    everything with one ASR and drop everything with another; outliers of the corpus' own
    distribution are the transcripts that do not match their audio. The margin keeps a very
    tight distribution (an ASR that saw these clips) from cutting good pairs: measured with
    such an ASR on 12 Swahili clips, right transcripts scored -0.01 to -0.13, the same with
    one word replaced -0.33 to -1.7, another clip's transcript -2.9 to -6.0.
    """
    x = np.asarray(list(scores.values()), dtype=np.float64)
    if len(x) == 0:
        return -np.inf
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med)))
    return med - max(k * 1.4826 * mad, margin)


def resolve_min_score(min_score: Union[None, str, float], scores: Mapping[str, float]) -> float:
    """None: keep all; "auto": `auto_min_score`; a number: that threshold."""
    if min_score is None:
        return -np.inf
    if isinstance(min_score, str):
        if min_score == "auto":
            return auto_min_score(scores)
        try:
            return float(min_score)
        except ValueError:
            raise InputError(
                f"min_score {min_score!r}: give a number (mean log posterior per frame, <= 0), "
                "'auto' or none"
            ) from None
    return float(min_score)


@dataclass
class AlignReport:
    """What aligning a data dir gave: scores of the aligned, reasons for the skipped."""

    scores: Dict[str, float]
    skipped: Dict[str, str]
    unk: Dict[str, List[str]]
    dropped: Dict[str, List[str]]
    skips: Skips = field(default_factory=Skips)  # reason code per skipped utterance

    def skip(self, utt: str, err: Exception, reason: str) -> None:
        self.skipped[utt] = str(err)
        self.skips.add(utt, reason, str(err))

    def summary(self) -> Dict[str, Any]:
        return {
            "utterances": len(self.scores) + len(self.skipped),
            "aligned": len(self.scores),
            "skipped": len(self.skipped),
            "skipped_counts": self.skips.counts,
            "with_unk_tokens": len(self.unk),
            "with_dropped_tokens": len(self.dropped),
            "score": score_distribution(self.scores),
            "skipped_reasons": dict(sorted(self.skipped.items())),
            "unk_tokens": {u: " ".join(t) for u, t in sorted(self.unk.items())},
            "dropped_tokens": {u: " ".join(t) for u, t in sorted(self.dropped.items())},
        }


# ---------------------------------------------------------------- a whole data dir

DURATIONS, SCORES, CTM, TOKENS = "durations", "scores", "ctm", "tokens"
REPORT, FRAMES = "report.json", "frames.yaml"


def read_token_file(path: Path) -> Dict[str, List[str]]:
    """Pre-tokenized text (`utt tok1 tok2 ...`); problems raise ValueError naming file and line."""
    entries, problems = read_entries(Path(path))
    if problems:
        raise InputError("; ".join(str(p) for p in problems))
    return {e.key: e.value.split() for e in entries}


@dataclass
class Transcripts:
    """Where the ASR and TTS token sequences of each utterance come from.

    `asr`/`tts` are pre-tokenized sequences per utterance; without `asr`, the data dir's text is
    cleaned with `clean` (if given) and split by the ASR's own tokenizer; without `tts`, the TTS
    uses the ASR's tokens.
    """

    text: Mapping[str, str]
    asr: Optional[Mapping[str, List[str]]] = None
    tts: Optional[Mapping[str, List[str]]] = None
    clean: Optional[Callable[[str], str]] = None

    def asr_tokens(self, utt: str, aligner: Any) -> List[str]:
        if self.asr is not None:
            if utt not in self.asr:
                raise AlignmentError(f"utterance '{utt}' has no line in the ASR token file")
            return list(self.asr[utt])
        if utt not in self.text:
            raise AlignmentError(
                f"utterance '{utt}' has no transcript in text; transcribe it first "
                "(pseudo-labels) or drop it"
            )
        text = self.text[utt] if self.clean is None else self.clean(self.text[utt])
        return aligner.tokenize(text)

    def tts_tokens(self, utt: str, asr_tokens: List[str]) -> List[str]:
        if self.tts is None:
            return asr_tokens
        if utt not in self.tts:
            raise AlignmentError(f"utterance '{utt}' has no line in the TTS token file")
        return list(self.tts[utt])


def align_utterance(
    aligner: Any,
    utt: str,
    audio: Tuple[str, float, Optional[float]],
    transcripts: Transcripts,
    frames: TtsFrames,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
) -> Tuple[TokenAlignment, UttDurations]:
    """Align one utterance of a data dir ((spec, start, end) audio) and get its durations."""
    from lrspeech.data.audio import load_audio

    spec, start, end = audio
    asr_tokens = transcripts.asr_tokens(utt, aligner)
    wav_asr, _ = load_audio(spec, aligner.sample_rate, start=start, end=end)
    alignment = aligner.align(utt, wav_asr, tokens=asr_tokens)
    wav_tts, _ = load_audio(spec, frames.fs, start=start, end=end)
    tts_tokens = transcripts.tts_tokens(utt, asr_tokens)
    return alignment, tts_durations(alignment, tts_tokens, wav_tts, frames, min_pause_s)


def align_data_dir(
    aligner: Any,
    data_dir: Union[str, Path],
    out_dir: Union[str, Path],
    frames: TtsFrames,
    transcripts: Optional[Transcripts] = None,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
) -> AlignReport:
    """Align every utterance of a data dir; write durations, scores, ctm, tokens, report.

    Utterances that cannot be aligned (no transcript, audio too short for it, unreadable
    audio, word counts that differ) are skipped and listed with the reason in report.json.
    """
    from lrspeech.data.atomic import atomic_dir
    from lrspeech.data.audio import AudioError
    from lrspeech.data.datadir import DataDir
    from lrspeech.progress import progress

    dd = DataDir.load(Path(data_dir))
    transcripts = transcripts or Transcripts(text=dd.text)
    report = AlignReport({}, {}, {}, {})
    results: Dict[str, UttDurations] = {}
    for utt in progress(dd.audio_utt_ids, desc=f"ctc_align {dd.name}", unit="utt"):
        try:
            alignment, durs = align_utterance(
                aligner, utt, dd.audio_of(utt), transcripts, frames, min_pause_s
            )
        except AlignmentError as err:
            report.skip(utt, err, err.reason)
            logger.debug("skipped: %s", err)
            continue
        except AudioError as err:
            report.skip(utt, err, EMPTY if err.kind == EMPTY_AUDIO else UNREADABLE)
            logger.debug("skipped: %s", err)
            continue
        results[utt] = durs
        report.scores[utt] = durs.score
        if alignment.unk:
            report.unk[utt] = alignment.unk
        if alignment.dropped:
            report.dropped[utt] = alignment.dropped
    with atomic_dir(Path(out_dir), replace=(DURATIONS, SCORES, CTM, TOKENS, REPORT,
                                            SKIPPED_JSON)) as tmp:
        _write_results(tmp, results, report, frames)
        report.skips.write(tmp / SKIPPED_JSON)
    report.skips.log(f"ctc_align {dd.name}")
    logger.info(
        "%s: aligned %d, skipped %d utterances -> %s",
        dd.name, len(results), len(report.skipped), out_dir,
    )
    return report


def _write_results(
    out: Path, results: Mapping[str, UttDurations], report: AlignReport, frames: TtsFrames
) -> None:
    import json

    write_durations(out / DURATIONS, {u: r.durations for u, r in results.items()})
    write_scores(out / SCORES, report.scores)
    write_mapping(out / TOKENS, {u: " ".join(r.tokens) for u, r in results.items()})
    lines = []
    for utt in sorted(results):
        for word, start, end in results[utt].words:
            lines.append(f"{utt} 1 {start:.3f} {end - start:.3f} {word}\n")
    (out / CTM).write_text("".join(lines), encoding="utf-8")
    (out / FRAMES).write_text(
        yaml.safe_dump({"fs": frames.fs, "hop_length": frames.hop_length}), encoding="utf-8"
    )
    (out / REPORT).write_text(
        json.dumps(report.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_frames(align_dir: Path) -> TtsFrames:
    """The TTS frame grid an align dir was made for (its frames.yaml)."""
    path = Path(align_dir) / FRAMES
    if not path.is_file():
        raise InputError(f"{path}: missing; {align_dir} is not an output of lrspeech.bin.ctc_align")
    conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return TtsFrames(fs=int(conf["fs"]), hop_length=int(conf["hop_length"]))


# ---------------------------------------------------------------- FastSpeech2 training inputs


@dataclass
class PrepareReport:
    """Which aligned utterances went into the FastSpeech2 lists, and why the others did not."""

    lists_dir: Path
    min_score: float
    kept: List[str]
    low_score: Dict[str, float]
    not_aligned: List[str]
    mismatched: Dict[str, str]

    def summary(self) -> Dict[str, Any]:
        return {
            "lists_dir": str(self.lists_dir),
            "min_score": None if not np.isfinite(self.min_score) else round(self.min_score, 4),
            "kept": len(self.kept),
            "low_score": len(self.low_score),
            "not_aligned": len(self.not_aligned),
            "mismatched": len(self.mismatched),
            "mismatched_reasons": dict(sorted(self.mismatched.items())),
        }


def _check_frames(
    utt: str, spec: str, durations: Sequence[int], tokens: Sequence[str], frames: TtsFrames
) -> Optional[str]:
    """Why an utterance's durations do not fit its tokens or audio, or None."""
    from lrspeech.data.audio import AudioError, audio_info

    if len(durations) != len(tokens) + 1:
        return (
            f"utterance '{utt}': {len(durations)} durations for {len(tokens)} tokens + <sos/eos>; "
            "rerun lrspeech.bin.ctc_align with this TTS text"
        )
    try:
        info = audio_info(spec)
    except AudioError as err:
        return f"utterance '{utt}': {err}"
    if info.sample_rate != frames.fs:
        return (
            f"utterance '{utt}': audio is {info.sample_rate} Hz but the durations are for "
            f"{frames.fs} Hz; format the data dir at the TTS rate (stage 2) and realign"
        )
    want = frames.n_frames(info.frames)
    if sum(durations) != want:
        return (
            f"utterance '{utt}': durations sum to {sum(durations)} frames but its audio has {want} "
            f"at hop {frames.hop_length}; realign this data dir with lrspeech.bin.ctc_align"
        )
    return None


def prepare_fastspeech2_inputs(
    data_dir: Union[str, Path],
    align_dir: Union[str, Path],
    lists_dir: Union[str, Path],
    min_score: Union[None, str, float] = "auto",
    with_sids: bool = True,
    spk2sid: Optional[Union[str, Path, Mapping[str, int]]] = None,
    tts_config: Optional[Union[str, Path]] = None,
) -> PrepareReport:
    """ESPnet training lists for FastSpeech2 from a data dir and its `ctc_align` output.

    Keeps aligned utterances whose score reaches `min_score` (see `resolve_min_score`) and
    whose durations fit their TTS tokens and audio (one per token plus `<sos/eos>`, summing
    to the audio's frames at the TTS rate). Writes, through
    `lrspeech.models.train_lists.write_train_lists`, `wav.scp`, `text` (the TTS tokens),
    `durations`, and with `with_sids` `utt2spk`/`utt2sid`/`spk2sid` for a multi-speaker
    model (`spks`). With `tts_config`, also the token-averaged pitch and energy its
    extractors give (`write_pitch_energy`; train with `fastspeech2_data_args`). Raises
    ValueError when nothing is left to train on.
    """
    import tempfile

    from lrspeech.data.datadir import DataDir
    from lrspeech.models.train_lists import write_train_lists

    data_dir, align_dir, lists_dir = Path(data_dir), Path(align_dir), Path(lists_dir)
    dd = DataDir.load(data_dir)
    if dd.has_segments:
        raise InputError(
            f"{data_dir}/segments: FastSpeech2 lists need one audio file per utterance; run the "
            "audio formatting stage (stage 2), which cuts the segments, and align its output"
        )
    durations = read_durations(align_dir / DURATIONS)
    scores = read_scores(align_dir / SCORES)
    tokens = read_token_file(align_dir / TOKENS)
    frames = read_frames(align_dir)
    threshold = resolve_min_score(min_score, scores)
    report = PrepareReport(lists_dir, threshold, [], {}, [], {})
    for utt in dd.audio_utt_ids:
        if utt not in durations or utt not in tokens:
            report.not_aligned.append(utt)
        elif scores.get(utt, -np.inf) < threshold:
            report.low_score[utt] = scores.get(utt, -np.inf)
        else:
            spec, _, _ = dd.audio_of(utt)
            reason = _check_frames(utt, spec, durations[utt], tokens[utt], frames)
            if reason is None:
                report.kept.append(utt)
            else:
                report.mismatched[utt] = reason
                logger.warning("left out: %s", reason)
    if not report.kept:
        first = next(iter(report.mismatched.values()), "")
        raise InputError(
            f"{align_dir}: no utterance of {data_dir} is left for FastSpeech2 "
            f"({json_counts(report)}); check the alignment report ({align_dir / REPORT})"
            + (f"; first mismatch: {first}" if first else "")
        )
    kept = set(report.kept)
    subset = dd.copy(
        wav_scp={u: s for u, s in dd.wav_scp.items() if u in kept},
        text={u: " ".join(tokens[u]) for u in report.kept},
        utt2spk={u: s for u, s in dd.utt2spk.items() if u in kept},
        utt2dur={u: d for u, d in dd.utt2dur.items() if u in kept},
        utt2lang={u: x for u, x in dd.utt2lang.items() if u in kept},
    )
    lists_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lists_dir.parent) as tmp:
        subset.save(Path(tmp) / "data")
        write_durations(Path(tmp) / "data" / DURATIONS, {u: durations[u] for u in report.kept})
        write_train_lists(Path(tmp) / "data", lists_dir, with_sids=with_sids, spk2sid=spk2sid)
    if tts_config is not None:
        write_pitch_energy(lists_dir, tts_config)
    logger.info("FastSpeech2 inputs: %s", json_counts(report))
    return report


def json_counts(report: PrepareReport) -> str:
    s = report.summary()
    return ", ".join(f"{k} {s[k]}" for k in ("kept", "low_score", "not_aligned", "mismatched"))


# ---------------------------------------------------------------- pitch and energy, once

PITCH_ENERGY = ("pitch", "energy")


def write_pitch_energy(lists_dir: Union[str, Path], tts_config: Union[str, Path]) -> List[str]:
    """Token-averaged pitch and energy of every utterance in FastSpeech2 lists, computed once.

    ESPnet's FastSpeech2 extracts them from the waveform at every training step unless the
    data gives them (pyworld's DIO made a tiny model's steps about 3x slower on CPU). They are
    computed here with the extractors of `tts_config` (ESPnet's own classes, so the values
    are those training would compute) from the lists' wav.scp and durations, and written as
    `<name>.scp` + npy files in the lists dir. Returns the names written.
    """
    import torch
    from espnet2.tasks.tts import energy_extractor_choices, pitch_extractor_choices

    from lrspeech.data.atomic import atomic_dir, atomic_write_text
    from lrspeech.data.audio import load_audio
    from lrspeech.progress import progress

    lists_dir = Path(lists_dir)
    conf = yaml.safe_load(Path(tts_config).read_text(encoding="utf-8")) or {}
    frames = TtsFrames.from_tts_config(tts_config)
    choices = {"pitch": pitch_extractor_choices, "energy": energy_extractor_choices}
    wavs = {e.key: e.value for e in read_entries(lists_dir / "wav.scp")[0]}
    durations = read_durations(lists_dir / DURATIONS)
    written = []
    for name in PITCH_ENERGY:
        if conf.get(f"{name}_extract") is None:
            continue
        kwargs = dict(conf.get(f"{name}_extract_conf") or {})
        tts_conf = conf.get("tts_conf") or {}
        kwargs.setdefault("reduction_factor", tts_conf.get("reduction_factor", 1))
        extractor = choices[name].get_class(conf[f"{name}_extract"])(**kwargs)
        scp = {}
        with atomic_dir(lists_dir / f"data_{name}") as tmp:
            for utt in progress(sorted(durations), desc=f"{name} of {lists_dir}", unit="utt"):
                wav, _ = load_audio(wavs[utt])
                d = torch.tensor(durations[utt])[None]
                with torch.no_grad():
                    value, _ = extractor(
                        torch.from_numpy(wav)[None], torch.tensor([len(wav)]),
                        feats_lengths=torch.tensor([frames.n_frames(len(wav))]),
                        durations=d, durations_lengths=torch.tensor([d.shape[1]]),
                    )
                np.save(tmp / f"{utt}.npy", value[0].numpy())
                scp[utt] = str((lists_dir / f"data_{name}" / f"{utt}.npy").resolve())
        atomic_write_text(lists_dir / f"{name}.scp", "".join(f"{u} {p}\n" for u, p in scp.items()))
        written.append(name)
    return written


def fastspeech2_data_args(train_dir: Union[str, Path], valid_dir: Union[str, Path]) -> List[str]:
    """ESPnet arguments that feed the precomputed pitch/energy of train and valid lists."""
    args: List[str] = []
    for split, folder in (("train", Path(train_dir)), ("valid", Path(valid_dir))):
        for name in PITCH_ENERGY:
            if (folder / f"{name}.scp").is_file():
                entry = f"{folder}/{name}.scp,{name},npy"
                args += [f"--{split}_data_path_and_name_and_type", entry]
    return args
