"""Benchmark: how much data does a language need? Dev ASR CER and TTS judge CER against the
number of paired utterances, for paired-only training and for the whole LRSpeech recipe, with
the fully supervised topline as a line.

Usage: python bench/data_budget.py --db_root ../shared/data/sw --work_dir /tmp/bench/budget_sw \
    --judge /tmp/bench/abl_sw/judge/exp/model --ablation /tmp/bench/abl_sw [--sizes 10 25 50]

For each size N (those the corpus allows: the target speaker needs N clips within the recipe's
--max_dur and some left over as unpaired speech), a copy of the Swahili recipe with
`local/data.sh --n_paired N` (the rest of the train split unpaired, the same unpaired text and
dev) runs stages 1-7 with bench/ablation.py's budget and tier (`recipe_<N>`); the paired-only
baseline trains on the same N clips (ablation.train_baseline: a log-mel ASR and the tier's
FastSpeech2 from scratch, by the pipeline's modules). Both are evaluated on the same dev clips
by the same judge (ablation.evaluate). The size the ablation ran (local/data.sh's default
--n_paired, 50) is not run again: with --ablation, that point is the ablation's own recipe and
baseline (the same options; run by bench/ablation.py, which must have trained them; the rows
its results.json has evaluated with the same judge on the same dev clips are taken from there),
and every other size starts from that run's pretrained models (`--pretrained_asr/
--pretrained_tts`: stage 4 reads only the rich-resource side, so it is the same at every N and
is not retrained). The full recipe's row is its last (knowledge distillation), decoded with the
LM as in the ablation. The topline does not depend on N: it is read from the ablation's
results.json (--ablation, the same tier, judge and dev clips). Every step is resumable (the
recipe's step markers, the baselines' markers under recipe_<N>/rows/.done).
Two cores: `--train_only baseline` in one process (every size's baseline needs only its
stages 1-3, and the ablation's finished stage 5 for the token types) and `--train_only recipe`
in another, then the command without --train_only evaluates.
Results: work_dir/results.json, work_dir/results.md and the plot (--plot; default
work_dir/data_budget.png).
"""

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ablation  # noqa: E402

logger = logging.getLogger("bench.data_budget")
SIZES = (10, 25, 50, 100, 200)
PARTS = ("recipe", "baseline")  # what --train_only can name


def feasible_sizes(db_root: Path, sizes: Sequence[int], max_dur: float) -> List[int]:
    """The sizes the corpus allows: the target speaker has that many train clips within
    `max_dur` s and at least one more train clip left as unpaired speech."""
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.data.lr_setting import target_speaker

    train = datadir_from_metadata(db_root / "metadata.tsv", split="train")
    spk = target_speaker(train)
    own = [u for u in train.utt_ids if train.utt2spk[u] == spk]
    short = [u for u in own if train.utt2dur.get(u, 0.0) <= max_dur]
    return [n for n in sizes if n <= len(short) and n < len(own)]


def default_paired() -> int:
    """local/data.sh's default --n_paired: the size bench/ablation.py runs."""
    text = (REPO / "egs" / "swahili" / "lr1" / "local" / "data.sh").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("n_paired="))
    return int(line.partition("=")[2].split()[0])


def size_options(base: Sequence[str], n: int) -> List[str]:
    """The ablation's recipe options with local/data.sh's --n_paired N added (unchanged for the
    default N, so that the ablation's run is that point)."""
    opts = list(base)
    if n == default_paired():
        return opts
    flag = "--local_data_opts"
    if flag in opts:
        i = opts.index(flag)
        opts[i + 1] = f"{opts[i + 1]} --n_paired {n}".strip()
    else:
        opts += [flag, f"--n_paired {n}"]
    return opts


def shared_pretraining(ablation_dir: Optional[Path]) -> List[str]:
    """Recipe options that start every size from the ablation's stage-4 models (pretraining
    reads only the rich-resource side, the same at every N): the same starts for every point,
    and stage 4 is not trained again per size. Without --ablation: none (each size
    pretrains)."""
    if ablation_dir is None:
        return []
    pre = ablation_dir.resolve() / "recipe" / "exp" / "pretrain"
    missing = [t for t in ("asr", "tts") if not (pre / t / "model" / "model.pth").is_file()]
    if missing:
        raise SystemExit(f"{pre}: no pretrained {' and '.join(missing)} model yet; run "
                         f"bench/ablation.py on {ablation_dir} through stage 4 first (every size "
                         "starts from its pretrained models)")
    return ["--pretrained_asr", str(pre / "asr" / "model"),
            "--pretrained_tts", str(pre / "tts" / "model")]


def types_source(recipe: Path, ablation_dir: Optional[Path]) -> Path:
    """The recipe whose fine-tuned models give a size's baseline its token types: the size's
    own once its stage 5 has finished; before that the ablation's, which has the same lang.yaml
    and options (so the same token types), so that the baselines need not wait for stage 5."""
    def tuned(r: Path) -> bool:
        return all(m.is_file() for m in ablation.stage5_outputs(r) if m.name == "meta.json")

    if tuned(recipe):
        return recipe
    other = None if ablation_dir is None else ablation_dir.resolve() / "recipe"
    lang = recipe / "conf" / "lang.yaml"
    if other is not None and tuned(other) and lang.is_file() and \
            (other / "conf" / "lang.yaml").read_bytes() == lang.read_bytes():
        return other
    raise SystemExit(f"{recipe}: no fine-tuned model gives the baseline its token types yet: "
                     "train this size's recipe through stage 5 first, or pass --ablation with "
                     "a work dir whose recipe has (the same lang.yaml) finished stage 5")


def size_dirs(a: argparse.Namespace, work: Path, db_root: Path, n: int, lang: Path,
              text: Optional[Path]) -> Tuple[Path, Path, bool]:
    """The recipe and rows dir of size N, and whether they are the ablation's own run (the
    default size with --ablation: trained by bench/ablation.py with the same options)."""
    if a.ablation is not None and n == default_paired():
        return a.ablation.resolve() / "recipe", a.ablation.resolve() / "rows", True
    recipe = ablation.make_recipe(work / f"recipe_{n}", db_root, lang=lang, text=text)
    return recipe, recipe / "rows", False


def train_size(a: argparse.Namespace, recipe: Path, rows_dir: Path, n: int,
               opts: Sequence[str], parts: Sequence[str]) -> None:
    """The `parts` of size N: the recipe's stages 1-7 and/or the paired-only baseline (after
    stages 1-3, the data and token lists it trains on). Two processes can train two sizes, or
    the recipes and the baselines, side by side (not the same size at once: one recipe dir)."""
    if "recipe" in parts:
        ablation.run_recipe(recipe, 1, 7, opts, f"recipe_{n}")
    if "baseline" in parts:
        if "recipe" not in parts:
            ablation.run_recipe(recipe, 1, 3, opts, f"data_{n}")
        setting = replace(ablation.Setting.of(recipe, rows_dir, opts),
                          types_from=types_source(recipe, a.ablation))
        ablation.train_baseline(setting)


FIGURES = ("asr_cer", "asr_wer", "judge_cer", "ir")
AS_IN_ABLATION = {"baseline": "baseline", "lrspeech": "kd"}  # a point's rows, by ablation row


def ablation_rows(ablation_dir: Optional[Path], judge: Path, dev: Path
                  ) -> Dict[str, Dict[str, object]]:
    """The evaluated rows of bench/ablation.py's results.json by name, when they were read by
    the same judge on the same dev clips (figures of another judge or dev set do not compare);
    else none."""
    res_file = None if ablation_dir is None else ablation_dir / "results.json"
    if res_file is None or not res_file.is_file():
        return {}
    res = json.loads(res_file.read_text(encoding="utf-8"))
    same_judge = bool(res.get("judge")) and Path(res["judge"]).resolve() == judge.resolve()
    their_dev = Path(res["dev"]) / "text" if res.get("dev") else None
    same_dev = their_dev is not None and their_dev.is_file() and \
        their_dev.read_bytes() == (dev / "text").read_bytes()
    if not (same_judge and same_dev):
        logger.warning("%s: another judge or dev set (%s, %s); its rows are not used", res_file,
                       res.get("judge"), res.get("dev"))
        return {}
    return {str(r["row"]): r for r in res["rows"]}


def evaluate_size(a: argparse.Namespace, work: Path, recipe: Path, rows_dir: Path, n: int,
                  judge: Path, dev: Path, known: Dict[str, Dict[str, object]]
                  ) -> Dict[str, object]:
    """The baseline and the recipe's final row at N paired utterances, as far as trained,
    evaluated by the judge on the dev clips; a row in `known` (the ablation's own results, for
    its size) is taken from there."""
    with_lm = (recipe / "exp" / "lm" / "fusion.json").is_file()
    lm = ablation.lm_options(recipe) if with_lm else []
    out: Dict[str, object] = {"paired": n}
    for row in (ablation.Row("baseline", rows_dir / "baseline", False, f"baseline_{n}"),
                ablation.Row("lrspeech", recipe / "exp" / "kd", with_lm, f"kd_{n}")):
        done = known.get(AS_IN_ABLATION[row.label])
        if done is not None and done.get("judge_cer") is not None:
            out[row.label] = {k: done[k] for k in FIGURES}
            continue
        if not (row.stage_dir / "tts" / "model" / "model.pth").is_file():
            logger.warning("N=%d %s: not trained yet; left out", n, row.label)
            continue
        result = ablation.evaluate(row.stage_dir, row.evaluation, judge, work, dev, a.mos,
                                   recipe / "conf" / "lang.yaml", lm if row.lm else [])
        figures = ablation.row_figures(row, result, work)
        out[row.label] = {k: figures[k] for k in FIGURES}
    return out


def topline_of(rows: Dict[str, Dict[str, object]]) -> Optional[Dict[str, float]]:
    """The topline of an ablation's rows (ablation_rows), when both its figures are there."""
    top = rows.get("topline", {})
    if top.get("asr_cer") is None or top.get("judge_cer") is None:
        return None
    return {k: float(top[k]) for k in ("asr_cer", "judge_cer")}


def markdown(points: Sequence[Dict[str, object]], topline: Optional[Dict[str, float]],
             head: str) -> str:
    def cell(p: Dict[str, object], row: str, key: str) -> str:
        r = p.get(row)
        return "n/a" if not isinstance(r, dict) or r.get(key) is None else f"{100 * r[key]:.1f}"

    out = [head, "", "| paired utterances | ASR CER %, paired only | ASR CER %, LRSpeech | "
           "judge CER %, paired only | judge CER %, LRSpeech |", "|---|---|---|---|---|"]
    for p in points:
        out.append(f"| {p['paired']} | {cell(p, 'baseline', 'asr_cer')} | "
                   f"{cell(p, 'lrspeech', 'asr_cer')} | {cell(p, 'baseline', 'judge_cer')} | "
                   f"{cell(p, 'lrspeech', 'judge_cer')} |")
    if topline:
        out.append(f"| topline (every train clip transcribed) | {100 * topline['asr_cer']:.1f} "
                   f"| | {100 * topline['judge_cer']:.1f} | |")
    return "\n".join(out) + "\n"


def plot(points: Sequence[Dict[str, object]], topline: Optional[Dict[str, float]],
         out: Path, title: str) -> None:
    """Two panels (ASR CER, judge CER) against the paired utterances, log x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, name in zip(axes, ("asr_cer", "judge_cer"), ("dev ASR CER", "TTS judge CER")):
        for row, label, style in (("baseline", "paired only", "o--"),
                                  ("lrspeech", "LRSpeech", "s-")):
            xs = [p["paired"] for p in points if isinstance(p.get(row), dict)]
            ys = [100 * p[row][key] for p in points if isinstance(p.get(row), dict)]
            if xs:
                ax.plot(xs, ys, style, label=label)
        if topline:
            ax.axhline(100 * topline[key], color="gray", linestyle=":", label="topline")
        ax.set_xscale("log")
        ax.set_xlabel("paired utterances")
        ax.set_ylabel(f"{name} (%)")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    p = ablation.corpus_parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--ablation", type=Path, default=None,
                   help="bench/ablation.py work dir of the same corpus (its topline row)")
    p.add_argument("--tier", choices=sorted(ablation.TIERS), default="small")
    p.add_argument("--lang_config", type=Path, default=None)
    p.add_argument("--unpaired_text", type=Path, default=None)
    p.add_argument("--dev_max_dur", type=float, default=60.0)
    p.add_argument("--recipe_opts", default="")
    p.add_argument("--mos", choices=("all", "reference", "none"), default="none")
    p.add_argument("--quick", action="store_true", help="micro setting on tests/data")
    p.add_argument("--eval_only", action="store_true")
    p.add_argument("--train_only", nargs="+", choices=PARTS, default=None,
                   help="train these parts of every size and stop (no judge, no evaluation): "
                        "e.g. the baselines in one process and the recipes in another")
    p.add_argument("--plot", type=Path, default=None, help="PNG path (default: in work_dir)")
    a, db_root = ablation.parse_corpus_args(p, argv)
    if a.dev_max_dur <= 0:
        p.error("--dev_max_dur must be > 0 (the rows are scored on the val clips up to it)")
    if a.train_only and a.eval_only:
        p.error("--train_only and --eval_only exclude each other")
    if a.quick and "--tier" not in (argv or sys.argv):
        a.tier = "tiny"
    work = a.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lang, text = ablation.corpus_text(a, db_root, work)
    base = ablation.bench_options(a, text)
    max_dur = float(ablation.option(base, "max_dur", ablation.recipe_options()["max_dur"]))
    sizes = feasible_sizes(db_root, a.sizes, max_dur)
    skipped = sorted(set(a.sizes) - set(sizes))
    if skipped:
        logger.warning("sizes %s: the corpus has too few clips of the target speaker within "
                       "%.0f s; left out", skipped, max_dur)
    shared = [] if a.eval_only else shared_pretraining(a.ablation)
    dirs = {n: size_dirs(a, work, db_root, n, lang, text) for n in sizes}
    if not a.eval_only:
        for n in sizes:
            recipe, rows_dir, reuse = dirs[n]
            if not reuse:
                train_size(a, recipe, rows_dir, n, size_options(base, n) + shared,
                           a.train_only or PARTS)
    if a.train_only:
        logger.info("trained %s of sizes %s; evaluate with the same command without "
                    "--train_only", " and ".join(a.train_only), sizes)
        return 0
    judge = a.judge.resolve() if a.judge else ablation.train_judge(work, db_root, a.judge_epochs,
                                                                   a.quick, lang)
    dev = ablation.make_dev(work, db_root, a.dev_max_dur)
    known = ablation_rows(a.ablation, judge, dev)
    points = [evaluate_size(a, work, *dirs[n][:2], n, judge, dev, known if dirs[n][2] else {})
              for n in sizes]
    topline = topline_of(known)
    head = (f"Corpus {db_root}; tier {a.tier}; judge {judge}; sizes left out (too few clips): "
            f"{skipped or 'none'}")
    md = markdown(points, topline, head)
    (work / "results.md").write_text(md, encoding="utf-8")
    (work / "results.json").write_text(json.dumps(
        {"points": points, "topline": topline, "sizes_left_out": skipped, "tier": a.tier,
         "judge": str(judge), "dev": str(dev), "db_root": str(db_root), "recipe_opts": base},
        indent=2) + "\n", encoding="utf-8")
    plot(points, topline, a.plot or work / "data_budget.png", f"{db_root.name}, tier {a.tier}")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
