"""Filter the TTS teacher's synthetic pairs by WCR/ADR of its attention (stage 7).

Usage: python -m lrspeech.bin.filter_synthetic --synth_dir exp/kd/teacher/data \
    --att_dir exp/kd/teacher/split/*/att_ws --lang_config conf/lang.yaml --wcr_min 0.3 \
    --adr_min 0.6 --out exp/kd/tts_pairs --report exp/kd/filter_report.json
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.pipeline.kd_filter import filter_synthetic


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--synth_dir", type=Path, required=True, help="synthetic pairs (wav.scp, text, utt2spk)"
    )
    p.add_argument(
        "--att_dir", type=Path, nargs="*", default=[], help="folders of <utt>.npy attention maps"
    )
    p.add_argument("--lang_config", type=Path, required=True)
    p.add_argument("--token_type", default=None, help="tokens the TTS read (default: the config's)")
    p.add_argument(
        "--wcr_min", type=float, default=0.0, help="drop pairs with a lower word coverage ratio"
    )
    p.add_argument(
        "--adr_min",
        type=float,
        default=0.0,
        help="drop pairs with a lower attention diagonal ratio",
    )
    p.add_argument("--out", type=Path, required=True, help="kept pairs (data dir)")
    p.add_argument(
        "--report", type=Path, required=True, help="JSON: kept share and score distributions"
    )
    return p


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    a = get_parser().parse_args(argv)
    try:
        summary = filter_synthetic(
            a.synth_dir,
            a.att_dir,
            a.lang_config,
            a.out,
            a.report,
            a.wcr_min,
            a.adr_min,
            a.token_type,
        )
    except (LrspeechError, OSError) as err:
        print(f"filter_synthetic: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps({k: summary[k] for k in ("total", "kept", "kept_share", "wcr", "adr")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
