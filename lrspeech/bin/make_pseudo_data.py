"""Build the pseudo-pair data dirs of dual transformation and distillation.

Usage: python -m lrspeech.bin.make_pseudo_data sample_text --text_dir data/unpaired_text \
    --n 100 --seed 3 --speakers a,b --out exp/dt/r1/text
       python -m lrspeech.bin.make_pseudo_data asr_pairs --speech_dir dump/raw/unpaired_speech \
    --hyp_dir exp/dt/r1/asr_hyp --out exp/dt/r1/tts_pairs
       python -m lrspeech.bin.make_pseudo_data mix --real dump/raw/paired_hq \
    --synth exp/kd/synth --ratio 0.5 --seed 1 --out exp/kd/asr_train
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.datadir import DataDir
from lrspeech.pipeline import pseudo


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample_text", help="seeded sentence sample split over voices")
    s.add_argument("--text_dir", type=Path, required=True)
    s.add_argument("--n", type=int, required=True, help="sentences to sample")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--speakers", required=True, help="comma-separated voices (utt2spk)")
    a = sub.add_parser("asr_pairs", help="unpaired speech + ASR hypotheses")
    a.add_argument("--speech_dir", type=Path, required=True)
    a.add_argument(
        "--hyp_dir", type=Path, required=True, help="dir with the ASR's text (and score)"
    )
    a.add_argument(
        "--min_score", type=float, default=None, help="leave out hypotheses scored below"
    )
    m = sub.add_parser("mix", help="real pairs + a share of synthetic pairs")
    m.add_argument("--real", type=Path, nargs="+", required=True)
    m.add_argument("--synth", type=Path, required=True)
    m.add_argument("--ratio", type=float, required=True, help="synthetic share of the result")
    m.add_argument("--seed", type=int, default=1)
    for sp in (s, a, m):
        sp.add_argument("--out", type=Path, required=True, help="output data dir")
    return p


def build(args: argparse.Namespace) -> DataDir:
    if args.cmd == "sample_text":
        speakers = [s for s in args.speakers.split(",") if s]
        return pseudo.sample_text(args.text_dir, args.n, args.seed, speakers)
    if args.cmd == "asr_pairs":
        return pseudo.asr_pairs(args.speech_dir, args.hyp_dir, args.min_score)
    real = [DataDir.load(d) for d in args.real]
    return pseudo.mix(real, DataDir.load(args.synth), args.ratio, args.seed)


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = get_parser().parse_args(argv)
    try:
        dd = build(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"make_pseudo_data {args.cmd}: {err}", file=sys.stderr)
        return 1
    dd.save(args.out)
    print(f"{args.out}: {len(dd.utt_ids)} utterances ({dd.kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
