"""Check, write or clear a stage completion marker from a shell recipe stage.

Usage: python -m lrspeech.bin.stage_marker check --dir exp --name s3 --inputs data/x --option a=1

In a stage:
    if python -m lrspeech.bin.stage_marker check --dir "$exp" --name "$name" --inputs $ins; then
        log "Stage 3: done already (inputs unchanged); skipping"
    else
        ... the work ...
        python -m lrspeech.bin.stage_marker mark --dir "$exp" --name "$name" --inputs $ins
    fi

`check` exits 0 when the stage is done with the same inputs and options, 1 otherwise; `mark` and
`clear` exit 0. Give `check` and `mark` the same --inputs and --option values.
"""

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

from lrspeech.pipeline.stages import (
    clear_done,
    inputs_fingerprint,
    mark_done,
    marker_path,
    stage_done,
)

logger = logging.getLogger("lrspeech.bin.stage_marker")


def parse_options(pairs: List[str], parser: argparse.ArgumentParser) -> Dict[str, str]:
    """`key=value` strings to a dict; a malformed one is a usage error naming it."""
    options: Dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"--option {pair!r}: expected key=value, e.g. --option token_type=phn")
        options[key] = value
    return options


def parent_command() -> str:
    """The command line of the calling process (the recipe script), where /proc has it."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.stage_marker",
        description="Stage completion markers (<dir>/.done/<name>.json) for recipe stages.",
    )
    parser.add_argument("action", choices=["check", "mark", "clear"])
    parser.add_argument("--dir", required=True, help="the stage's output or exp dir")
    parser.add_argument("--name", required=True, help="marker name, e.g. stage3_tokens")
    parser.add_argument(
        "--inputs", nargs="*", default=[], help="files/dirs whose content the stage depends on"
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="a stage setting that changes its outputs (repeatable)",
    )
    parser.add_argument(
        "--command", default=None,
        help="command line recorded by `mark` (default: the calling process's command line)",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    options = parse_options(args.option, parser)
    try:
        marker = marker_path(args.dir, args.name)
    except ValueError as err:
        parser.error(str(err))
    if args.action == "clear":
        if clear_done(args.dir, args.name):
            logger.info("%s: removed", marker)
        return 0
    fingerprint = inputs_fingerprint(args.inputs, options)
    if args.action == "check":
        legacy = inputs_fingerprint(args.inputs, options, with_paths=True)
        return 0 if stage_done(args.dir, args.name, fingerprint, also=[legacy]) else 1
    info = {"inputs": list(args.inputs), "options": options}
    mark_done(args.dir, args.name, info, fingerprint=fingerprint,
              command=args.command if args.command is not None else parent_command())
    logger.info("%s: written", marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
