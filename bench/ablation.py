"""Benchmark: what each LRSpeech step buys, between a paired-only baseline and a fully
supervised topline, on a corpus in the metadata.tsv layout (Swahili, Suba).

Usage: python bench/ablation.py --db_root ../shared/data/sw --work_dir /tmp/bench/abl_sw \
    [--judge /tmp/judge_asr] [--tier small] [--quick]

LRSpeech's setting (local/data.sh): 50 paired utterances of the target speaker, the rest of
the train split as unpaired speech (transcripts withheld), the corpus's text as unpaired text
(text/bible_nt.tsv for Swahili, text/suba_text.tsv for Suba; --unpaired_text), the val split
as dev. The recipe (a copy of egs/swahili/lr1 with the corpus's lang.yaml: Swahili's, else a
char config) runs once, stages 1-7, in --work_dir/recipe; its step markers make a rerun
resume where it stopped. Rows (each scored on the same dev clips):

1. baseline: a log-mel ASR (conf/asr/transformer_tiny.yaml) and the tier's FastSpeech2, both
   from scratch on the 50 paired utterances; the TTS's durations come from that ASR's CTC
   alignment (lrspeech.pipeline.align_step);
2. finetune: + rich-resource pretraining (the Whisper encoder under the ASR; the TTS
   pretrained on espeak-ng English) and fine-tuning (stages 4-5), decoded without the LM;
3. finetune_lm: the same models, the ASR decoded with the text LM by shallow fusion (weights
   tuned on dev by the recipe); the LM also labels the unpaired speech in the rows below;
4. dt_round1..R: + each round of dual transformation (stage 6), decoded with the LM;
5. kd: + knowledge distillation (stage 7), decoded with the LM;
6. topline: the recipe's ASR and TTS configs trained from the same pretrained starts
   (exp/finetune/*_init.pth) on every train utterance with its real transcript (paired and
   "unpaired", clips up to --topline_max_dur s), the fine-tuning epochs; the TTS's durations
   come from the same CTC aligner (the topline ASR); decoded with the LM.

The baseline and the topline are trained here by the pipeline's own modules
(lrspeech.pipeline.training.run_step, lrspeech.pipeline.align_step), each as a step with a
chained marker (lrspeech.pipeline.steps) under --work_dir/rows/.done, so that a change of their
inputs retrains them and a rerun skips them.

Columns: dev ASR CER and WER; the TTS read by the independent judge (an ASR trained on every
real train clip, never on dev; --judge gives a packed one, else it trains on the second core):
judge CER and IR, with the judge on the real dev recordings as the ceiling; DNSMOS OVRL; the
row's own training time (the wall seconds its steps' markers record); gap recovered =
(baseline - row) / (baseline - topline), for ASR CER and for judge CER; and each row against
the row before it with 95% paired bootstrap intervals over the dev utterances
(lrspeech.eval.significance). Results: work_dir/results.json and work_dir/results.md. A row
whose ASR has trained but not yet its TTS (the topline trains its ASR first) gets its ASR
columns alone, so that the ASR's gap recovered is known while the TTS trains.

Tiers (--tier): `tiny` (the demo's: whisper_ctc_tiny + fastspeech2_tiny), `small` (default;
whisper_ctc_small + fastspeech2_small, which still train on 2 CPU cores), `paper` (GPU).
Parameter counts: docs/benchmarks.md, "Tiers". `--quick` runs the micro setting on tests/data
(minutes; figures meaningless).
"""

import argparse
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lrspeech.eval import significance  # noqa: E402

logger = logging.getLogger("bench.ablation")
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() \
    else sys.executable
LANG = REPO / "egs" / "swahili" / "lr1" / "conf" / "lang.yaml"
JUDGE_CONFIG = REPO / "conf" / "asr" / "conformer_tiny.yaml"  # widened to JUDGE_ENCODER
BASELINE_ASR = REPO / "conf" / "asr" / "transformer_tiny.yaml"  # the log-mel ASR
TIERS = {  # tier -> (ASR config, TTS config)
    "tiny": ("whisper_ctc_tiny.yaml", "fastspeech2_tiny.yaml"),
    "small": ("whisper_ctc_small.yaml", "fastspeech2_small.yaml"),
    "paper": ("whisper_ctc_paper.yaml", "fastspeech2_paper.yaml"),
}
PARTS = ("recipe", "baseline", "topline")  # what --train_only can name
# The budget of the benchmark (the demo's is smaller: egs/swahili/lr1/run.sh).
BENCH_OPTS = ["--pretrain_epochs", "8", "--pretrain_tts_epochs", "8",
              "--finetune_epochs", "20", "--finetune_tts_epochs", "20",
              "--dt_rounds", "2", "--dt_epochs", "6", "--dt_text_per_round", "100",
              "--kd_tts_sentences", "150", "--kd_epochs", "8", "--lm_epochs", "8",
              "--train_args", "",  # not the demo's (ESPnet's plots of every training kept)
              "--tts_vocoder", "griffin_lim"]  # as measured (lr.sh's default is now world_gl)
# The recipe's micro options (as in tests/recipe), for --quick.
QUICK_OPTS = [
    "--nj", "1", "--rich_num_utts", "40", "--rich_num_speakers", "2",
    "--pretrain_epochs", "1", "--pretrain_tts_epochs", "1", "--finetune_epochs", "2",
    "--finetune_tts_epochs", "2", "--dt_rounds", "1", "--dt_text_per_round", "6",
    "--dt_epochs", "1", "--kd_tts_sentences", "6", "--kd_epochs", "1", "--lm_epochs", "1",
    "--train_args", "--num_iters_per_epoch 3", "--tts_vocoder", "griffin_lim",
]
QUICK_DATA_OPTS = "--n_paired 5 --max_text 200 --sw_synth_utts 8"


# ---------------------------------------------------------------- recipe copies


def make_recipe(dst: Path, db_root: Path, run_sh: Optional[Path] = None,
                lang: Optional[Path] = None, text: Optional[Path] = None) -> Path:
    """A copy of egs/swahili/lr1 at `dst` whose path.sh points at this repo; with `run_sh`, that
    run.sh; with `lang`, that lang.yaml; with `text`, db/unpaired_text.tsv links to it."""
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
    # Always this checkout's code: step markers hash content, not paths, so a work dir made
    # by another checkout resumes without retraining.
    path_sh = (REPO / "egs" / "TEMPLATE" / "lr1" / "path.sh").read_text(encoding="utf-8")
    lines = [f"lr_root={REPO}" if ln.startswith("lr_root=") else ln for ln in path_sh.splitlines()]
    (dst / "path.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if lang is not None:
        (dst / "conf" / "lang.yaml").write_text(lang.read_text(encoding="utf-8"),
                                                encoding="utf-8")
    link = dst / "db" / "unpaired_text.tsv"
    if text is not None and not link.exists():
        os.symlink(text.resolve(), link)
    return dst


def data_opts(text: Optional[Path], quick: bool) -> List[str]:
    """local/data.sh options: the unpaired text (and the micro sizes with --quick)."""
    opts = (f"--unpaired_text {text}" if text else "") + \
        (" " + QUICK_DATA_OPTS if quick else "")
    return ["--local_data_opts", opts.strip()] if opts.strip() else []


def run_stage(recipe: Path, stage: int, opts: Sequence[str], times: Dict[str, float],
              key: str) -> None:
    """Run one recipe stage; its wall time is kept the first time it really runs."""
    took, skipped = run_recipe(recipe, stage, stage, opts, key)
    if key not in times or not skipped:
        times[key] = round(took, 1)


def run_recipe(recipe: Path, first: int, last: int, opts: Sequence[str],
               key: str) -> Tuple[float, bool]:
    """run.sh --stage first --stop_stage last (log: exp/bench_logs/<key>.log); returns its wall
    time and whether every step in it was skipped."""
    cmd = [str(recipe / "run.sh"), "--db_root", "db/corpus", *opts,
           "--stage", str(first), "--stop_stage", str(last)]
    log = recipe / "exp" / "bench_logs" / f"{key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    logger.info("%s: %s (stages %d-%d)", recipe.name, key, first, last)
    t0 = time.time()
    with open(log, "w", encoding="utf-8") as f:
        rc = subprocess.run(cmd, cwd=recipe, stdout=f, stderr=subprocess.STDOUT).returncode
    took = time.time() - t0
    if rc != 0:
        raise RuntimeError(f"{recipe}: stages {first}-{last} failed (exit {rc}); see {log}")
    text = log.read_text(encoding="utf-8")
    return took, ": running (" not in text


def recipe_options() -> Dict[str, str]:
    """The Swahili recipe's option values: lr.sh's defaults, then run.sh's demo budget."""
    out: Dict[str, str] = {}
    for line in (REPO / "egs" / "TEMPLATE" / "lr1" / "lr.sh").read_text().splitlines():
        name, eq, rest = line.partition("=")
        if eq and name.isidentifier() and not line.startswith(" "):
            out[name] = rest.split("#")[0].strip().strip('"')
    run_sh = (REPO / "egs" / "swahili" / "lr1" / "run.sh").read_text()
    budget = shlex.split(run_sh.partition("demo_budget=(")[2].partition(")")[0])
    for flag, value in zip(budget[::2], budget[1::2]):
        out[flag.lstrip("-")] = value
    return out


def option(opts: Sequence[str], name: str, default: str) -> str:
    """The value of `--name` in a recipe option list (the last one wins), else the default."""
    flag = f"--{name}"
    hits = [i for i, o in enumerate(opts) if o == flag]
    return opts[hits[-1] + 1] if hits else default


def tier_opts(tier: str) -> List[str]:
    """The recipe options that select a tier's ASR and TTS configs."""
    asr, tts = TIERS[tier]
    return ["--asr_config", str(REPO / "conf" / "asr" / asr),
            "--tts_config", str(REPO / "conf" / "tts" / tts)]


# ---------------------------------------------------------------- baseline and topline


@dataclass(frozen=True)
class Setting:
    """What the baseline and the topline share with the recipe run: its data, token lists,
    configs, epochs and seed; their models and step markers go under `rows`."""

    recipe: Path
    rows: Path
    asr_config: Path
    tts_config: Path
    epochs: int  # the ASR's (the recipe's --finetune_epochs)
    tts_epochs: int  # the TTS's (--finetune_tts_epochs, else --finetune_epochs)
    espnet_args: Tuple[str, ...]
    seed: int
    speech_encoder: str
    align_min_score: str
    inference_model: Tuple[str, str]  # the ASR's and the TTS's (lr.sh's *_inference_model)
    types_from: Optional[Path] = None  # the recipe whose fine-tuned models give the token types

    @classmethod
    def of(cls, recipe: Path, rows: Path, opts: Sequence[str]) -> "Setting":
        d = recipe_options()

        def opt(name: str) -> str:
            return option(opts, name, d[name])

        encoder = opt("speech_encoder")
        default_asr = "whisper_ctc_tiny.yaml" if encoder != "none" else "transformer_tiny.yaml"
        return cls(recipe, rows,
                   Path(option(opts, "asr_config", "") or REPO / "conf" / "asr" / default_asr),
                   Path(option(opts, "tts_config", "") or
                        REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"),
                   int(opt("finetune_epochs")),
                   int(opt("finetune_tts_epochs") or opt("finetune_epochs")),
                   tuple(option(opts, "train_args", "").split()),
                   int(opt("seed")), encoder, opt("align_min_score"),
                   (opt("asr_inference_model"), opt("tts_inference_model")))

    @property
    def lang(self) -> Path:
        return self.recipe / "conf" / "lang.yaml"

    @property
    def tokens(self) -> Path:
        return self.recipe / "dump" / "token"

    @property
    def dev(self) -> Path:
        return self.recipe / "dump" / "raw" / "dev"

    @property
    def paired(self) -> Path:
        return self.recipe / "dump" / "raw" / "paired_hq"

    @property
    def extra_args(self) -> List[str]:
        """train_model's ESPnet arguments (after its `--`), as lr.sh's train() passes them."""
        return ["--ngpu", "0", *self.espnet_args]

    def token_type(self, task: str) -> str:
        """The token type the recipe's fine-tuned model of `task` was trained with (that of
        `types_from` where set: a recipe with the same lang.yaml and options)."""
        meta = (self.types_from or self.recipe) / "exp" / "finetune" / task / "model" / "meta.json"
        return str(json.loads(meta.read_text(encoding="utf-8"))["token_type"])


def bench_step(rows: Path, name: str, inputs: Sequence[object], outputs: Sequence[Path],
               work: Callable[[], None], after: Sequence[str] = ()) -> bool:
    """One step of the baseline or topline with a chained marker under `rows/.done`
    (lrspeech.pipeline.steps): skipped while its inputs are unchanged and its outputs exist;
    an interrupted training resumes. Returns whether it ran."""
    from lrspeech.pipeline import steps

    step = steps.Step(rows, name, [str(i) for i in inputs], list(after), [str(o) for o in outputs])
    decision = steps.begin(step, resume=True)
    logger.info("%s: %s", name, "running (" + decision.reason + ")" if decision.run
                else decision.reason + "; skipped")
    if not decision.run:
        return False
    work()
    steps.end(rows, name)
    return True


def data_files(dirs: Sequence[Path]) -> List[Path]:
    """The files of data dirs that a training reads (a step's inputs)."""
    return [Path(d) / f for d in dirs for f in ("wav.scp", "text", "utt2spk")]


def train_pair(s: Setting, label: str, train_dirs: Sequence[Path], asr_config: Path,
               asr_init: Optional[Path], tts_init: Optional[Path], encoder: Optional[str],
               after: Sequence[str] = ()) -> Path:
    """An ASR trained on `train_dirs` into rows/<label>/asr, then (train_tts) the TTS on the
    same data with that ASR's durations, by the pipeline's modules as the recipe's train and
    align steps run them; returns rows/<label>."""
    from lrspeech.pipeline.training import TrainStep, run_step

    out = s.rows / label
    asr = TrainStep(task="asr", config=asr_config, train_dirs=list(train_dirs), valid_dir=s.dev,
                    lang_config=s.lang, token_list=s.tokens / "target_asr_tokens.txt",
                    out_dir=out / "asr", epochs=s.epochs, token_type=s.token_type("asr"),
                    init=asr_init, seed=s.seed, extra_args=s.extra_args, encoder_spec=encoder,
                    inference_model=s.inference_model[0])
    inputs = [asr_config, asr.token_list, asr_init or "scratch", encoder or "log-mel",
              asr.checkpoint_rule,
              s.epochs, s.seed, " ".join(s.extra_args), s.lang,
              *data_files([*train_dirs, s.dev])]
    bench_step(s.rows, f"{label}.asr", inputs, [out / "asr"], lambda: run_step(asr), after)
    return train_tts(s, label, train_dirs, out / "asr" / "model", tts_init, [f"{label}.asr"])


def train_tts(s: Setting, label: str, train_dirs: Sequence[Path], asr_model: Path,
              tts_init: Optional[Path], after: Sequence[str] = ()) -> Path:
    """The CTC durations of `train_dirs` by `asr_model` (rows/<label>/tts_durations), then the
    tier's duration TTS on them (rows/<label>/tts); returns rows/<label>."""
    from lrspeech.pipeline.align_step import AlignStep, run_align_step
    from lrspeech.pipeline.durations import TtsFrames
    from lrspeech.pipeline.training import TrainStep, run_step

    out = s.rows / label
    tts_tokens = s.tokens / "target_tts_tokens.txt"
    data = data_files([*train_dirs, s.dev])
    align = AlignStep(asr_model=asr_model, train_dirs=list(train_dirs),
                      out_dir=out / "tts_durations",
                      frames=TtsFrames.from_tts_config(s.tts_config), valid_dir=s.dev,
                      lang_config=s.lang, token_type=s.token_type("tts"), token_list=tts_tokens,
                      min_score=s.align_min_score)
    bench_step(s.rows, f"{label}.align", [asr_model / "model.pth", s.tts_config, tts_tokens,
                                          s.align_min_score, s.lang, *data],
               [out / "tts_durations"], lambda: run_align_step(align), after)
    speaker = (s.tokens / "target_speaker").read_text(encoding="utf-8").strip()
    tts = TrainStep(task="tts", config=s.tts_config, train_dirs=list(train_dirs),
                    valid_dir=s.dev, lang_config=s.lang, token_list=tts_tokens,
                    out_dir=out / "tts", epochs=s.tts_epochs, token_type=s.token_type("tts"),
                    init=tts_init, spk2sid=s.tokens / "spk2sid", target_speaker=speaker,
                    durations=out / "tts_durations", seed=s.seed, extra_args=s.extra_args,
                    inference_model=s.inference_model[1])
    inputs = [s.tts_config, tts_tokens, tts_init or "scratch", s.tokens / "spk2sid", speaker,
              tts.checkpoint_rule,
              s.tts_epochs, s.seed, " ".join(s.extra_args), s.lang, *data]
    bench_step(s.rows, f"{label}.tts", inputs, [out / "tts"], lambda: run_step(tts),
               [f"{label}.align"])
    return out


def train_baseline(s: Setting) -> Path:
    """Row 1: a log-mel ASR and the tier's FastSpeech2 from scratch on the paired data."""
    return train_pair(s, "baseline", [s.paired], BASELINE_ASR, None, None, None)


def topline_data(s: Setting, db_root: Path, max_dur: float) -> Path:
    """Every train clip of the corpus with its real transcript, formatted as stage 2 formats
    the paired data (clips up to `max_dur` s); returns the data dir."""
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir

    d = recipe_options()
    src, out = s.rows / "topline_data" / "src", s.rows / "topline_data" / "train"
    fmt = FormatOptions(fs=int(d["fs"]), trim_db=float(d["trim_db"]),
                        min_dur=float(d["min_dur"]), max_dur=max_dur, nj=2)

    def work() -> None:
        datadir_from_metadata(db_root / "metadata.tsv", split="train").save(src)
        counts = format_data_dir(src, out, fmt)
        logger.info("topline data: %s", counts)
        (s.rows / "topline_data" / "counts.json").write_text(json.dumps(counts) + "\n")

    bench_step(s.rows, "topline.data", [db_root / "metadata.tsv", asdict(fmt)],
               [s.rows / "topline_data"], work)
    return out


def pretrained_starts(recipe: Path) -> Tuple[Path, Path]:
    """The ASR and TTS starts stage 5 writes (pretrained weights mapped to the target tokens)."""
    init = recipe / "exp" / "finetune"
    return init / "asr_init.pth", init / "tts_init.pth"


def stage5_outputs(recipe: Path) -> List[Path]:
    """What the baseline and the topline read from the recipe's stage 5: the pretrained starts
    and the fine-tuned models' meta.json (the token type of each task, Setting.token_type)."""
    tuned = recipe / "exp" / "finetune"
    return [*pretrained_starts(recipe),
            *(tuned / task / "model" / "meta.json" for task in ("asr", "tts"))]


def train_topline(s: Setting, db_root: Path, max_dur: float) -> Path:
    """Row 6: the recipe's configs from the same pretrained starts on every train clip with its
    real transcript."""
    data = topline_data(s, db_root, max_dur)
    encoder = None if s.speech_encoder == "none" else s.speech_encoder
    return train_pair(s, "topline", [data], s.asr_config, *pretrained_starts(s.recipe),
                      encoder, ["topline.data"])


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


@dataclass(frozen=True)
class Row:
    """One row: its label, the stage dir holding asr/model and tts/model, whether its ASR
    decodes with the LM, and the evaluation it is read from (one per stage dir)."""

    label: str
    stage_dir: Path
    lm: bool
    evaluation: str


def rows_of(recipe: Path, rows_dir: Path, rounds: int, with_lm: bool) -> List[Row]:
    """The benchmark's rows in order (the LM rows only when the recipe made an LM)."""
    exp = recipe / "exp"
    out = [Row("baseline", rows_dir / "baseline", False, "baseline"),
           Row("finetune", exp / "finetune", False, "finetune")]
    if with_lm:
        out.append(Row("finetune_lm", exp / "finetune", True, "finetune"))
    out += [Row(f"dt_round{r}", exp / "dt" / f"round{r}", with_lm, f"dt_round{r}")
            for r in range(1, rounds + 1)]
    out += [Row("kd", exp / "kd", with_lm, "kd"),
            Row("topline", rows_dir / "topline", with_lm, "topline")]
    return out


def lm_options(recipe: Path) -> List[str]:
    """eval_stage's LM options from the recipe's tuned fusion (exp/lm/fusion.json)."""
    from lrspeech.pipeline.lm import read_fusion

    weight, bonus, _ = read_fusion(recipe / "exp" / "lm" / "fusion.json")
    return ["--lm", str(recipe / "exp" / "lm" / "model"), "--lm_weight", str(weight),
            "--length_bonus", str(bonus)]


def evaluate(stage_dir: Path, label: str, judge: Path, work: Path, dev: Path, mos: str,
             lang: Path, lm: Sequence[str] = (), asr_only: bool = False) -> Dict[str, object]:
    """One stage dir's figures on `dev` through lrspeech.bin.eval_stage (with `lm`, its ASR is
    also decoded with the LM; `asr_only`: its ASR alone, the TTS figures None, for a stage whose
    TTS has not trained yet); redone when its models, the dev set, the judge or the LM changed.
    The ASR-only figures are kept apart, so the full evaluation follows once the TTS trained."""
    out = work / "eval" / label
    name = f"{label}.asr" if asr_only else label
    js = work / "eval" / f"{name}.json"
    stamp = work / "eval" / f"{name}.models"
    tasks = ("asr",) if asr_only else ("asr", "tts")
    models = " ".join([str((stage_dir / t / "model" / "model.pth").stat().st_mtime)
                       for t in tasks] + [str(dev)] + ([] if asr_only else [str(judge)]) + [*lm])
    gv = stage_dir / "tts" / "model" / "gv.npz"  # the post-filter's statistics, when packed
    if not asr_only and gv.is_file():
        models += f" gv:{gv.stat().st_mtime}"
    if not (js.exists() and stamp.exists() and stamp.read_text() == models):
        out.parent.mkdir(parents=True, exist_ok=True)
        what = ["--asr_only"] if asr_only else [
            "--judge", str(judge), "--mos", mos, "--real_dir", str(work / "eval" / "real_ref")]
        cmd = [PY, "-m", "lrspeech.bin.eval_stage", "--stage_dir", str(stage_dir),
               "--data_dir", str(dev), "--lang_config", str(lang), "--out_dir", str(out),
               "--collect", str(js), "--label", label, *what, *lm]
        with open(f"{out}.log", "w", encoding="utf-8") as f:
            rc = subprocess.run(cmd, cwd=stage_dir, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise RuntimeError(f"evaluating {label} failed; see {out}.log")
        stamp.write_text(models)
    return json.loads(js.read_text(encoding="utf-8"))


def row_figures(row: Row, result: Dict[str, object], work: Path) -> Dict[str, object]:
    """A row's columns from its stage's evaluation (the LM decode's scores for an LM row) and
    the per-utterance files its bootstrap intervals read."""
    ovrl = (result.get("mos") or {}).get("dnsmos_ovrl") or {}
    out = work / "eval" / row.evaluation
    lm = row.lm and result.get("asr_lm_cer") is not None
    return {"row": row.label, "asr_cer": result["asr_lm_cer" if lm else "asr_cer"],
            "asr_wer": result["asr_lm_wer" if lm else "asr_wer"], "lm": lm,
            "asr_cer_no_lm": result["asr_cer"],
            "ir": result["ir"], "judge_cer": result["judge_cer"],
            "dnsmos_ovrl": ovrl.get("mean"),
            "files": {"ASR CER": str(out / ("asr_lm_score" if lm else "asr_score") /
                                     "score.json"),
                      "TTS IR": str(out / "ir" / "ir_utts.tsv"),
                      "judge CER": str(out / "ir" / "ir_utts.tsv")}}


def real_speech_ir(work: Path, judge: Path, dev: Path, lang: Path) -> Dict[str, float]:
    """The judge on the real dev recordings: the ceiling of IR with this judge."""
    out = work / "eval" / "real"
    if not (out / "ir.json").exists():
        subprocess.run([PY, "-m", "lrspeech.bin.eval_ir", "--judge", str(judge), "--text",
                        str(dev), "--wav_dir", str(dev), "--out_dir", str(out),
                        "--lang_config", str(lang)], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
    r = json.loads((out / "ir.json").read_text(encoding="utf-8"))
    return {"ir": r["ir"], "judge_cer": r["judge_cer"]}


# ---------------------------------------------------------------- times and gaps


def row_seconds(recipe_steps: Dict[str, float], bench_steps: Dict[str, float],
                rounds: int) -> Dict[str, float]:
    """Each row's own training time: the wall seconds its steps' markers record (recipe steps
    by name: pretraining/fine-tuning, the LM, each DT round, KD; the baseline's and topline's
    bench steps), and the shared data stages 1-3."""
    def total(steps: Dict[str, float], match: Callable[[str], bool]) -> float:
        return round(sum(v for k, v in steps.items() if match(k)), 1)

    t = {"shared": total(recipe_steps, lambda k: k in ("data", "tokens", "tokens.rich")
                         or k.startswith("format.")),
         "baseline": total(bench_steps, lambda k: k.startswith("baseline.")),
         "finetune": total(recipe_steps, lambda k: k.startswith("init_") or any(
             f".exp_{s}_" in k for s in ("pretrain", "finetune"))),
         "finetune_lm": total(recipe_steps, lambda k: k in ("lm", "lm_fusion"))}
    for r in range(1, rounds + 1):
        t[f"dt_round{r}"] = total(recipe_steps, lambda k, r=r: k.startswith(f"dt{r}.")
                                  or f".exp_dt_round{r}_" in k)
    t["kd"] = total(recipe_steps, lambda k: k.startswith("kd.") or ".exp_kd_" in k)
    t["topline"] = total(bench_steps, lambda k: k.startswith("topline."))
    return t


def gap_recovered(base: Optional[float], row: Optional[float],
                  top: Optional[float]) -> Optional[float]:
    """(baseline - row) / (baseline - topline); None when undefined (no topline gain)."""
    if base is None or row is None or top is None or base - top <= 0:
        return None
    return (base - row) / (base - top)


def add_gaps(rows: List[Dict[str, object]]) -> None:
    """The gap-recovered columns of every row, for ASR CER and judge CER."""
    base, top = rows[0], rows[-1]
    for r in rows:
        for key in ("asr_cer", "judge_cer"):
            r[f"gap_{key}"] = gap_recovered(base[key], r[key], top[key])


def check_targets(rows: List[Dict[str, object]], steps: Sequence[Tuple[str, "Step"]]
                  ) -> List[str]:
    """The issue's targets, each as a line that says whether it holds: every step (rows 2 to
    the last before the topline) lowers ASR CER or judge CER with a 95% interval below 0; the
    last such row against the baseline (ASR CER <= 0.4x, judge CER <= 0.5x) and its gap
    recovered (>= 60% for both)."""
    lines = []
    for label, step in steps:
        if label.startswith("topline "):
            continue
        helped = [name for name in ("ASR CER", "judge CER")
                  if step.get(name) is not None and step[name].high < 0]
        lines.append(f"{label}: " + (f"lowers {' and '.join(helped)} (95% interval below 0)"
                                     if helped else "lowers neither ASR CER nor judge CER "
                                     "with an interval that excludes 0"))
    base, final, top = rows[0], rows[-2], rows[-1]
    for key, name, target in (("asr_cer", "ASR CER", 0.4), ("judge_cer", "judge CER", 0.5)):
        if final[key] is None or base[key] is None:
            lines.append(f"{final['row']}/baseline {name}: n/a (not evaluated yet)")
            continue  # an ASR-only row (its TTS still training)
        ratio = final[key] / base[key] if base[key] else float("nan")
        lines.append(f"{final['row']}/baseline {name} {ratio:.2f} (target <= {target}: "
                     f"{'met' if ratio <= target else 'NOT met'})")
    for key, name in (("asr_cer", "ASR CER"), ("judge_cer", "judge CER")):
        gap = final.get(f"gap_{key}")
        missing = [str(r["row"]) for r in (base, final, top) if r.get(key) is None]
        why = (f"no {name} of {' and '.join(missing)} yet" if missing
               else "the topline is no better than the baseline")
        lines.append(f"{final['row']} gap recovered, {name}: "
                     + (f"n/a ({why})" if gap is None else
                        f"{100 * gap:.0f}% (target >= 60%: {'met' if gap >= 0.6 else 'NOT met'})"))
    return lines


STEP_METRICS = (  # column name, lrspeech.eval.significance metric
    ("ASR CER", "char"),
    ("TTS IR", "ir"),
    ("judge CER", "judge_char"),
)
Step = Dict[str, Optional[significance.Difference]]  # column name -> difference (None: no data)


def step_intervals(rows: Sequence[Dict[str, object]]) -> List[Tuple[str, Step]]:
    """Each row against the row before it: differences with 95% paired bootstrap intervals.

    The dev utterances are resampled (the same sample for both rows); an interval that holds 0
    means the step's effect is within what the choice of dev sentences alone explains. It says
    nothing about the spread between training seeds. A row without its files gives None.
    """
    counts = {}  # (row, column) -> per-utterance counts
    for r in rows:
        files = r.get("files") or {}
        for name, metric in STEP_METRICS:
            path = Path(files[name]) if name in files else None
            counts[r["row"], name] = significance.load_counts(path, metric) \
                if path is not None and path.is_file() else None
    steps = []
    for prev, cur in zip(rows, rows[1:]):
        step: Step = {}
        for name, _ in STEP_METRICS:
            a, b = counts[prev["row"], name], counts[cur["row"], name]
            step[name] = None if a is None or b is None else significance.paired_bootstrap(a, b)
        steps.append((f"{cur['row']} vs {prev['row']}", step))
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


def markdown(rows: List[Dict[str, object]], real: Dict[str, float], seconds: Dict[str, float],
             checks: List[str], steps: Sequence[Tuple[str, Step]] = (), head: str = "") -> str:
    out = [head, ""] if head else []
    out += ["| row | ASR CER % | ASR WER % | judge CER % | TTS IR % | DNSMOS OVRL | gap recovered "
            "ASR / judge | own training (min) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dns = "n/a" if r["dnsmos_ovrl"] is None else f"{r['dnsmos_ovrl']:.2f}"
        gaps = " / ".join(pct(r.get(k)) for k in ("gap_asr_cer", "gap_judge_cer"))
        minutes = seconds.get(str(r["row"]))
        out.append(f"| {r['row']} | {pct(r['asr_cer'])} | {pct(r['asr_wer'])} | "
                   f"{pct(r['judge_cer'])} | {pct(r['ir'])} | {dns} | {gaps} | "
                   f"{'n/a' if minutes is None else f'{minutes / 60:.1f}'} |")
    out.append(f"| real dev recordings (judge ceiling) | - | - | {pct(real['judge_cer'])} | "
               f"{pct(real['ir'])} | - | - | - |")
    out += ["", f"Shared data stages 1-3 (once): {seconds.get('shared', 0.0) / 60:.1f} min.", ""]
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


# ---------------------------------------------------------------- the run


def corpus_text(a: argparse.Namespace, db_root: Path, work: Path
                ) -> Tuple[Path, Optional[Path]]:
    """The corpus's lang.yaml and unpaired text (bench/encoder.py picks them: Swahili's or a char
    config; text/bible_nt.tsv or text/suba_text.tsv); --quick on tests/data: Swahili's lang.yaml
    and the recipe's own text (None)."""
    import encoder  # bench/encoder.py

    if a.quick and a.lang_config is None and a.unpaired_text is None:
        return LANG, None
    lang = encoder.lang_config(db_root.resolve(), work, a.lang_config)
    return lang, (a.unpaired_text or encoder.text_file(db_root, None)).resolve()


def bench_options(a: argparse.Namespace, text: Optional[Path]) -> List[str]:
    """The recipe options of every run: budget (micro with --quick), tier, data, extras."""
    budget = list(QUICK_OPTS) if a.quick else list(BENCH_OPTS)
    return [*budget, *tier_opts(a.tier), "--dt_eval", "false", *data_opts(text, a.quick),
            *a.recipe_opts.split()]


def train_all(a: argparse.Namespace, recipe: Path, rows_dir: Path, db_root: Path,
              opts: Sequence[str], parts: Sequence[str] = PARTS) -> None:
    """The recipe's stages 1-7 in one run (resumed by its step markers), then the baseline and
    the topline (`parts` of them). The baseline and the topline need the recipe's stage 5
    finished (stage5_outputs: its dump, pretrained starts and fine-tuned models)."""
    if "recipe" in parts:
        run_recipe(recipe, 1, 7, opts, "recipe")
    elif not all(p.is_file() for p in stage5_outputs(recipe)):
        raise SystemExit(f"{recipe}: stage 5 has not finished; the baseline and the topline "
                         "need its data, pretrained starts and the token types of its "
                         "fine-tuned models: train the recipe first (--train_only recipe, or "
                         "no --train_only)")
    setting = Setting.of(recipe, rows_dir, opts)
    if "baseline" in parts:
        train_baseline(setting)
    if "topline" in parts:
        train_topline(setting, db_root, a.topline_max_dur)


def main(argv: Optional[List[str]] = None) -> int:
    from lrspeech.pipeline.steps import step_seconds

    p = corpus_parser(__doc__)
    p.add_argument("--tier", choices=sorted(TIERS), default="small",
                   help="ASR and TTS configs of the recipe, baseline and topline")
    p.add_argument("--lang_config", type=Path, default=None,
                   help="the corpus's lang.yaml (default: Swahili's, else a char config)")
    p.add_argument("--unpaired_text", type=Path, default=None,
                   help="unpaired sentences (id<TAB>text; default: the corpus's text/)")
    p.add_argument("--topline_max_dur", type=float, default=30.0,
                   help="the topline trains on the train clips up to this long (s)")
    p.add_argument("--dev_max_dur", type=float, default=60.0,
                   help="score the rows on the val clips up to this long (s); 0: the recipe's dev")
    p.add_argument("--recipe_opts", default="", help="extra recipe options (they win)")
    p.add_argument("--mos", choices=("all", "reference", "none"), default="all")
    p.add_argument("--quick", action="store_true", help="micro setting on tests/data")
    p.add_argument("--eval_only", action="store_true",
                   help="evaluate the rows already trained (no recipe stage, no baseline or "
                        "topline training; the judge still trains unless --judge)")
    p.add_argument("--train_only", nargs="+", choices=PARTS, default=None,
                   help="train these parts and stop (no judge, no evaluation): run the "
                        "recipe and the topline in two processes on a machine with cores to "
                        "spare, then once more without it to evaluate")
    a, db_root = parse_corpus_args(p, argv)
    if a.quick and "--tier" not in (argv or sys.argv):
        a.tier = "tiny"
    work = a.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lang, text = corpus_text(a, db_root, work)
    opts = bench_options(a, text)
    rounds = int(option(opts, "dt_rounds", recipe_options()["dt_rounds"]))
    recipe = make_recipe(work / "recipe", db_root, lang=lang, text=text)  # not "lrspeech":
    # a dir of that name in a cwd would shadow the package for `python -m lrspeech...`
    rows_dir = work / "rows"
    if a.train_only:
        if a.eval_only:
            raise SystemExit("--train_only and --eval_only exclude each other")
        train_all(a, recipe, rows_dir, db_root, opts, a.train_only)
        logger.info("trained %s; evaluate with the same command without --train_only",
                    ", ".join(a.train_only))
        return 0
    # The judge trains on the second core while the rows train (its own process).
    with ThreadPoolExecutor(max_workers=1) as pool:
        judge_job = None if a.judge else pool.submit(train_judge, work, db_root,
                                                     a.judge_epochs, a.quick, lang)
        if not a.eval_only:
            train_all(a, recipe, rows_dir, db_root, opts)
        judge = a.judge.resolve() if judge_job is None else judge_job.result()
    dev = (make_dev(work, db_root, a.dev_max_dur) if a.dev_max_dur > 0
           else recipe / "dump" / "raw" / "dev")
    with_lm = (recipe / "exp" / "lm" / "fusion.json").is_file()
    lm = lm_options(recipe) if with_lm else []
    rows: List[Dict[str, object]] = []
    results: Dict[str, Dict[str, object]] = {}
    order = rows_of(recipe, rows_dir, rounds, with_lm)
    lm_evaluations = {r.evaluation for r in order if r.lm}  # decoded with the LM too
    for row in order:
        trained = [t for t in ("asr", "tts")
                   if (row.stage_dir / t / "model" / "model.pth").is_file()]
        row_lm = lm if row.evaluation in lm_evaluations else []
        if not trained:
            logger.warning("%s: not trained yet (%s); left out", row.label, row.stage_dir)
            continue
        if trained == ["asr"]:  # the TTS trains after its ASR: the ASR columns meanwhile
            logger.warning("%s: the TTS is not trained yet; ASR columns only", row.label)
        if row.evaluation not in results:
            results[row.evaluation] = evaluate(row.stage_dir, row.evaluation, judge, work, dev,
                                               a.mos, recipe / "conf" / "lang.yaml", row_lm,
                                               asr_only=trained == ["asr"])
        rows.append(row_figures(row, results[row.evaluation], work))
        logger.info("%s: %s", row.label, rows[-1])
    real = real_speech_ir(work, judge, dev, recipe / "conf" / "lang.yaml")
    seconds = row_seconds(step_seconds(recipe / "exp"), step_seconds(rows_dir), rounds)
    complete = bool(rows) and rows[0]["row"] == "baseline" and rows[-1]["row"] == "topline"
    if complete:
        add_gaps(rows)
    steps = step_intervals(rows)
    checks = check_targets(rows, steps) if complete and len(rows) > 2 else \
        ["partial: " + ", ".join(str(r["row"]) for r in rows) + " evaluated so far"]
    head = (f"Corpus {db_root}; tier {a.tier} ({', '.join(TIERS[a.tier])}); judge {judge}; "
            f"{clip_count(dev)} dev clips")
    md = markdown(rows, real, seconds, checks, steps, head)
    (work / "results.md").write_text(md, encoding="utf-8")
    (work / "results.json").write_text(json.dumps(
        {"rows": rows, "real": real, "seconds": seconds, "judge": str(judge), "dev": str(dev),
         "db_root": str(db_root), "tier": a.tier, "recipe_opts": opts, "checks": checks,
         "steps": {label: {n: None if d is None else asdict(d) for n, d in step.items()}
                   for label, step in steps}},
        indent=2) + "\n")
    print(md)
    return 0


def clip_count(dev: Path) -> int:
    """How many clips a data dir's wav.scp lists."""
    from lrspeech.data.datadir import DataDir

    return len(DataDir.load(dev).wav_scp)


if __name__ == "__main__":
    sys.exit(main())
