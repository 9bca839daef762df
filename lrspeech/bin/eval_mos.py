"""MOS proxies of synthesized speech: DNSMOS, NISQA-TTS (weights path), MCD/F0/STOI/PESQ.

Usage: python -m lrspeech.bin.eval_mos --wav_dir exp/tts/synth_dev --ref_dir data/dev --out_dir O

`--wav_dir` is a data dir with wav.scp or a folder of `<utt>.wav`; `--ref_dir` (optional) holds
the real recordings of the same utterance ids and enables the reference-based metrics.
Writes `<out_dir>/mos.json` (mean and 95% CI per metric) and `<out_dir>/mos_utts.tsv`.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.eval.inputs import audio_set
from lrspeech.eval.mos import MosConfig, evaluate_mos, write_mos
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.eval_mos", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--wav_dir",
        type=Path,
        required=True,
        help="synthesized audio: data dir or <utt>.wav folder",
    )
    p.add_argument("--out_dir", type=Path, required=True, help="where mos.json and mos_utts.tsv go")
    p.add_argument(
        "--ref_dir",
        type=Path,
        default=None,
        help="real recordings (data dir) for MCD, F0, STOI, PESQ",
    )
    p.add_argument(
        "--nisqa_model", type=Path, default=None, help="NISQA-TTS weights file (skipped if absent)"
    )
    p.add_argument("--no_dnsmos", action="store_true", help="do not run DNSMOS")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limit_threads()
    try:
        synth = audio_set(args.wav_dir)
        refs = audio_set(args.ref_dir) if args.ref_dir else None
        cfg = MosConfig(dnsmos=not args.no_dnsmos, nisqa_model=args.nisqa_model)
        result = evaluate_mos(synth, refs, cfg)
    except (LrspeechError, OSError) as err:
        print(f"eval_mos: error: {err}", file=sys.stderr)
        return 1
    write_mos(
        result, args.out_dir, {"wav_dir": str(args.wav_dir), "ref_dir": str(args.ref_dir or "")}
    )
    for name, summary in result.summary().items():
        print(f"{name}\t{summary}\t(n={summary.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
