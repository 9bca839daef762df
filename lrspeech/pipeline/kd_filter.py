"""Knowledge distillation filter: keep the teacher's synthetic pairs whose attention is sound.

Usage: python -m lrspeech.bin.filter_synthetic --synth_dir exp/kd/teacher/data \
    --att_dir exp/kd/teacher/att_ws --lang_config conf/lang.yaml --wcr_min 0.3 --adr_min 0.6 \
    --out exp/kd/tts_pairs --report exp/kd/filter_report.json

Each synthetic utterance is scored on the teacher's encoder-decoder attention (frames x tokens)
by word coverage ratio (WCR) and attention diagonal ratio (ADR) (lrspeech.eval.attention);
pairs below `wcr_min` or `adr_min` are dropped. The report gives the kept share and the
score distributions (quantiles), from which thresholds are chosen. Without attention maps
(duration-based teachers such as FastSpeech2) every pair is kept: the ctc path filters by
CTC alignment score when the student trains.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import restrict
from lrspeech.errors import InputError
from lrspeech.eval.attention import attention_scores
from lrspeech.text.lang import LangConfig
from lrspeech.text.tokenizer import Tokenizer

logger = logging.getLogger(__name__)
EOS = "<sos/eos>"
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


@dataclass(frozen=True)
class FilterResult:
    kept: List[str]
    scores: Dict[str, Dict[str, float]]
    dropped: Dict[str, str]


def find_attention(att_dirs: Sequence[Path], utt: str) -> Optional[Path]:
    for d in att_dirs:
        if (Path(d) / f"{utt}.npy").is_file():
            return Path(d) / f"{utt}.npy"
    return None


def columns_tokens(tokens: List[str], columns: int) -> List[str]:
    """The token sequence matching the attention's columns (ESPnet appends <sos/eos>)."""
    if columns == len(tokens) + 1:
        return tokens + [EOS]
    return tokens


def score_pairs(
    dd: DataDir, att_dirs: Sequence[Path], tokenizer: Tokenizer, wcr_min: float, adr_min: float
) -> FilterResult:
    kept, scores, dropped = [], {}, {}
    for utt in dd.audio_utt_ids:
        path = find_attention(att_dirs, utt)
        if path is None:
            dropped[utt] = "no attention map"
            continue
        att = np.load(path)
        tokens = columns_tokens(tokenizer.tokenize(dd.text[utt], utt), att.shape[-1])
        try:
            s = attention_scores(att, tokens)
        except ValueError as err:
            dropped[utt] = str(err)
            continue
        scores[utt] = s
        if s["wcr"] < wcr_min:
            dropped[utt] = f"wcr {s['wcr']:.3f} < {wcr_min}"
        elif s["adr"] < adr_min:
            dropped[utt] = f"adr {s['adr']:.3f} < {adr_min}"
        else:
            kept.append(utt)
    return FilterResult(kept, scores, dropped)


def distribution(values: Sequence[float]) -> Dict[str, float]:
    if not values:
        return {}
    q = np.quantile(np.asarray(values, dtype=float), QUANTILES)
    return {f"q{int(p * 100)}": round(float(v), 4) for p, v in zip(QUANTILES, q)}


def filter_synthetic(
    synth_dir: Path,
    att_dirs: Sequence[Path],
    lang_config: Path,
    out: Path,
    report: Path,
    wcr_min: float = 0.0,
    adr_min: float = 0.0,
    token_type: Optional[str] = None,
) -> Dict[str, object]:
    """Write the kept pairs to `out` and the report to `report`; return the report."""
    dd = DataDir.load(synth_dir)
    has_att = any(Path(d).is_dir() and any(Path(d).glob("*.npy")) for d in att_dirs)
    if not has_att:
        logger.info(
            "%s: no attention maps (duration-based teacher); keeping all %d pairs",
            synth_dir,
            len(dd.audio_utt_ids),
        )
        result = FilterResult(dd.audio_utt_ids, {}, {})
    else:
        tok = Tokenizer(LangConfig.load(lang_config), token_type=token_type)
        result = score_pairs(dd, att_dirs, tok, wcr_min, adr_min)
    if not result.kept:
        raise InputError(
            f"{synth_dir}: every synthetic pair was dropped (wcr_min {wcr_min}, adr_min "
            f"{adr_min}); see the distributions in {report} and lower the thresholds"
        )
    restrict(dd, result.kept).save(out)
    summary: Dict[str, object] = {
        "total": len(dd.audio_utt_ids),
        "kept": len(result.kept),
        "kept_share": round(len(result.kept) / max(1, len(dd.audio_utt_ids)), 4),
        "wcr_min": wcr_min,
        "adr_min": adr_min,
        "attention": has_att,
        "wcr": distribution([s["wcr"] for s in result.scores.values()]),
        "adr": distribution([s["adr"] for s in result.scores.values()]),
        "focus_rate": distribution([s["focus_rate"] for s in result.scores.values()]),
        "dropped": result.dropped,
    }
    atomic_write_text(report, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    logger.info("%s: kept %d of %d pairs", synth_dir, summary["kept"], summary["total"])
    return summary
