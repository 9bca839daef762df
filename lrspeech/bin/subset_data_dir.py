"""Write a subset of a data dir: by utterance list, by speaker list, or N seeded at random.

Usage: python -m lrspeech.bin.subset_data_dir data/unpaired_speech data/unpaired_500 --random 500

List files hold one id per line (only the first field counts, so `text` or `utt2spk` works).
Seeded subsets are identical on every run and machine.
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import read_id_list, run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import subset_by_ids, subset_by_speakers, subset_random
from lrspeech.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="subset_data_dir", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="source data dir")
    p.add_argument("dest", type=Path, help="output data dir")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--utt-list", type=Path, help="file of utterance ids to keep")
    how.add_argument("--spk-list", type=Path, help="file of speaker ids to keep")
    how.add_argument("--random", type=int, metavar="N", help="keep N utterances chosen by --seed")
    p.add_argument("--seed", type=int, default=0, help="seed for --random [default: 0]")
    p.add_argument("--ignore-missing", action="store_true",
                   help="skip listed ids that the dir lacks instead of failing")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        if args.dest.resolve() == args.src.resolve():
            raise InputError(f"{args.dest}: the destination is the source; pick a new dir")
        src = DataDir.load(args.src)
        strict = not args.ignore_missing
        if args.utt_list is not None:
            out = subset_by_ids(src, read_id_list(args.utt_list), strict)
        elif args.spk_list is not None:
            out = subset_by_speakers(src, read_id_list(args.spk_list), strict)
        else:
            out = subset_random(src, args.random, args.seed)
        out.save(args.dest)
        print(f"{args.dest}: {len(out.utt_ids)} of {len(src.utt_ids)} utterances")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
