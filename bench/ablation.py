"""Benchmark: does each LRSpeech step help on real Swahili? (paired-only baseline -> KD + sw synth)

Usage: python bench/ablation.py --db_root ../shared/data/sw --work_dir /tmp/ablation \
    --judge /tmp/judge_asr [--quick]

The LRSpeech setting of the Swahili recipe on a corpus folder in the metadata.tsv layout:
50 paired utterances of the target speaker, the rest of the train split as unpaired speech
(transcripts withheld), the Bible as unpaired text, the val split as dev. Rows, all in one run,
with the recipe's tiny configs, seeds and epochs:
1. baseline: ESPnet ASR and TTS trained on the 50 paired utterances only (no rich-resource
   data, no transfer; the TTS gets its durations from the baseline ASR as in the recipe);
2. finetune: + rich-resource pretraining (espeak-ng English) and fine-tuning (stages 4-5);
3. dt_round1..R: + each round of dual transformation (stage 6);
4. kd: + knowledge distillation (stage 7);
5. kd_sw_synth: the whole recipe again with espeak-ng Swahili multi-voice speech as
   low-quality paired data (`local/data.sh --sw_synth true`), starting from row 2's pretrained
   models (`--pretrained_asr/--pretrained_tts`); its time is that of stages 1-3 and 5-7.
Columns: dev ASR CER/WER of the row's ASR, IR and judge CER of the row's TTS reading the dev
sentences, DNSMOS OVRL of that speech, and the wall time of the row's training stage(s); then
each row against the row before it with 95% paired bootstrap intervals over the dev utterances
(lrspeech.eval.significance).
The judge is an ASR trained on real speech that never sees the dev utterances: give a packed
one with --judge, or let this script train one (`--judge_epochs`) on every train clip of the
corpus with the toolkit's trainer, on the second core while the rows train. Rows are scored on
every val clip up to --dev_max_dur seconds. The recipe runs stage by stage (times per stage)
in --work_dir/lrspeech and --work_dir/sw_synth, which are copies of egs/swahili/lr1; every
step is skipped when rerun (the recipe's stage markers). Results: work_dir/results.json and
work_dir/results.md. `--quick` runs a micro setting on tests/data (minutes, figures meaningless).
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.eval import significance  # noqa: E402

logger = logging.getLogger("bench.ablation")
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() \
    else sys.executable
LANG = REPO / "egs" / "swahili" / "lr1" / "conf" / "lang.yaml"
JUDGE_CONFIG = REPO / "conf" / "asr" / "conformer_tiny.yaml"  # widened to JUDGE_ENCODER
# The recipe's micro options (as in tests/recipe), for --quick.
QUICK_OPTS = [
    "--nj", "1", "--rich_num_utts", "40", "--rich_num_speakers", "2",
    "--pretrain_epochs", "1", "--finetune_epochs", "2", "--dt_rounds", "1",
    "--dt_text_per_round", "6", "--dt_epochs", "1", "--kd_tts_sentences", "6", "--kd_epochs", "1",
    "--train_args", "--num_iters_per_epoch 3",
]
QUICK_DATA_OPTS = "--n_paired 5 --max_text 200 --sw_synth_utts 8"


# ---------------------------------------------------------------- recipe copies


def make_recipe(dst: Path, db_root: Path, run_sh: Optional[Path] = None) -> Path:
    """A copy of egs/swahili/lr1 at `dst` whose path.sh points at this repo (and whose run.sh,
    with its demo budget, is `run_sh` when given: every row of one run has the same budget)."""
    src = REPO / "egs" / "swahili" / "lr1"
    if not (dst / "run.sh").exists():
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("run.sh", "cmd.sh", "conf", "local"):
            (shutil.copytree if (src / name).is_dir() else shutil.copy)(src / name, dst / name)
        if run_sh is not None:
            shutil.copy(run_sh, dst / "run.sh")
        (dst / "db").mkdir()
        os.symlink(src / "db" / "text", dst / "db" / "text")
        os.symlink(db_root.resolve(), dst / "db" / "corpus")
    # Always this checkout's code: stage markers hash content, not paths, so a work dir made
    # by another checkout resumes without retraining.
    path_sh = (REPO / "egs" / "TEMPLATE" / "lr1" / "path.sh").read_text(encoding="utf-8")
    lines = [f"lr_root={REPO}" if ln.startswith("lr_root=") else ln for ln in path_sh.splitlines()]
    (dst / "path.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def run_stage(recipe: Path, stage: int, opts: Sequence[str], times: Dict[str, float],
              key: str) -> None:
    """Run one recipe stage; its wall time is kept the first time it really runs."""
    cmd = [str(recipe / "run.sh"), "--db_root", "db/corpus", *opts,
           "--stage", str(stage), "--stop_stage", str(stage)]
    log = recipe / "exp" / "bench_logs" / f"{key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    logger.info("%s: %s", recipe.name, key)
    t0 = time.time()
    with open(log, "w", encoding="utf-8") as f:
        rc = subprocess.run(cmd, cwd=recipe, stdout=f, stderr=subprocess.STDOUT).returncode
    took = time.time() - t0
    if rc != 0:
        raise RuntimeError(f"{recipe}: stage {stage} failed (exit {rc}); see {log}")
    text = log.read_text(encoding="utf-8")
    skipped = "complete; skipped" in text and "training " not in text
    if key not in times or not skipped:
        times[key] = round(took, 1)


# ---------------------------------------------------------------- baseline and judge


def train(recipe: Path, task: str, out: str, epochs: int, train_dirs: List[str], valid: str,
          tokens: str, token_type: str, config: Path, extra: Sequence[str],
          espnet_args: Sequence[str]) -> None:
    """One model through the toolkit's trainer (as lr.sh's train() calls it)."""
    if (recipe / out / "model" / "meta.json").exists():
        return
    cmd = [PY, "-m", "lrspeech.bin.train_model", "--task", task, "--config", str(config),
           "--train", *train_dirs, "--valid", valid, "--lang_config", "conf/lang.yaml",
           "--token_list", tokens, "--token_type", token_type, "--out_dir", out,
           "--epochs", str(epochs), "--seed", "1", *extra, "--", "--ngpu", "0", *espnet_args]
    log = recipe / out / "train.log"
    if (recipe / out).exists():
        shutil.rmtree(recipe / out)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as f:
        rc = subprocess.run(cmd, cwd=recipe, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise RuntimeError(f"training {out} failed (exit {rc}); see {log}")


def recipe_options() -> Dict[str, str]:
    """The Swahili recipe's option values: lr.sh's defaults, then run.sh's demo budget."""
    out: Dict[str, str] = {}
    for line in (REPO / "egs" / "TEMPLATE" / "lr1" / "lr.sh").read_text().splitlines():
        name, eq, rest = line.partition("=")
        if eq and name.isidentifier() and not line.startswith(" "):
            out[name] = rest.split("#")[0].strip().strip('"')
    run_sh = (REPO / "egs" / "swahili" / "lr1" / "run.sh").read_text()
    budget = run_sh.partition("demo_budget=(")[2].partition(")")[0].split()
    for flag, value in zip(budget[::2], budget[1::2]):
        out[flag.lstrip("-")] = value
    return out


def option(opts: Sequence[str], name: str, default: str) -> str:
    """The value of `--name` in a recipe option list, else the default."""
    flag = f"--{name}"
    return opts[opts.index(flag) + 1] if flag in opts else default


def train_baseline(recipe: Path, opts: Sequence[str], times: Dict[str, float]) -> None:
    """Row 1: ASR and TTS on paired_hq only, from scratch, with the fine-tuning epochs."""
    d = recipe_options()
    epochs = int(option(opts, "finetune_epochs", d["finetune_epochs"]))
    espnet = option(opts, "train_args", "").split()
    tok = "dump/token"
    t0 = time.time()
    train(recipe, "asr", "exp/baseline/asr", epochs, ["dump/raw/paired_hq"], "dump/raw/dev",
          f"{tok}/target_asr_tokens.txt", "char", REPO / "conf" / "asr" / "transformer_tiny.yaml",
          [], espnet)
    speaker = (recipe / tok / "target_speaker").read_text().strip()
    ttype = (recipe / "exp" / "finetune" / "tts" / "model" / "meta.json")
    token_type = json.loads(ttype.read_text())["token_type"]
    config = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
    durations = align_durations(recipe, "exp/baseline/asr/model", ["dump/raw/paired_hq"],
                                "dump/raw/dev", f"{tok}/target_tts_tokens.txt", token_type,
                                config, "exp/baseline/tts", "auto")
    train(recipe, "tts", "exp/baseline/tts", epochs, ["dump/raw/paired_hq"], "dump/raw/dev",
          f"{tok}/target_tts_tokens.txt", token_type, config,
          ["--spk2sid", f"{tok}/spk2sid", "--target_speaker", speaker,
           "--durations", durations], espnet)
    times.setdefault("baseline", round(time.time() - t0, 1))


def align_durations(recipe: Path, asr: str, train_dirs: List[str], valid: str, tokens: str,
                    token_type: str, config: Path, tts_out: str, min_score: str) -> str:
    """The recipe's ctc_align step before a FastSpeech2 training (as lr.sh runs it), into
    `<tts_out>_durations`; redone unless that TTS is trained already. Returns the dir."""
    from lrspeech.pipeline.align_step import AlignStep, run_align_step
    from lrspeech.pipeline.durations import TtsFrames

    out = f"{tts_out}_durations"
    if not (recipe / tts_out / "model" / "meta.json").exists():
        run_align_step(AlignStep(
            asr_model=recipe / asr, train_dirs=[recipe / d for d in train_dirs],
            out_dir=recipe / out, frames=TtsFrames.from_tts_config(config),
            valid_dir=recipe / valid, lang_config=recipe / "conf" / "lang.yaml",
            token_type=token_type, token_list=recipe / tokens, min_score=min_score))
    return out


def train_judge(work: Path, db_root: Path, epochs: int, quick: bool, lang: Path = LANG) -> Path:
    """An ASR on every train clip of the corpus (real transcripts; never the dev split), with
    the text frontend of `lang`."""
    import yaml
    from tts_align import JUDGE_ENCODER

    from lrspeech.data.corpus import datadir_from_metadata

    judge = work / "judge"
    model = judge / "exp" / "model"
    if (model / "meta.json").exists():
        return model
    judge.mkdir(parents=True, exist_ok=True)
    conf = yaml.safe_load(JUDGE_CONFIG.read_text(encoding="utf-8"))
    if not quick:  # the 4.3M-parameter judge of the TTS-alignment benchmark
        conf["encoder_conf"].update(JUDGE_ENCODER)
    config = judge / "judge.yaml"
    config.write_text(yaml.safe_dump(conf), encoding="utf-8")
    datadir_from_metadata(db_root / "metadata.tsv", split="train").save(judge / "data" / "all")

    def lr(*args: str) -> None:
        subprocess.run([PY, "-m", *args], cwd=judge, check=True)

    lr("lrspeech.bin.format_audio", "--in", "data/all", "--out", "dump/all", "--fs", "16000",
       "--trim_db", "40", "--min_dur", "1", "--max_dur", "30", "--nj", "2")
    share = "0.2" if quick else "0.05"  # a few utterances for validation losses
    lr("lrspeech.bin.split_data_dir", "dump/all", "--dev-share", share, "--seed", "1",
       "--train", "dump/train", "--dev", "dump/valid")
    lr("lrspeech.bin.tokenize_text", "--lang_config", str(lang), "--in", "dump/all/text",
       "--out", "dump/tokens.txt", "--token_type", "char", "--punctuation", "strip")
    lr("lrspeech.bin.make_token_list", "--out", "dump/token_list.txt", "dump/tokens.txt")
    espnet = ["--num_iters_per_epoch", "3"] if quick else []
    cmd = [PY, "-m", "lrspeech.bin.train_model", "--task", "asr", "--config", str(config),
           "--train", "dump/train", "--valid", "dump/valid", "--lang_config", str(lang),
           "--token_list", "dump/token_list.txt", "--token_type", "char", "--out_dir", "exp",
           "--epochs", str(epochs), "--seed", "1", "--", "--ngpu", "0", *espnet]
    with open(judge / "train.log", "w", encoding="utf-8") as f:
        rc = subprocess.run(cmd, cwd=judge, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise RuntimeError(f"judge training failed; see {judge / 'train.log'}")
    return model


def make_dev(work: Path, db_root: Path, max_dur: float) -> Path:
    """The corpus's val split formatted as stage 2 formats dev, clips up to `max_dur` s.

    The recipe's dev keeps clips within its --max_dur (training validates on it); the rows are
    scored on every val clip, so that long sentences count and the figures rest on more speech.
    """
    from lrspeech.data.corpus import datadir_from_metadata

    dev = work / "dev"
    if (dev / "wav.scp").exists():
        return dev
    datadir_from_metadata(db_root / "metadata.tsv", split="val").save(work / "dev_data")
    subprocess.run([PY, "-m", "lrspeech.bin.format_audio", "--in", str(work / "dev_data"),
                    "--out", str(dev), "--fs", "16000", "--trim_db", "40", "--min_dur", "1",
                    "--max_dur", str(max_dur), "--nj", "2"], check=True, stdout=subprocess.DEVNULL)
    return dev


# ---------------------------------------------------------------- evaluation


def evaluate(recipe: Path, label: str, stage_dir: str, judge: Path, work: Path, dev: Path,
             mos: str) -> Dict[str, object]:
    """One row's figures on `dev` through lrspeech.bin.eval_stage."""
    out = work / "eval" / label
    js = work / "eval" / f"{label}.json"
    stamp = work / "eval" / f"{label}.models"
    models = " ".join([str((recipe / stage_dir / t / "model" / "model.pth").stat().st_mtime)
                       for t in ("asr", "tts")] + [str(dev)])
    if not (js.exists() and stamp.exists() and stamp.read_text() == models):
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [PY, "-m", "lrspeech.bin.eval_stage", "--stage_dir", str(recipe / stage_dir),
               "--data_dir", str(dev),
               "--judge", str(judge), "--lang_config", str(LANG), "--out_dir", str(out),
               "--collect", str(js), "--label", label, "--mos", mos]
        with open(f"{out}.log", "w", encoding="utf-8") as f:
            rc = subprocess.run(cmd, cwd=recipe, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise RuntimeError(f"evaluating {label} failed; see {out}.log")
        stamp.write_text(models)
    r = json.loads(js.read_text(encoding="utf-8"))
    ovrl = (r.get("mos") or {}).get("dnsmos_ovrl") or {}
    return {"asr_cer": r["asr_cer"], "asr_wer": r["asr_wer"], "ir": r["ir"],
            "judge_cer": r["judge_cer"], "dnsmos_ovrl": ovrl.get("mean")}


def real_speech_ir(work: Path, judge: Path, dev: Path) -> Dict[str, float]:
    """The judge on the real dev recordings: the ceiling of IR with this judge."""
    out = work / "eval" / "real"
    if not (out / "ir.json").exists():
        subprocess.run([PY, "-m", "lrspeech.bin.eval_ir", "--judge", str(judge), "--text",
                        str(dev), "--wav_dir", str(dev), "--out_dir", str(out),
                        "--lang_config", str(LANG)], cwd=work / "lrspeech", check=True,
                       stdout=subprocess.DEVNULL)
    r = json.loads((out / "ir.json").read_text(encoding="utf-8"))
    return {"ir": r["ir"], "judge_cer": r["judge_cer"]}


# ---------------------------------------------------------------- the run


def run_sw_synth(sw: Path, main_recipe: Path, opts: Sequence[str], data_opts: str, rounds: int,
                 times: Dict[str, float], save_times) -> None:
    """Stages 1-3 and 5-7 of the recipe with `--sw_synth true`, from row 2's pretrained models."""
    sw_opts = [*opts, "--dt_eval", "false", "--dt_rounds", str(rounds),
               "--local_data_opts", f"{data_opts} --sw_synth true".strip()]
    pre = main_recipe / "exp" / "pretrain"
    sw_opts += ["--pretrained_asr", str(pre / "asr" / "model"),
                "--pretrained_tts", str(pre / "tts" / "model")]
    for stage in (1, 2, 3, 5, 6, 7):
        run_stage(sw, stage, sw_opts, times, f"sw_synth.stage{stage}")
        save_times()


def train_rows(main_recipe: Path, sw: Path, opts: Sequence[str], data_opts: str, rounds: int,
               times: Dict[str, float], save_times, no_sw_synth: bool) -> None:
    """Stages 1-7 stage by stage (each DT round on its own), the baseline, then row 5."""
    base_opts = [*opts, "--dt_eval", "false", "--local_data_opts", data_opts]
    for stage in range(1, 8):
        if stage == 6:
            for r in range(1, rounds + 1):
                run_stage(main_recipe, 6, [*base_opts, "--dt_rounds", str(r)], times,
                          f"stage6.round{r}")
                save_times()
            continue
        run_stage(main_recipe, stage, [*base_opts, "--dt_rounds", str(rounds)], times,
                  f"stage{stage}")
        save_times()
    train_baseline(main_recipe, opts, times)
    save_times()

    # Row 5: the recipe again with espeak-ng Swahili paired data, from the same pretrained models.
    if not no_sw_synth:
        run_sw_synth(sw, main_recipe, opts, data_opts, rounds, times, save_times)


def row_times(times: Dict[str, float], rounds: int) -> Dict[str, float]:
    """Wall time of each row's own training stages (s)."""
    t = {"baseline": times.get("baseline", 0.0),
         "finetune": times.get("stage4", 0.0) + times.get("stage5", 0.0)}
    for r in range(1, rounds + 1):
        t[f"dt_round{r}"] = times.get(f"stage6.round{r}", 0.0)
    t["kd"] = times.get("stage7", 0.0)
    t["kd_sw_synth"] = sum(times.get(f"sw_synth.stage{s}", 0.0) for s in range(1, 8))
    return t


def check_targets(rows: List[Dict[str, object]]) -> List[str]:
    """The issue's targets, each as a line that says whether it holds."""
    lines = []
    for prev, cur in zip(rows, rows[1:]):
        cer_ok = cur["asr_cer"] < prev["asr_cer"]
        ir_ok = cur["ir"] > prev["ir"]
        lines.append(f"{cur['row']} vs {prev['row']}: ASR CER {'lower' if cer_ok else 'NOT lower'}"
                     f", IR {'higher' if ir_ok else 'NOT higher'}")
    base, last = rows[0], rows[-1]
    ratio = last["asr_cer"] / base["asr_cer"] if base["asr_cer"] else float("nan")
    err = (1 - last["ir"]) / (1 - base["ir"]) if base["ir"] < 1 else float("nan")
    lines.append(f"final/baseline ASR CER {ratio:.2f} (target <= 0.6: "
                 f"{'met' if ratio <= 0.6 else 'NOT met'})")
    lines.append(f"final/baseline IR error {err:.2f} (target <= 0.5: "
                 f"{'met' if err <= 0.5 else 'NOT met'})")
    return lines


STEP_METRICS = (  # column name, file under eval/<row>/, lrspeech.eval.significance metric
    ("ASR CER", "asr_score/score.json", "char"),
    ("TTS IR", "ir/ir_utts.tsv", "ir"),
    ("judge CER", "ir/ir_utts.tsv", "judge_char"),
)
Step = Dict[str, Optional[significance.Difference]]  # column name -> difference (None: no data)


def step_intervals(work: Path, labels: Sequence[str]) -> List[Tuple[str, Step]]:
    """Each row against the row before it: differences with 95% paired bootstrap intervals.

    The dev utterances are resampled (the same sample for both rows); an interval that holds 0
    means the step's effect is within what the choice of dev sentences alone explains. It says
    nothing about the spread between training seeds. A row not evaluated gives None.
    """
    counts = {}  # (row, column) -> per-utterance counts, each file read once
    for label in labels:
        for name, rel, metric in STEP_METRICS:
            path = work / "eval" / label / rel
            counts[label, name] = significance.load_counts(path, metric) if path.is_file() else None
    steps = []
    for prev, cur in zip(labels, labels[1:]):
        step: Step = {}
        for name, _, _ in STEP_METRICS:
            a, b = counts[prev, name], counts[cur, name]
            step[name] = None if a is None or b is None else significance.paired_bootstrap(a, b)
        steps.append((f"{cur} vs {prev}", step))
    return steps


def intervals_markdown(steps: Sequence[Tuple[str, Step]]) -> List[str]:
    names = [m[0] for m in STEP_METRICS]
    out = ["Each step against the row before it (points; 95% paired bootstrap interval over the "
           "dev utterances; * = the interval excludes 0):", "",
           "| step | " + " | ".join(f"{n} change" for n in names) + " |",
           "|---|" + "---|" * len(names)]
    for label, step in steps:
        cells = ["n/a" if d is None else d.describe() + ("*" if d.excludes_zero else "")
                 for d in (step[n] for n in names)]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def markdown(rows: List[Dict[str, object]], real: Dict[str, float], shared: float,
             checks: List[str], steps: Sequence[Dict[str, object]] = ()) -> str:
    out = ["| row | ASR CER % | ASR WER % | TTS IR % | judge CER % | DNSMOS OVRL "
           "| stage time (min) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        dns = "n/a" if r["dnsmos_ovrl"] is None else f"{r['dnsmos_ovrl']:.2f}"
        out.append(f"| {r['row']} | {pct(r['asr_cer'])} | {pct(r['asr_wer'])} | {pct(r['ir'])} | "
                   f"{pct(r['judge_cer'])} | {dns} | {r['minutes']:.1f} |")
    out.append(f"| real dev recordings (judge ceiling) | - | - | {pct(real['ir'])} | "
               f"{pct(real['judge_cer'])} | - | - |")
    out += ["", f"Shared data stages 1-3 (once): {shared / 60:.1f} min.", ""]
    out += [f"- {c}" for c in checks]
    if steps:
        out += ["", *intervals_markdown(steps)]
    return "\n".join(out) + "\n"


def corpus_parser(doc: str) -> argparse.ArgumentParser:
    """The options every judged corpus benchmark takes: corpus, work dir, judge."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, help="corpus folder with metadata.tsv (default with "
                   "--quick: tests/data/sw)")
    p.add_argument("--work_dir", type=Path, required=True)
    p.add_argument("--judge", type=Path, default=None, help="packed judge ASR (else trained)")
    p.add_argument("--judge_epochs", type=int, default=20, help="epochs of the judge training")
    return p


def parse_corpus_args(p: argparse.ArgumentParser, argv: Optional[List[str]]
                      ) -> Tuple[argparse.Namespace, Path]:
    """Parse; set up logging and one thread per process; the corpus (tests/data/sw with
    --quick), refused unless it has a metadata.tsv."""
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    db_root = a.db_root or (REPO / "tests" / "data" / "sw" if a.quick else None)
    if db_root is None or not (db_root / "metadata.tsv").is_file():
        p.error("--db_root must be a corpus folder with a metadata.tsv")
    return a, db_root


def main(argv: Optional[List[str]] = None) -> int:
    p = corpus_parser(__doc__)
    p.add_argument("--dev_max_dur", type=float, default=60.0,
                   help="score the rows on the val clips up to this long (s); 0: the recipe's dev")
    p.add_argument("--recipe_opts", default="", help="extra recipe options for every stage")
    p.add_argument("--mos", choices=("all", "reference", "none"), default="all")
    p.add_argument("--quick", action="store_true", help="micro setting on tests/data")
    p.add_argument("--eval_only", action="store_true",
                   help="only evaluate the rows whose models exist (training runs elsewhere)")
    p.add_argument("--no_sw_synth", action="store_true",
                   help="leave out row 5 (the recipe again with espeak-ng Swahili paired data)")
    a, db_root = parse_corpus_args(p, argv)
    work = a.work_dir.resolve()
    opts = (QUICK_OPTS if a.quick else []) + a.recipe_opts.split()
    data_opts = QUICK_DATA_OPTS if a.quick else ""
    rounds = int(option(opts, "dt_rounds", recipe_options()["dt_rounds"]))
    times_file = work / "times.json"
    work.mkdir(parents=True, exist_ok=True)
    times: Dict[str, float] = json.loads(times_file.read_text()) if times_file.exists() else {}

    def save_times() -> None:
        times_file.write_text(json.dumps(times, indent=2) + "\n")

    main_recipe = make_recipe(work / "lrspeech", db_root)
    sw = make_recipe(work / "sw_synth", db_root, run_sh=main_recipe / "run.sh")
    # The judge trains on the second core while the rows train (one process each; the rows'
    # stage times are therefore measured with both cores busy).
    with ThreadPoolExecutor(max_workers=1) as pool:
        judge_job = None if a.judge else pool.submit(train_judge, work, db_root,
                                                     a.judge_epochs, a.quick)
        if not a.eval_only:
            train_rows(main_recipe, sw, opts, data_opts, rounds, times, save_times, a.no_sw_synth)
        judge = a.judge.resolve() if judge_job is None else judge_job.result()
    labels = [("baseline", main_recipe, "exp/baseline"), ("finetune", main_recipe, "exp/finetune")]
    labels += [(f"dt_round{r}", main_recipe, f"exp/dt/round{r}") for r in range(1, rounds + 1)]
    labels += [("kd", main_recipe, "exp/kd")]
    if not a.no_sw_synth:
        labels.append(("kd_sw_synth", sw, "exp/kd"))
    minutes = row_times(times, rounds)
    dev = (make_dev(work, db_root, a.dev_max_dur) if a.dev_max_dur > 0
           else main_recipe / "dump" / "raw" / "dev")
    rows = []
    for label, recipe, stage_dir in labels:
        r = evaluate(recipe, label, stage_dir, judge, work, dev, a.mos)
        rows.append({"row": label, **r, "minutes": minutes[label] / 60})
        logger.info("%s: %s", label, rows[-1])
    real = real_speech_ir(work, judge, dev)
    shared = sum(times.get(f"stage{s}", 0.0) for s in (1, 2, 3))
    checks = check_targets(rows)
    steps = step_intervals(work, [r["row"] for r in rows])
    md = markdown(rows, real, shared, checks, steps)
    (work / "results.md").write_text(md, encoding="utf-8")
    (work / "results.json").write_text(json.dumps(
        {"rows": rows, "real": real, "times_s": times, "judge": str(judge), "dev": str(dev),
         "db_root": str(db_root), "recipe_opts": opts, "checks": checks,
         "steps": {label: {n: None if d is None else asdict(d) for n, d in step.items()}
                   for label, step in steps}},
        indent=2) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
