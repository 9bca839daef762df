"""Combine data dirs of one kind into a new dir (utterance ids must be unique across them).

Usage: python -m lrspeech.bin.combine_data data/train_all data/paired_hq data/paired_lq

Like Kaldi's combine_data.sh the destination comes first. utt2spk, utt2dur and utt2lang are
kept only when every source has them.
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import combine
from lrspeech.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="combine_data", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dest", type=Path, help="output data dir (replaced atomically if it exists)")
    p.add_argument("src", type=Path, nargs="+", help="source data dirs")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        if args.dest.resolve() in {s.resolve() for s in args.src}:
            raise InputError(f"{args.dest}: the destination is also a source; pick a new dir")
        out = combine([DataDir.load(s) for s in args.src])
        out.save(args.dest)
        print(f"{args.dest}: {len(out.utt_ids)} utterances from {len(args.src)} dirs")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
