"""CTC forced alignment of a whole data dir: TTS durations, scores and word timings per utterance.

Usage: python -c "from lrspeech.pipeline.align import CtcAligner; \
from lrspeech.pipeline.align_data import align_data_dir; \
from lrspeech.pipeline.durations import TtsFrames; \
print(align_data_dir(CtcAligner.from_model('exp/asr'), 'data/paired_hq', 'exp/align/paired_hq', \
TtsFrames(16000, 256)).summary()['aligned'])"

Utterances that cannot be aligned (no transcript, audio too short for it, unreadable or empty
audio, word counts that differ between the ASR and TTS transcripts) are left out with their
reason, never fatal: one bad clip of a pseudo-labelled corpus must not stop a stage. With a
`min_score`, the aligned utterances below the threshold (`lrspeech.pipeline.align_scores`) are
left out of the durations too.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import EMPTY_AUDIO
from lrspeech.data.skips import EMPTY, SKIPPED_JSON, Skips
from lrspeech.pipeline import duration_files as files
from lrspeech.pipeline.align import AlignmentError, TokenAlignment
from lrspeech.pipeline.align_scores import (
    LOW_SCORE,
    Selection,
    score_distribution,
    select_by_score,
)
from lrspeech.pipeline.durations import DEFAULT_MIN_PAUSE_S, TtsFrames, UttDurations, tts_durations

logger = logging.getLogger(__name__)

UNREADABLE = "unreadable"  # skip reason: the audio could not be read
# What an align dir holds; a rewrite replaces all of it.
ALIGN_FILES = (files.DURATIONS, files.SCORES, files.CTM, files.TOKENS, files.REPORT,
               files.FRAMES, SKIPPED_JSON)


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


@dataclass
class AlignReport:
    """What aligning a data dir gave: the durations and scores of the aligned utterances,
    the reasons of the others, and (after `select`) which aligned ones the threshold kept."""

    scores: Dict[str, float] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)
    unk: Dict[str, List[str]] = field(default_factory=dict)
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    skips: Skips = field(default_factory=Skips)  # reason code per utterance not aligned
    results: Dict[str, UttDurations] = field(default_factory=dict)
    selection: Optional[Selection] = None

    def skip(self, utt: str, err: Exception, reason: str) -> None:
        self.skipped[utt] = str(err)
        self.skips.add(utt, reason, str(err))

    def select(self, min_score: Union[None, str, float]) -> Selection:
        """Apply a score threshold; the utterances below it are left out of `kept`."""
        self.selection = select_by_score(self.scores, min_score)
        return self.selection

    @property
    def kept(self) -> List[str]:
        """The aligned utterances that go on to training (all of them before `select`)."""
        return sorted(self.results) if self.selection is None else self.selection.kept

    def left_out(self) -> Skips:
        """Every utterance left out: not aligned (its reason), or aligned below the threshold."""
        out = Skips()
        out.update(self.skips)
        if self.selection is not None:
            for utt, score in self.selection.low_score.items():
                out.add(utt, LOW_SCORE, f"score {score:.3f} < threshold "
                                        f"{self.selection.threshold:.3f}")
        return out

    def summary(self) -> Dict[str, Any]:
        out = {
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
        if self.selection is not None:
            out["selection"] = self.selection.summary()
        return out


def align_utterance(
    aligner: Any,
    utt: str,
    audio: Tuple[str, float, Optional[float]],
    transcripts: Transcripts,
    frames: TtsFrames,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
    feats: Optional[str] = None,
    word_split: str = "letters",
) -> Tuple[TokenAlignment, UttDurations]:
    """Align one utterance of a data dir ((spec, start, end) audio) and get its durations;
    `feats`: the ark entry of its cached encoder features, read instead of encoding again;
    `word_split`: how a word's frames go to its TTS tokens (lrspeech.pipeline.durations)."""
    from lrspeech.data.audio import load_audio

    spec, start, end = audio
    asr_tokens = transcripts.asr_tokens(utt, aligner)
    wav_asr, _ = load_audio(spec, aligner.sample_rate, start=start, end=end)
    if feats is None:
        alignment = aligner.align(utt, wav_asr, tokens=asr_tokens)
    else:
        import kaldiio

        alignment = aligner.align(utt, wav_asr, tokens=asr_tokens, feats=kaldiio.load_mat(feats))
    wav_tts, _ = load_audio(spec, frames.fs, start=start, end=end)
    tts_tokens = transcripts.tts_tokens(utt, asr_tokens)
    durations = tts_durations(alignment, tts_tokens, wav_tts, frames, min_pause_s,
                              word_split=word_split)
    return alignment, durations


def align_utterances(
    aligner: Any,
    dd: DataDir,
    frames: TtsFrames,
    transcripts: Optional[Transcripts] = None,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
    feats: Optional[Mapping[str, str]] = None,
    word_split: str = "letters",
) -> AlignReport:
    """Align every utterance of a data dir in memory; nothing is written. `feats`: utt -> ark
    entry of cached encoder features (lrspeech.pipeline.encoder_features), where there are."""
    from lrspeech.data.audio import AudioError
    from lrspeech.progress import progress

    transcripts = transcripts or Transcripts(text=dd.text)
    report = AlignReport()
    for utt in progress(dd.audio_utt_ids, desc=f"ctc_align {dd.name}", unit="utt"):
        try:
            alignment, durs = align_utterance(
                aligner, utt, dd.audio_of(utt), transcripts, frames, min_pause_s,
                (feats or {}).get(utt), word_split,
            )
        except AlignmentError as err:
            report.skip(utt, err, err.reason)
            logger.debug("skipped: %s", err)
            continue
        except AudioError as err:
            report.skip(utt, err, EMPTY if err.kind == EMPTY_AUDIO else UNREADABLE)
            logger.debug("skipped: %s", err)
            continue
        report.results[utt] = durs
        report.scores[utt] = durs.score
        if alignment.unk:
            report.unk[utt] = alignment.unk
        if alignment.dropped:
            report.dropped[utt] = alignment.dropped
    report.skips.log(f"ctc_align {dd.name}")
    return report


def write_align_dir(out: Path, report: AlignReport, frames: TtsFrames) -> None:
    """Write an align dir's files into `out` (a fresh dir): the durations of the kept
    utterances; scores, tokens and word timings of every aligned one; the report."""
    out.mkdir(parents=True, exist_ok=True)
    results = report.results
    files.write_durations(out / files.DURATIONS, {u: results[u].durations for u in report.kept})
    files.write_scores(out / files.SCORES, report.scores)
    files.write_token_file(out / files.TOKENS, {u: r.tokens for u, r in results.items()})
    files.write_ctm(out / files.CTM, {u: r.words for u, r in results.items()})
    files.write_frames(out / files.FRAMES, frames)
    (out / files.REPORT).write_text(
        json.dumps(report.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    report.left_out().write(out / SKIPPED_JSON)


def align_data_dir(
    aligner: Any,
    data_dir: Union[str, Path],
    out_dir: Union[str, Path],
    frames: TtsFrames,
    transcripts: Optional[Transcripts] = None,
    min_pause_s: float = DEFAULT_MIN_PAUSE_S,
    min_score: Union[None, str, float] = None,
    word_split: str = "letters",
) -> AlignReport:
    """Align every utterance of a data dir and write its align dir (whole or not at all).

    With `min_score`, the durations are only those of the utterances that reach it.
    """
    from lrspeech.data.atomic import atomic_dir

    dd = DataDir.load(Path(data_dir))
    report = align_utterances(aligner, dd, frames, transcripts, min_pause_s,
                              word_split=word_split)
    if min_score is not None:
        report.select(min_score)
    with atomic_dir(Path(out_dir), replace=ALIGN_FILES) as tmp:
        write_align_dir(tmp, report, frames)
    logger.info("%s: aligned %d, skipped %d utterances -> %s",
                dd.name, len(report.results), len(report.skipped), out_dir)
    return report
