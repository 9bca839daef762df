"""Benchmark: what the frozen speech encoder buys an ASR trained on 50 recorded sentences.

Usage: python bench/encoder.py --db_root ../shared/data/sw --work_dir /tmp/bench_encoder \
    [--features logmel whisper-base] [--seeds 1 2 3] [--epochs 50] [--speed]

The LRSpeech setting of a corpus in the metadata.tsv layout (lrspeech.data.lr_setting: 50 paired
utterances of the target speaker of at most --max_paired_dur s, the val split as dev). For each
feature kind and seed, the same CTC head (conf/asr/whisper_ctc_tiny.yaml: Conformer d=144,
2 blocks, 2x subsampling, SpecAugment) trains --epochs epochs on the paired utterances through
the recipe's training step, and decodes the dev clips of at most --dev_max_dur s with the CTC
prefix search. `logmel` swaps the frontend for 80-dim log-mel (10 ms hop) and scales the
frequency masks to 80 bins, with a conv2d2 stem so that the Conformer sees 50 frames per second
as on the encoder's features; a Whisper name or model dir uses that encoder, frozen. The head
is selected on 8 transcribed train clips that are neither paired nor dev.
`--speed` also measures feature extraction RTF (wall time / audio time, threads = --threads)
on 5-s and 40-s clips cut from the dev speech (`--speed_only`: that alone, into speed.json);
each cell reports the packed head's decoding RTF on raw audio (encoder included). Every cell
is kept in --work_dir and skipped when rerun. Results: results.json and results.md in
--work_dir. A corpus with a non-commercial licence (Suba) is read by path only.
"""

import argparse
import hashlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

logger = logging.getLogger("bench.encoder")
HEAD = REPO / "conf" / "asr" / "whisper_ctc_tiny.yaml"
SW_LANG = REPO / "egs" / "swahili" / "lr1" / "conf" / "lang.yaml"
TEXT_FILES = ("text/bible_nt.tsv", "text/suba_text.tsv")
LOGMEL = {"fs": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 80}
GENERIC_LANG = ("language: {name}\niso: {iso}\nespeak_voice: none\ntoken_type: char\n"
                "punctuation: strip\nnumber_normalizer: none\n")


def lang_config(db_root: Path, work: Path, given: Optional[Path]) -> Path:
    """The given lang.yaml; Swahili's for a Swahili corpus; else a generic char config."""
    if given:
        return given
    if (db_root / "text" / "bible_nt.tsv").is_file():
        return SW_LANG
    out = work / "lang.yaml"
    out.write_text(GENERIC_LANG.format(name=db_root.name, iso=db_root.name), encoding="utf-8")
    return out


def text_file(db_root: Path, given: Optional[Path]) -> Path:
    """The unpaired text: given, or the corpus's own (text/bible_nt.tsv, text/suba_text.tsv)."""
    if given:
        return given
    for name in TEXT_FILES:
        if (db_root / name).is_file():
            return db_root / name
    raise SystemExit(f"{db_root}: no {' or '.join(TEXT_FILES)}; give --text")


def make_setting(db_root: Path, work: Path, n_paired: int, max_paired_dur: float,
                 dev_max_dur: float, text: Optional[Path] = None) -> Dict[str, Path]:
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.data.datadir import DataDir
    from lrspeech.data.lr_setting import build_setting
    from lrspeech.data.ops import restrict, seeded_order

    data = work / "data"
    if not (data / "valid" / "wav.scp").is_file():
        build_setting(db_root / "metadata.tsv", text_file(db_root, text), n_paired, data,
                      max_text=100,
                      max_paired_dur=max_paired_dur)
        dev = DataDir.load(data / "dev")
        keep = [u for u in dev.utt_ids if dev.utt2dur.get(u, 0.0) <= dev_max_dur]
        restrict(dev, keep).save(data / "dev_eval")
        # Validation (model selection): 8 transcribed clips that are neither trained on nor dev.
        train = datadir_from_metadata(db_root / "metadata.tsv", split="train")
        paired = set(DataDir.load(data / "paired_hq").utt_ids)
        rest = [u for u in train.utt_ids if u not in paired
                and train.utt2dur.get(u, 0.0) <= max_paired_dur]
        restrict(train, seeded_order(rest, 0)[:8]).save(data / "valid")
    return {"train": data / "paired_hq", "valid": data / "valid", "dev": data / "dev_eval"}


def head_name(feature: str, head: Path) -> str:
    """A cell's name: the feature kind, and the head config's stem when it is not the default."""
    name = Path(feature).name
    return name if head.resolve() == HEAD.resolve() else f"{name}@{head.stem}"


def head_config(feature: str, work: Path, head: Path = HEAD) -> Path:
    """The head config for a feature kind (`logmel`, or an encoder name / dir)."""
    conf = yaml.safe_load(head.read_text(encoding="utf-8"))
    if feature == "logmel":
        conf["frontend"], conf["frontend_conf"] = "default", dict(LOGMEL)
        conf["specaug_conf"]["freq_mask_width_range"] = [0, 10]  # 64 of 512 -> 10 of 80
        conf["encoder_conf"]["input_layer"] = "conv2d2"  # 100 -> 50 frames/s, as the encoder's
    else:
        conf["frontend_conf"] = {**conf["frontend_conf"], "speech_encoder": feature}
    out = work / "conf" / f"{head_name(feature, head)}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    return out


def token_list(train: Path, lang: Path, out: Path) -> Path:
    from lrspeech.data.kaldi_files import read_mapping, write_mapping
    from lrspeech.models import train_lists
    from lrspeech.text.cleaners import normalize_for_scoring
    from lrspeech.text.lang import LangConfig

    if not out.is_file():
        cfg = LangConfig.load(lang)
        text = out.with_suffix(".text")
        write_mapping(text, {u: normalize_for_scoring(t, cfg)
                             for u, t in read_mapping(train / "text", "utterance").items()})
        train_lists.write_token_list(text, out, "char")
    return out


def run_cell(cell: Path, config: Path, setting: Dict[str, Path], lang: Path, tokens: Path,
             epochs: int, seed: int) -> Dict[str, Any]:
    """Train (or reuse) one head and score it on dev; cached in cell/result.json, reused only
    for the same head config (its SHA-256 is kept with the result)."""
    done = cell / "result.json"
    config_sha = hashlib.sha256(config.read_bytes()).hexdigest()
    if done.is_file():
        cached = json.loads(done.read_text(encoding="utf-8"))
        if cached.get("head_sha256", config_sha) != config_sha:
            raise SystemExit(f"{cell}: trained with another head config than {config}; move "
                             "the cell aside (or give this config its own name with --head)")
        if "head_sha256" not in cached:
            logger.warning("%s: cached before head configs were recorded; reused as %s", cell,
                           config)
        return cached
    from lrspeech.data.kaldi_files import read_mapping
    from lrspeech.eval.scoring import score_corpus
    from lrspeech.models.asr_decode import decode_data_dir
    from lrspeech.pipeline.training import TrainStep, run_step
    from lrspeech.text.lang import LangConfig

    start = time.time()
    model = run_step(TrainStep(task="asr", config=config, train_dirs=[setting["train"]],
                               valid_dir=setting["valid"], lang_config=lang, token_list=tokens,
                               out_dir=cell, epochs=epochs, seed=seed,
                               extra_args=["--num_att_plot", "0", "--use_tensorboard", "false"]))
    train_s = time.time() - start
    hyps, took = decode_data_dir(model, setting["dev"], cell / "decode")
    refs = read_mapping(setting["dev"] / "text", "utterance")
    score = score_corpus(refs, {h.utt: h.text for h in hyps}, LangConfig.load(lang))
    result = {"cer": score.cer, "wer": score.wer, "train_s": round(train_s, 1),
              "head_sha256": config_sha,
              "decode_rtf": round(took.rtf, 4), "dev_utts": len(refs)}
    done.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


KEEP_SHARES = (1.0, 0.9, 0.75, 0.5, 0.25)


def label_quality(cell: Path, dev: Path, lang: Path) -> Dict[str, float]:
    """CER of the dev hypotheses the per-utterance score ranks best, for each share kept: how
    well the score that the recipe's dual transformation can filter labels by ranks them."""
    from lrspeech.data.kaldi_files import read_mapping, read_scores
    from lrspeech.eval.scoring import score_corpus
    from lrspeech.pipeline.pseudo import share_threshold
    from lrspeech.text.lang import LangConfig

    refs = read_mapping(dev / "text", "utterance")
    hyps = read_mapping(cell / "decode" / "text", "utterance", allow_empty=True)
    scores = read_scores(cell / "decode" / "score")
    cfg = LangConfig.load(lang)
    out = {}
    for share in KEEP_SHARES:
        threshold = share_threshold([scores[u] for u in refs if u in scores], share)
        keep = [u for u in refs if threshold is None or scores.get(u, -np.inf) >= threshold]
        score = score_corpus({u: refs[u] for u in keep}, {u: hyps.get(u, "") for u in keep}, cfg)
        out[f"{share:g}"] = score.cer
    return out


def clips_of(dev: Path, seconds: float, n: int) -> List[np.ndarray]:
    """`n` clips of `seconds` cut from the dev speech laid end to end."""
    from lrspeech.data.audio import load_audio
    from lrspeech.data.datadir import DataDir

    dd = DataDir.load(dev)
    audio = np.concatenate([load_audio(dd.wav_scp[u], 16000)[0] for u in dd.audio_utt_ids])
    size = int(seconds * 16000)
    while len(audio) < n * size:
        audio = np.concatenate([audio, audio])
    return [audio[i * size:(i + 1) * size] for i in range(n)]


def extraction_rtf(encoder_spec: str, dev: Path, threads: int) -> Dict[str, float]:
    """Feature extraction RTF at 5-s and 40-s clips (log-mel, encoder, stitching included)."""
    from lrspeech.models.speech_encoder import SpeechEncoder

    encoder = SpeechEncoder.load(encoder_spec, threads=threads)
    encoder.encode(np.zeros(16000, np.float32))  # warm-up
    out = {}
    for seconds, n in ((5.0, 24), (40.0, 3)):
        clips = clips_of(dev, seconds, n)
        start = time.perf_counter()
        encoder.encode_many(clips)
        out[f"rtf_{int(seconds)}s"] = round((time.perf_counter() - start) / (seconds * n), 4)
    return out


def summarize(cells: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Dict[str, float]]:
    out = {}
    for feature, results in cells.items():
        cer = [r["cer"] for r in results]
        wer = [r["wer"] for r in results]
        out[feature] = {
            "cer_mean": statistics.mean(cer), "cer_sd": statistics.pstdev(cer),
            "wer_mean": statistics.mean(wer), "wer_sd": statistics.pstdev(wer),
            "seeds": len(results), "train_s_mean": statistics.mean(r["train_s"] for r in results),
            "decode_rtf_mean": statistics.mean(r["decode_rtf"] for r in results),
            "label_cer_by_share": {k: statistics.mean(r["label_cer_by_share"][k]
                                                      for r in results)
                                   for k in results[0]["label_cer_by_share"]}}
    return out


def markdown(db_root: Path, summary: Dict[str, Dict[str, float]], speed: Dict[str, Any],
             args: argparse.Namespace) -> str:
    lines = [f"Corpus {db_root}: {args.n_paired} paired utterances, {args.epochs} epochs, "
             f"seeds {' '.join(map(str, args.seeds))}", "",
             "| features | dev CER | dev WER | train s | decode RTF |", "|---|---|---|---|---|"]
    for feature, s in summary.items():
        lines.append(f"| {feature} | {100 * s['cer_mean']:.1f} ± {100 * s['cer_sd']:.1f} | "
                     f"{100 * s['wer_mean']:.1f} ± {100 * s['wer_sd']:.1f} | "
                     f"{s['train_s_mean']:.0f} | {s['decode_rtf_mean']:.3f} |")
    lines += ["", "Dev CER of the best-scored share of the hypotheses (the per-utterance score "
              "of the CTC prefix search; mean over seeds):", "",
              "| features | " + " | ".join(f"keep {k:g}" for k in KEEP_SHARES) + " |",
              "|---|" + "---|" * len(KEEP_SHARES)]
    for feature, s in summary.items():
        lines.append(f"| {feature} | " + " | ".join(
            f"{100 * s['label_cer_by_share'][f'{k:g}']:.1f}" for k in KEEP_SHARES) + " |")
    for feature, figures in speed.items():
        lines.append(f"\nFeature extraction {feature} ({args.threads} threads): " +
                     ", ".join(f"{k} {v}" for k, v in figures.items()))
    return "\n".join(lines) + "\n"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, required=True, help="corpus with metadata.tsv")
    p.add_argument("--work_dir", type=Path, required=True)
    p.add_argument("--features", nargs="+", default=["logmel", "whisper-base"],
                   help="logmel, whisper-base, whisper-small or a model dir")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--head", type=Path, default=HEAD,
                   help="the head's ESPnet ASR config (its frontend is set per feature kind)")
    p.add_argument("--n_paired", type=int, default=50)
    p.add_argument("--max_paired_dur", type=float, default=16.0)
    p.add_argument("--dev_max_dur", type=float, default=60.0)
    p.add_argument("--lang_config", type=Path, default=None)
    p.add_argument("--text", type=Path, default=None, help="unpaired text (default: the corpus's)")
    p.add_argument("--speed", action="store_true", help="also measure extraction RTF")
    p.add_argument("--threads", type=int, default=2, help="threads for the speed figures")
    p.add_argument("--speed_only", action="store_true",
                   help="only the speed figures (no training; the setting is still built)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = get_parser().parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    lang = lang_config(args.db_root, work, args.lang_config)
    setting = make_setting(args.db_root, work, args.n_paired, args.max_paired_dur,
                           args.dev_max_dur, args.text)
    tokens = token_list(setting["train"], lang, work / "tokens.txt")
    if args.speed_only:
        speed = {f: extraction_rtf(f, setting["dev"], args.threads)
                 for f in args.features if f != "logmel"}
        (work / "speed.json").write_text(json.dumps(speed, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(speed, indent=2))
        return 0
    cells: Dict[str, List[Dict[str, Any]]] = {}
    for feature in args.features:
        config = head_config(feature, work, args.head)
        name = head_name(feature, args.head)
        for seed in args.seeds:
            cell = work / "cells" / name / f"seed{seed}"
            result = run_cell(cell, config, setting, lang, tokens, args.epochs, seed)
            result = {**result, "label_cer_by_share": label_quality(cell, setting["dev"], lang)}
            logger.info("%s seed %d: dev CER %.1f%% WER %.1f%%", name, seed,
                        100 * result["cer"], 100 * result["wer"])
            cells.setdefault(name, []).append(result)
    speed = {f: extraction_rtf(f, setting["dev"], args.threads)
             for f in args.features if f != "logmel"} if args.speed else {}
    summary = summarize(cells)
    results = {"db_root": str(args.db_root), "summary": summary, "speed": speed,
               "cells": cells, "args": {k: str(v) for k, v in vars(args).items()}}
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md = markdown(args.db_root, summary, speed, args)
    (work / "results.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
