"""Measure every utterance's duration and write DIR/utt2dur (or a copy of the dir with it).

Usage: python -m lrspeech.bin.compute_utt2dur data/paired_hq

Durations come from segments when present, else from audio headers; `cmd |` pipes are run
and decoded. utt2dur is written atomically.
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import UTT2DUR, DataDir, format_seconds
from lrspeech.data.kaldi_files import write_mapping
from lrspeech.data.ops import compute_utt2dur


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="compute_utt2dur", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path, help="data dir with wav.scp")
    p.add_argument("--out", type=Path, default=None,
                   help="write the whole dir with utt2dur here instead of adding it to DIR")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        dd = compute_utt2dur(DataDir.load(args.dir))
        if args.out is not None:
            dd.save(args.out)
        else:
            write_mapping(args.dir / UTT2DUR,
                          {u: format_seconds(d) for u, d in dd.utt2dur.items()})
        total = sum(dd.utt2dur.values())
        print(f"{args.out or args.dir}/utt2dur: {len(dd.utt2dur)} utterances, "
              f"{total:.1f} s ({total / 3600:.2f} h)")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
