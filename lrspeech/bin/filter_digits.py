"""Drop (or keep and count) the sentences whose digits the language cannot spell out.

Usage: python -m lrspeech.bin.filter_digits --data_dir dump/raw/unpaired_text \
           --lang_config conf/lang.yaml --digits drop [--out DIR]

Recipe stage 2 runs it on the unpaired text. A digit the config's `number_normalizer` leaves
as it is (`none`: every digit) would become a token nobody pronounces (lrspeech.text.digits).
`--digits drop` writes the dir without those sentences (in place unless --out), `keep` leaves
them in. Either way one line on stdout says how many there were, with a few examples.
"""

import argparse
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import restrict
from lrspeech.errors import InputError
from lrspeech.text.digits import DIGIT_POLICIES, describe, split_by_digits
from lrspeech.text.lang import LangConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.filter_digits", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", type=Path, required=True, help="data dir with a text file")
    p.add_argument("--lang_config", type=Path, required=True, help="the language's lang.yaml")
    p.add_argument("--digits", choices=DIGIT_POLICIES, default="drop",
                   help="drop the sentences with unspoken digits, or keep them (count only)")
    p.add_argument("--out", type=Path, default=None, help="output dir (default: --data_dir)")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        cfg = LangConfig.load(args.lang_config)
        dd = DataDir.load(args.data_dir)
        if not dd.text:
            raise InputError(f"{args.data_dir}/text: missing or empty; give a dir of sentences")
        split = split_by_digits(dd.text, cfg)
        if args.digits == "drop" and not split.clean:
            raise InputError(
                f"{args.data_dir}/text: all {len(split.with_digits)} sentences have digits "
                f"that {cfg.where} (number_normalizer {cfg.number_normalizer}) leaves unspoken; "
                "write the numbers out in words, or run with --digits keep")
        keep = split.clean if args.digits == "drop" else dd.utt_ids
        out = args.out or args.data_dir
        if len(keep) < len(dd.utt_ids) or out.resolve() != args.data_dir.resolve():
            restrict(dd, keep).save(out)
        print(describe(split, dd.text, cfg, args.digits, args.data_dir.name))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
