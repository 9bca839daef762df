"""MOS proxies of synthesized speech: DNSMOS, NISQA-TTS, and reference-based metrics.

Usage: python -m lrspeech.bin.eval_mos --wav_dir exp/tts/synth_dev --ref_dir data/dev --out_dir O

No listening test is run here; these are proxies. DNSMOS (speechmos's ONNX models) needs
no reference; NISQA-TTS runs only when the user gives its weights (never downloaded);
MCD, log-F0 RMSE, V/UV error, STOI and PESQ need the real recording of the same sentence
(`--ref_dir`) and are computed for the utterances that have one. Every metric gets
per-utterance values and a mean with a 95% t-interval (`lrspeech.eval.stats`). A metric
whose package is missing is skipped with one message; one utterance that fails a metric is
recorded as missing for it with a warning naming the utterance, and the others go on.
"""

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Union

import numpy as np

from lrspeech.data.atomic import atomic_write_text
from lrspeech.eval.extras import optional_import
from lrspeech.eval.inputs import AudioRef
from lrspeech.eval.reference import RefConfig, ReferenceScorer
from lrspeech.eval.stats import Summary, summarize
from lrspeech.progress import progress

logger = logging.getLogger(__name__)

Scores = Dict[str, Optional[float]]


@dataclass
class MosConfig:
    """Which MOS proxies to run."""

    dnsmos: bool = True
    nisqa_model: Optional[Path] = None
    reference: bool = True
    ref_cfg: RefConfig = field(default_factory=RefConfig)


def load_dnsmos() -> Optional[Callable[[np.ndarray, int], Dict[str, float]]]:
    """The DNSMOS scorer, or None (with one message) when its packages are missing."""
    if optional_import("onnxruntime", "DNSMOS") is None:
        return None
    if optional_import("speechmos", "DNSMOS") is None:
        return None
    from lrspeech.eval.dnsmos import Dnsmos

    return Dnsmos()


def load_nisqa(path: Optional[Union[str, Path]]) -> Optional[Callable[[np.ndarray, int], float]]:
    """NISQA-TTS from a user-given weights file; without a path it is skipped (one message).

    A path that is given but wrong is an error: the user asked for the metric.
    """
    if path is None or str(path) == "":
        logger.info(
            "NISQA-TTS skipped: no weights path given (--nisqa_model); its weights are "
            "non-commercial and never downloaded by lrspeech"
        )
        return None
    from lrspeech.eval.nisqa import NisqaTTS

    return NisqaTTS(path)


class MosScorer:
    """All enabled proxies, loaded once; call it on one utterance."""

    def __init__(self, cfg: MosConfig = MosConfig(), with_reference: bool = False) -> None:
        self.dnsmos = load_dnsmos() if cfg.dnsmos else None
        self.nisqa = load_nisqa(cfg.nisqa_model)
        use_ref = cfg.reference and with_reference
        self.reference = ReferenceScorer(cfg.ref_cfg) if use_ref else None

    def __call__(self, utt: str, syn: AudioRef, ref: Optional[AudioRef]) -> Scores:
        x, sr = syn.load()
        out: Scores = {}
        if self.dnsmos is not None:
            out.update(_guard(utt, "DNSMOS", lambda: self.dnsmos(x, sr)))
        if self.nisqa is not None:
            out.update(_guard(utt, "NISQA-TTS", lambda: {"nisqa_tts": self.nisqa(x, sr)}))
        if self.reference is not None and ref is not None:
            r, rsr = ref.load()
            out.update(_guard(utt, "reference metrics", lambda: self.reference(x, sr, r, rsr)))
        return out


def _guard(utt: str, metric: str, fn: Callable[[], Dict[str, Optional[float]]]) -> Scores:
    """Run one metric on one utterance; a failure is logged with the utterance id."""
    try:
        return dict(fn())
    except (ValueError, RuntimeError) as err:
        logger.warning("utterance '%s': %s failed (%s); recorded as missing", utt, metric, err)
        return {}


@dataclass
class MosResult:
    """Per-utterance scores and a Summary per metric."""

    utts: Dict[str, Scores]

    @property
    def metrics(self) -> List[str]:
        names: List[str] = []
        for scores in self.utts.values():
            names += [k for k in scores if k not in names]
        return names

    def summary(self) -> Dict[str, Summary]:
        return {m: summarize({u: s.get(m) for u, s in self.utts.items()}) for m in self.metrics}

    def to_dict(self) -> dict:
        return {m: s.to_dict(with_values=False) for m, s in self.summary().items()}


def evaluate_mos(
    synth: Mapping[str, AudioRef],
    refs: Optional[Mapping[str, AudioRef]] = None,
    cfg: MosConfig = MosConfig(),
) -> MosResult:
    """Score every synthesized utterance (reference metrics where a recording exists)."""
    refs = refs or {}
    scorer = MosScorer(cfg, with_reference=bool(refs))
    if refs and not set(synth) & set(refs):
        logger.warning("no synthesized utterance has a reference recording; check the ids")
    utts = {}
    for utt in progress(sorted(synth), desc="MOS proxies", unit="utt"):
        utts[utt] = scorer(utt, synth[utt], refs.get(utt))
    return MosResult(utts)


def utts_table(result: MosResult) -> str:
    """TSV: utt then one column per metric (empty where missing)."""
    names = result.metrics
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(["utt"] + names)
    for utt in sorted(result.utts):
        scores = result.utts[utt]
        writer.writerow(
            [utt] + ["" if scores.get(m) is None else f"{scores[m]:.4f}" for m in names]
        )
    return buf.getvalue()


def write_mos(result: MosResult, out_dir: Path, meta: Optional[dict] = None) -> List[Path]:
    """Write `mos_utts.tsv` and `mos.json` (means, 95% CIs, counts) into `out_dir`."""
    out_dir = Path(out_dir)
    data = dict(meta or {})
    data["metrics"] = result.to_dict()
    paths = [out_dir / "mos_utts.tsv", out_dir / "mos.json"]
    atomic_write_text(paths[0], utts_table(result))
    atomic_write_text(paths[1], json.dumps(data, indent=2) + "\n")
    return paths
