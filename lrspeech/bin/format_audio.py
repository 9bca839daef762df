"""Stage 2 CLI: format a data dir's audio (rate, mono, trim, duration filter) into a new dir.

Usage: python -m lrspeech.bin.format_audio --in data/paired_hq --out dump/raw/paired_hq \
    --fs 16000 --trim_db 40 --min_dur 1 --max_dur 16 --nj 2
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--in", dest="src", type=Path, required=True, help="input data dir")
    p.add_argument("--out", type=Path, required=True, help="output data dir (wavs under out/wav)")
    p.add_argument("--fs", type=int, default=16000, help="output sample rate")
    p.add_argument(
        "--trim_db",
        type=float,
        default=40.0,
        help="trim silence below this many dB under the peak; <=0 disables",
    )
    p.add_argument(
        "--min_dur", type=float, default=0.5, help="drop utterances shorter than this (s)"
    )
    p.add_argument(
        "--max_dur", type=float, default=20.0, help="drop utterances longer than this (s)"
    )
    p.add_argument("--nj", type=int, default=1, help="parallel processes")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    a = get_parser().parse_args(argv)
    trim = a.trim_db if a.trim_db and a.trim_db > 0 else None
    opts = FormatOptions(fs=a.fs, trim_db=trim, min_dur=a.min_dur, max_dur=a.max_dur, nj=a.nj)
    try:
        counts = format_data_dir(a.src, a.out, opts)
    except (LrspeechError, OSError) as err:
        print(f"format_audio: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
