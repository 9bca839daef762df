"""Benchmark: FastSpeech2 training with ESPnet's attention, torch's fused SDPA, and SDPA without
attention dropout: seconds per epoch and the judge's reading of each TTS, side by side.

Usage: python bench/fused_attention.py --recipe egs/swahili/lr1 --work_dir /tmp/bench/fused \
    [--variants espnet fused fused_nodrop] [--seeds 1 2] [--parallel 2]

--recipe is a recipe dir after stage 8 (e.g. egs/swahili/lr1 after `make demo`). Each variant
retrains the recipe's stage-5 TTS exactly as stage 5 did (the options in
exp/finetune/tts/prepared.json: config, data, durations, init, epochs; the recipe's GV
post-filter data and WORLD source model packed with it), changing one thing:
- espnet: `--fused_attention false` (ESPnet's own attention computation; the TTS before lrspeech
  fused it);
- fused: the config as it is (lrspeech.models.fused_attention: the same function);
- fused_nodrop / fused_decnodrop: fused, with the attention dropout of the encoder and the
  decoder / of the decoder only set to 0 (a copy of the config under --work_dir). On a CPU,
  torch's fused kernel cannot apply dropout to the attention weights and falls back to a
  composite computation, so the dropout is what the fusion's speed depends on.
Each TTS is evaluated by lrspeech.bin.eval_stage on the recipe's dev set with `--judge`
(default: the recipe's final ASR, exp/kd/asr/model), as stage 8 evaluates its stages. Reported:
the training's seconds per epoch (ESPnet's log, median over epochs), the process wall time,
the judge's CER, DNSMOS OVRL and MCD per seed, and each variant against `espnet` by a 95%
paired bootstrap of the judge CER over the dev utterances of all seeds pooled
(lrspeech.eval.significance). Variants alternate within a seed and the order rotates between
seeds, so load drift hits all alike; `--parallel 2` runs two trainings at once (both halves of a
pair slowed alike). A finished (variant, seed) is skipped when rerun. Results: results.json and
results.md in --work_dir.
"""

import argparse
import json
import logging
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.eval.significance import ir_counts, paired_bootstrap  # noqa: E402

logger = logging.getLogger("bench.fused_attention")
PY = sys.executable
VARIANTS = ("espnet", "fused", "fused_nodrop", "fused_decnodrop")
NO_DROPOUT = {"fused_nodrop": ("transformer_enc_attn_dropout_rate",
                               "transformer_dec_attn_dropout_rate"),
              "fused_decnodrop": ("transformer_dec_attn_dropout_rate",)}
EPOCH_TIME = re.compile(r"\[train\].*?, time=([0-9.]+) seconds")


def stage5_options(recipe: Path) -> Dict[str, Any]:
    """The options stage 5 trained its TTS with (train_model's prepared.json)."""
    path = recipe / "exp" / "finetune" / "tts" / "prepared.json"
    if not path.is_file():
        raise SystemExit(f"{path}: missing; run the recipe through stage 5 first")
    return json.loads(path.read_text(encoding="utf-8"))["inputs"]["options"]


def variant_config(base: Path, variant: str, work: Path) -> Path:
    """The TTS config of a variant: the recipe's, or a copy with attention dropout 0."""
    if variant not in NO_DROPOUT:
        return base
    config = yaml.safe_load(base.read_text(encoding="utf-8"))
    for key in NO_DROPOUT[variant]:
        config["tts_conf"][key] = 0.0
    out = work / "configs" / f"{variant}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return out


def train_command(opts: Dict[str, Any], recipe: Path, config: Path, variant: str, seed: int,
                  out: Path) -> List[str]:
    """stage 5's train_model command with the variant's config, seed and fusion switch."""
    cmd = [PY, "-m", "lrspeech.bin.train_model", "--task", "tts", "--config", str(config),
           "--train", *opts["train_dirs"], "--valid", opts["valid_dir"],
           "--lang_config", opts["lang_config"], "--token_list", opts["token_list"],
           "--token_type", opts["token_type"], "--out_dir", str(out), "--epochs",
           str(opts["epochs"]), "--seed", str(seed), "--init", opts["init"],
           "--spk2sid", opts["spk2sid"], "--target_speaker", opts["target_speaker"],
           "--durations", opts["durations"], "--gv_data", *opts["train_dirs"]]
    packed = recipe / "exp" / "finetune" / "tts" / "model"
    meta = json.loads((packed / "meta.json").read_text(encoding="utf-8"))
    if (recipe / "exp" / "world" / "world.pt").is_file() and meta.get("world_vocoder"):
        cmd += ["--world_source", "exp/world/world.pt", "--world_vocoder", meta["world_vocoder"]]
    extra = list(opts.get("extra_args") or [])
    if variant == "espnet":
        extra += ["--fused_attention", "false"]
    return cmd + ["--", *extra]


def run_one(recipe: Path, work: Path, opts: Dict[str, Any], judge: Path, variant: str,
            seed: int) -> Dict[str, Any]:
    """Train one (variant, seed) TTS, evaluate it; its result.json makes a rerun skip it."""
    run = work / f"{variant}_s{seed}"
    done = run / "result.json"
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    run.mkdir(parents=True, exist_ok=True)
    config = variant_config(Path(opts["config"]), variant, work)
    t0 = time.perf_counter()
    with open(run / "train.log", "w", encoding="utf-8") as log:
        subprocess.run(train_command(opts, recipe, config, variant, seed, run / "tts"),
                       cwd=recipe, stdout=log, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - t0
    epochs = [float(t) for t in EPOCH_TIME.findall((run / "train.log").read_text())]
    stage = run / "stage"
    for task, target in (("asr", recipe / "exp" / "finetune" / "asr" / "model"),
                         ("tts", run / "tts" / "model")):
        (stage / task).mkdir(parents=True, exist_ok=True)
        link = stage / task / "model"
        if not link.exists():
            link.symlink_to(target.resolve())
    collect = run / "eval.json"
    with open(run / "eval.log", "w", encoding="utf-8") as log:
        subprocess.run([PY, "-m", "lrspeech.bin.eval_stage", "--stage_dir", str(stage),
                        "--data_dir", "dump/raw/dev", "--judge", str(judge), "--lang_config",
                        opts["lang_config"], "--out_dir", str(run / "eval"), "--label",
                        f"{variant}_s{seed}", "--real_dir", "exp/eval/real", "--collect",
                        str(collect)], cwd=recipe, stdout=log, stderr=subprocess.STDOUT,
                       check=True)
    figures = json.loads(collect.read_text(encoding="utf-8"))
    result = {"variant": variant, "seed": seed, "wall_s": wall, "epochs": len(epochs),
              "epoch_s": statistics.median(epochs) if epochs else None,
              "judge_cer": figures["judge_cer"],
              "dnsmos_ovrl": figures["mos"]["dnsmos_ovrl"]["mean"],
              "mcd": figures["mos"].get("mcd", {}).get("mean"),
              "ir_utts": str(run / "eval" / "ir" / "ir_utts.tsv")}
    done.write_text(json.dumps(result, indent=1), encoding="utf-8")
    logger.info("%s seed %d: %.1f s/epoch, judge CER %.1f%%", variant, seed,
                result["epoch_s"] or 0, 100 * result["judge_cer"])
    return result


def schedule(variants: Sequence[str], seeds: Sequence[int]) -> List[tuple]:
    """(variant, seed) pairs: variants alternate within a seed, the order rotating by seed."""
    jobs = []
    for i, seed in enumerate(seeds):
        k = i % len(variants)
        jobs += [(v, seed) for v in list(variants[k:]) + list(variants[:k])]
    return jobs


def pooled(results: List[Dict[str, Any]], variant: str) -> Dict[str, tuple]:
    """A variant's per-utterance judge counts over all its seeds (keys seed:utt)."""
    counts = {}
    for r in results:
        if r["variant"] == variant:
            for utt, c in ir_counts(Path(r["ir_utts"]), "judge_char").items():
                counts[f"{r['seed']}:{utt}"] = c
    return counts


def summarize(results: List[Dict[str, Any]], variants: Sequence[str]) -> Dict[str, Any]:
    rows = {}
    base = pooled(results, "espnet") if "espnet" in variants else None
    for v in variants:
        mine = [r for r in results if r["variant"] == v]
        row = {"seeds": [r["seed"] for r in mine],
               "epoch_s": statistics.median(r["epoch_s"] for r in mine),
               "wall_s": statistics.median(r["wall_s"] for r in mine),
               "judge_cer": [r["judge_cer"] for r in mine],
               "dnsmos_ovrl": [r["dnsmos_ovrl"] for r in mine],
               "mcd": [r["mcd"] for r in mine]}
        if base is not None and v != "espnet":
            d = paired_bootstrap(base, pooled(results, v))
            row["vs_espnet"] = d.describe()
        rows[v] = row
    return rows


def table(rows: Dict[str, Any]) -> str:
    base = rows.get("espnet", {}).get("epoch_s")
    lines = ["| variant | s/epoch (median) | speed-up | wall s | judge CER % per seed | mean | "
             "vs espnet (points, 95%) | DNSMOS OVRL | MCD (dB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for v, r in rows.items():
        cer = [100 * c for c in r["judge_cer"]]
        mcd = [m for m in r["mcd"] if m is not None]
        speed = f"{base / r['epoch_s']:.2f}x" if base else "-"
        mcd_s = f"{statistics.mean(mcd):.2f}" if mcd else "-"
        lines.append(
            f"| {v} | {r['epoch_s']:.2f} | {speed} | {r['wall_s']:.0f} | "
            f"{' / '.join(f'{c:.1f}' for c in cer)} | {statistics.mean(cer):.1f} | "
            f"{r.get('vs_espnet', '-')} | {statistics.mean(r['dnsmos_ovrl']):.2f} | {mcd_s} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", type=Path, required=True, help="a recipe dir after stage 8")
    p.add_argument("--work_dir", type=Path, required=True)
    p.add_argument("--variants", nargs="+", choices=VARIANTS,
                   default=["espnet", "fused", "fused_nodrop"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    p.add_argument("--judge", type=Path, default=None,
                   help="judge ASR (default: the recipe's exp/kd/asr/model)")
    p.add_argument("--parallel", type=int, default=1, help="trainings at once")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recipe, work = a.recipe.resolve(), a.work_dir.resolve()
    judge = (a.judge or recipe / "exp" / "kd" / "asr" / "model").resolve()
    if not (judge / "meta.json").is_file():
        raise SystemExit(f"{judge}: not a packed ASR; give --judge or run the recipe's stage 7")
    opts = stage5_options(recipe)
    work.mkdir(parents=True, exist_ok=True)
    jobs = schedule(a.variants, a.seeds)
    with ThreadPoolExecutor(max_workers=max(1, a.parallel)) as pool:
        results = list(pool.map(lambda j: run_one(recipe, work, opts, judge, *j), jobs))
    rows = summarize(results, a.variants)
    (work / "results.json").write_text(json.dumps({"rows": rows, "runs": results}, indent=1),
                                       encoding="utf-8")
    text = table(rows)
    (work / "results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
