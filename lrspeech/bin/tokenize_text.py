"""Tokenize a Kaldi `text` file for ESPnet: `utt_id tok1 tok2 ...` with `<space>` between words.

Usage: python -m lrspeech.bin.tokenize_text --lang_config conf/lang/sw.yaml \
           --in data/x/text --out dump/x/text.tok [--token_type phn|char|bpe] [--bpemodel M]

Train ESPnet on the output with `--token_type word` (tokens are split on whitespace), which
works for any espeak-ng language. Unknown characters are summarized at the end, in the one
line (a warning) that says what was written.
"""

import argparse
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.text.lang import PUNCTUATION_POLICIES, TOKEN_TYPES, LangConfig
from lrspeech.text.textfile import tokenize_text_file
from lrspeech.text.token_list import read_token_list
from lrspeech.text.tokenizer import Tokenizer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tokenize_text", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lang_config", required=True, help="language yaml (conf/lang/<iso>.yaml)")
    p.add_argument("--in", dest="in_path", required=True,
                   help="Kaldi text file (`utt_id text`) or a data dir holding one")
    p.add_argument("--out", required=True, help="tokenized text to write")
    p.add_argument("--token_type", choices=TOKEN_TYPES, default=None,
                   help="override the config's token type")
    p.add_argument("--bpemodel", default=None, help="sentencepiece model (token_type bpe)")
    p.add_argument("--punctuation", choices=PUNCTUATION_POLICIES, default=None,
                   help="override the config's punctuation policy (ASR usually strips)")
    p.add_argument("--token_list", default=None,
                   help="write tokens outside this ESPnet token list as <unk> (and count them)")
    p.add_argument("--plain", action="store_true",
                   help="input has one sentence per line and no utterance ids")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        cfg = LangConfig.load(args.lang_config)
        known = read_token_list(args.token_list) if args.token_list else None
        tokenizer = Tokenizer(cfg, args.token_type, args.bpemodel, args.punctuation, known)
        tokenize_text_file(tokenizer, args.in_path, args.out, plain=args.plain)  # logs its line
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
