"""Dual transformation's per-round data (lrspeech.pipeline.dual_transformation), for lr.sh stage 6.

Usage: python -m lrspeech.bin.dual_transformation voices --spk2sid dump/token/spk2sid --n 3
       python -m lrspeech.bin.dual_transformation round_data --round 1 --seed 1 \
    --voices sw_35d,sw_36a --speech_dir dump/raw/unpaired_speech --hyp_dir exp/dt/round1/asr_hyp \
    --text_dir dump/raw/unpaired_text --n_text 100 --out_dir exp/dt/round1 \
    [--keep_share 0.8 --dev_dir dump/raw/dev --dev_hyp_dir exp/dt/round1/dev_hyp \
    --lang_config conf/lang.yaml]
       python -m lrspeech.bin.dual_transformation asr_pairs --synth exp/dt/round1/synth_a/data \
    exp/dt/round1/synth_b/data --out exp/dt/round1/asr_pairs
       python -m lrspeech.bin.dual_transformation asr_synthetic --real dump/raw/paired_hq \
    --pairs exp/dt/round1/asr_pairs --ratio 0.5 --seed 1 --out exp/dt/round1/asr_synth

`voices` prints the voices (comma-separated); `round_data` writes the round's tts_pairs,
labels.json, text and text_<voice> dirs and prints the label summary; `asr_pairs` combines the
voices' synthesized speech; `asr_synthetic` writes the share of it that the round's ASR trains
on beside the real pairs (`--ratio all`: every pair).
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.pipeline import dual_transformation as dt


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("voices", help="the voices the TTS reads in")
    v.add_argument("--spk2sid", type=Path, required=True)
    v.add_argument("--n", type=int, required=True)
    r = sub.add_parser("round_data", help="one round's labels and text sample")
    r.add_argument("--round", type=int, required=True, help="1-based round number")
    r.add_argument("--seed", type=int, required=True, help="the recipe's seed")
    r.add_argument("--voices", required=True, help="comma-separated (from `voices`)")
    r.add_argument("--speech_dir", type=Path, required=True, help="the unpaired speech")
    r.add_argument("--hyp_dir", type=Path, required=True, help="its decoding (text, score)")
    r.add_argument("--text_dir", type=Path, required=True, help="the unpaired text")
    r.add_argument("--n_text", type=int, required=True, help="sentences the TTS reads")
    r.add_argument("--keep_share", type=float, default=None,
                   help="best-scored share of the labels kept (default: all)")
    r.add_argument("--dev_dir", type=Path, default=None)
    r.add_argument("--dev_hyp_dir", type=Path, default=None)
    r.add_argument("--lang_config", type=Path, default=None)
    r.add_argument("--out_dir", type=Path, required=True)
    a = sub.add_parser("asr_pairs", help="combine the voices' synthesized speech")
    a.add_argument("--synth", type=Path, nargs="+", required=True)
    a.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("asr_synthetic", help="the synthetic pairs the round's ASR trains on")
    m.add_argument("--real", type=Path, nargs="+", required=True, help="the real paired dirs")
    m.add_argument("--pairs", type=Path, required=True, help="the round's asr_pairs")
    m.add_argument("--ratio", required=True,
                   help=f"`{dt.ALL}` or the synthetic share of the ASR's training utterances")
    m.add_argument("--seed", type=int, required=True, help="the recipe's seed")
    m.add_argument("--out", type=Path, required=True)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    setup_logging()

    def body() -> int:
        if a.cmd == "voices":
            print(",".join(dt.voices(a.spk2sid, a.n)))
        elif a.cmd == "round_data":
            voice_list = [v for v in a.voices.split(",") if v]
            data = dt.prepare_round(a.out_dir, a.round, a.seed, voice_list, a.speech_dir,
                                    a.hyp_dir, a.text_dir, a.n_text, a.keep_share, a.dev_dir,
                                    a.dev_hyp_dir, a.lang_config)
            if data.labels is not None:
                print(data.labels.summary())
        elif a.cmd == "asr_pairs":
            dd = dt.synthetic_pairs(a.synth, a.out)
            print(f"{a.out}: {len(dd.utt_ids)} synthetic pairs")
        else:
            dd = dt.asr_synthetic(a.real, a.pairs, a.ratio, a.seed, a.out)
            print(f"{a.out}: {len(dd.utt_ids)} synthetic pairs for the ASR")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
