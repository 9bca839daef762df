"""Pack the recipe's chosen ASR and TTS (lrspeech.pipeline.pack), for lr.sh stage 9.

Usage: python -m lrspeech.bin.pack_stages --results exp/eval/finetune.json exp/eval/kd.json \
    --stage_dirs finetune=exp/finetune kd=exp/kd --pack best --out exp/packed \
    [--lm exp/lm/model --fusion exp/lm/fusion.json] \
    [--report_dir exp/report --title T --rounds exp/dt/eval/round*.json --times exp/stage_times.tsv]

Prints the chosen stages (`ASR_LABEL TTS_LABEL`) on one line. With --report_dir, the report
(lrspeech.bin.make_report) is written there too, marking the packed stages.
"""

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Dict, List, Optional

from lrspeech.bin import make_report
from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.errors import InputError
from lrspeech.pipeline import pack


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, nargs="+", required=True,
                   help="stage results (eval_stage --collect), in stage order")
    p.add_argument("--stage_dirs", nargs="+", required=True, metavar="LABEL=DIR",
                   help="each stage label's dir (with asr/model and tts/model)")
    p.add_argument("--pack", choices=pack.PACKS, default="best")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--lm", type=Path, default=None, help="packed LM to carry in the ASR")
    p.add_argument("--fusion", type=Path, default=None, help="its tuning (lm_fusion tune)")
    p.add_argument("--choose_only", action="store_true", help="print the choice, pack nothing")
    p.add_argument("--report_dir", type=Path, default=None, help="write the report here too")
    p.add_argument("--title", default="lrspeech", help="the report's title")
    p.add_argument("--rounds", type=Path, nargs="*", default=[],
                   help="the DT rounds' dev results (stage 6), for the report")
    p.add_argument("--times", type=Path, default=None, help="stage wall times, for the report")
    return p


def stage_dirs(pairs: List[str]) -> Dict[str, Path]:
    """`label=dir` strings to a dict."""
    out = {}
    for pair in pairs:
        label, sep, path = pair.partition("=")
        if not sep or not label or not path:
            raise InputError(f"--stage_dirs {pair!r}: expected LABEL=DIR, e.g. kd=exp/kd")
        out[label] = Path(path)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    setup_logging()

    def body() -> int:
        choice = pack.choose(a.results, a.pack, with_lm=a.lm is not None)
        if not a.choose_only:
            pack.pack_models(choice, stage_dirs(a.stage_dirs), a.out, a.lm, a.fusion)
        if a.report_dir is not None:
            argv = ["--results", *map(str, a.results), "--out_dir", str(a.report_dir), "--title",
                    a.title, "--packed", choice.asr, choice.tts]
            argv += ["--rounds", *map(str, a.rounds)] if a.rounds else []
            argv += ["--times", str(a.times)] if a.times is not None else []
            with contextlib.redirect_stdout(sys.stderr):  # stdout is the choice alone
                written = make_report.main(argv)
            if written != 0:
                raise InputError(f"writing the report into {a.report_dir} failed (see above)")
        print(f"{choice.asr} {choice.tts}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
