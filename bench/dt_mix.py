"""Benchmark: how much of a DT round's synthetic speech the encoder ASR should train on.

Usage: python bench/dt_mix.py --recipe egs/swahili/lr1 --work_dir /tmp/bench/dt_mix_sw \
    [--dev /tmp/bench/abl_sw/dev] [--ratios 0 0.33 0.5 all] [--seeds 1 2 3] [--epochs N]

Issue 17: in LRSpeech's round, the ASR trains on the paired data plus the TTS's synthetic
speech of unpaired text. On a strong speech encoder with a weak TTS that speech may hurt more
than it teaches. This benchmark trains round 1's ASR of a finished recipe run exactly as stage 6
does (the recipe's own training options, read from exp/dt/round1/asr/prepared.json: config,
token list, init exp/finetune/asr/model, encoder, epochs), with one change per cell: the share of
exp/dt/round1/asr_pairs it hears beside dump/raw/paired_hq, chosen by
lrspeech.pipeline.dual_transformation.asr_synthetic as `--dt_asr_synth_ratio` chooses it:

  0      the paired data alone (the round's extra epochs without synthetic speech)
  0.33   one synthetic utterance for two real ones
  0.5    as many synthetic as real
  all    every synthetic pair (LRSpeech's round, the recipe's default until measured)

Each (ratio, seed) cell decodes the dev set (default: the recipe's dump/raw/dev; `--dev` gives
another formatted data dir, e.g. bench/ablation.py's work_dir/dev) with the recipe's LM and its
tuned weights (exp/lm/fusion.json) as the recipe decodes its DT rows, and, with `--no_lm_too`,
without it. Figures: CER/WER mean and standard deviation over seeds per ratio, the starting
ASR (exp/finetune/asr/model) as a reference, and each ratio against ratio 0 and against `all`
with a 95% paired bootstrap interval over dev utterances (the per-utterance counts summed over
seeds). Cells are kept under work_dir/cells/<ratio>/seed<N> and skipped when rerun; results go
to work_dir/results.json and work_dir/results.md. `--quick` trains 1 epoch, 3 iterations per
epoch (figures meaningless).
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mixspeech import decode_score  # noqa: E402

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.dt_mix")
RATIOS = ("0", "0.33", "0.5", "all")


def recipe_step(recipe: Path) -> Any:
    """Round 1's ASR training step as the recipe ran it (paths made absolute)."""
    from lrspeech.pipeline.training import PREPARED_JSON, TrainStep

    path = recipe / "exp" / "dt" / "round1" / "asr" / PREPARED_JSON
    if not path.is_file():
        raise SystemExit(f"{path}: missing; run the recipe through stage 6 first "
                         f"(run.sh --stage 1 --stop_stage 6 in {recipe})")
    o = json.loads(path.read_text(encoding="utf-8"))["inputs"]["options"]

    def where(p: Optional[str]) -> Optional[Path]:
        return None if p is None else (Path(p) if Path(p).is_absolute() else recipe / p)

    paths = ("config", "valid_dir", "lang_config", "token_list", "out_dir", "bpemodel", "init")
    return TrainStep(**{**o, **{k: where(o[k]) for k in paths},
                        "train_dirs": [where(d) for d in o["train_dirs"]]})


def lm_options(recipe: Path) -> Dict[str, Any]:
    """The recipe's LM and its tuned weights, as AsrOptions fields (none without an LM)."""
    from lrspeech.pipeline.lm import read_fusion

    fusion = recipe / "exp" / "lm" / "fusion.json"
    if not fusion.is_file():
        return {}
    weight, bonus, _ = read_fusion(fusion)
    return {"lm": str(recipe / "exp" / "lm" / "model"), "lm_weight": weight,
            "length_bonus": bonus}


def round1_pairs(recipe: Path) -> Path:
    """Round 1's synthetic pairs (what the TTS read for the ASR) in the recipe dir."""
    return recipe / "exp" / "dt" / "round1" / "asr_pairs"


def cell_data(recipe: Path, cell: Path, ratio: str, seed: int) -> List[Path]:
    """The cell's training dirs: the paired data and its share of round 1's synthetic pairs."""
    from lrspeech.pipeline.dual_transformation import asr_synthetic, parse_ratio

    paired = recipe / "dump" / "raw" / "paired_hq"
    if parse_ratio(ratio) == 0:
        return [paired]
    out = cell / "asr_synth"
    if not (out / "wav.scp").is_file():
        asr_synthetic([paired], round1_pairs(recipe), ratio, seed, out)
    return [paired, out]


def score(model: Path, dev: Path, out: Path, lang: Path, lm: Dict[str, Any]) -> Dict[str, Any]:
    """Decode `dev` with `model` (with `lm`'s options, else without an LM) and score it
    (mixspeech.decode_score: cached in out/score.json with per-utterance counts)."""
    from lrspeech.models.asr_decode import AsrOptions

    options = AsrOptions(**lm) if lm else AsrOptions(lm_weight=0.0)
    return decode_score(model, dev, out, lang, options)


def run_cell(a: argparse.Namespace, base: Any, ratio: str, seed: int,
             decodes: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Train one cell as the recipe's round 1 ASR, with its data and seed; score it."""
    from lrspeech.pipeline.training import run_step

    cell = a.work_dir / "cells" / ratio / f"seed{seed}"
    done = cell / "train.json"
    if not done.is_file():
        dirs = cell_data(a.recipe, cell, ratio, seed)
        epochs = a.epochs or base.epochs
        step = replace(base, train_dirs=dirs, out_dir=cell / "asr", seed=seed, epochs=epochs,
                       extra_args=[*base.extra_args, *a.espnet_args])
        t0 = time.time()
        run_step(step)
        n = sum(len((d / "text").read_text(encoding="utf-8").splitlines()) for d in dirs)
        done.write_text(json.dumps({"train_s": round(time.time() - t0, 1), "utts": n,
                                    "epochs": epochs}) + "\n", encoding="utf-8")
    info = json.loads(done.read_text(encoding="utf-8"))
    for name, lm in decodes.items():
        info[name] = score(cell / "asr" / "model", a.dev, cell / name, base.lang_config, lm)
        logger.info("ratio %s seed %d (%d utts): %s dev CER %.2f%%", ratio, seed, info["utts"],
                    name, 100 * info[name]["cer"])
    return info


def pooled(cells: Sequence[Dict[str, Any]], decode: str) -> Dict[str, Any]:
    """Per-utterance (errors, reference chars) summed over seeds."""
    out: Dict[str, List[float]] = {}
    for c in cells:
        for u in c[decode]["utts"]:
            e, n = out.setdefault(u["utt"], [0.0, 0.0])
            out[u["utt"]] = [e + u["char"]["err"], n + u["char"]["ref_len"]]
    return {u: (e, n) for u, (e, n) in out.items()}


def summarize(cells: Dict[str, List[Dict[str, Any]]], decodes: Sequence[str],
              start: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    from lrspeech.eval.significance import paired_bootstrap

    out: Dict[str, Any] = {"start": {d: {"cer": start[d]["cer"], "wer": start[d]["wer"]}
                                     for d in decodes}, "ratios": {}}
    for ratio, runs in cells.items():
        row: Dict[str, Any] = {"utts": runs[0]["utts"],
                               "train_s": statistics.mean(r["train_s"] for r in runs)}
        for d in decodes:
            cers = [r[d]["cer"] for r in runs]
            row[d] = {"cer": cers, "cer_mean": statistics.mean(cers),
                      "cer_std": statistics.stdev(cers) if len(cers) > 1 else 0.0,
                      "wer_mean": statistics.mean(r[d]["wer"] for r in runs)}
            for ref in ("0", "all"):
                if ref in cells and ref != ratio:
                    diff = paired_bootstrap(pooled(cells[ref], d), pooled(runs, d))
                    row[d][f"vs_{ref}"] = {"diff": diff.diff, "low": diff.low,
                                           "high": diff.high, "excludes_zero": diff.excludes_zero}
        out["ratios"][ratio] = row
    for d in decodes:
        best = min(out["ratios"], key=lambda r: out["ratios"][r][d]["cer_mean"])
        out[f"best_{d}"] = best
    return out


def markdown(summary: Dict[str, Any], decodes: Sequence[str]) -> str:
    def pct(x: float) -> str:
        return f"{100 * x:.1f}"

    def vs(r: Dict[str, Any], ref: str) -> str:
        c = r.get(f"vs_{ref}")
        return "-" if not c else (f"{100 * c['diff']:+.1f} [{100 * c['low']:+.1f}, "
                                  f"{100 * c['high']:+.1f}]")

    lines = []
    for d in decodes:
        lines += [f"**{d}** (starting ASR: CER {pct(summary['start'][d]['cer'])}%, WER "
                  f"{pct(summary['start'][d]['wer'])}%)", "",
                  "| synthetic ratio | train utts | dev CER % mean ± sd | per seed | WER % | "
                  "vs 0 (points, 95% CI) | vs all | training (s) |",
                  "|---|---|---|---|---|---|---|---|"]
        for ratio, r in summary["ratios"].items():
            x = r[d]
            lines.append(f"| {ratio} | {r['utts']} | {pct(x['cer_mean'])} ± {pct(x['cer_std'])} "
                         f"| {', '.join(pct(c) for c in x['cer'])} | {pct(x['wer_mean'])} | "
                         f"{vs(x, '0')} | {vs(x, 'all')} | {r['train_s']:.0f} |")
        lines += ["", f"Lowest mean CER ({d}): ratio {summary[f'best_{d}']}.", ""]
    return "\n".join(lines)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", type=Path, required=True, help="a recipe dir run through stage 6")
    p.add_argument("--work_dir", type=Path, required=True)
    p.add_argument("--dev", type=Path, default=None,
                   help="formatted dev data dir (default: the recipe's dump/raw/dev)")
    p.add_argument("--ratios", nargs="+", default=list(RATIOS))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's round epochs")
    p.add_argument("--no_lm_too", action="store_true", help="also decode without the LM")
    p.add_argument("--quick", action="store_true", help="1 epoch of 3 iterations per cell")
    p.add_argument("--threads", type=int, default=1)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    limit_threads(a.threads)
    from lrspeech.pipeline.dual_transformation import parse_ratio

    for r in a.ratios:
        parse_ratio(r)  # a bad ratio stops here, before any training
    a.recipe, a.work_dir = a.recipe.resolve(), a.work_dir.resolve()
    a.dev = (a.dev or a.recipe / "dump" / "raw" / "dev").resolve()
    os.chdir(a.recipe)  # data dirs name their audio relative to the recipe dir
    a.espnet_args = ["--num_iters_per_epoch", "3"] if a.quick else []
    if a.quick:
        a.epochs = 1
    base = recipe_step(a.recipe)
    pairs = round1_pairs(a.recipe)
    if any(parse_ratio(r) != 0 for r in a.ratios) and not (pairs / "wav.scp").is_file():
        raise SystemExit(f"{pairs}: missing; round 1 synthesizes for the ASR only when its ASR "
                         "hears synthetic speech or it is the last round: rerun stage 6 with "
                         f"--dt_asr_synth_ratio all (run.sh --stage 6 --stop_stage 6 in "
                         f"{a.recipe}), or measure only --ratios 0")
    lm = lm_options(a.recipe)
    decodes: Dict[str, Dict[str, Any]] = {"lm": lm} if lm else {"no_lm": {}}
    if lm and a.no_lm_too:
        decodes["no_lm"] = {}
    start_model = a.recipe / "exp" / "finetune" / "asr" / "model"
    start = {d: score(start_model, a.dev, a.work_dir / "start" / d, base.lang_config, opts)
             for d, opts in decodes.items()}
    cells = {r: [run_cell(a, base, r, s, decodes) for s in a.seeds] for r in a.ratios}
    summary = summarize(cells, list(decodes), start)
    summary["setting"] = {"recipe": str(a.recipe), "dev": str(a.dev), "seeds": a.seeds,
                          "epochs": a.epochs or base.epochs, "config": str(base.config)}
    (a.work_dir / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = markdown(summary, list(decodes))
    (a.work_dir / "results.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
