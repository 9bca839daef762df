"""Cache a data dir's speech encoder features (Whisper, frozen) next to it.

Usage: python -m lrspeech.bin.extract_features --data_dir dump/raw/paired_hq \
    --speech_encoder whisper-base --nj 2

See lrspeech.pipeline.encoder_features for the layout; a current cache is kept (`--force`
recomputes it). Prints the cache dir, the count of encoded and skipped clips, and the RTF.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lrspeech.bin.extract_features",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", type=Path, required=True, help="data dir with wav.scp")
    p.add_argument("--speech_encoder", default="whisper-base",
                   help="model dir, or whisper-base | whisper-small")
    p.add_argument("--out_dir", type=Path, default=None,
                   help="cache dir (default: <data_dir>/encoder_feats/<encoder>)")
    p.add_argument("--nj", type=int, default=1, help="worker processes (one thread each)")
    p.add_argument("--bucket_s", type=float, default=1.0,
                   help="pad each clip with silence to a multiple of this (s, at most 30)")
    p.add_argument("--force", action="store_true", help="recompute a current cache")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("lrspeech").setLevel(logging.INFO)
    a = get_parser().parse_args(argv)
    if a.nj < 1:
        print("extract_features: error: --nj must be >= 1", file=sys.stderr)
        return 1
    from lrspeech.pipeline.encoder_features import extract_features

    try:
        r = extract_features(a.data_dir, a.speech_encoder, a.out_dir, a.nj, a.bucket_s, a.force)
    except (LrspeechError, OSError) as err:
        print(f"extract_features: error: {err}", file=sys.stderr)
        return 1
    state = f"computed (RTF {r.rtf:.3f})" if r.computed else "cached"
    print(f"{r.out_dir}: {r.meta.get('utterances_encoded', r.meta['utterances'])} clips, "
          f"{len(r.skips)} skipped, {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
