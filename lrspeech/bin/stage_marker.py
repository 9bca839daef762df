"""Recipe step markers from a shell recipe: begin/end a declared step, or check/mark by hand.

Usage: python -m lrspeech.bin.stage_marker begin --dir exp --name s --outputs out --inputs setup.cfg

A step (lrspeech.pipeline.steps) is declared once, in `begin`:

    if python -m lrspeech.bin.stage_marker begin --dir exp --name tokens --after format.dev \
            --outputs dump/token --inputs conf/lang.yaml dump/raw/dev/text; then
        ... the work ...
        python -m lrspeech.bin.stage_marker end --dir exp --name tokens
    fi

`begin` exits 0 when the step must run (its marker is then removed and its outputs deleted;
`--resume` keeps them after an interrupted run with the same inputs), 1 when it is complete
(or, with `--dry_run true`, always, after printing whether it would run), and prints one line
saying why. `end` marks it complete. `plans` clears a dry run's plans. `check`, `mark` and
`clear` handle a marker by hand (give `check` and `mark` the same --inputs and --option values);
`check` exits 0 when it is done with the same inputs.
"""

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.pipeline import steps
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
    parser.add_argument("action", choices=["begin", "end", "plans", "check", "mark", "clear"])
    parser.add_argument("--dir", required=True, help="the stage's output or exp dir")
    parser.add_argument("--name", default="", help="marker or step name (all but plans)")
    parser.add_argument(
        "--inputs", nargs="*", default=[], help="files/dirs whose content the stage depends on"
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="a stage setting that changes its outputs (repeatable)",
    )
    parser.add_argument("--after", nargs="*", default=[],
                        help="begin: upstream steps whose fingerprints this step's includes")
    parser.add_argument("--outputs", nargs="*", default=[],
                        help="begin: what the step (re)creates; deleted before it runs")
    parser.add_argument("--resume", action="store_true",
                        help="begin: keep the outputs of an interrupted run with the same inputs")
    parser.add_argument("--force", choices=["true", "false"], default="false",
                        help="begin: run even when complete")
    parser.add_argument("--dry_run", choices=["true", "false"], default="false",
                        help="begin: only say whether the step would run (exit 1)")
    parser.add_argument(
        "--command", default=None,
        help="command line recorded by `mark` (default: the calling process's command line)",
    )
    return parser


def _step_action(args: argparse.Namespace) -> int:
    if args.action == "end":
        try:
            steps.end(args.dir, args.name,
                      command=args.command if args.command is not None else parent_command())
        except steps.StepError as err:
            print(f"stage_marker: error: {err}", file=sys.stderr)
            return 2
        return 0
    step = steps.Step(Path(args.dir), args.name, args.inputs, args.after, args.outputs)
    dry = args.dry_run == "true"
    decision = steps.begin(step, force=args.force == "true", resume=args.resume, dry_run=dry)
    if dry:
        print(f"would run ({decision.reason})" if decision.run else "complete")
        return 1
    print(f"running ({decision.reason})" if decision.run else "complete; skipped")
    return 0 if decision.run else 1


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    options = parse_options(args.option, parser)
    if args.action == "plans":
        steps.clear_plans(args.dir)
        return 0
    try:
        marker = marker_path(args.dir, args.name)
    except LrspeechError as err:
        parser.error(str(err))
    if args.action == "clear":
        if clear_done(args.dir, args.name):
            logger.info("%s: removed", marker)
        return 0
    if args.action in ("begin", "end"):
        return _step_action(args)
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
