"""Check a Kaldi-style data dir and list every problem (file, line, utterance, fix).

Usage: python -m lrspeech.bin.validate_data_dir data/paired_hq --expected-sr 16000 --kind paired

Exit status 0 and a one-line summary when the dir is valid; 1 and the problems otherwise.
"""

import argparse
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.validate import AUDIO_CHECKS, validate_data_dir


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="validate_data_dir", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="data dir (wav.scp, text, utt2spk, ...)")
    p.add_argument("--audio-check", choices=AUDIO_CHECKS, default="full",
                   help="none: paths only; header: open files; full: decode every sample "
                        "(catches truncated flac) [default: %(default)s]")
    p.add_argument("--expected-sr", type=int, default=None,
                   help="report audio whose sample rate differs from this (Hz)")
    p.add_argument("--kind", choices=("paired", "text-only", "speech-only"), default=None,
                   help="require this kind of dir")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        dd = validate_data_dir(args.dir, args.audio_check, args.expected_sr, args.kind)
        print(f"{args.dir}: OK, {dd.kind} dir with {len(dd.utt_ids)} utterances "
              f"and {len(dd.speakers)} speakers")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
