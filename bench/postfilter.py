"""Benchmark: each TTS of a recipe run judged with and without the global-variance post-filter.

Usage: python bench/postfilter.py --work_dir /tmp/bench/abl_sw --stages finetune kd \
    [--judge /tmp/bench/abl_sw/judge/exp/model] [--paired DIR] [--out_dir DIR]

--work_dir is a bench/ablation.py work dir (its recipe, judge, dev clips and lang.yaml). For
each stage, the stage's packed TTS is copied twice next to its ASR: once as it is (read with
`--postfilter none`) and once with the global variance of the target speaker's paired
recordings (lrspeech.bin.gv_stats on `--paired`, default the recipe's dump/raw/paired_hq; read
with `--postfilter auto`, so gv). Both are evaluated by bench/ablation.evaluate (the same
judge, dev clips and DNSMOS as the ablation's rows) and compared utterance by utterance: judge
CER and IR with 95% paired bootstrap intervals (lrspeech.eval.significance), and DNSMOS OVRL,
SIG, BAK and MCD as mean differences with bootstrap intervals over the dev utterances.
Results: results.json and results.md in --out_dir (default: <work_dir>/postfilter).
"""

import argparse
import csv
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import ablation  # noqa: E402

logger = logging.getLogger("bench.postfilter")
VARIANTS = ("none", "gv")
MOS_KEYS = ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "mcd")


def variant_dir(out: Path, stage: str, variant: str, recipe: Path, paired: Path) -> Path:
    """A stage dir holding the stage's ASR and a copy of its TTS, with gv.npz for 'gv'."""
    from lrspeech.models.postfilter import GV_FILE

    src = recipe / "exp" / stage
    sd = out / "stages" / f"{stage.replace('/', '_')}_{variant}"
    model = sd / "tts" / "model"
    if not (src / "tts" / "model" / "model.pth").is_file():
        raise SystemExit(f"{src}/tts/model: no packed TTS; train the stage first")
    if not model.is_dir():
        (sd / "tts").mkdir(parents=True, exist_ok=True)
        tmp = sd / "tts" / ".model.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src / "tts" / "model", tmp)
        (tmp / GV_FILE).unlink(missing_ok=True)  # 'none' reads the TTS as it is
        if variant == "gv":
            subprocess.run([ablation.PY, "-m", "lrspeech.bin.gv_stats", "--model_dir", str(tmp),
                            "--data_dir", str(paired)], check=True)
        tmp.rename(model)
    if not (sd / "asr").exists():
        (sd / "asr").symlink_to((src / "asr").resolve())
    return sd


def mos_table(path: Path) -> Dict[str, Dict[str, float]]:
    with open(path, encoding="utf-8") as f:
        return {r["utt"]: {k: float(r[k]) for k in MOS_KEYS if r.get(k) not in (None, "")}
                for r in csv.DictReader(f, delimiter="\t")}


def mean_difference(a: Dict[str, float], b: Dict[str, float]) -> str:
    """Mean of b - a over the shared utterances with its 95% paired bootstrap interval
    (lrspeech.eval.significance on counts (value, 1): a ratio of sums that is the mean)."""
    from lrspeech.eval import significance

    d = significance.paired_bootstrap({u: (v, 1.0) for u, v in a.items()},
                                      {u: (v, 1.0) for u, v in b.items()})
    return f"{d.diff:+.2f} [{d.low:+.2f}, {d.high:+.2f}] ({d.num_utts} utts)"


def compare(work: Path, labels: Dict[str, str]) -> Dict[str, object]:
    """gv against none for one stage: judge CER and IR, DNSMOS and MCD differences."""
    from lrspeech.eval import significance

    ev = {v: work / "eval" / labels[v] for v in VARIANTS}
    out: Dict[str, object] = {}
    for metric in ("judge_char", "ir"):
        a, b = (significance.load_counts(ev[v] / "ir" / "ir_utts.tsv", metric)
                for v in VARIANTS)
        out[metric] = significance.paired_bootstrap(a, b).describe()
    mos = {v: mos_table(ev[v] / "mos" / "mos_utts.tsv") for v in VARIANTS}
    for key in MOS_KEYS:
        a = {u: m[key] for u, m in mos["none"].items() if key in m}
        b = {u: m[key] for u, m in mos["gv"].items() if key in m}
        if a and b:
            out[key] = mean_difference(a, b)
    return out


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| TTS | post-filter | judge CER % | TTS IR % | DNSMOS OVRL | SIG | BAK | MCD (dB) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for v in VARIANTS:
            f = r[v]
            mos = " | ".join(f"{f[k]:.2f}" if f.get(k) is not None else "" for k in MOS_KEYS)
            lines.append(f"| {r['stage']} | {v} | {100 * f['judge_cer']:.1f} | "
                         f"{100 * f['ir']:.1f} | {mos} |")
    lines += ["", "gv - none (95% paired bootstrap over the dev utterances):", "",
              "| TTS | judge CER (points) | IR (points) | DNSMOS OVRL | SIG | BAK | MCD |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r["difference"]
        lines.append(f"| {r['stage']} | {d['judge_char']} | {d['ir']} | " +
                     " | ".join(str(d.get(k, "")) for k in MOS_KEYS) + " |")
    return "\n".join(lines) + "\n"


def figures(result: Dict[str, object]) -> Dict[str, Optional[float]]:
    mos = result.get("mos") or {}
    return {"judge_cer": result.get("judge_cer"), "ir": result.get("ir"),
            **{k: (mos.get(k) or {}).get("mean") for k in MOS_KEYS}}


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work_dir", type=Path, required=True, help="a bench/ablation.py work dir")
    p.add_argument("--stages", nargs="+", default=["finetune", "dt/round2", "kd"],
                   help="stage dirs under the recipe's exp/")
    p.add_argument("--judge", type=Path, default=None,
                   help="judge ASR (default: the work dir's judge/exp/model)")
    p.add_argument("--paired", type=Path, default=None,
                   help="the target speaker's recordings (default: dump/raw/paired_hq)")
    p.add_argument("--out_dir", type=Path, default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    work = a.work_dir.resolve()
    recipe = work / "recipe"
    judge = a.judge or work / "judge" / "exp" / "model"
    paired = a.paired or recipe / "dump" / "raw" / "paired_hq"
    out = a.out_dir or work / "postfilter"
    lang = recipe / "conf" / "lang.yaml"
    for path, what in ((recipe, "recipe"), (judge, "judge"), (work / "dev", "dev clips"),
                       (paired, "paired recordings")):
        if not path.exists():
            raise SystemExit(f"{path}: no {what}; run bench/ablation.py on --work_dir first")
    rows = []
    for stage in a.stages:
        row: Dict[str, object] = {"stage": stage}
        labels = {}
        for v in VARIANTS:
            sd = variant_dir(out, stage, v, recipe, paired)
            labels[v] = f"pf_{stage.replace('/', '_')}_{v}"
            logger.info("%s, post-filter %s: evaluating", stage, v)
            row[v] = figures(ablation.evaluate(sd, labels[v], judge, work, work / "dev", "all",
                                               lang))
        row["difference"] = compare(work, labels)
        rows.append(row)
        logger.info("%s: %s", stage, row["difference"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(rows), encoding="utf-8")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
