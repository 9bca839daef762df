"""Keep the utterances whose duration (from utt2dur) lies within [--min-dur, --max-dur] s.

Usage: python -m lrspeech.bin.filter_data_dir data/paired_hq data/paired_hq_short --max-dur 12

Run compute_utt2dur first if the dir has no utt2dur (or pass --compute-durations).
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import compute_utt2dur, filter_by_duration


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="filter_data_dir", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, help="source data dir")
    p.add_argument("dest", type=Path, help="output data dir")
    p.add_argument("--min-dur", type=float, default=None, help="shortest kept duration (s)")
    p.add_argument("--max-dur", type=float, default=None, help="longest kept duration (s)")
    p.add_argument("--compute-durations", action="store_true",
                   help="measure durations from the audio when utt2dur is missing")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        if args.dest.resolve() == args.src.resolve():
            raise ValueError(f"{args.dest}: the destination is the source; pick a new dir")
        src = DataDir.load(args.src)
        if args.compute_durations and not src.utt2dur:
            src = compute_utt2dur(src)
        out = filter_by_duration(src, args.min_dur, args.max_dur)
        if not out.utt_ids:
            raise ValueError(f"{args.src}: no utterance lies within [{args.min_dur}, "
                             f"{args.max_dur}] s; widen the range")
        out.save(args.dest)
        print(f"{args.dest}: kept {len(out.utt_ids)} of {len(src.utt_ids)} utterances")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
