"""Build an ESPnet token list from tokenized text files.

Usage: python -m lrspeech.bin.make_token_list --out dump/tokens.txt dump/train/text.tok

Format: `<blank>`, `<unk>`, tokens by descending frequency then name, `<sos/eos>`, one per
line. With --bpemodel, the model's pieces that the text never uses are appended too, so no
piece the tokenizer can emit falls outside the list.
"""

import argparse
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.text.bpe import BpeModel
from lrspeech.text.token_list import build_token_list, count_tokens, write_token_list


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_token_list", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("texts", nargs="+", help="tokenized text files (`utt_id tok1 tok2 ...`)")
    p.add_argument("--out", required=True, help="token list to write")
    p.add_argument("--min_count", type=int, default=1,
                   help="drop tokens seen fewer times (they become <unk>) [default: %(default)s]")
    p.add_argument("--bpemodel", default=None, help="also list every piece of this model")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        counts = count_tokens(args.texts)
        extra = BpeModel(args.bpemodel).pieces() if args.bpemodel else []
        tokens = build_token_list(counts, min_count=args.min_count, extra=extra)
        write_token_list(tokens, args.out)
        print(f"{args.out}: {len(tokens)} tokens ({len(tokens) - 3} + <blank> <unk> <sos/eos>) "
              f"from {sum(counts.values())} token occurrences")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
