"""Cut a data dir's long recordings at pauses: between aligned words, or found by energy.

Usage: python -m lrspeech.bin.segment_data_dir --data_dir data/paired_hq \
    --ctm exp/align/paired_hq/ctm --out_dir data/paired_hq_seg --min_len 1 --max_len 6
       python -m lrspeech.bin.segment_data_dir --data_dir data/unpaired_speech \
    --out_dir data/unpaired_speech_seg --min_len 1 --max_len 16

With `--ctm` (a `ctc_align` ctm) transcribed recordings are cut between words and their text
is cut with them. Without it, untranscribed speech (no `text` file) is cut in the pauses that
an energy detector finds, and recordings no longer than --max_len stay whole. Writes a data
dir with `segments` over the input's recordings (and per-segment `text`) and `utt2spk`; prints
what was kept and left out (pieces with no pause to cut at).
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data_dir", type=Path, required=True, help="data dir the ctm was made for")
    p.add_argument("--ctm", type=Path, default=None,
                   help="word timings (ctc_align's out_dir/ctm); none: energy pauses, no text")
    p.add_argument("--out_dir", type=Path, required=True, help="segmented data dir to write")
    p.add_argument("--min_len", type=float, default=1.0, help="shortest segment in seconds")
    p.add_argument("--max_len", type=float, default=6.0, help="longest segment in seconds")
    p.add_argument("--min_pause", type=float, default=0.1, help="shortest pause to cut in (s)")
    p.add_argument("--edge", type=float, default=0.1, help="silence kept at each side (s)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = get_parser().parse_args(argv)
    from lrspeech.pipeline.segment import SegmentConfig, segment_data_dir, split_at_pauses

    try:
        cfg = SegmentConfig(args.min_len, args.max_len, args.min_pause, args.edge)
        if args.ctm is None:
            report = split_at_pauses(args.data_dir, args.out_dir, cfg)
        else:
            report = segment_data_dir(args.data_dir, args.ctm, args.out_dir, cfg)
    except (LrspeechError, OSError) as err:
        print(f"segment_data_dir: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
