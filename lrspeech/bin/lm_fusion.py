"""Shallow fusion of the LM in CTC decoding: tune its weights on dev, attach it to an ASR.

Usage: python -m lrspeech.bin.lm_fusion tune --asr_dir exp/finetune/asr/model \
           --lm_dir exp/lm/model --data_dir dump/raw/dev --lang_config conf/lang.yaml \
           --out exp/lm/fusion.json
       python -m lrspeech.bin.lm_fusion attach --asr_dir exp/packed/asr --lm_dir exp/lm/model \
           --fusion exp/lm/fusion.json

`tune` encodes every clip of --data_dir once and decodes it with each (lm_weight,
length_bonus) pair of the grid (score = log P_ctc + lm_weight * log P_lm + length_bonus * |y|);
it keeps the pair with the lowest WER whose CER is no worse than without the LM, and writes
every pair's CER, WER and search time to --out (tuned on dev: the dev figures with the LM are
optimistic by the choice of two numbers). `attach` copies the LM into a packed ASR dir with
those weights, so that `transcribe` and `asr_inference` use it (`--lm_weight 0` disables it).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.errors import InputError
from lrspeech.runtime import limit_threads

WEIGHTS = (0.2, 0.4, 0.6, 0.8)
BONUSES = (0.0, 0.5, 1.0, 2.0)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lrspeech.bin.lm_fusion", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tune", help="choose lm_weight and length_bonus on a dev set")
    t.add_argument("--asr_dir", type=Path, required=True, help="packed ASR model dir")
    t.add_argument("--lm_dir", type=Path, required=True, help="packed LM dir (lm_train)")
    t.add_argument("--data_dir", type=Path, required=True, help="dev data dir (wav.scp, text)")
    t.add_argument("--lang_config", type=Path, required=True)
    t.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    t.add_argument("--bonuses", type=float, nargs="+", default=list(BONUSES))
    t.add_argument("--beam_size", type=int, default=10)
    t.add_argument("--out", type=Path, required=True, help="fusion.json to write")
    a = sub.add_parser("attach", help="put the LM and its weights into a packed ASR dir")
    a.add_argument("--asr_dir", type=Path, required=True)
    a.add_argument("--lm_dir", type=Path, required=True)
    a.add_argument("--fusion", type=Path, default=None, help="fusion.json of `tune`")
    a.add_argument("--lm_weight", type=float, default=None, help="instead of --fusion")
    a.add_argument("--length_bonus", type=float, default=0.0)
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    setup_logging(a.verbose)
    limit_threads()

    def tune() -> int:
        from lrspeech.pipeline.lm import tune_fusion

        r = tune_fusion(a.asr_dir, a.lm_dir, a.data_dir, a.lang_config, a.weights, a.bonuses,
                        a.beam_size)
        atomic_write_text(a.out, json.dumps(r, indent=2) + "\n")
        c, n = r["chosen"], r["no_lm"]
        print(f"{a.out}: lm_weight {c['lm_weight']} length_bonus {c['length_bonus']}: "
              f"CER {100 * c['cer']:.1f}% WER {100 * c['wer']:.1f}% (without the LM: CER "
              f"{100 * n['cer']:.1f}% WER {100 * n['wer']:.1f}%) on {r['utts']} clips")
        return 0

    def attach() -> int:
        from lrspeech.models.lm import attach_lm

        if (a.fusion is None) == (a.lm_weight is None):
            raise InputError("give either --fusion (from `lm_fusion tune`) or --lm_weight")
        if a.fusion is not None:
            from lrspeech.pipeline.lm import read_fusion

            weight, bonus, tuning = read_fusion(a.fusion)
        else:
            weight, bonus, tuning = a.lm_weight, a.length_bonus, None
        attach_lm(a.asr_dir, a.lm_dir, weight, bonus, tuning)
        print(f"{a.asr_dir}: decodes with {a.lm_dir} (lm_weight {weight}, length_bonus {bonus})")
        return 0

    return run_cli(tune if a.command == "tune" else attach)


if __name__ == "__main__":
    sys.exit(main())
