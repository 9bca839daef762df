"""Train a sentencepiece (BPE/unigram) model on a language's cleaned text, deterministically.

Usage: python -m lrspeech.bin.train_bpe --lang_config conf/lang/sw.yaml --text data/train \
           --out dump/bpe/bpe --vocab_size 100

Writes `<out>.model` and `<out>.vocab`. The text is cleaned with the language config (the
same cleaning tokenize_text applies), so training and tokenization see the same characters.
"""

import argparse
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.text.bpe import train_bpe
from lrspeech.text.cleaners import clean_text
from lrspeech.text.lang import BPE_MODEL_TYPES, PUNCTUATION_POLICIES, LangConfig
from lrspeech.text.textfile import read_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_bpe", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lang_config", required=True, help="language yaml (conf/lang/<iso>.yaml)")
    p.add_argument("--text", required=True, nargs="+",
                   help="Kaldi text files or data dirs (or plain files with --plain)")
    p.add_argument("--out", required=True, help="model prefix: writes <out>.model, <out>.vocab")
    p.add_argument("--vocab_size", type=int, default=None,
                   help="default: bpe_vocab_size of the language config")
    p.add_argument("--model_type", choices=BPE_MODEL_TYPES, default=None,
                   help="default: bpe_model_type of the language config")
    p.add_argument("--punctuation", choices=PUNCTUATION_POLICIES, default=None,
                   help="override the config's punctuation policy (use the same for tokenize)")
    p.add_argument("--plain", action="store_true", help="inputs hold one sentence per line")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        cfg = LangConfig.load(args.lang_config)
        if args.punctuation:
            cfg = cfg.with_overrides(punctuation=args.punctuation)
        sentences = [
            clean_text(line.text, cfg) for path in args.text
            for line in read_text(path, plain=args.plain)
        ]
        vocab_size = args.vocab_size or cfg.bpe_vocab_size
        model_type = args.model_type or cfg.bpe_model_type
        model = train_bpe(sentences, args.out, vocab_size, model_type, source=" ".join(args.text))
        print(f"{model}: {model_type} model, vocab {vocab_size}, {len(sentences)} sentences")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
