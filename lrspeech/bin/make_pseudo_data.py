"""Build the pseudo-pair data dirs of dual transformation and distillation.

Usage: python -m lrspeech.bin.make_pseudo_data sample_text --text_dir data/unpaired_text \
    --n 100 --seed 3 --speakers a,b --out exp/dt/r1/text
       python -m lrspeech.bin.make_pseudo_data asr_pairs --speech_dir dump/raw/unpaired_speech \
    --hyp_dir exp/dt/r1/asr_hyp --out exp/dt/r1/tts_pairs [--keep_share 0.8 \
    --dev_dir dump/raw/dev --dev_hyp_dir exp/dt/r1/dev_hyp --report exp/dt/r1/labels.json]
       python -m lrspeech.bin.make_pseudo_data mix --real dump/raw/paired_hq \
    --synth exp/kd/synth --ratio 0.5 --seed 1 --out exp/kd/asr_train
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import DataDir
from lrspeech.errors import InputError, LrspeechError
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
    a.add_argument("--keep_share", type=float, default=None,
                   help="keep the best-scored share of the hypotheses (0-1], instead of "
                   "--min_score")
    a.add_argument("--dev_dir", type=Path, default=None,
                   help="dev data dir with transcripts: measure the threshold on its labels")
    a.add_argument("--dev_hyp_dir", type=Path, default=None,
                   help="the same ASR's decoding of --dev_dir (text and score)")
    a.add_argument("--lang_config", type=Path, default=None, help="lang.yaml for scoring")
    a.add_argument("--report", type=Path, default=None,
                   help="JSON with the kept share and the dev label CER at the threshold")
    m = sub.add_parser("mix", help="real pairs + a share of synthetic pairs")
    m.add_argument("--real", type=Path, nargs="+", required=True)
    m.add_argument("--synth", type=Path, required=True)
    m.add_argument("--ratio", type=float, required=True, help="synthetic share of the result")
    m.add_argument("--seed", type=int, default=1)
    for sp in (s, a, m):
        sp.add_argument("--out", type=Path, required=True, help="output data dir")
    return p


def asr_pairs(args: argparse.Namespace) -> DataDir:
    """The pseudo pairs; with --dev_dir, what their threshold does on dev (logged, --report)."""
    if (args.dev_dir is None) != (args.dev_hyp_dir is None):
        raise InputError("--dev_dir and --dev_hyp_dir go together (dev and its decoding)")
    threshold = pseudo.pairs_threshold(args.speech_dir, args.hyp_dir, args.min_score,
                                       args.keep_share)
    pairs = pseudo.asr_pairs(args.speech_dir, args.hyp_dir, threshold)
    if args.dev_dir is not None:
        measured = pseudo.label_filter(threshold, pairs, args.hyp_dir, args.dev_dir,
                                       args.dev_hyp_dir, args.lang_config)
        logging.getLogger("make_pseudo_data").info("%s", measured.summary())
        print(measured.summary())
        if args.report is not None:
            atomic_write_text(args.report, json.dumps(measured.to_dict(), indent=2) + "\n")
    return pairs


def build(args: argparse.Namespace) -> DataDir:
    if args.cmd == "sample_text":
        speakers = [s for s in args.speakers.split(",") if s]
        return pseudo.sample_text(args.text_dir, args.n, args.seed, speakers)
    if args.cmd == "asr_pairs":
        return asr_pairs(args)
    real = [DataDir.load(d) for d in args.real]
    return pseudo.mix(real, DataDir.load(args.synth), args.ratio, args.seed)


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = get_parser().parse_args(argv)
    try:
        dd = build(args)
    except (LrspeechError, OSError) as err:
        print(f"make_pseudo_data {args.cmd}: error: {err}", file=sys.stderr)
        return 1
    dd.save(args.out)
    print(f"{args.out}: {len(dd.utt_ids)} utterances ({dd.kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
