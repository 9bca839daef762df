"""Benchmark: does MixSpeech lower the ASR's CER? No augmentation, SpecAugment, MixSpeech, both.

Usage: python bench/mixspeech.py --recipe_dir egs/swahili/lr1 --seeds 1 2 3 --epochs 10 \
    --work_dir /tmp/bench_mixspeech

Issue #7: on the ASR of the paired + pseudo-labelled data, train four variants of one ESPnet
config (default conf/asr/transformer_tiny.yaml) with the SAME data, epochs, initial weights
and seed per cell:

  none       no SpecAugment, model: espnet
  specaug    SpecAugment (the config's own specaug_conf, else conf/asr/transformer_paper.yaml's)
  mixspeech  model: mixspeech (lrspeech/models/mixspeech.py; model_conf mix_alpha/mix_share)
  both       SpecAugment + MixSpeech

Each cell trains through the toolkit's training entry (`python -m lrspeech.bin.train_model`,
one process per cell, its log in the cell dir), decodes the dev dir with the toolkit's
inference (lrspeech.models.asr_decode, CTC-only by default as in the recipe) and is scored by
lrspeech.eval.scoring with the language config's normalization. The figures: dev CER mean and
standard deviation over seeds, the per-seed CERs, WER, training wall time, and the relative
CER change of mixspeech and both against specaug alone. Target: MixSpeech at least 5%
relative below SpecAugment alone (the paper reports 10.6% on TIMIT).

`--recipe_dir` fills the data from a finished recipe run: train = dump/raw/paired_hq +
exp/dt/round1/tts_pairs (`--round`), valid = dump/raw/dev, lang config = conf/lang.yaml
(else the init model's lang.yaml), tokens = dump/token/target_asr_tokens.txt, init =
exp/finetune/asr/model. Audio paths in wav.scp that are relative, or absolute but gone (a
recipe dir that was moved), are resolved against `--audio_root` (default: the recipe dir);
the resolved data dirs are written into the work dir. `--quick` (2 seeds, 2 epochs, the
Swahili clips of tests/data when no data is given) checks that everything runs; its figures
mean nothing. Every cell is kept in work_dir/cells/<variant>/seed<N> and skipped when rerun;
results go to work_dir/results.json and work_dir/results.md. Arguments after `--` go to
ESPnet's trainer in every cell (e.g. -- --batch_size 16).
"""

import argparse
import copy
import csv
import hashlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.mixspeech")
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
PAPER_CONFIG = REPO / "conf" / "asr" / "transformer_paper.yaml"  # its specaug_conf
TEST_DATA = REPO / "tests" / "data" / "sw"
TEST_LANG = REPO / "conf" / "lang" / "sw.yaml"
VARIANTS = ("none", "specaug", "mixspeech", "both")
TARGET = -0.05  # relative CER change of mixspeech vs specaug alone


# ---------------------------------------------------------------- setting


@dataclass
class Setting:
    """What every cell shares; a work dir holds the cells of one setting only."""

    sources: List[str]  # the data dirs as given (train..., valid)
    train_dirs: List[str]  # their copies with resolved audio paths
    valid_dir: str
    lang_config: str
    token_list: str
    init: Optional[str]
    config: str
    config_sha1: str
    epochs: int
    mix_conf: Dict[str, float] = field(default_factory=dict)
    espnet_args: List[str] = field(default_factory=list)
    ctc_weight: float = 1.0
    beam_size: int = 10

    def fingerprint(self) -> Dict[str, Any]:
        return asdict(self)


def check_setting(work: Path, setting: Setting) -> None:
    """Refuse to mix cells of different settings in one work dir (seeds may be added)."""
    path = work / "setting.json"
    new = setting.fingerprint()
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            raise SystemExit(f"{path}: this work dir holds cells of another setting (changed: "
                             f"{', '.join(changed)}); use a new --work_dir or delete it")
        return
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- data


def resolve_audio_path(path: str, roots: Sequence[Path]) -> Optional[str]:
    """An existing file for a wav.scp path, or None.

    Pipes (`cmd |`) and existing absolute paths stay as they are; a relative path is tried
    under each root; an absolute path that is gone (the recipe dir was moved) is tried as the
    longest tail of its components that exists under a root (`/old/lr1/dump/raw/x.wav` ->
    `<root>/dump/raw/x.wav`).
    """
    if path.rstrip().endswith("|"):
        return path
    p = Path(path)
    if p.is_absolute() and p.is_file():
        return path
    parts = p.parts[1:] if p.is_absolute() else p.parts
    for start in range(len(parts)):
        for root in roots:
            candidate = Path(root, *parts[start:])
            if candidate.is_file():
                return str(candidate.resolve())
        if not p.is_absolute():
            break  # a relative path is only tried whole
    return None


def resolve_data_dir(src: Path, out: Path, roots: Sequence[Path]) -> Path:
    """Copy a data dir's files with every wav.scp path resolved (see resolve_audio_path)."""
    if (out / "wav.scp").is_file():
        return out
    from lrspeech.data.atomic import atomic_dir
    from lrspeech.data.kaldi_files import read_mapping_entries, write_mapping

    resolved, moved = {}, 0
    scp = src / "wav.scp"
    for utt, entry in read_mapping_entries(scp, "utterance").items():
        found = resolve_audio_path(entry.value, roots)
        if found is None:
            raise SystemExit(f"{scp}:{entry.line}: utterance '{utt}': no audio at "
                             f"{entry.value!r} (also tried under {', '.join(map(str, roots))}); "
                             "give --audio_root <dir the paths are relative to>")
        moved += found != entry.value
        resolved[utt] = found
    with atomic_dir(out) as tmp:
        for f in src.iterdir():
            if f.is_file() and f.name != "wav.scp":
                shutil.copyfile(f, tmp / f.name)
        write_mapping(tmp / "wav.scp", resolved)
    if moved:
        logger.info("%s: %d of %d audio paths resolved under %s", src, moved, len(resolved),
                    ", ".join(map(str, roots)))
    return out


def test_data_dirs(work: Path) -> Tuple[List[Path], Path]:
    """--quick without data: the Swahili clips of tests/data (train rows / val rows)."""
    with open(TEST_DATA / "metadata.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out = {}
    for split in ("train", "val"):
        d = work / "data" / f"tests_sw_{split}"
        d.mkdir(parents=True, exist_ok=True)
        mine = sorted((r for r in rows if r["split"] == split), key=lambda r: r["id"])
        for name, key in (("wav.scp", "audio"), ("text", "text"), ("utt2spk", "speaker")):
            value = (lambda r: str(TEST_DATA / r["audio"])) if key == "audio" else \
                (lambda r, k=key: r[k])
            (d / name).write_text("".join(f"{r['id']} {value(r)}\n" for r in mine),
                                  encoding="utf-8")
        out[split] = d
    return [out["train"]], out["val"]


def from_recipe(a: argparse.Namespace) -> None:
    """Fill the data arguments the user left out from a finished recipe dir."""
    r = a.recipe_dir.resolve()
    if not a.train_dirs:
        pairs = r / "exp" / "dt" / f"round{a.round}" / "tts_pairs"
        if not (pairs / "text").is_file():
            raise SystemExit(f"{pairs}/text: missing; give --round N of a finished dual "
                             "transformation round, or --train_dirs")
        a.train_dirs = [r / "dump" / "raw" / "paired_hq", pairs]
    a.valid_dir = a.valid_dir or r / "dump" / "raw" / "dev"
    init = r / "exp" / "finetune" / "asr" / "model"
    if a.init is None and (init / "meta.json").is_file():
        a.init = init
    if a.lang_config is None:
        for cand in (r / "conf" / "lang.yaml", (a.init or init) / "lang.yaml"):
            if cand.is_file():
                a.lang_config = cand
                break
    tokens = r / "dump" / "token" / "target_asr_tokens.txt"
    if a.token_list is None and tokens.is_file():
        a.token_list = tokens
    if a.audio_root is None:
        a.audio_root = [r]


def build_token_list(train_dirs: Sequence[Path], lang: Path, out: Path) -> Path:
    """ESPnet char list of the normalized training text (as the recipe's ASR trains on)."""
    from lrspeech.data.kaldi_files import read_mapping, write_mapping
    from lrspeech.models import train_lists
    from lrspeech.text.cleaners import normalize_for_scoring
    from lrspeech.text.lang import LangConfig

    if out.is_file():
        return out
    cfg = LangConfig.load(lang)
    text = out.with_suffix(".text")
    normalized = {}
    for d in train_dirs:
        for utt, value in read_mapping(d / "text", "utterance").items():
            normalized[utt] = normalize_for_scoring(value, cfg)
    write_mapping(text, normalized)
    return train_lists.write_token_list(text, out, "char")


# ---------------------------------------------------------------- variants


def variant_config(base: Dict[str, Any], variant: str, specaug_conf: Dict[str, Any],
                   mix_conf: Dict[str, float]) -> Dict[str, Any]:
    """The base ESPnet config with SpecAugment and MixSpeech switched per variant.

    Everything else stays as in the base config. MixSpeech keys are added to model_conf
    only where the variant mixes, so `none`/`specaug` run ESPnet's own model unchanged.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: one of {', '.join(VARIANTS)}")
    conf = copy.deepcopy(base)
    conf.pop("specaug", None)
    conf.pop("specaug_conf", None)
    if variant in ("specaug", "both"):
        conf["specaug"] = "specaug"
        conf["specaug_conf"] = copy.deepcopy(specaug_conf)
    model_conf = {k: v for k, v in (conf.get("model_conf") or {}).items()
                  if k not in ("mix_alpha", "mix_share")}
    if variant in ("mixspeech", "both"):
        conf["model"] = "mixspeech"
        model_conf.update(mix_conf)
    elif conf.get("model") == "mixspeech":
        conf["model"] = "espnet"
    conf["model_conf"] = model_conf
    return conf


def default_specaug(base: Dict[str, Any]) -> Dict[str, Any]:
    """The config's own SpecAugment settings, else the toolkit's paper config's."""
    if base.get("specaug") and base.get("specaug_conf"):
        return base["specaug_conf"]
    return yaml.safe_load(PAPER_CONFIG.read_text(encoding="utf-8"))["specaug_conf"]


def write_configs(config: Path, work: Path, mix_conf: Dict[str, float]) -> Dict[str, Path]:
    base = yaml.safe_load(config.read_text(encoding="utf-8"))
    spec = default_specaug(base)
    out = {}
    for v in VARIANTS:
        path = work / "conf" / f"{v}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = yaml.safe_dump(variant_config(base, v, spec, mix_conf), sort_keys=False)
        path.write_text(f"# bench/mixspeech.py variant '{v}' of {config}\n{body}",
                        encoding="utf-8")
        out[v] = path
    return out


# ---------------------------------------------------------------- cells


def train_cell(cell: Path, config: Path, s: Setting, seed: int) -> Dict[str, Any]:
    """Train one cell through `python -m lrspeech.bin.train_model`; its wall time."""
    marker = cell / "train.json"
    if marker.is_file() and (cell / "model" / "meta.json").is_file():
        return json.loads(marker.read_text(encoding="utf-8"))
    cmd = [sys.executable, "-m", "lrspeech.bin.train_model", "--task", "asr",
           "--config", str(config), "--train", *s.train_dirs, "--valid", s.valid_dir,
           "--lang_config", s.lang_config, "--token_list", s.token_list, "--token_type", "char",
           "--out_dir", str(cell), "--epochs", str(s.epochs), "--seed", str(seed)]
    if s.init:
        cmd += ["--init", s.init]
    cmd += ["--", "--ngpu", "0", "--use_tensorboard", "false", *s.espnet_args]
    cell.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(cell / "train.log", "a", encoding="utf-8") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    if rc != 0:
        raise SystemExit(f"{cell}: training failed (exit {rc}); see {cell / 'train.log'}")
    info = {"train_s": round(time.time() - start, 1), "epochs": s.epochs, "seed": seed}
    marker.write_text(json.dumps(info) + "\n", encoding="utf-8")
    return info


def decode_score(model: Path, data_dir: Path, out: Path, lang_config: Path,
                 options: Any) -> Dict[str, Any]:
    """Decode `data_dir` with a packed ASR (`options`: lrspeech.models.asr_decode.AsrOptions)
    and score it against its text; cached in out/score.json (corpus rates, per-utterance counts
    for lrspeech.eval.significance, decoding seconds)."""
    path = out / "score.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    from lrspeech.data.kaldi_files import read_mapping
    from lrspeech.eval.scoring import score_corpus
    from lrspeech.models.asr_decode import decode_data_dir
    from lrspeech.text.lang import LangConfig

    hyps, took = decode_data_dir(model, data_dir, out / "decode", options)
    refs = read_mapping(Path(data_dir, "text"), "utterance")
    result = score_corpus(refs, {h.utt: h.text for h in hyps},
                          LangConfig.load(lang_config)).to_dict()
    result["decode_s"] = round(took.seconds, 1)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def score_model(model: Path, out: Path, s: Setting) -> Dict[str, Any]:
    """Decode the dev dir with a packed ASR as the setting decodes, and score it."""
    from lrspeech.models.asr_decode import AsrOptions

    options = AsrOptions(beam_size=s.beam_size, ctc_weight=s.ctc_weight)
    return decode_score(model, Path(s.valid_dir), out, Path(s.lang_config), options)


def run_cell(work: Path, variant: str, config: Path, s: Setting, seed: int) -> Dict[str, Any]:
    cell = work / "cells" / variant / f"seed{seed}"
    info = train_cell(cell, config, s, seed)
    logger.info("%s seed %d: trained in %.0f s; decoding dev", variant, seed, info["train_s"])
    result = {**info, **score_model(cell / "model", cell, s)}
    logger.info("%s seed %d: dev CER %.2f%%, WER %.2f%%", variant, seed, 100 * result["cer"],
                100 * result["wer"])
    return result


# ---------------------------------------------------------------- summary


def summarize(cells: Dict[str, Dict[int, Dict[str, Any]]]) -> Dict[str, Any]:
    """Per variant: CER mean/std over seeds, per-seed CERs, WER mean, train time; and the
    relative CER change of mixspeech and both vs specaug (paired by seed for the win count).
    """
    out: Dict[str, Any] = {"variants": {}}
    for v, by_seed in cells.items():
        seeds = sorted(by_seed)
        cers = [by_seed[k]["cer"] for k in seeds]
        out["variants"][v] = {
            "seeds": seeds, "cer": cers, "cer_mean": statistics.mean(cers),
            "cer_std": statistics.stdev(cers) if len(cers) > 1 else 0.0,
            "wer_mean": statistics.mean(by_seed[k]["wer"] for k in seeds),
            "train_s_mean": statistics.mean(by_seed[k]["train_s"] for k in seeds)}
    ref = out["variants"].get("specaug")
    for v in ("mixspeech", "both"):
        mine = out["variants"].get(v)
        if not ref or not mine or ref["cer_mean"] == 0:
            continue
        common = sorted(set(ref["seeds"]) & set(mine["seeds"]))
        wins = sum(cells[v][k]["cer"] < cells["specaug"][k]["cer"] for k in common)
        rel = mine["cer_mean"] / ref["cer_mean"] - 1.0
        out[f"{v}_vs_specaug"] = {"relative_cer_change": rel, "target": TARGET,
                                  "target_met": rel <= TARGET, "lower_in_seeds": wins,
                                  "seeds_compared": len(common)}
    return out


def markdown(summary: Dict[str, Any], init: Optional[Dict[str, Any]]) -> str:
    lines = ["| variant | dev CER, mean ± std (points) | per-seed CER | dev WER mean | "
             "training wall time per run (incl. startup, stats) |",
             "|---|---|---|---|---|"]
    if init:
        lines.append(f"| init model (no training here) | {100 * init['cer']:.1f}% | - | "
                     f"{100 * init['wer']:.1f}% | - |")
    for v, r in summary["variants"].items():
        per_seed = ", ".join(f"{100 * c:.1f}" for c in r["cer"])
        lines.append(f"| {v} | {100 * r['cer_mean']:.1f}% ± {100 * r['cer_std']:.1f} | "
                     f"{per_seed} | {100 * r['wer_mean']:.1f}% | {r['train_s_mean']:.0f} s |")
    lines.append("")
    for v in ("mixspeech", "both"):
        c = summary.get(f"{v}_vs_specaug")
        if c:
            met = "met" if c["target_met"] else "not met"
            lines.append(f"- {v} vs specaug alone: CER {100 * c['relative_cer_change']:+.1f}% "
                         f"relative (target <= {100 * c['target']:.0f}%: {met}); lower in "
                         f"{c['lower_in_seeds']} of {c['seeds_compared']} seeds")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work_dir", type=Path, default=Path("/tmp/bench_mixspeech"))
    p.add_argument("--quick", action="store_true",
                   help="2 seeds, 2 epochs (tests/data clips without data): checks it runs")
    p.add_argument("--recipe_dir", type=Path, help="finished recipe dir: fills the data args")
    p.add_argument("--round", type=int, default=1,
                   help="with --recipe_dir: pseudo-labelled speech of this dual-transformation "
                   "round (exp/dt/round<N>/tts_pairs, labelled by the ASR that --init is)")
    p.add_argument("--train_dirs", type=Path, nargs="+", help="training data dirs (combined)")
    p.add_argument("--valid_dir", type=Path, help="dev data dir (validation and scoring)")
    p.add_argument("--lang_config", type=Path, help="the language's lang.yaml")
    p.add_argument("--token_list", type=Path,
                   help="ESPnet char token list (default: the init model's, else built)")
    p.add_argument("--init", type=Path, help="packed model dir or .pth to start every cell from")
    p.add_argument("--audio_root", type=Path, nargs="+",
                   help="dirs relative wav.scp paths are under (default: recipe dir, else cwd)")
    p.add_argument("--config", type=Path, default=ASR_CONFIG, help="base ESPnet ASR config")
    p.add_argument("--seeds", type=int, nargs="+", help="default 1 2 3 (quick: 1 2)")
    p.add_argument("--epochs", type=int, help="ESPnet --max_epoch per cell (default 10, quick 2)")
    p.add_argument("--mix_alpha", type=float, help="MixSpeech Beta(a, a) (default: the model's)")
    p.add_argument("--mix_share", type=float, help="share of a batch mixed (default: model's)")
    p.add_argument("--ctc_weight", type=float, default=1.0, help="decoding (1.0: CTC only)")
    p.add_argument("--beam_size", type=int, default=10)
    return p


def prepare(a: argparse.Namespace) -> Tuple[Setting, Path]:
    work = a.work_dir.resolve()
    if a.recipe_dir:
        from_recipe(a)
    if a.quick and not a.train_dirs:
        a.train_dirs, a.valid_dir = test_data_dirs(work)
        a.lang_config = a.lang_config or TEST_LANG
    if not a.train_dirs or not a.valid_dir or not a.lang_config:
        raise SystemExit("give --recipe_dir, or --train_dirs, --valid_dir and --lang_config")
    roots = [r.resolve() for r in (a.audio_root or [Path.cwd()])]
    names = [f"train{i}_{d.name}" for i, d in enumerate(a.train_dirs)]
    names.append(f"valid_{a.valid_dir.name}")
    dirs = [resolve_data_dir(d.resolve(), work / "data" / n, roots)
            for d, n in zip([*a.train_dirs, a.valid_dir], names)]
    init = a.init.resolve() if a.init else None
    if a.token_list is None and init is not None and (init / "tokens.txt").is_file():
        a.token_list = init / "tokens.txt"
    tokens = (a.token_list.resolve() if a.token_list
              else build_token_list(dirs[:-1], a.lang_config, work / "tokens.txt"))
    mix = {k: v for k, v in (("mix_alpha", a.mix_alpha), ("mix_share", a.mix_share))
           if v is not None}
    config = a.config.resolve()
    s = Setting(sources=[str(d.resolve()) for d in (*a.train_dirs, a.valid_dir)],
                train_dirs=[str(d) for d in dirs[:-1]], valid_dir=str(dirs[-1]),
                lang_config=str(a.lang_config.resolve()), token_list=str(tokens),
                init=str(init) if init else None, config=str(config),
                config_sha1=hashlib.sha1(config.read_bytes()).hexdigest(),
                epochs=a.epochs or (2 if a.quick else 10), mix_conf=mix,
                espnet_args=a.espnet_args, ctc_weight=a.ctc_weight, beam_size=a.beam_size)
    check_setting(work, s)
    return s, work


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    argv = list(sys.argv[1:] if argv is None else argv)
    own, espnet_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    a = get_parser().parse_args(own)
    a.espnet_args = espnet_args
    seeds = a.seeds or ([1, 2] if a.quick else [1, 2, 3])
    s, work = prepare(a)
    configs = write_configs(Path(s.config), work, s.mix_conf)
    logger.info("%d cells: %s x seeds %s, %d epochs each; work dir %s", len(VARIANTS) *
                len(seeds), "/".join(VARIANTS), seeds, s.epochs, work)
    init_score = None
    if s.init and (Path(s.init) / "meta.json").is_file():
        init_score = score_model(Path(s.init), work / "init", s)
    cells: Dict[str, Dict[int, Dict[str, Any]]] = {v: {} for v in VARIANTS}
    for seed in seeds:  # seed-major: a stopped run leaves whole seeds, comparable across variants
        for v in VARIANTS:
            cells[v][seed] = run_cell(work, v, configs[v], s, seed)
    summary = summarize(cells)
    table = markdown(summary, init_score)
    results = {"setting": s.fingerprint(), "seeds": seeds, "init": init_score,
               "cells": {v: {str(k): r for k, r in c.items()} for v, c in cells.items()},
               **summary}
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (work / "results.md").write_text(table, encoding="utf-8")
    print(f"dev {s.valid_dir}; train {' + '.join(s.train_dirs)}; {s.epochs} epochs per cell")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
