"""Benchmark: which CTC alignment scores mark a transcript that does not match its audio?

Usage: python bench/align_filter.py --db_root ../shared/data/sw \
    --asr_dir /tmp/bench/enc_sw/cells/whisper-base/seed1/model --out /tmp/bench/align_filter.json

The recipe leaves TTS training clips out whose CTC forced-alignment score (mean log posterior
per frame of the best path, `lrspeech.pipeline.align`) is below `--align_min_score`. Every train
clip of the corpus is aligned by the given ASR three times: with its own transcript, with one
word of it replaced by a word of another clip (a labelling error of dual transformation), and
with another clip's transcript (a mismatched pair). Printed: the score quantiles of each, and
the share each threshold (fixed values and `auto`, the corpus's own outlier rule) keeps.
The ASR's paired clips are scored too; the figures split them from the clips it never saw.
"""

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

THRESHOLDS = (-3.0, -1.0, -0.5, -0.3, -0.2)


def replace_word(text: str, other: str, rng: random.Random) -> str:
    """`text` with one word replaced by a different word of `other`."""
    words, pool = text.split(), [w for w in other.split() if w not in text.split()]
    if len(words) < 2 or not pool:
        return text
    words[rng.randrange(len(words))] = rng.choice(pool)
    return " ".join(words)


def quantiles(x: Sequence[float]) -> Dict[str, float]:
    a = np.asarray(x, dtype=np.float64)
    return {q: round(float(np.quantile(a, p)), 3)
            for q, p in (("min", 0.0), ("p5", 0.05), ("median", 0.5), ("p95", 0.95),
                         ("max", 1.0))}


def kept(scores: Sequence[float], threshold: float) -> float:
    return float(np.mean(np.asarray(scores) >= threshold))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, required=True)
    p.add_argument("--asr_dir", type=Path, required=True, help="packed CTC ASR")
    p.add_argument("--n_paired", type=int, default=50,
                   help="the first N train clips (by id) are the ASR's paired data")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    from lrspeech.data.audio import load_audio
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.pipeline.align import AlignmentError, CtcAligner, ctc_viterbi, to_asr_tokens
    from lrspeech.pipeline.align_scores import auto_min_score
    from lrspeech.text.cleaners import normalize_for_scoring

    dd = datadir_from_metadata(a.db_root / "metadata.tsv", split="train")
    utts = sorted(dd.text)
    rng = random.Random(a.seed)
    aligner = CtcAligner.from_model(a.asr_dir)
    texts = {u: normalize_for_scoring(dd.text[u]) for u in utts}
    cases: Dict[str, Dict[str, List[float]]] = {k: {"paired": [], "unseen": []}
                                                for k in ("own", "one_word", "other_clip")}
    for i, utt in enumerate(utts):
        other = utts[(i + 1 + rng.randrange(len(utts) - 1)) % len(utts)]
        wav, _ = load_audio(dd.wav_scp[utt], aligner.sample_rate)
        try:
            logp = aligner.log_posteriors(wav)
        except AlignmentError:
            continue
        group = "paired" if i < a.n_paired else "unseen"
        for case, text in (("own", texts[utt]),
                           ("one_word", replace_word(texts[utt], texts[other], rng)),
                           ("other_clip", texts[other])):
            ids = to_asr_tokens(aligner.tokenize(text), aligner.token_list, "unk").ids
            try:
                cases[case][group].append(ctc_viterbi(logp, ids, aligner.blank).score)
            except AlignmentError:
                cases[case][group].append(-np.inf)  # cannot align at all: always left out
    own = cases["own"]["paired"] + cases["own"]["unseen"]
    auto = auto_min_score({str(i): s for i, s in enumerate(own)})
    out = {"asr": str(a.asr_dir), "auto_threshold": auto, "cases": {}}
    for case, groups in cases.items():
        out["cases"][case] = {}
        for group, scores in groups.items():
            finite = [s for s in scores if np.isfinite(s)]
            out["cases"][case][group] = {
                "n": len(scores), "quantiles": quantiles(finite) if finite else None,
                "kept": {**{str(t): kept(scores, t) for t in THRESHOLDS},
                         "auto": kept(scores, auto)}}
    a.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"auto threshold on the own transcripts: {auto:.3f}")
    print("| transcript | clips | n | min | median | max | " +
          " | ".join(f"kept at {t}" for t in [*map(str, THRESHOLDS), "auto"]) + " |")
    for case, groups in out["cases"].items():
        for group, r in groups.items():
            q = r["quantiles"] or {}
            print(f"| {case} | {group} | {r['n']} | {q.get('min')} | {q.get('median')} | "
                  f"{q.get('max')} | " + " | ".join(f"{100 * v:.0f}%" for v in r["kept"].values())
                  + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
