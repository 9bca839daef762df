"""Pseudo pairs for dual transformation and distillation: sampled text, ASR labels, mixes.

Usage: python -m lrspeech.bin.make_pseudo_data sample_text --text_dir data/unpaired_text \
    --n 100 --seed 3 --speakers spk_a,spk_b --out exp/dt/round1/text

- `sample_text`: a seeded sample of unpaired sentences (a different one each round: the round
  is part of the seed), split over the voices the TTS should read them in (`utt2spk`), with
  utterance ids prefixed by the voice so that speakers sort together.
- `asr_pairs`: unpaired speech + the ASR's hypotheses -> paired dir for the TTS, leaving out
  empty hypotheses and those scored below a threshold: `min_score`, or the score that keeps the
  best `keep_share` of them. `label_filter` measures what that threshold does on dev (decoded
  by the same ASR, with references): the share of dev labels it keeps and their CER, next to
  the CER of all of them. Measured on Swahili and Suba (docs/benchmarks.md, "Which ASR labels
  to keep"): the per-utterance score barely ranks label quality (keeping the best half lowers
  the CER from 17.0 to 16.4%), so the recipe keeps every label by default.
- `mix`: real pairs + synthetic pairs with the synthetic share of the result set to `ratio`
  (the synthetic part is subsampled, or all of it kept when there is too little).
"""

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import read_scores
from lrspeech.data.ops import combine, restrict, seeded_order
from lrspeech.errors import InputError

logger = logging.getLogger(__name__)


def sample_text(text_dir: Path, n: int, seed: int, speakers: Sequence[str]) -> DataDir:
    """`n` sentences of a text dir, assigned round-robin to `speakers` (ids `<spk>-<utt>`)."""
    dd = DataDir.load(text_dir)
    if not dd.text:
        raise InputError(f"{text_dir}/text: no sentences; local/data.sh must write unpaired text")
    if not speakers:
        raise InputError("sample_text needs at least one speaker to read the sentences")
    chosen = seeded_order(dd.text, seed)[: min(n, len(dd.text))]
    text, utt2spk = {}, {}
    for i, utt in enumerate(chosen):
        spk = speakers[i % len(speakers)]
        text[f"{spk}-{utt}"] = dd.text[utt]
        utt2spk[f"{spk}-{utt}"] = spk
    logger.info(
        "%s: sampled %d of %d sentences for %d voices",
        text_dir,
        len(text),
        len(dd.text),
        len(speakers),
    )
    return DataDir(text=text, utt2spk=utt2spk)


def share_threshold(scores: Sequence[float], keep_share: float) -> Optional[float]:
    """The score at or above which the best `keep_share` of `scores` lie (None: keep all)."""
    if not 0 < keep_share <= 1:
        raise InputError(f"keep_share must be in (0, 1], not {keep_share}")
    if keep_share >= 1 or not scores:
        return None
    k = max(1, math.ceil(keep_share * len(scores)))
    return sorted(scores, reverse=True)[k - 1]


def pairs_threshold(speech_dir: Path, hyp_dir: Path, min_score: Optional[float] = None,
                    keep_share: Optional[float] = None) -> Optional[float]:
    """The score below which `asr_pairs` drops a hypothesis: `min_score`, or the one that keeps
    the best `keep_share` of the non-empty hypotheses, or None (keep all)."""
    if min_score is not None and keep_share is not None:
        raise InputError("give --min_score or --keep_share, not both")
    if keep_share is None:
        return min_score
    scores = read_scores(hyp_dir / "score") if (hyp_dir / "score").is_file() else {}
    if not scores:
        raise InputError(f"{hyp_dir}/score: missing; --keep_share ranks hypotheses by their "
                         "score (decode with lrspeech.bin.asr_inference)")
    hyps = DataDir.load(hyp_dir).text
    speech = DataDir.load(speech_dir)
    labelled = [scores[u] for u in speech.audio_utt_ids
                if hyps.get(u, "").strip() and u in scores]
    return share_threshold(labelled, keep_share)


def asr_pairs(speech_dir: Path, hyp_dir: Path, min_score: Optional[float] = None,
              keep_share: Optional[float] = None) -> DataDir:
    """Unpaired speech with ASR hypotheses as transcripts, empty and low-score ones left out.

    Low: below `min_score`, or below the score that keeps the best `keep_share` of the
    non-empty hypotheses (give one of the two, or neither to keep all).
    """
    min_score = pairs_threshold(speech_dir, hyp_dir, min_score, keep_share)
    speech = DataDir.load(speech_dir)
    hyps = DataDir.load(hyp_dir).text
    scores = read_scores(hyp_dir / "score") if (hyp_dir / "score").is_file() else {}
    keep: List[str] = []
    dropped = {"empty": 0, "low_score": 0, "missing": 0}
    for utt in speech.audio_utt_ids:
        hyp = hyps.get(utt, "").strip()
        if utt not in hyps:
            dropped["missing"] += 1
        elif not hyp:
            dropped["empty"] += 1
        elif min_score is not None and scores.get(utt, float("inf")) < min_score:
            dropped["low_score"] += 1
        else:
            keep.append(utt)
    if not keep:
        raise InputError(
            f"{hyp_dir}: no usable hypothesis for {speech_dir} ({dropped}); the ASR is too weak "
            "or --min_score too high: train it longer or lower the threshold"
        )
    out = restrict(speech, keep)
    out.text = {u: hyps[u].strip() for u in keep}
    shown = "none" if min_score is None else f"{min_score:.4f}"
    logger.info("%s: %d pseudo pairs (score threshold %s), dropped %s", speech_dir, len(keep),
                shown, dropped)
    return out


@dataclass(frozen=True)
class LabelFilter:
    """What a score threshold does to the ASR's labels: on the unpaired speech, and on dev."""

    threshold: Optional[float]
    kept: int
    total: int
    dev_kept: int
    dev_total: int
    dev_cer_kept: Optional[float]  # CER of the dev labels the threshold keeps
    dev_cer_all: Optional[float]

    def summary(self) -> str:
        def pct(x: Optional[float]) -> str:
            return "n/a" if x is None else f"{100 * x:.1f}%"

        shown = "none" if self.threshold is None else f"{self.threshold:.4f}"
        share = self.kept / self.total if self.total else 0.0
        dev_share = self.dev_kept / self.dev_total if self.dev_total else 0.0
        return (f"labels kept {self.kept}/{self.total} ({100 * share:.0f}%, score threshold "
                f"{shown}); on dev at that threshold {self.dev_kept}/{self.dev_total} kept "
                f"({100 * dev_share:.0f}%), label CER {pct(self.dev_cer_kept)} "
                f"(all dev labels: {pct(self.dev_cer_all)})")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def label_filter(threshold: Optional[float], pairs: DataDir, hyp_dir: Path, dev_dir: Path,
                 dev_hyp_dir: Path, lang_config: Optional[Path] = None) -> LabelFilter:
    """What `threshold` (pairs_threshold's) did to the labels in `pairs`, measured on dev:
    the dev labels (decoded by the same ASR) at or above it, and their CER."""
    from lrspeech.eval.scoring import score_corpus
    from lrspeech.text.lang import LangConfig

    labelled = [u for u, t in DataDir.load(hyp_dir).text.items() if t.strip()]
    refs = DataDir.load(dev_dir).text
    if not refs:
        raise InputError(f"{dev_dir}/text: no transcripts; the dev set measures the labels")
    dev_hyps = DataDir.load(dev_hyp_dir).text
    dev_scores = read_scores(dev_hyp_dir / "score")
    keep = sorted(u for u in refs
                  if threshold is None or dev_scores.get(u, -math.inf) >= threshold)
    cfg = LangConfig.load(lang_config) if lang_config else None
    everything = score_corpus(refs, {u: h for u, h in dev_hyps.items() if u in refs}, cfg)
    kept = score_corpus({u: refs[u] for u in keep},
                        {u: dev_hyps[u] for u in keep if u in dev_hyps}, cfg) if keep else None
    return LabelFilter(threshold, len(pairs.text), len(labelled), len(keep), len(refs),
                       kept.cer if kept is not None else None, everything.cer)


def synthetic_share(n_real: int, synth: DataDir, ratio: float, seed: int) -> List[str]:
    """The seeded utterances of `synth` that make up `ratio` of a training set with `n_real`
    real utterances (all of them, with a warning, when there are fewer than it asks)."""
    if not 0.0 <= ratio < 1.0:
        raise InputError(f"synthetic ratio {ratio} must be in [0, 1)")
    want = int(round(ratio * n_real / (1.0 - ratio)))
    ids = seeded_order(synth.audio_utt_ids, seed)[:want]
    if want > len(ids):
        logger.warning(
            "only %d synthetic utterances for the %d that ratio %.2f asks", len(ids), want, ratio
        )
    return ids


def mix(real: Sequence[DataDir], synth: DataDir, ratio: float, seed: int) -> DataDir:
    """Real pairs plus a seeded share of `synth` so that synthetic utterances make up `ratio`."""
    real_dd = combine(list(real)) if len(real) > 1 else real[0]
    ids = synthetic_share(len(real_dd.audio_utt_ids), synth, ratio, seed)
    if not ids:
        return real_dd
    return combine([real_dd, restrict(synth, ids)])
