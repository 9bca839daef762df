"""Intelligibility rate (IR) of synthesized speech, judged by an ASR.

Usage: python -m lrspeech.bin.eval_ir --judge pocketsphinx --text data/dev --wav_dir S --out_dir O

LRSpeech defines IR as the share of words listeners find intelligible. Here a judge ASR is
the listener: it transcribes each synthesized utterance, the normalized hypothesis is
aligned to the normalized reference (edit distance with backtrace), and
IR = reference words aligned as correct / reference words. Insertions do not lower IR (a
listener who hears an extra word still understood the others); they do count in the judge's
CER/WER, which are reported next to it. Sentence IR is the share of sentences whose every
word is correct; sentences whose reference is empty after normalization are left out of it.
Synthesized audio often starts with speech at sample 0, and ASRs then drop the first word,
so each clip is padded with silence (default 0.3 s at both ends) before decoding.

A clip the judge cannot take (empty, or with padding still shorter than its encoder's
subsampling needs) is not decoded: it is heard as nothing (every word of it unintelligible,
as for a text without audio), and counted per reason in ir.json's `skipped` and in
`skipped.json`.
"""

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.audio import AudioError
from lrspeech.data.errors import EMPTY_AUDIO
from lrspeech.data.skips import EMPTY, SKIPPED_JSON, Skips
from lrspeech.eval.align import CORRECT
from lrspeech.eval.inputs import AudioRef, EvalInputError
from lrspeech.eval.judge import Judge
from lrspeech.eval.scoring import CorpusScore, UttScore, score_corpus
from lrspeech.progress import progress
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

DEFAULT_PAD_S = 0.3


def words_correct(u: UttScore) -> int:
    """Reference words the alignment marks as correct."""
    return sum(1 for p in u.words if p.op == CORRECT)


@dataclass
class IRResult:
    """IR over a set of utterances, with the judge's own error rates."""

    score: CorpusScore
    judge: str = ""
    skips: Skips = field(default_factory=Skips)  # clips the judge could not take

    @property
    def correct(self) -> int:
        return sum(words_correct(u) for u in self.score.utts)

    @property
    def ref_words(self) -> int:
        return sum(len(u.ref.split()) for u in self.score.utts)

    @property
    def ir(self) -> Optional[float]:
        return self.correct / self.ref_words if self.ref_words else None

    @property
    def sentence_ir(self) -> Optional[float]:
        scored = [u for u in self.score.utts if u.ref.split()]
        if not scored:
            return None
        return sum(1 for u in scored if words_correct(u) == len(u.ref.split())) / len(scored)

    def to_dict(self) -> dict:
        return {
            "judge": self.judge,
            "ir": self.ir,
            "sentence_ir": self.sentence_ir,
            "words_correct": self.correct,
            "ref_words": self.ref_words,
            "judge_cer": self.score.cer,
            "judge_wer": self.score.wer,
            "num_utts": len(self.score.utts),
            "missing": list(self.score.missing),
            "skipped": self.skips.counts,
            "skipped_utts": sorted(self.skips.reasons),
        }


def intelligibility(
    refs: Mapping[str, str],
    hyps: Mapping[str, str],
    cfg: Optional[LangConfig] = None,
    judge: str = "",
) -> IRResult:
    """IR of judge transcripts `hyps` against reference texts `refs` (same normalization)."""
    return IRResult(score_corpus(refs, hyps, cfg), judge)


def pad_silence(audio: np.ndarray, sr: int, seconds: float = DEFAULT_PAD_S) -> np.ndarray:
    """`audio` with `seconds` of zeros before and after it."""
    if seconds < 0:
        raise ValueError(f"padding must be >= 0 s, got {seconds}")
    pad = np.zeros(int(round(seconds * sr)), dtype=np.float32)
    return np.concatenate([pad, np.asarray(audio, dtype=np.float32), pad])


def transcribe_all(
    judge: Judge, audio: Mapping[str, AudioRef], pad_s: float = DEFAULT_PAD_S
) -> Tuple[Dict[str, str], Skips]:
    """Judge transcripts of every utterance, each padded with silence before decoding.

    Clips the judge cannot take get an empty transcript and are listed in the Skips.
    """
    hyps: Dict[str, str] = {}
    skips = Skips()
    for utt in progress(sorted(audio), desc=f"judge {judge.name}", unit="utt"):
        try:
            x, sr = audio[utt].load()
        except AudioError as err:
            if err.kind != EMPTY_AUDIO:
                raise
            skips.add(utt, EMPTY, str(err))
            hyps[utt] = ""
            continue
        padded = pad_silence(x, sr, pad_s)
        n = len(padded) if len(x) else 0  # padding an empty clip does not make it speech
        refused = judge.cannot_hear(n, sr)
        if refused is not None:
            skips.add(utt, *refused)
            hyps[utt] = ""
            continue
        hyps[utt] = judge.transcribe(padded, sr)
        logger.debug("%s: %s", utt, hyps[utt])
    skips.log(f"judge {judge.name}")
    return hyps, skips


def evaluate_ir(
    judge: Judge,
    texts: Mapping[str, str],
    audio: Mapping[str, AudioRef],
    cfg: Optional[LangConfig] = None,
    pad_s: float = DEFAULT_PAD_S,
    skip_missing: bool = False,
) -> IRResult:
    """Transcribe the synthesized `audio` of the `texts` with `judge` and compute IR.

    Audio without a text is an error (the wrong text dir). A text without audio counts as
    unintelligible (the synthesis failed) and is listed in `missing`, unless `skip_missing`
    (a deliberately synthesized subset), which scores only the texts that have audio.
    """
    extra = sorted(set(audio) - set(texts))
    if extra:
        raise EvalInputError(
            f"{len(extra)} synthesized utterance(s) have no reference text (first: '{extra[0]}'); "
            "give the text dir the audio was synthesized from"
        )
    if skip_missing:
        texts = {u: t for u, t in texts.items() if u in audio}
    hyps, skips = transcribe_all(judge, audio, pad_s)
    result = intelligibility(texts, hyps, cfg, judge.name)
    result.skips = skips
    return result


def utts_table(result: IRResult) -> str:
    """TSV: utt, ref, hyp (normalized texts), words correct, ref words, and the judge's
    character errors and reference characters (its CER's per-utterance counts)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["utt", "ref", "hyp", "words_correct", "ref_words", "char_errors", "ref_chars"])
    for u in result.score.utts:
        writer.writerow([u.utt, u.ref, u.hyp, words_correct(u), len(u.ref.split()),
                         u.char.errors, u.char.ref_len])
    return buf.getvalue()


def write_ir(result: IRResult, out_dir: Path, meta: Optional[dict] = None) -> List[Path]:
    """Write `ir.json`, `ir_utts.tsv` and `skipped.json` into `out_dir` (each atomically)."""
    out_dir = Path(out_dir)
    data = dict(meta or {})
    data.update(result.to_dict())
    paths = [out_dir / "ir_utts.tsv", out_dir / "ir.json", out_dir / SKIPPED_JSON]
    atomic_write_text(paths[0], utts_table(result))
    result.skips.write(paths[2])
    atomic_write_text(paths[1], json.dumps(data, indent=2, ensure_ascii=False) + "\n")  # last
    return paths
