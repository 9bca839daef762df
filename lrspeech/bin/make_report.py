"""Run report (Markdown + self-contained HTML), or collect one stage's result JSON.

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report \
    [--rounds exp/dt/eval/round*.json] [--times exp/stage_times.tsv] [--packed kd dt_round2]

Best mode prints, for each error rate given, the label of the stage with its lowest value, on
one line (stage 9 packs those models):
  python -m lrspeech.bin.make_report --results exp/eval/*.json --best asr_cer judge_cer

Collect mode writes the stage JSON the report reads, from the files of eval_ir, score_asr
and eval_mos:
  python -m lrspeech.bin.make_report --collect exp/eval/04_finetune.json --stage finetune \\
      --data "paired_hq" --ir_json exp/eval/ir_dev/ir.json --score_json exp/asr/score/score.json \\
      --mos_json exp/eval/mos_dev/mos.json \\
      --sample sw_0017 exp/tts/synth_dev/sw_0017.wav exp/tts/att_dev/sw_0017.npy \
      --dev_dir dump/raw/dev \
      --real_ir_json exp/eval/real/ir/ir.json --real_mos_json exp/eval/real/mos/mos.json \
      --skips_from exp/finetune exp/eval/finetune
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.skips import collect_counts
from lrspeech.errors import InputError, LrspeechError
from lrspeech.eval.report import (
    LOWER_IS_BETTER,
    ReportError,
    best_stage,
    collect_stage_result,
    dev_recordings,
    load_stage,
)
from lrspeech.eval.report_page import ReportInputs, write_report


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.make_report", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--results", type=Path, nargs="+", help="stage result JSON files, in stage order"
    )
    p.add_argument("--out_dir", type=Path, help="where report.md, report.html and img/ go")
    p.add_argument("--title", default="lrspeech run report", help="page title")
    p.add_argument("--max_samples", type=int, default=3, help="samples shown per stage")
    p.add_argument("--best", choices=LOWER_IS_BETTER, nargs="+",
                   help="print the label of the --results stage with the lowest value of each")
    p.add_argument("--rounds", type=Path, nargs="+", default=[],
                   help="dual-transformation rounds' result JSON files, in order (a plot)")
    p.add_argument("--times", type=Path, default=None,
                   help="stage wall times (exp/stage_times.tsv, written by utils/log.sh)")
    p.add_argument("--packed", nargs=2, metavar=("ASR_STAGE", "TTS_STAGE"), default=None,
                   help="labels of the stages whose ASR and TTS were packed (marked)")
    c = p.add_argument_group("collect mode")
    c.add_argument("--collect", type=Path, help="write one stage's result JSON to this path")
    c.add_argument("--stage", help="stage label (row of the table)")
    c.add_argument("--data", default="", help="what the stage trained on")
    c.add_argument("--ir_json", type=Path, help="ir.json of eval_ir")
    c.add_argument("--score_json", type=Path, help="score.json of score_asr")
    c.add_argument("--score_lm_json", type=Path, help="score.json of the decoding with the LM")
    c.add_argument("--mos_json", type=Path, help="mos.json of eval_mos")
    c.add_argument("--attention_json", type=Path, help="JSON with wcr/adr/focus_rate means")
    c.add_argument("--real_ir_json", type=Path,
                   help="ir.json of eval_ir on the real dev recordings (the reference)")
    c.add_argument("--real_mos_json", type=Path,
                   help="mos.json of eval_mos on the real dev recordings (DNSMOS reference)")
    c.add_argument("--dev_dir", type=Path,
                   help="the dev data dir: each sample's sentence (text) and real recording "
                        "(wav.scp)")
    c.add_argument("--skips_from", type=Path, nargs="+", default=[], metavar="DIR",
                   help="dirs whose skipped.json files (clips left out, per step) are summed "
                        "into the result's `skipped`")
    c.add_argument(
        "--sample",
        nargs="+",
        action="append",
        default=[],
        metavar="UTT WAV [ATT]",
        help="a sample to show: utterance id, wav path, optional attention .npy",
    )
    return p


def collect(args: argparse.Namespace) -> Path:
    if not args.stage:
        raise ReportError("--collect needs --stage (the row label)")
    samples = []
    for s in args.sample:
        if len(s) not in (2, 3):
            raise ReportError(f"--sample {' '.join(s)}: give UTT WAV [ATT]")
        samples.append(dict(zip(("utt", "wav", "att"), s)))
    dev = dev_recordings(args.dev_dir) if args.dev_dir else {}
    for smp in samples:
        smp.update(dev.get(smp["utt"], {}))
    attention = None
    if args.attention_json:
        try:
            attention = json.loads(args.attention_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ReportError(
                f"{args.attention_json}: cannot read attention scores ({err})"
            ) from err
    try:
        skipped = collect_counts(args.skips_from)
    except InputError as err:
        raise ReportError(str(err)) from err
    data = collect_stage_result(
        args.stage, args.data, args.ir_json, args.score_json, args.mos_json, attention, samples,
        skipped, args.score_lm_json, args.real_ir_json, args.real_mos_json,
    )
    atomic_write_text(args.collect, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return args.collect


def main(argv: Optional[List[str]] = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.collect:
            print(f"stage result -> {collect(args)}")
            return 0
        if args.best:
            if not args.results:
                parser.error("--best needs --results")
            stages = [load_stage(r) for r in args.results]
            print(" ".join(best_stage(stages, metric).stage for metric in args.best))
            return 0
        if not args.results or not args.out_dir:
            parser.error("give --results and --out_dir (or --collect with --stage)")
        packed = dict(zip(("asr", "tts"), args.packed)) if args.packed else None
        extra = ReportInputs(args.rounds, args.times, packed)
        md, page = write_report(args.results, args.out_dir, args.title, args.max_samples, extra)
    except (LrspeechError, OSError) as err:
        print(f"make_report: error: {err}", file=sys.stderr)
        return 1
    print(f"report -> {md}, {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
