"""Cut long recordings into short utterances at the pauses between aligned words.

Usage: python -m lrspeech.bin.segment_data_dir --data_dir data/paired_hq \
    --ctm exp/align/paired_hq/ctm --out_dir data/paired_hq_seg

Why: attention TTS and tiny-data training both do better on 1-6 s utterances than on 30 s
read paragraphs, and a word-level alignment (`ctc_align`'s ctm) says where the pauses are.
Works for paired data and, once an ASR has pseudo-labelled it and it has been aligned, for
unpaired speech.

A recording no longer than `max_len` stays one utterance. A longer one is cut only in pauses
of at least `min_pause` seconds (midway, keeping at most `edge_s` of silence at each side);
among the cuttings, dynamic programming picks one whose pieces all lie in [min_len, max_len]
and are closest to the middle of that range. Pieces that still exceed `max_len` (no pause to
cut at) are left out and counted. The output is a data dir with `segments` over the input's
recordings (`wav.scp` as in the input), `text` (the input's own words when its word count
matches the alignment's, else the aligned words) and `utt2spk`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.data.datadir import DataDir, Segment
from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

SPEECH = "<speech>"  # the "word" of a stretch of speech found by energy (no transcript)
TOO_LONG = 1000.0  # cost of a piece above max_len: worse than any number of short ones


@dataclass(frozen=True)
class SegmentConfig:
    """Lengths in seconds."""

    min_len: float = 1.0
    max_len: float = 6.0
    min_pause: float = 0.1
    edge_s: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.min_len < self.max_len:
            raise InputError(
                f"segment lengths: need 0 < min_len < max_len, got {self.min_len}, {self.max_len}"
            )

    @property
    def target(self) -> float:
        return 0.5 * (self.min_len + self.max_len)


@dataclass(frozen=True)
class WordTime:
    word: str
    start: float
    end: float


def read_ctm(path: Union[str, Path]) -> Dict[str, List[WordTime]]:
    """`utt channel start dur word [conf]` lines, grouped per utterance in time order."""
    path = Path(path)
    out: Dict[str, List[WordTime]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                utt, start, dur, word = fields[0], float(fields[2]), float(fields[3]), fields[4]
            except (IndexError, ValueError):
                raise InputError(
                    f"{path}:{lineno}: expected 'utt channel start duration word', got "
                    f"{line.strip()!r}; write it with lrspeech.bin.ctc_align"
                ) from None
            if dur < 0:
                raise InputError(f"{path}:{lineno}: utterance '{utt}' has a negative duration")
            out.setdefault(utt, []).append(WordTime(word, start, start + dur))
    for words in out.values():
        words.sort(key=lambda w: w.start)
    return out


@dataclass(frozen=True)
class Piece:
    """A cut: words [first, last) of an utterance, and its [start, end) seconds."""

    first: int
    last: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def _piece(words: Sequence[WordTime], i: int, j: int, duration: float, edge: float) -> Piece:
    """Words [i, j) with up to `edge` s of the pauses around them, cut midway at most."""
    left = 0.0 if i == 0 else 0.5 * (words[i - 1].end + words[i].start)
    right = duration if j == len(words) else 0.5 * (words[j - 1].end + words[j].start)
    start = max(left, words[i].start - edge)
    end = min(right, words[j - 1].end + edge)
    return Piece(i, j, start, end)


def _cost(piece: Piece, cfg: SegmentConfig) -> float:
    """0 near the target length, growing off it; heavy outside [min_len, max_len]."""
    d = piece.duration
    cost = ((d - cfg.target) / cfg.target) ** 2
    if d > cfg.max_len:
        cost += TOO_LONG + d - cfg.max_len
    elif d < cfg.min_len:
        cost += 10.0 + cfg.min_len - d
    return cost


def plan_pieces(words: Sequence[WordTime], duration: float, cfg: SegmentConfig) -> List[Piece]:
    """Best cutting of one utterance's words (see the module docstring)."""
    if not words:
        return []
    whole = Piece(0, len(words), 0.0, duration)
    if duration <= cfg.max_len:
        return [whole]
    cuts = [0] + [
        k for k in range(1, len(words)) if words[k].start - words[k - 1].end >= cfg.min_pause
    ] + [len(words)]
    best = np.full(len(cuts), np.inf)
    back = np.zeros(len(cuts), dtype=int)
    best[0] = 0.0
    for b in range(1, len(cuts)):
        for a in range(b):
            piece = _piece(words, cuts[a], cuts[b], duration, cfg.edge_s)
            total = best[a] + _cost(piece, cfg)
            if total < best[b]:
                best[b], back[b] = total, a
    pieces, b = [], len(cuts) - 1
    while b > 0:
        a = int(back[b])
        pieces.append(_piece(words, cuts[a], cuts[b], duration, cfg.edge_s))
        b = a
    return pieces[::-1]


@dataclass
class SegmentReport:
    """Counts and seconds of what segmentation kept and left out."""

    recordings: int = 0
    segments: int = 0
    kept_s: float = 0.0
    too_long: Dict[str, float] = field(default_factory=dict)
    not_aligned: List[str] = field(default_factory=list)

    def summary(self) -> Dict[str, object]:
        return {
            "utterances_in": self.recordings,
            "segments_out": self.segments,
            "kept_s": round(self.kept_s, 2),
            "too_long_left_out": len(self.too_long),
            "too_long_s": round(sum(self.too_long.values()), 2),
            "not_aligned": len(self.not_aligned),
        }


def segment_id(utt: str, piece: Piece) -> str:
    """`utt-SSSSSSS-EEEEEEE` with start/end in centiseconds: unique and sorted by time."""
    return f"{utt}-{int(round(piece.start * 100)):07d}-{int(round(piece.end * 100)):07d}"


def _segment_text(dd: DataDir, utt: str, words: Sequence[WordTime], piece: Piece) -> str:
    """The input's own words of a piece when they align one to one, else the aligned ones."""
    own = dd.text.get(utt, "").split()
    source = own if len(own) == len(words) else [w.word for w in words]
    return " ".join(source[piece.first : piece.last])


def _utterance_duration(dd: DataDir, utt: str) -> Tuple[str, float, float]:
    """(recording id, offset in it, duration) of an utterance of the input dir."""
    from lrspeech.data.audio import audio_info

    if dd.has_segments:
        seg = dd.segments[utt]
        return seg.recording, seg.start, seg.duration
    if utt in dd.utt2dur:
        return utt, 0.0, dd.utt2dur[utt]
    return utt, 0.0, audio_info(dd.wav_scp[utt]).duration


def segment_data_dir(
    data_dir: Union[str, Path],
    ctm: Union[str, Path, Mapping[str, List[WordTime]]],
    out_dir: Union[str, Path],
    cfg: Optional[SegmentConfig] = None,
) -> SegmentReport:
    """Write the segmented data dir (see the module docstring); return what it did."""
    dd = DataDir.load(Path(data_dir))
    timings = read_ctm(ctm) if isinstance(ctm, (str, Path)) else dict(ctm)
    return _write_segments(dd, timings, Path(out_dir), cfg or SegmentConfig(), with_text=True)


def split_at_pauses(
    data_dir: Union[str, Path], out_dir: Union[str, Path], cfg: Optional[SegmentConfig] = None
) -> SegmentReport:
    """Cut the untranscribed utterances longer than `cfg.max_len` at pauses found by energy.

    For unpaired speech, which has no transcript to align: the stretches of speech that
    `speech_islands` finds play the part of the aligned words, so the same planner picks the
    cuts. Shorter utterances stay whole; a dir with transcripts is refused (cutting would
    split its sentences blindly: align it with `ctc_align` and use `segment_data_dir`).
    """
    from lrspeech.data.audio import load_audio, speech_islands
    from lrspeech.progress import progress

    cfg = cfg or SegmentConfig()
    dd = DataDir.load(Path(data_dir))
    if dd.text:
        raise InputError(
            f"{data_dir}/text: the dir has transcripts, which a cut at energy pauses would split "
            "blindly; align it (python -m lrspeech.bin.ctc_align) and cut it with --ctm"
        )
    timings: Dict[str, List[WordTime]] = {}
    for utt in progress(dd.audio_utt_ids, desc=f"pauses in {dd.name}", unit="utt"):
        rec, offset, duration = _utterance_duration(dd, utt)
        if duration <= cfg.max_len:
            timings[utt] = [WordTime(SPEECH, 0.0, duration)]
            continue
        x, sr = load_audio(dd.wav_scp[rec], start=offset, end=offset + duration)
        timings[utt] = [WordTime(SPEECH, a, b) for a, b in speech_islands(x, sr)]
    return _write_segments(dd, timings, Path(out_dir), cfg, with_text=False)


def _write_segments(
    dd: DataDir,
    timings: Mapping[str, List[WordTime]],
    out_dir: Path,
    cfg: SegmentConfig,
    with_text: bool,
) -> SegmentReport:
    """Plan every utterance's pieces, write the ones in range as a segments data dir."""
    out = DataDir(wav_scp={}, text={}, utt2spk={}, segments={})
    report = SegmentReport()
    for utt in dd.audio_utt_ids:
        report.recordings += 1
        if not timings.get(utt):
            report.not_aligned.append(utt)
            continue
        rec, offset, duration = _utterance_duration(dd, utt)
        for piece in plan_pieces(timings[utt], duration, cfg):
            if piece.duration > cfg.max_len:
                report.too_long[segment_id(utt, piece)] = piece.duration
                continue
            sid = segment_id(utt, piece)
            out.segments[sid] = Segment(rec, offset + piece.start, offset + piece.end)
            out.wav_scp[rec] = dd.wav_scp[rec]
            if with_text:
                out.text[sid] = _segment_text(dd, utt, timings[utt], piece)
            if utt in dd.utt2spk:
                out.utt2spk[sid] = dd.utt2spk[utt]
            report.segments += 1
            report.kept_s += piece.duration
    if report.not_aligned:
        logger.warning(
            "%s: %d utterances have no word timings (none aligned, or no speech found) and were "
            "left out (e.g. '%s')", dd.name, len(report.not_aligned), report.not_aligned[0],
        )
    if not out.segments:
        raise InputError(f"{dd.name}: no segment left ({report.summary()}); check the timings")
    out.save(out_dir)
    logger.info("segmented %s -> %s: %s", dd.name, out_dir, report.summary())
    return report
