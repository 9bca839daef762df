"""Train the recipe's language model on the unpaired text (held-out sentences removed).

Usage: python -m lrspeech.bin.lm_train --text dump/raw/unpaired_text --exclude dump/raw/dev \
    --lang_config conf/lang.yaml --token_list dump/token/target_asr_tokens.txt \
    --config conf/lm/lstm_tiny.yaml --out_dir exp/lm --epochs 8

Writes the packed LM to <out_dir>/model and the step's record to <out_dir>/lm.json; prints
one line: sentences used, dropped as overlapping --exclude, and the perplexity of the
--exclude transcripts (lrspeech.pipeline.lm). Decode with it through
`python -m lrspeech.bin.lm_fusion tune` (weights) and `asr_inference --lm <out_dir>/model`.
Extra ESPnet LM arguments go after `--`.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.runtime import limit_threads

REPO_CONF = Path(__file__).resolve().parents[2] / "conf" / "lm" / "lstm_tiny.yaml"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lrspeech.bin.lm_train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", type=Path, required=True, help="data dir (or text file) of sentences")
    p.add_argument("--exclude", type=Path, nargs="*", default=[],
                   help="held-out data dirs (dev, test): overlapping sentences are dropped")
    p.add_argument("--lang_config", type=Path, required=True, help="the language's lang.yaml")
    p.add_argument("--token_list", type=Path, required=True, help="the ASR's char token list")
    p.add_argument("--config", type=Path, default=REPO_CONF, help="ESPnet LM config")
    p.add_argument("--out_dir", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra: List[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    a = get_parser().parse_args(argv)
    setup_logging(a.verbose)
    limit_threads()

    def body() -> int:
        from lrspeech.pipeline.lm import train_lm

        r = train_lm(a.text, a.exclude, a.lang_config, a.token_list, a.config, a.out_dir,
                     a.epochs, a.seed, extra_args=extra)
        ppl = "n/a" if r.dev_perplexity is None else f"{r.dev_perplexity:.2f}"
        print(f"{r.model_dir}: LM of {r.sentences['kept']} sentences ({r.sentences}); "
              f"perplexity {ppl} per char on {r.dev_sentences} held-out sentences")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
