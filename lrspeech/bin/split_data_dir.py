"""Split a data dir into N parts for parallel jobs, or into train/dev by a seeded share.

Usage: python -m lrspeech.bin.split_data_dir data/paired_hq --nj 4   # data/paired_hq/split4/1..4
       python -m lrspeech.bin.split_data_dir data/hq --dev-share 0.1 --train data/tr --dev data/dv

Parts for jobs are contiguous in id order with sizes within one of each other (with
--by-speaker each speaker stays in one part). The dev split is the same on every machine.
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import split_n, split_share
from lrspeech.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="split_data_dir", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="data dir to split")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--nj", type=int, help="number of parts for parallel jobs")
    how.add_argument("--dev-share", type=float, help="share of utterances for dev (0..1)")
    p.add_argument("--out", type=Path, default=None,
                   help="with --nj: parent of the parts 1..N [default: SRC/splitN]")
    p.add_argument("--by-speaker", action="store_true", help="with --nj: keep speakers whole")
    p.add_argument("--train", type=Path, help="with --dev-share: output train dir")
    p.add_argument("--dev", type=Path, help="with --dev-share: output dev dir")
    p.add_argument("--seed", type=int, default=0, help="with --dev-share [default: 0]")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def _split_jobs(args: argparse.Namespace, src: DataDir) -> None:
    out = args.out if args.out is not None else args.src / f"split{args.nj}"
    parts = split_n(src, args.nj, by_speaker=args.by_speaker)
    for k, part in enumerate(parts, 1):
        part.save(out / str(k))
    sizes = " ".join(str(len(p.utt_ids)) for p in parts)
    print(f"{out}: {args.nj} parts of {sizes} utterances")


def _split_dev(args: argparse.Namespace, src: DataDir) -> None:
    if args.train is None or args.dev is None:
        raise InputError("--dev-share needs both --train DIR and --dev DIR")
    train, dev = split_share(src, args.dev_share, args.seed)
    train.save(args.train)
    dev.save(args.dev)
    print(f"{args.train}: {len(train.utt_ids)} utterances; {args.dev}: {len(dev.utt_ids)}")


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        src = DataDir.load(args.src)
        if args.nj is not None:
            _split_jobs(args, src)
        else:
            _split_dev(args, src)
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
