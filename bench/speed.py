"""Benchmark: what the toolkit costs in time (issue #7, Speed), side by side in one run.

Usage: python bench/speed.py --work_dir /tmp/bench_speed --quick

Four sub-benchmarks (`--only train,nj,rtf,stages`; default all):

1. train: the same ASR training (conf/asr/transformer_tiny.yaml, same data, epochs and seed)
   (a) through the toolkit: the recipe's own train() (egs/TEMPLATE/lr1/steps.sh, sourced:
   its step marker, utils/run.pl, then
   `python -m lrspeech.bin.train_model`: data dir combining, text normalization, collect_stats,
   training, packing), and (b) as a plain ESPnet user runs it on the same prepared lists
   (`python -m espnet2.bin.asr_train --collect_stats true`, the vocabulary column that asr.sh
   adds to the text shapes, `python -m espnet2.bin.asr_train`). The runs alternate, with the
   first position alternating too (a b b a ...), so that load drift and warm caches hit both
   alike. Reported: process wall time (Python start-up included), the training loop alone
   (ESPnet's log, from "1/N epoch started" to "The training was finished"), the median ratio
   toolkit/direct and the overhead against the 5% target. The last epoch's training loss
   must be the same in both: the same computation ran.
2. nj: ASR decoding (lrspeech.bin.asr_inference) and TTS synthesis (lrspeech.bin.tts_inference)
   of the same data through `utils/run.pl JOB=1:nj` exactly as lr.sh's decode() and
   synthesize() run them, with nj=1 and nj=2 alternating; wall times and speed-up. The
   hypotheses of both must be identical and the synthesized audio as long.
3. rtf: synthesis real-time factor (compute seconds per second of speech) of an autoregressive
   Transformer-TTS (`--ar_tts`) and a FastSpeech/FastSpeech2 (`--fs_tts`) packed model on the
   same sentences, acoustic model alone and with Griffin-Lim. The AR model generates as many
   frames as the non-AR one did for each sentence (its stop token ignored), so both produce
   the same amount of speech.
4. stages: the per-stage and per-training-step wall-time table of a recipe log (the output of
   `egs/<lang>/lr1/run.sh`), given by `--recipe_log`.

Inputs: `--demo_dir` (a recipe dir of a finished demo run: dump/raw/{paired_hq,dev,
unpaired_speech,unpaired_text}, exp/finetune/{asr,tts}/model), or the real clips of
tests/data/sw; models missing from the arguments are trained here through the toolkit (tiny,
few epochs). `--quick` takes tests/data and tiny settings (6-11 minutes on a busy 2-core VM;
its figures mean little). Every step keeps its result in --work_dir and is skipped when rerun
with the same settings; the results go to work_dir/results.json and work_dir/results.md.
Wall times depend on what else the machine runs; CPU times (user + system of every process a
run started) hardly do, so both are reported.
"""

import argparse
import csv
import dataclasses
import json
import logging
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.speed")
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
AR_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
FS_CONFIG = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
LANG = REPO / "conf" / "lang" / "sw.yaml"
TEST_SW = REPO / "tests" / "data" / "sw"
RUN_PL = REPO / "utils" / "run.pl"
STEPS_SH = REPO / "egs" / "TEMPLATE" / "lr1" / "steps.sh"  # lr.sh's train(), decode(), ...
SUBS = ("train", "nj", "rtf", "stages")
TARGET_OVERHEAD = 0.05


# ---------------------------------------------------------------- small helpers


def cached(path: Path, key: Dict[str, Any], fn: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """fn()'s result, kept in `path`; reused while the settings `key` are the same."""
    key = json.loads(json.dumps(key))  # as it reads back (tuples become lists)
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("key") == key:
            return old["result"]
    result = fn()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "result": result}, indent=1) + "\n")
    return result


def run_script(script: Path, lines: Sequence[str], log: Path) -> Dict[str, float]:
    """Write a bash script and run it (output to `log`): its wall time and the CPU time
    (user + system) of every process it ran. CPU time hardly depends on what else the machine
    runs; wall time does."""
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("set -euo pipefail\n" + "\n".join(lines) + "\n", encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w", encoding="utf-8") as out:
        start = time.perf_counter()
        code = subprocess.run(["bash", str(script)], stdout=out, stderr=subprocess.STDOUT,
                              cwd=script.parent).returncode
        took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-20:])
        raise SystemExit(f"{script} failed (exit {code}); see {log}. Last lines:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(took, 2), "cpu_s": round(cpu, 2)}


def cmd(*args: Any) -> str:
    return " ".join(shlex.quote(str(a)) for a in args)


def load() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------- data


def resolve_audio(value: str, roots: Sequence[Path]) -> str:
    """An existing audio path for a wav.scp value: as is, or found under one of `roots`.

    A moved recipe dir keeps absolute paths into its old place (/old/egs/x/lr1/dump/raw/...);
    the longest tail of the path that exists under a root is taken. Pipes pass unchanged.
    """
    path = Path(value)
    if value.rstrip().endswith("|") or path.exists():
        return value
    parts = path.parts[1:] if path.is_absolute() else path.parts
    for i in range(len(parts)):
        for root in roots:
            candidate = Path(root, *parts[i:])
            if candidate.exists():
                return str(candidate.resolve())
    raise SystemExit(f"{value}: audio not found, nor any tail of its path under "
                     f"{', '.join(map(str, roots))}; give the recipe dir with --demo_dir")


def import_data_dir(src: Path, out: Path, roots: Sequence[Path],
                    limit: Optional[int] = None) -> Path:
    """A copy of `src` (its first `limit` utterances) with every audio path resolved."""
    from lrspeech.data.datadir import DataDir

    out = out.with_name(f"{out.name}_first{limit}") if limit else out
    if (out / ("wav.scp" if (src / "wav.scp").is_file() else "text")).is_file():
        return out
    dd = DataDir.load(src)
    if limit:
        keep = set(sorted(dd.utt_ids)[:limit])
        dd = dataclasses.replace(
            dd, **{f: {u: v for u, v in getattr(dd, f).items() if u in keep}
                   for f in ("wav_scp", "text", "utt2spk", "utt2dur", "utt2lang")})
    dd = dataclasses.replace(dd, wav_scp={u: resolve_audio(v, roots)
                                          for u, v in dd.wav_scp.items()})
    dd.save(out)
    return out


def rows_data_dir(rows: Sequence[Dict[str, str]], out: Path, with_audio: bool = True) -> Path:
    from lrspeech.data.datadir import DataDir

    if not (out / "text").is_file():
        DataDir(wav_scp={r["id"]: r["audio"] for r in rows} if with_audio else {},
                text={r["id"]: r["text"] for r in rows},
                utt2spk={r["id"]: r["speaker"] for r in rows} if with_audio else {}).save(out)
    return out


def shipped_rows() -> List[Dict[str, str]]:
    """tests/data/sw: 10 train and 2 val clips of one real Swahili speaker."""
    with open(TEST_SW / "metadata.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        r["audio"] = str((TEST_SW / r["audio"]).resolve())
    return sorted(rows, key=lambda r: r["id"])


@dataclasses.dataclass
class Inputs:
    """Data dirs and packed models every sub-benchmark reads (None: trained here)."""

    train: Path
    valid: Path
    decode: Path
    synth_text: Path
    asr_model: Optional[Path]
    tts_model: Optional[Path]
    ar_tts: Optional[Path]
    fs_tts: Optional[Path]


def gather_inputs(a: argparse.Namespace, work: Path) -> Inputs:
    data = work / "data"
    if a.demo_dir:
        raw, roots = a.demo_dir / "dump" / "raw", [a.demo_dir.resolve()]
        model = {k: a.demo_dir / "exp" / "finetune" / k / "model" for k in ("asr", "tts")}
        return Inputs(
            train=import_data_dir(a.train_data or raw / "paired_hq", data / "train", roots),
            valid=import_data_dir(a.valid_data or raw / "dev", data / "valid", roots),
            decode=import_data_dir(a.decode_data or raw / "unpaired_speech", data / "decode",
                                   roots, a.decode_utts),
            synth_text=import_data_dir(a.synth_text or raw / "unpaired_text",
                                       data / "synth_text", roots, a.synth_sentences),
            asr_model=a.asr_model or model["asr"], tts_model=a.tts_model or model["tts"],
            ar_tts=a.ar_tts, fs_tts=a.fs_tts or model["tts"])
    rows = shipped_rows()
    train = [r for r in rows if r["split"] == "train"]
    valid = [r for r in rows if r["split"] != "train"]
    roots = [Path.cwd()]
    imported = {k: import_data_dir(getattr(a, f"{k}_data"), data / k, roots,
                                   a.decode_utts if k == "decode" else None)
                for k in ("train", "valid", "decode") if getattr(a, f"{k}_data")}
    return Inputs(
        train=imported.get("train") or rows_data_dir(train, data / "train"),
        valid=imported.get("valid") or rows_data_dir(valid, data / "valid"),
        decode=imported.get("decode") or rows_data_dir(rows, data / "decode"),
        synth_text=(import_data_dir(a.synth_text, data / "synth_text", roots, a.synth_sentences)
                    if a.synth_text else rows_data_dir(rows[: a.synth_sentences],
                                                       data / "synth_text", False)),
        asr_model=a.asr_model, tts_model=a.tts_model, ar_tts=a.ar_tts, fs_tts=a.fs_tts)


def token_lists(inputs: Inputs, lang: Path, out: Path) -> Dict[str, Path]:
    """ASR (char, punctuation stripped) and TTS (char) token lists, as the recipe's stage 3."""
    from lrspeech.models import train_lists
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.textfile import tokenize_text_file
    from lrspeech.text.tokenizer import Tokenizer

    lists = {"asr": out / "asr_tokens.txt", "tts": out / "tts_tokens.txt"}
    if all(p.is_file() for p in lists.values()):
        return lists
    out.mkdir(parents=True, exist_ok=True)
    text = out / "text"
    text.write_text("".join((d / "text").read_text(encoding="utf-8")
                            for d in (inputs.train, inputs.valid)), encoding="utf-8")
    cfg = LangConfig.load(lang)
    for side, punct in (("asr", "strip"), ("tts", None)):
        tok = out / f"text.{side}"
        tokenize_text_file(Tokenizer(cfg, "char", None, punct), text, tok, progress=False)
        train_lists.write_token_list(tok, lists[side], "word")
    return lists


# ---------------------------------------------------------------- models trained here


def train_model_cmd(task: str, config: Path, train: Path, valid: Path, lang: Path,
                    tokens: Path, out: Path, epochs: int, seed: int,
                    extra: Sequence[str] = ()) -> str:
    """Bash lines that call the recipe's own train() (egs/TEMPLATE/lr1/steps.sh, sourced, with
    lr.sh's settings for one process on CPU): its step marker, utils/run.pl, then
    lrspeech.bin.train_model. The marker dir is fresh and --force is on, so every call trains."""
    from lrspeech.models.espnet_train import INFERENCE_MODEL

    settings = {"py": sys.executable, "lr_root": REPO, "force": "true", "dry_run": "false",
                "done_dir": out.parent / f".steps_{out.name}", "train_cmd": RUN_PL, "ngpu": 0,
                "num_nodes": 1, "train_nproc": 1, "seed": seed, "train_args": "",
                "speech_encoder": "none", "asr_config": config, "tts_config": config,
                "asr_token_type": "char", "tts_token_type": "char",
                "asr_inference_model": INFERENCE_MODEL["asr"],
                "tts_inference_model": INFERENCE_MODEL["tts"]}
    return "\n".join([*(f"{k}={shlex.quote(str(v))}" for k, v in settings.items()),
                      cmd(".", REPO / "utils" / "log.sh"), cmd(".", STEPS_SH),
                      cmd("train", task, out, epochs, train, valid, lang, tokens, "", *extra)])


def own_model(name: str, line: str, out: Path) -> Path:
    if not (out / "model" / "meta.json").is_file():
        logger.info("training %s here (a tiny model, for the benchmark only)", name)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        run_script(out.parent / f"{name}.sh", [line], out.parent / f"{name}.log")
    return out / "model"


def main_speaker(data_dir: Path) -> str:
    """The speaker with the most utterances (the recipe's target speaker)."""
    from collections import Counter

    spk = Counter(line.split()[1] for line in
                  (data_dir / "utt2spk").read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(spk.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def align_durations(inputs: Inputs, lang: Path, tokens: Path, out: Path) -> Path:
    """The recipe's ctc_align step before the FastSpeech2 training (every clip kept)."""
    from lrspeech.pipeline.align_step import AlignStep, run_align_step
    from lrspeech.pipeline.durations import TtsFrames

    run_align_step(AlignStep(asr_model=inputs.asr_model, train_dirs=[inputs.train], out_dir=out,
                             frames=TtsFrames.from_tts_config(FS_CONFIG),
                             valid_dir=inputs.valid, lang_config=lang, token_type="char",
                             token_list=tokens, min_score=None))
    return out


def fill_models(inputs: Inputs, a: argparse.Namespace, work: Path, needed: Sequence[str]) -> None:
    """Train the packed models the sub-benchmarks need and the arguments did not give."""
    models = work / "models"
    need_fs = ("rtf" in needed and inputs.fs_tts is None) or (
        "nj" in needed and inputs.tts_model is None)
    need_asr = inputs.asr_model is None and ("nj" in needed or need_fs)
    need_ar = "rtf" in needed and inputs.ar_tts is None
    if not (need_asr or need_fs or need_ar):
        return
    tokens = token_lists(inputs, a.lang_config, work / "tokens")
    common = (inputs.train, inputs.valid, a.lang_config)
    speaker = ["--target_speaker", main_speaker(inputs.train)]
    if need_asr:
        inputs.asr_model = own_model("asr", train_model_cmd(
            "asr", a.asr_config, *common, tokens["asr"], models / "asr", a.model_epochs,
            a.seed), models / "asr")
    if need_fs:
        durations = models / "tts_fs_durations"
        if not (models / "tts_fs" / "model" / "meta.json").is_file():
            align_durations(inputs, a.lang_config, tokens["tts"], durations)
        fs = own_model("tts_fs", train_model_cmd(
            "tts", FS_CONFIG, *common, tokens["tts"], models / "tts_fs", a.model_epochs, a.seed,
            ["--durations", durations, *speaker]), models / "tts_fs")
        inputs.fs_tts = inputs.fs_tts or fs
        inputs.tts_model = inputs.tts_model or fs
    if need_ar:
        inputs.ar_tts = own_model("tts_ar", train_model_cmd(
            "tts", AR_CONFIG, *common, tokens["tts"], models / "tts_ar", a.model_epochs,
            a.seed, speaker), models / "tts_ar")


# ---------------------------------------------------------------- 1. training overhead

# lrspeech's format, and espnet2.bin's own: `[host] 2026-01-02 10:00:00,123 (trainer:336) INFO: ...`
LOG_TIME = re.compile(r"^(?:\[[^\]]*\] )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def espnet_loop(log_text: str) -> Dict[str, Any]:
    """ESPnet's training loop in a log: seconds from the first epoch's start to the end,
    epochs run, and the last epoch's training loss."""
    start = end = None
    loss = None
    epochs = 0
    for line in log_text.splitlines():
        m = LOG_TIME.match(line)
        if not m:
            continue
        stamp = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        if start is None and re.search(r"\b1/\d+epoch started", line):
            start = stamp
        if "The training was finished at" in line:
            end = stamp
        found = re.search(r"(\d+)epoch results: \[train\].*?\bloss=([-\d.e+]+)", line)
        if found:
            epochs, loss = int(found.group(1)), float(found.group(2))
    if start is None or end is None:
        raise ValueError("no ESPnet training loop in this log (no '1/N epoch started' or no "
                         "'The training was finished')")
    return {"loop_s": (end - start).total_seconds(), "epochs": epochs, "last_train_loss": loss}


@dataclasses.dataclass
class TrainSetup:
    train: Path  # data dirs the toolkit reads
    valid: Path
    lists: Dict[str, Path]  # ESPnet lists (wav.scp + normalized text) for the direct run
    tokens: Path
    lang: Path
    config: Path
    epochs: int
    seed: int


def prepare_train(inputs: Inputs, a: argparse.Namespace, work: Path) -> TrainSetup:
    """What a plain ESPnet user has after data prep: the toolkit's lists, made once, untimed."""
    from lrspeech.data.datadir import DataDir
    from lrspeech.models import train_lists
    from lrspeech.pipeline.train_data import asr_targets
    from lrspeech.text.lang import LangConfig

    tokens = token_lists(inputs, a.lang_config, work / "tokens")["asr"]
    cfg = LangConfig.load(a.lang_config)
    lists = {}
    for split, d in (("train", inputs.train), ("valid", inputs.valid)):
        lists[split] = train_lists.write_lists(work / "train" / "lists" / split,
                                               DataDir.load(d).wav_scp, asr_targets([d], cfg))
    return TrainSetup(inputs.train, inputs.valid, lists, tokens, a.lang_config, a.asr_config,
                      a.epochs, a.seed)


def toolkit_lines(s: TrainSetup, out: Path) -> List[str]:
    return [train_model_cmd("asr", s.config, s.train, s.valid, s.lang, s.tokens, out, s.epochs,
                            s.seed)]


def direct_lines(s: TrainSetup, out: Path) -> List[str]:
    """Plain ESPnet on the same lists: collect_stats, vocabulary column, training."""
    from lrspeech.models import espnet_train

    stats, exp = out / "stats", out / "exp"
    data = espnet_train.data_args("asr", s.lists["train"], s.lists["valid"], s.tokens, "char")
    collect = ["--collect_stats", "true", "--config", s.config, *data,
               "--train_shape_file", s.lists["train"] / "wav.scp",
               "--valid_shape_file", s.lists["valid"] / "wav.scp",
               "--output_dir", stats, "--normalize", "none"]
    train = ["--config", s.config, "--output_dir", exp, "--resume", "true", *data]
    for shape in ("speech_shape", "text_shape.char"):  # speech first: the batch sort key
        train += ["--train_shape_file", stats / "train" / shape,
                  "--valid_shape_file", stats / "valid" / shape]
    train += ["--fold_length", espnet_train.FOLD["asr"]["speech"],
              "--fold_length", espnet_train.FOLD["asr"]["text"],
              "--normalize_conf", f"stats_file={stats}/train/feats_stats.npz",
              "--max_epoch", s.epochs, "--seed", s.seed, "--num_att_plot", 0, "--ngpu", 0]
    vocab = ("for s in train valid; do awk -v N=$(wc -l < " + shlex.quote(str(s.tokens))
             + ") '{print $0 \",\" N}' " + f"{stats}/$s/text_shape > {stats}/$s/text_shape.char;"
             " done")
    return [f"mkdir -p {out}/log",
            *timed_line("stats", cmd(sys.executable, "-m", "espnet2.bin.asr_train", *collect)
                        + f" > {out}/log/stats.log 2>&1", out / "times"),
            vocab,
            *timed_line("train", cmd(sys.executable, "-m", "espnet2.bin.asr_train", *train)
                        + f" > {out}/log/train.log 2>&1", out / "times")]


def timed_line(name: str, line: str, times: Path) -> List[str]:
    """Bash lines that run `line` and append `name seconds` to `times`."""
    return ["t0=$(date +%s.%N)", line,
            f"awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN {{print \"{name}\", b - a}}' >> {times}"]


def train_run(kind: str, s: TrainSetup, rep_dir: Path) -> Dict[str, Any]:
    out = rep_dir / kind
    shutil.rmtree(out, ignore_errors=True)
    lines = toolkit_lines(s, out) if kind == "toolkit" else direct_lines(s, out)
    load_before = load()
    took = run_script(rep_dir / f"{kind}.sh", lines, rep_dir / f"{kind}.out")
    log = out / "log" / ("train_model.log" if kind == "toolkit" else "train.log")
    loop = espnet_loop(log.read_text(encoding="utf-8", errors="replace"))
    logger.info("train %s: %s, loop %.1f s", kind, took, loop["loop_s"])
    res = {**took, **loop, "load_before": load_before, "load_after": load()}
    if (out / "times").is_file():  # the direct run's two processes
        for line in (out / "times").read_text().splitlines():
            name, seconds = line.split()
            res[f"{name}_process_s"] = round(float(seconds), 2)
    return res


def bench_train(inputs: Inputs, a: argparse.Namespace, work: Path) -> Dict[str, Any]:
    s = prepare_train(inputs, a, work)
    key = {"train": str(s.train), "valid": str(s.valid), "config": str(s.config),
           "epochs": s.epochs, "seed": s.seed}
    # Warm the page cache for both (the first process to import ESPnet reads it from disk).
    subprocess.run([sys.executable, "-c", "import espnet2.bin.asr_train, "
                    "lrspeech.pipeline.training"], check=True, capture_output=True)
    runs: Dict[str, List[Dict[str, Any]]] = {"toolkit": [], "direct": []}
    for i in range(a.repeats):
        order = ("toolkit", "direct") if i % 2 == 0 else ("direct", "toolkit")
        for kind in order:
            rep = work / "train" / f"rep{i + 1}"
            runs[kind].append(cached(rep / f"{kind}.json", {**key, "order": order},
                                     lambda: train_run(kind, s, rep)))
    return summarize_train(runs, s)


def summarize_train(runs: Dict[str, List[Dict[str, Any]]], s: TrainSetup) -> Dict[str, Any]:
    ratios = {m: [t[m] / d[m] for t, d in zip(runs["toolkit"], runs["direct"])]
              for m in ("wall_s", "cpu_s", "loop_s")}
    out: Dict[str, Any] = {"epochs": s.epochs, "train_utts": count_lines(s.lists["train"]),
                           "valid_utts": count_lines(s.lists["valid"]), "runs": runs}
    for m, values in ratios.items():
        out[m] = {"ratios": [round(r, 4) for r in values],
                  "median_ratio": round(statistics.median(values), 4)}
        out[m]["overhead"] = round(out[m]["median_ratio"] - 1.0, 4)
    out["meets_target"] = out["wall_s"]["overhead"] <= TARGET_OVERHEAD
    losses = {k: [r["last_train_loss"] for r in v] for k, v in runs.items()}
    out["same_loss"] = len({x for v in losses.values() for x in v}) == 1
    return out


def count_lines(d: Path) -> int:
    return len((d / "wav.scp").read_text(encoding="utf-8").splitlines())


# ---------------------------------------------------------------- 2. nj


# nj=2 twice: as lr.sh runs it (run.pl's default job limit, `nproc`, under the recipe's
# OMP_NUM_THREADS=1) and with `run.pl --max-jobs-run 2` (both jobs at once for certain).
VARIANTS = {"nj1": (1, None), "nj2": (2, None), "nj2_max2": (2, 2)}


def runpl(nj: int, max_jobs: Optional[int], log: Path) -> List[Any]:
    return [RUN_PL, *(["--max-jobs-run", max_jobs] if max_jobs else []), f"JOB=1:{nj}", log]


def decode_lines(model: Path, data: Path, out: Path, nj: int,
                 max_jobs: Optional[int] = None) -> List[str]:
    """lr.sh decode(): run.pl JOB=1:nj asr_inference, then the shares concatenated."""
    return [f"rm -rf {out}",
            cmd(*runpl(nj, max_jobs, out / "log" / "decode.JOB.log"), sys.executable, "-m",
                "lrspeech.bin.asr_inference", "--model_dir", model, "--data_dir", data,
                "--out_dir", out / "split" / "JOB", "--job_index", "JOB", "--num_jobs", nj),
            f"cat {out}/split/*/score | sort > {out}/score",
            f"cat {out}/split/*/text | sort > {out}/text"]


def synth_lines(model: Path, text: Path, out: Path, nj: int,
                max_jobs: Optional[int] = None) -> List[str]:
    """lr.sh synthesize(): run.pl JOB=1:nj tts_inference, then combine_data of the shares."""
    return [f"rm -rf {out}",
            cmd(*runpl(nj, max_jobs, out / "log" / "synth.JOB.log"), sys.executable, "-m",
                "lrspeech.bin.tts_inference", "--model_dir", model, "--text_dir", text,
                "--out_dir", out / "split" / "JOB", "--speaker", "target", "--job_index", "JOB",
                "--num_jobs", nj),
            cmd(sys.executable, "-m", "lrspeech.bin.combine_data", out / "data")
            + f" $(for d in {out}/split/*/; do [ -s $d/wav.scp ] && echo $d; done) > /dev/null"]


RUNPL_START = re.compile(r"^# Started at (\S+ \S+)", re.M)
RUNPL_END = re.compile(r"^# Ended \(code \d+\) at (\S+ \S+) .*elapsed time (\d+) seconds", re.M)
INPROCESS = re.compile(r" utterances in ([\d.]+) s \(loading included\)")


def job_times(log_text: str) -> Dict[str, Any]:
    """A run.pl job log: start and end (whole seconds), and the CLI's own time (model loading
    and work; Python start-up and imports excluded)."""
    start, end = RUNPL_START.search(log_text), RUNPL_END.search(log_text)
    inproc = INPROCESS.search(log_text)
    if not (start and end):
        raise ValueError("not a finished run.pl job log (no '# Started at' / '# Ended' line)")
    return {"start": start.group(1), "end": end.group(1), "elapsed_s": int(end.group(2)),
            "inprocess_s": float(inproc.group(1)) if inproc else None}


def overlapped(jobs: Sequence[Dict[str, Any]]) -> bool:
    """Whether any two jobs ran at the same time (one started before the other ended)."""
    spans = sorted((j["start"], j["end"]) for j in jobs)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def nj_run(task: str, model: Path, data: Path, out: Path, variant: str) -> Dict[str, Any]:
    nj, max_jobs = VARIANTS[variant]
    lines = (decode_lines if task == "asr" else synth_lines)(model, data, out, nj, max_jobs)
    load_before = load()
    took = run_script(out.parent / f"{out.name}.sh", lines, out.parent / f"{out.name}.out")
    jobs = [job_times(p.read_text(encoding="utf-8", errors="replace"))
            for p in sorted((out / "log").glob("*.log"))]
    res: Dict[str, Any] = {**took, "load_before": load_before, "load_after": load(),
                           "jobs": jobs, "parallel": overlapped(jobs)}
    if task == "asr":
        hyps = (out / "text").read_text(encoding="utf-8").splitlines()
        res.update(utterances=len(hyps), text=hyps)
    else:
        import soundfile

        from lrspeech.data.kaldi_files import read_mapping

        wavs = list(read_mapping(out / "data" / "wav.scp", "utterance").values())
        res.update(utterances=len(wavs),
                   audio_s=round(sum(soundfile.info(w).duration for w in wavs), 2))
    logger.info("%s %s: %s", task, variant, took)
    return res


def bench_nj(inputs: Inputs, a: argparse.Namespace, work: Path) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for task, model, data in (("asr", inputs.asr_model, inputs.decode),
                              ("tts", inputs.tts_model, inputs.synth_text)):
        key = {"model": str(Path(model).resolve()), "data": str(data)}
        runs: Dict[str, List[Dict[str, Any]]] = {v: [] for v in VARIANTS}
        for i in range(a.nj_repeats or a.repeats):
            for v in (list(VARIANTS) if i % 2 == 0 else list(VARIANTS)[::-1]):
                d = work / "nj" / task / f"rep{i + 1}_{v}"
                runs[v].append(cached(d.parent / f"{d.name}.json", key,
                                      lambda: nj_run(task, Path(model), data, d, v)))
        out[task] = summarize_nj(runs, key, data)
    return out


def summarize_nj(runs: Dict[str, List[Dict[str, Any]]], key: Dict[str, str],
                 data: Path) -> Dict[str, Any]:
    first = runs["nj1"][0]
    outputs = {json.dumps(r.get("text", r.get("audio_s"))) for rs in runs.values() for r in rs}
    res: Dict[str, Any] = {"model": key["model"], "data": str(data),
                           "utterances": first["utterances"], "audio_s": first.get("audio_s"),
                           "same_output": len(outputs) == 1, "variants": {}}
    for v, rs in runs.items():
        speedups = [one["wall_s"] / r["wall_s"] for one, r in zip(runs["nj1"], rs)]
        res["variants"][v] = {
            "wall_s": [r["wall_s"] for r in rs],
            "cpu_s": [r["cpu_s"] for r in rs],
            "median_speedup": round(statistics.median(speedups), 3),
            "parallel": all(r["parallel"] for r in rs),
            "job_elapsed_s": [[j["elapsed_s"] for j in r["jobs"]] for r in rs],
            "job_inprocess_s": [[j["inprocess_s"] for j in r["jobs"]] for r in rs],
            "load": [r["load_before"] for r in rs]}
    return res


# ---------------------------------------------------------------- 3. RTF


def bench_rtf(inputs: Inputs, a: argparse.Namespace, work: Path) -> Dict[str, Any]:
    key = {"ar": str(Path(inputs.ar_tts).resolve()), "fs": str(Path(inputs.fs_tts).resolve()),
           "sentences": a.rtf_sentences, "repeats": a.rtf_repeats, "text": str(inputs.valid)}
    return cached(work / "rtf" / "rtf.json", key, lambda: rtf_run(inputs, a))


def rtf_run(inputs: Inputs, a: argparse.Namespace) -> Dict[str, Any]:
    from lrspeech.data.datadir import DataDir

    texts = DataDir.load(inputs.valid).text
    texts = {u: texts[u] for u in sorted(texts)[: a.rtf_sentences]}
    out: Dict[str, Any] = {"sentences": len(texts)}
    for label, vocoder, repeats in (("acoustic", None, a.rtf_repeats),
                                    ("griffin_lim", "griffin_lim", 1)):
        out[label] = rtf_pass(Path(inputs.ar_tts), Path(inputs.fs_tts), texts, vocoder, repeats)
        logger.info("RTF %s: %s", label, {k: v for k, v in out[label].items()})
    return out


def rtf_pass(ar: Path, fs: Path, texts: Dict[str, str], vocoder: Optional[str],
             repeats: int) -> Dict[str, Any]:
    """Compute seconds per second of speech of both models, sentence by sentence."""
    from lrspeech.models.synthesis import Synthesizer, TtsOptions
    from lrspeech.models.text_encoder import TextEncoder, TextReport

    models = {}
    unknown = {}
    for name, path in (("ar", ar), ("fs", fs)):
        synth = Synthesizer(path, TtsOptions(vocoder=vocoder))
        enc, report = TextEncoder(path, synth.meta), TextReport()
        ids = [enc.to_ids(t) for t in enc.encode(texts, report).values()]
        models[name] = (synth, ids, synth.conditioning("target"))
        unknown[name] = sum(report.unknown.values())  # tokens read as <unk>
    hop_s = {k: m[0].hop / m[0].fs for k, m in models.items()}
    wall = {"ar": 0.0, "fs": 0.0}
    cpu = {"ar": 0.0, "fs": 0.0}
    frames = {"ar": 0, "fs": 0}
    for rep in range(repeats + 1):  # the first pass warms up (imports, allocations): not counted
        for i in (range(len(texts)) if rep else range(min(2, len(texts)))):
            fs_t, fs_frames = timed_synthesis(models["fs"], i)
            ratio = fs_frames / (len(models["ar"][1][i]) + 1)  # maxlen counts text + <eos>
            ar_t, ar_frames = timed_synthesis(models["ar"], i, decode_conf=dict(
                threshold=1.01, minlenratio=0.0, maxlenratio=ratio))
            for k, t, n in (("fs", fs_t, fs_frames), ("ar", ar_t, ar_frames)):
                if rep:
                    wall[k] += t[0]
                    cpu[k] += t[1]
                    frames[k] += n
    res: Dict[str, Any] = {}
    for k in models:
        audio = frames[k] * hop_s[k]
        res[k] = {"rtf": round(wall[k] / audio, 5), "rtf_cpu": round(cpu[k] / audio, 5),
                  "compute_s": round(wall[k] / repeats, 3), "cpu_s": round(cpu[k] / repeats, 3),
                  "audio_s": round(audio / repeats, 2)}
    res["speedup"] = round(res["ar"]["rtf"] / res["fs"]["rtf"], 2)
    res["speedup_cpu"] = round(res["ar"]["rtf_cpu"] / res["fs"]["rtf_cpu"], 2)
    res["unknown_tokens"] = unknown
    res["tokens"] = {k: sum(len(x) for x in m[1]) for k, m in models.items()}
    return res


def timed_synthesis(model: Any, i: int, **kw: Any) -> Tuple[Tuple[float, float], int]:
    """((wall s, CPU s of this process), frames) of one sentence. One thread: CPU time is the
    compute itself, whatever else the machine runs."""
    synth, ids, cond = model
    start, start_cpu = time.perf_counter(), time.process_time()
    out = synth.t2s(ids[i], **cond, **kw)
    took = (time.perf_counter() - start, time.process_time() - start_cpu)
    return took, int(out["feat_gen"].shape[0])


# ---------------------------------------------------------------- 4. recipe stages

RECIPE_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?: \[stage ([^\]]+)\])? \([^)]*\) (.*)$")
PY_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[,.]\d{3} ")
STAGE_MSG = re.compile(r"^Stage (\S+): (.*)$")
TRAIN_MSG = re.compile(r"^training (\w+) -> (\S+)")
STOP_MARKS = ("ERROR:", "got SIGTERM", "got SIGINT", "Traceback (most recent call last)")


def _stamp(line: str) -> Optional[datetime]:
    """The time of a log line, to the second (the recipe's own lines have no finer)."""
    m = RECIPE_LINE.match(line)
    if m:
        return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    m = PY_LINE.match(line)
    if m:
        return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
    return None


def parse_recipe_log(lines: Sequence[str]) -> Dict[str, Any]:
    """Per-stage and per-training-step wall times of a recipe log.

    A stage runs from its `Stage N:` line to the next stage's (the last one to the log's last
    timestamp); a training step from its `training X -> OUT` line to the next timestamped
    line (None when the log ends first: the step did not finish).
    """
    events = []  # (time, kind, info)
    last = first = None
    stopped = None
    for line in lines:
        if any(mark in line for mark in STOP_MARKS) and stopped is None:
            stopped = line.strip()
        t = _stamp(line)
        if t is None:
            continue
        first = first or t
        last = t
        m = RECIPE_LINE.match(line)
        msg = m.group(3) if m else ""
        stage, step = STAGE_MSG.match(msg), TRAIN_MSG.match(msg)
        events.append((t, "stage" if stage else "train" if step else "other",
                       stage.groups() if stage else step.groups() if step else None,
                       m.group(2) if m else None))
    stages: List[Dict[str, Any]] = []
    steps: List[Dict[str, Any]] = []
    for i, (t, kind, info, tag) in enumerate(events):
        if kind == "stage":
            if stages:
                stages[-1]["seconds"] = (t - stages[-1]["_start"]).total_seconds()
            stages.append({"stage": info[0], "title": info[1], "_start": t, "seconds": None})
        elif kind == "train":
            end = events[i + 1][0] if i + 1 < len(events) else None
            steps.append({"stage": tag or (stages[-1]["stage"] if stages else "?"),
                          "task": info[0], "out": info[1],
                          "seconds": (end - t).total_seconds() if end else None})
    if stages and last is not None:
        stages[-1]["seconds"] = (last - stages[-1]["_start"]).total_seconds()
    unfinished = any(s["seconds"] is None for s in steps)
    for s in stages:
        s["start"] = s.pop("_start").isoformat(sep=" ")
        mine = [x for x in steps if x["stage"] == s["stage"]]
        s["training_s"] = sum(x["seconds"] or 0.0 for x in mine)
        s["complete"] = not any(x["seconds"] is None for x in mine)
    if stages and (stopped or unfinished):
        stages[-1]["complete"] = False
    return {"stages": stages, "steps": steps,
            "total_s": (last - first).total_seconds() if first else 0.0,
            "complete": bool(stages) and not stopped and not unfinished,
            "stopped": stopped}


def bench_stages(path: Path) -> Dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    res = parse_recipe_log(text.splitlines())
    res["log"] = str(path)
    return res


# ---------------------------------------------------------------- report


def fmt_s(x: Optional[float]) -> str:
    """Whole seconds (the log's resolution), as `7 min 24 s`."""
    if x is None:
        return "unfinished"
    x = int(round(x))
    return f"{x} s" if x < 60 else f"{x // 60} min {x % 60:02d} s"


def md_train(r: Dict[str, Any]) -> List[str]:
    t_runs, d_runs = r["runs"]["toolkit"], r["runs"]["direct"]
    out = [f"ASR training, {r['epochs']} epochs on {r['train_utts']} utterances (valid "
           f"{r['valid_utts']}); a = toolkit, b = plain ESPnet, run in the order a b b a ...",
           "", "| rep | measure | toolkit | ESPnet direct | ratio |", "|---|---|---|---|---|"]
    for i, (t, d) in enumerate(zip(t_runs, d_runs)):
        for m, label in (("wall_s", "process wall time"), ("cpu_s", "CPU time (user+sys)"),
                         ("loop_s", "training loop (ESPnet log)")):
            out.append(f"| {i + 1 if m == 'wall_s' else ''} | {label} | {t[m]:.1f} s | "
                       f"{d[m]:.1f} s | {r[m]['ratios'][i]:.3f} |")
    out += ["", "Median ratio toolkit/direct: " + "; ".join(
        f"{label} {r[m]['median_ratio']:.3f} ({r[m]['overhead']:+.1%})"
        for m, label in (("wall_s", "wall"), ("cpu_s", "CPU"), ("loop_s", "loop"))),
        f"Target: overhead <= +5% of wall time: {'met' if r['meets_target'] else 'NOT met'}.",
        "Direct run's two processes (collect_stats, training), wall: " + "; ".join(
            f"{d.get('stats_process_s', 0):.1f} s + {d.get('train_process_s', 0):.1f} s"
            for d in d_runs) + ".",
        f"Last-epoch training loss identical in every run: {r['same_loss']} "
        f"({', '.join(str(x['last_train_loss']) for x in t_runs)} toolkit; "
        f"{', '.join(str(x['last_train_loss']) for x in d_runs)} direct).",
        "Load average before each run: " + ", ".join(
            f"{t['load_before']}/{d['load_before']}" for t, d in zip(t_runs, d_runs)) + "."]
    return out


def md_nj(r: Dict[str, Any]) -> List[str]:
    labels = {"nj1": "--nj 1", "nj2": "--nj 2 as lr.sh runs it",
              "nj2_max2": "--nj 2, run.pl --max-jobs-run 2"}
    out = ["| job | run | wall (each repeat) | CPU | speed-up vs nj 1 (median) | jobs at once "
           "| per job: run.pl elapsed / in the CLI |", "|---|---|---|---|---|---|---|"]
    for task, label in (("asr", "ASR decoding"), ("tts", "TTS synthesis (Griffin-Lim)")):
        t = r[task]
        what = f"{label}, {t['utterances']} utts" + (
            f" ({t['audio_s']:.0f} s of speech)" if t.get("audio_s") else "")
        for v, x in t["variants"].items():
            per_job = "; ".join(" + ".join(f"{e} / {p or 0:.1f} s" for e, p in zip(es, ps))
                                for es, ps in zip(x["job_elapsed_s"], x["job_inprocess_s"]))
            out.append(f"| {what} | {labels[v]} | {', '.join(f'{w:.1f}' for w in x['wall_s'])} s"
                       f" | {', '.join(f'{c:.1f}' for c in x['cpu_s'])} s"
                       f" | {x['median_speedup']:.2f}x | {'yes' if x['parallel'] else 'no'} | "
                       f"{per_job} |")
            what = ""
        out.append(f"| | outputs identical in every run: {t['same_output']} | | | | | |")
    return out


def md_rtf(r: Dict[str, Any]) -> List[str]:
    out = [f"Synthesis RTF, {r['sentences']} sentences, batch 1, one thread; RTF from wall "
           "time, and from the process's CPU time:", "",
           "| | AR Transformer-TTS | FastSpeech(2) | speed-up (wall / CPU) |", "|---|---|---|---|"]
    for key, label in (("acoustic", "acoustic model only"), ("griffin_lim", "with Griffin-Lim")):
        t = r[key]
        cells = [f"RTF {t[k]['rtf']:.4f} / {t[k].get('rtf_cpu', float('nan')):.4f} "
                 f"({t[k]['compute_s']:.2f} s for {t[k]['audio_s']:.1f} s)" for k in ("ar", "fs")]
        out.append(f"| {label} | {cells[0]} | {cells[1]} | {t['speedup']:.1f}x / "
                   f"{t.get('speedup_cpu', float('nan')):.1f}x |")
    return out


def md_stages(r: Dict[str, Any]) -> List[str]:
    out = [f"Recipe log {r['log']}" + ("" if r["complete"] else
                                       f" (incomplete: {r['stopped'] or 'a step has no end'})"),
           "", "| stage | what | wall time | of which training |", "|---|---|---|---|"]
    for s in r["stages"]:
        mark = "" if s["complete"] else " (stopped)"
        out.append(f"| {s['stage']} | {s['title']} | {fmt_s(s['seconds'])}{mark} | "
                   f"{fmt_s(s['training_s']) if s['training_s'] else '-'} |")
    out.append(f"| total | | {fmt_s(r['total_s'])} | |")
    out += ["", "| stage | training step | wall time |", "|---|---|---|"]
    out += [f"| {x['stage']} | {x['task']} -> {x['out']} | {fmt_s(x['seconds'])} |"
            for x in r["steps"]]
    return out


def report(results: Dict[str, Any]) -> str:
    parts = [f"# bench/speed.py results ({results['when']}, load average "
             f"{results['load_start']} -> {results['load_end']})", ""]
    for key, title, fn in (("train", "Training: toolkit vs plain ESPnet", md_train),
                           ("nj", "--nj 1 vs --nj 2 (utils/run.pl JOB arrays)", md_nj),
                           ("rtf", "Synthesis RTF: AR vs non-AR", md_rtf),
                           ("stages", "Recipe stage wall times", md_stages)):
        if key in results:
            parts += [f"## {title}", "", *fn(results[key]), ""]
    return "\n".join(parts)


# ---------------------------------------------------------------- main


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work_dir", type=Path, required=True, help="runs and results go here")
    p.add_argument("--quick", action="store_true", help="tests/data, tiny settings (minutes)")
    p.add_argument("--only", default=",".join(SUBS), help="comma list of " + ",".join(SUBS))
    p.add_argument("--demo_dir", type=Path, help="recipe dir of a finished demo run")
    p.add_argument("--train_data", type=Path, help="ASR training data dir (default: demo "
                   "paired_hq, or tests/data/sw train)")
    p.add_argument("--valid_data", type=Path, help="validation data dir (demo dev); its "
                   "first sentences are also the RTF sentences")
    p.add_argument("--decode_data", type=Path, help="data dir to decode (demo unpaired_speech)")
    p.add_argument("--synth_text", type=Path, help="text dir to synthesize (demo unpaired_text)")
    p.add_argument("--asr_model", type=Path, help="packed ASR for decoding (demo finetune/asr)")
    p.add_argument("--tts_model", type=Path, help="packed TTS for synthesis (demo finetune/tts)")
    p.add_argument("--ar_tts", type=Path, help="packed autoregressive Transformer-TTS")
    p.add_argument("--fs_tts", type=Path, help="packed FastSpeech/FastSpeech2 (demo tts)")
    p.add_argument("--recipe_log", type=Path, help="output of egs/<lang>/lr1/run.sh")
    p.add_argument("--lang_config", type=Path, default=LANG)
    p.add_argument("--asr_config", type=Path, default=ASR_CONFIG)
    p.add_argument("--epochs", type=int, help="epochs of the timed training (10; quick 1)")
    p.add_argument("--repeats", type=int, help="runs of each side (train, nj; 2, quick 1)")
    p.add_argument("--nj_repeats", type=int, help="runs of each nj setting (default --repeats)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--model_epochs", type=int, help="epochs of models trained here (8; quick 2)")
    p.add_argument("--decode_utts", type=int, default=16,
                   help="utterances of --decode_data decoded (its first, by id)")
    p.add_argument("--synth_sentences", type=int, help="sentences synthesized (40; quick 6)")
    p.add_argument("--rtf_sentences", type=int, help="sentences for RTF (8; quick 2)")
    p.add_argument("--rtf_repeats", type=int, help="timed passes over them (3; quick 1)")
    return p


def apply_defaults(a: argparse.Namespace) -> None:
    quick = {"epochs": 1, "repeats": 1, "model_epochs": 2, "synth_sentences": 6,
             "rtf_sentences": 2, "rtf_repeats": 1}
    full = {"epochs": 10, "repeats": 2, "model_epochs": 8, "synth_sentences": 40,
            "rtf_sentences": 8, "rtf_repeats": 3}
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.quick and a.demo_dir:
        raise SystemExit("--quick uses tests/data; leave --demo_dir out")


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    a = get_parser().parse_args(argv)
    apply_defaults(a)
    only = [s for s in a.only.split(",") if s]
    unknown = set(only) - set(SUBS)
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(sorted(unknown))}; use {','.join(SUBS)}")
    if "stages" in only and a.recipe_log is None:
        logger.info("stages: no --recipe_log given; skipped")
        only.remove("stages")
    work = a.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {"when": datetime.now().isoformat(timespec="seconds"),
                               "load_start": load(), "argv": sys.argv[1:] if argv is None
                               else argv}
    if set(only) & {"train", "nj", "rtf"}:
        inputs = gather_inputs(a, work)
        fill_models(inputs, a, work, only)
        results["inputs"] = {k: str(v) for k, v in dataclasses.asdict(inputs).items()}
    if "train" in only:
        results["train"] = bench_train(inputs, a, work)
    if "nj" in only:
        results["nj"] = bench_nj(inputs, a, work)
    if "rtf" in only:
        results["rtf"] = bench_rtf(inputs, a, work)
    if "stages" in only:
        results["stages"] = bench_stages(a.recipe_log)
    results["load_end"] = load()
    (work / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    text = report(results)
    (work / "results.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
