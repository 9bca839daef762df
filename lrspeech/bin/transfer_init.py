"""Initialise a target-language model from a rich-resource (or model-zoo) ESPnet checkpoint.

Usage: python -m lrspeech.bin.transfer_init --task tts --src_config exp/tts_rich/config.yaml \
    --src_ckpt exp/tts_rich/valid.loss.best.pth --src_tokens exp/tts_rich/tokens.txt \
    --tgt_config conf/tts/transformer_tiny.yaml --tgt_tokens dump/tokens.txt \
    --token_map dump/token_map.tsv --out exp/tts_init/model.pth --set tts_conf.spks=5

Then train the target with ESPnet's `--init_param exp/tts_init/model.pth`. Shape-compatible
tensors are copied, vocabulary rows go through the token map, the rest stays fresh; the
counts are logged and printed. `--set` applies the same overrides the target's training will
get on the command line (e.g. the speaker count), so those tensors are built to match.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from lrspeech.errors import InputError, LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.transfer_init",
        description="Initialise a target-language ESPnet model from a source checkpoint.",
    )
    parser.add_argument("--task", choices=("asr", "tts"), required=True, help="model kind")
    parser.add_argument("--src_config", type=Path, required=True,
                        help="source config.yaml (exp dir or model-zoo download)")
    parser.add_argument("--src_ckpt", type=Path, required=True, help="source model .pth")
    parser.add_argument("--src_tokens", type=Path, default=None,
                        help="source token list (default: the source config's token_list)")
    parser.add_argument("--tgt_config", type=Path, required=True,
                        help="target training config (e.g. conf/tts/transformer_tiny.yaml)")
    parser.add_argument("--tgt_tokens", type=Path, required=True, help="target token list")
    parser.add_argument("--token_map", type=Path, required=True,
                        help="token_map.tsv (target<TAB>source<TAB>method)")
    parser.add_argument("--out", type=Path, required=True, help="output .pth for --init_param")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="target config override, dotted key, YAML value (repeatable)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the fresh initialisation of what the source cannot fill")
    return parser


def parse_overrides(items: List[str]) -> Dict[str, object]:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set {item!r}: expected KEY=VALUE, e.g. tts_conf.spks=5")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise InputError(f"--set {item!r}: the value is not valid YAML ({err})") from err
    return overrides


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    limit_threads()
    from lrspeech.models.transfer import TransferSpec, init_from_checkpoint
    from lrspeech.text.token_map import read_token_map

    try:
        spec = TransferSpec(
            task=args.task, src_config=args.src_config, src_ckpt=args.src_ckpt,
            src_tokens=args.src_tokens, tgt_config=args.tgt_config, tgt_tokens=args.tgt_tokens,
            token_map=read_token_map(args.token_map),
            tgt_overrides=parse_overrides(args.overrides), seed=args.seed,
        )
        report = init_from_checkpoint(spec, args.out)
    except (LrspeechError, OSError) as err:
        sys.exit(f"transfer_init: error: {err}")
    print(f"{args.out}: {report.summary()}")


if __name__ == "__main__":
    main()
