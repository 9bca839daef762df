"""Write LRSpeech's data dirs (paired_hq, unpaired_speech, unpaired_text, dev) from a corpus.

Usage: python -m lrspeech.bin.prepare_lr_data --metadata db/sw_mini/metadata.tsv \
    --unpaired_text db/text/bible_nt.tsv.xz --n_paired 50 --out data
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.lr_setting import build_setting
from lrspeech.errors import LrspeechError


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--metadata",
        type=Path,
        required=True,
        help="corpus metadata.tsv (id, audio, text, speaker, duration_s, split)",
    )
    p.add_argument(
        "--unpaired_text", type=Path, required=True, help="id<TAB>text or plain lines (.xz allowed)"
    )
    p.add_argument(
        "--n_paired", type=int, default=50, help="paired utterances of the target speaker"
    )
    p.add_argument(
        "--max_text", type=int, default=None, help="keep at most this many unpaired sentences"
    )
    p.add_argument("--max_paired_dur", type=float, default=None,
                   help="choose paired utterances among those of at most this many seconds")
    p.add_argument("--dev_split", default="val", help="metadata split used as dev")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True, help="parent of the data dirs")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    a = get_parser().parse_args(argv)
    try:
        sizes = build_setting(
            a.metadata, a.unpaired_text, a.n_paired, a.out, a.seed, a.dev_split, a.max_text,
            a.max_paired_dur,
        )
    except (LrspeechError, OSError) as err:
        print(f"prepare_lr_data: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
