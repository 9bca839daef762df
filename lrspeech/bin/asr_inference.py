"""Decode a data dir with a packed ASR model: hypotheses (`text`) and confidences (`score`).

Usage: python -m lrspeech.bin.asr_inference --model_dir exp/packed/asr --data_dir data/dev \
    --out_dir exp/decode/dev --nj 2

`score` holds, per utterance, the best hypothesis's log-likelihood per token (+1 for <eos>);
with the default CTC-only decoding that is log P_ctc(y|x) / (len(y) + 1) (0 is certain).
Decoding is CTC-only by default (--ctc_weight 1.0): on little data attention decoders do not
learn and joint decoding about doubled the CER of the tiny models (docs/benchmarks.md, "CTC-only
decoding by default"); models trained on more data do better with 0.3-0.5. CTC-only decoding
searches frame by frame (lrspeech.models.ctc_search), many times faster than ESPnet's beam
search for the same objective. An ASR dir with a packed LM (`python -m lrspeech.bin.lm_fusion
attach`) decodes with it by shallow fusion: log P_ctc + lm_weight * log P_lm + length_bonus *
|y| (`--lm_weight 0`: without it); then `score` includes the LM term.
Audio at another rate than the model's is resampled (one note).
`--job_index/--num_jobs` let run.pl dispatch a contiguous share per job; `--nj` splits this
process's share over worker processes (one thread each). Throughput goes to stdout.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def add_lm_options(p: argparse.ArgumentParser) -> None:
    """--lm, --lm_weight, --length_bonus: shallow fusion in the CTC prefix search."""
    p.add_argument("--lm", type=Path, default=None,
                   help="packed LM dir (lm_train); default: the ASR dir's own LM, if packed")
    p.add_argument("--lm_weight", type=float, default=None,
                   help="LM weight (default: the packed one; 0: decode without the LM)")
    p.add_argument("--length_bonus", type=float, default=None,
                   help="bonus per token with the LM (default: the packed one)")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="packed ASR model dir")
    p.add_argument("--data_dir", type=Path, required=True, help="data dir with wav.scp")
    p.add_argument("--out_dir", type=Path, required=True, help="where text and score go")
    p.add_argument("--nj", type=int, default=1, help="worker processes (one thread each)")
    p.add_argument("--job_index", type=int, default=1, help="this job (1-based), for run.pl")
    p.add_argument("--num_jobs", type=int, default=1, help="number of jobs, for run.pl")
    p.add_argument("--beam_size", type=int, default=10,
                   help="beam of the search (CTC only: lrspeech's prefix search)")
    p.add_argument("--ctc_weight", type=float, default=1.0,
                   help="CTC weight in joint decoding (1.0: CTC only)")
    p.add_argument("--penalty", type=float, default=0.0,
                   help="length bonus per token of ESPnet's search (joint decoding)")
    add_lm_options(p)
    p.add_argument("--device", default="cpu")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("lrspeech").setLevel(logging.INFO)  # ESPnet logs whole models at INFO
    a = get_parser().parse_args(argv)
    if a.nj < 1:
        print("asr_inference: error: --nj must be >= 1", file=sys.stderr)
        return 1
    from lrspeech.models.asr_decode import AsrOptions, decode_data_dir

    options = AsrOptions(beam_size=a.beam_size, ctc_weight=a.ctc_weight, penalty=a.penalty,
                         device=a.device, lm=str(a.lm) if a.lm else None, lm_weight=a.lm_weight,
                         length_bonus=a.length_bonus)
    try:
        hyps, took = decode_data_dir(a.model_dir, a.data_dir, a.out_dir, options,
                                     a.job_index, a.num_jobs, a.nj)
    except (LrspeechError, OSError) as err:
        print(f"asr_inference: error: {err}", file=sys.stderr)
        return 1
    print(f"decoded {took.summary()} -> {a.out_dir}/text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
