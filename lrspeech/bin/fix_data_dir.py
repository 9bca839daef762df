"""Repair a data dir in place: drop broken utterances (each reported), sort, rebuild spk2utt.

Usage: python -m lrspeech.bin.fix_data_dir data/paired_hq --expected-sr 16000

The old files are kept in DIR/.backup/<timestamp>/ (with dropped.tsv: id and reason) and the
new dir replaces the old one in one rename. A dir that is already fine is left untouched.
"""

import argparse
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.fix import fix_data_dir
from lrspeech.data.validate import AUDIO_CHECKS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fix_data_dir", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="data dir to repair")
    p.add_argument("--audio-check", choices=AUDIO_CHECKS, default="full",
                   help="how hard to check audio before deciding what to drop "
                        "[default: %(default)s]")
    p.add_argument("--expected-sr", type=int, default=None,
                   help="also drop audio whose sample rate differs from this (Hz)")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        report = fix_data_dir(args.dir, args.audio_check, args.expected_sr)
        for utt, reason in sorted(report.dropped.items()):
            print(f"dropped {utt}: {reason}")
        print(report.summary())
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
