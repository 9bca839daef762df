"""Map each target-language token to the closest rich-resource (source) token.

Usage: python -m lrspeech.bin.make_token_map --target_token_list sw/tokens.txt \
           --source_token_list en/tokens.txt --target_lang_config conf/lang/sw.yaml \
           --source_lang_config conf/lang/en.yaml --out dump/token_map.tsv

Writes `target<TAB>source<TAB>method` lines (identity, decomposed, phoneme, features,
unmapped) and logs how many tokens each method mapped and which stayed unmapped.
"""

import argparse
import logging
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.text.lang import TOKEN_TYPES, LangConfig
from lrspeech.text.token_list import read_token_list
from lrspeech.text.token_map import (
    DEFAULT_MAX_DISTANCE,
    build_token_map,
    summarize,
    write_token_map,
)

logger = logging.getLogger("lrspeech.bin.make_token_map")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_token_map", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target_token_list", required=True, help="low-resource token list")
    p.add_argument("--source_token_list", required=True, help="rich-resource token list")
    p.add_argument("--target_lang_config", default=None,
                   help="target language yaml (its voice reads characters for `phoneme`)")
    p.add_argument("--source_lang_config", default=None,
                   help="source language yaml (reads source characters that are not IPA)")
    p.add_argument("--token_type", choices=TOKEN_TYPES, default=None,
                   help="default: the target config's (char when it has no espeak voice)")
    p.add_argument("--max_distance", type=float, default=DEFAULT_MAX_DISTANCE,
                   help="largest feature distance accepted [default: %(default)s]")
    p.add_argument("--out", required=True, help="token_map.tsv to write")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        target_cfg = LangConfig.load(args.target_lang_config) if args.target_lang_config else None
        source_cfg = LangConfig.load(args.source_lang_config) if args.source_lang_config else None
        entries = build_token_map(
            read_token_list(args.target_token_list),
            read_token_list(args.source_token_list),
            token_type=args.token_type,
            target_cfg=target_cfg,
            source_cfg=source_cfg,
            max_distance=args.max_distance,
        )
        write_token_map(entries, args.out)
        summary = summarize(entries)
        logger.info("%s: %s", args.out, summary)
        print(f"{args.out}: {summary}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
