"""Pseudo pairs for dual transformation and distillation: sampled text, ASR labels, mixes.

Usage: python -m lrspeech.bin.make_pseudo_data sample_text --text_dir data/unpaired_text \
    --n 100 --seed 3 --speakers spk_a,spk_b --out exp/dt/round1/text

- `sample_text`: a seeded sample of unpaired sentences (a different one each round: the round
  is part of the seed), split over the voices the TTS should read them in (`utt2spk`), with
  utterance ids prefixed by the voice so that speakers sort together.
- `asr_pairs`: unpaired speech + the ASR's hypotheses -> paired dir for the TTS, leaving out
  utterances whose per-utterance score is below a threshold and empty hypotheses.
- `mix`: real pairs + synthetic pairs with the synthetic share of the result set to `ratio`
  (the synthetic part is subsampled, or all of it kept when there is too little).
"""

import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import combine, restrict, seeded_order

logger = logging.getLogger(__name__)


def sample_text(text_dir: Path, n: int, seed: int, speakers: Sequence[str]) -> DataDir:
    """`n` sentences of a text dir, assigned round-robin to `speakers` (ids `<spk>-<utt>`)."""
    dd = DataDir.load(text_dir)
    if not dd.text:
        raise ValueError(f"{text_dir}/text: no sentences; local/data.sh must write unpaired text")
    if not speakers:
        raise ValueError("sample_text needs at least one speaker to read the sentences")
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


def read_scores(path: Path) -> Dict[str, float]:
    """`utt score` lines (the ASR inference's `score` file)."""
    scores = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            scores[parts[0]] = float(parts[1])
        except (IndexError, ValueError):
            raise ValueError(f"{path}:{i}: expected 'utt score', got {line!r}") from None
    return scores


def asr_pairs(speech_dir: Path, hyp_dir: Path, min_score: Optional[float] = None) -> DataDir:
    """Unpaired speech with ASR hypotheses as transcripts, low-score and empty ones left out."""
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
        raise ValueError(
            f"{hyp_dir}: no usable hypothesis for {speech_dir} ({dropped}); the ASR is too weak "
            "or --min_score too high: train it longer or lower the threshold"
        )
    out = restrict(speech, keep)
    out.text = {u: hyps[u].strip() for u in keep}
    logger.info("%s: %d pseudo pairs, dropped %s", speech_dir, len(keep), dropped)
    return out


def mix(real: Sequence[DataDir], synth: DataDir, ratio: float, seed: int) -> DataDir:
    """Real pairs plus a seeded share of `synth` so that synthetic utterances make up `ratio`."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"synthetic ratio {ratio} must be in [0, 1)")
    real_dd = combine(list(real)) if len(real) > 1 else real[0]
    n_real = len(real_dd.audio_utt_ids)
    want = int(round(ratio * n_real / (1.0 - ratio)))
    ids = seeded_order(synth.audio_utt_ids, seed)[:want]
    if want > len(ids):
        logger.warning(
            "only %d synthetic utterances for the %d that ratio %.2f asks", len(ids), want, ratio
        )
    if not ids:
        return real_dd
    return combine([real_dd, restrict(synth, ids)])
