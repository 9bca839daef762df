"""Benchmark: what makes the recipe's TTS intelligible? Vocoder, duration source, labelled speech.

Usage: python bench/tts_quality.py --db_root ../shared/data/sw --work_dir /tmp/bench/ttsq_sw

Every TTS is the recipe's FastSpeech2 on the features of the universal HiFi-GAN vocoder
(conf/tts/fastspeech2_hifigan.yaml), trained by the recipe itself in copies of egs/swahili/lr1
(another corpus gets its own lang.yaml, a char one unless --lang_config, and its own unpaired
text, as bench/encoder.py picks them). LRSpeech's setting: the first 50 train clips paired,
the rest of the train split unpaired speech, the val split dev. Rows:

- enc_paired: stages 1-5 with the default ASR, a CTC head on frozen Whisper-base features; the
  TTS is fine-tuned on the paired data with durations from that ASR's forced alignment;
- logmel_paired: the same with `--speech_encoder none`: durations from the log-mel ASR;
- enc_paired_more: enc_paired trained --dt_epochs more on the paired data only, aligned by
  dual transformation's round-1 ASR (the control for the next row: same start, epochs, aligner);
- enc_labelled: dual transformation's round-1 TTS: the same epochs on the paired data plus the
  unpaired speech (cut at pauses) that the encoder ASR labelled.

Each TTS reads the dev sentences in the target voice once per vocoder (--vocoders: Griffin-Lim
and the universal HiFi-GAN V1). The judge is bench/ablation.py's (a Conformer trained on every
real train clip, never on dev; --judge gives a packed one). Columns: judge CER and WER, judge
CER over the judge's CER on the real dev recordings, DNSMOS OVRL, MCD against the real
recording (DTW), and the synthesis RTF (wall time of tts_inference with --nj workers over the
seconds of speech; model loading included). Every step keeps its output in --work_dir and is
skipped when rerun; results: work_dir/results.json and work_dir/results.md.
"""

import argparse
import dataclasses
import json
import logging
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ablation  # noqa: E402
import encoder  # noqa: E402

logger = logging.getLogger("bench.tts_quality")
PY = ablation.PY
TTS_CONFIG = REPO / "conf" / "tts" / "fastspeech2_hifigan.yaml"
VOCODERS = ("griffin_lim", "hifigan_universal")
ROWS = ("enc_paired", "logmel_paired", "enc_paired_more", "enc_labelled")


@dataclass
class Figures:
    """One TTS read by one vocoder, judged and scored against the real dev recordings."""

    row: str
    vocoder: str
    judge_cer: float
    judge_wer: float
    vs_real: float
    dnsmos_ovrl: Optional[float]
    mcd: Optional[float]
    rtf: float
    utts: int


def recipe_opts(quick: bool, epochs: Dict[str, int], extra: Sequence[str]) -> List[str]:
    """Options shared by both recipe copies: the HiFi-GAN feature tier, one DT round (with
    --quick, the micro options of bench/ablation.py)."""
    opts = list(ablation.QUICK_OPTS) if quick else [
        "--pretrain_epochs", str(epochs["pretrain"]),
        "--pretrain_tts_epochs", str(epochs["pretrain"]),
        "--finetune_epochs", str(epochs["finetune"]),
        "--finetune_tts_epochs", str(epochs["finetune"]), "--dt_epochs", str(epochs["dt"]),
        "--train_args", "", "--tts_vocoder", "griffin_lim"]
    if "--dt_rounds" in opts:
        i = opts.index("--dt_rounds")
        del opts[i:i + 2]
    return opts + ["--tts_config", str(TTS_CONFIG), "--dt_rounds", "1", "--dt_eval", "false",
                   *extra]


def train_control(recipe: Path, opts: Sequence[str]) -> None:
    """enc_paired_more: the fine-tuned TTS, --dt_epochs more on the paired data only, with
    durations from dual transformation's round-1 ASR (ablation.train_tts: the pipeline's
    align and training steps, markers under exp/.done as control.align and control.tts)."""
    setting = ablation.Setting.of(recipe, recipe / "exp", opts)
    epochs = int(ablation.option(opts, "dt_epochs", ablation.recipe_options()["dt_epochs"]))
    setting = dataclasses.replace(setting, epochs=epochs, tts_epochs=epochs)
    ablation.train_tts(setting, "control", [setting.paired],
                       recipe / "exp" / "dt" / "round1" / "asr" / "model",
                       recipe / "exp" / "finetune" / "tts" / "model")


def row_models(work: Path) -> Dict[str, Path]:
    """Where each row's TTS is, keyed by row."""
    enc, logmel = work / "enc" / "exp", work / "logmel" / "exp"
    return {"enc_paired": enc / "finetune" / "tts" / "model",
            "logmel_paired": logmel / "finetune" / "tts" / "model",
            "enc_paired_more": enc / "control" / "tts" / "model",
            "enc_labelled": enc / "dt" / "round1" / "tts" / "model"}


def trained_rows(work: Path) -> Dict[str, Path]:
    """The rows' TTS as already trained in work_dir (--eval_only); names a missing one."""
    models = row_models(work)
    missing = [f"{row} ({m})" for row, m in models.items() if not (m / "model.pth").exists()]
    if missing:
        raise SystemExit(f"--eval_only: no trained TTS for {', '.join(missing)}; "
                         "run without --eval_only first")
    return models


def train_rows(work: Path, db_root: Path, lang: Path, text: Path, opts: Sequence[str],
               quick: bool, times: Dict[str, float]) -> Dict[str, Path]:
    """The four TTS of the rows (recipe copies enc and logmel), keyed by row."""
    enc = ablation.make_recipe(work / "enc", db_root, lang=lang, text=text)
    logmel = ablation.make_recipe(work / "logmel", db_root, lang=lang, text=text)
    extra = ablation.data_opts(text, quick)
    for stage in range(1, 7):
        ablation.run_stage(enc, stage, [*opts, *extra], times, f"enc.stage{stage}")
    t0 = time.time()
    train_control(enc, opts)
    times.setdefault("enc.control", round(time.time() - t0, 1))
    for stage in range(1, 6):
        ablation.run_stage(logmel, stage, [*opts, *extra, "--speech_encoder", "none"], times,
                           f"logmel.stage{stage}")
    return row_models(work)


def labelled_share(work: Path) -> Dict[str, object]:
    """What dual transformation's round 1 gave the TTS: labels kept, their dev CER."""
    path = work / "enc" / "exp" / "dt" / "round1" / "labels.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def speech_seconds(data_dir: Path) -> float:
    """Total duration of a data dir's wavs (utt2dur if present, else read from the files)."""
    from lrspeech.data.datadir import DataDir

    dd = DataDir.load(data_dir)
    if dd.utt2dur:
        return float(sum(dd.utt2dur.values()))
    import soundfile as sf

    return float(sum(sf.info(p).duration for p in dd.wav_scp.values()))


def synthesize(model: Path, dev: Path, out: Path, vocoder: str, nj: int) -> float:
    """The dev sentences read by `model` with `vocoder` into `out`; returns the RTF."""
    stamp = out / "rtf.json"
    if stamp.exists() and json.loads(stamp.read_text())["model_mtime"] == \
            (model / "model.pth").stat().st_mtime:
        return float(json.loads(stamp.read_text())["rtf"])
    t0 = time.time()
    cmd = [PY, "-m", "lrspeech.bin.tts_inference", "--model_dir", str(model), "--text_dir",
           str(dev), "--out_dir", str(out / "data"), "--speaker", "target", "--vocoder", vocoder,
           "--nj", str(nj), "--min_seconds", "0"]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "synth.log", "w", encoding="utf-8") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise RuntimeError(f"synthesis with {model} ({vocoder}) failed; see {out / 'synth.log'}")
    took = time.time() - t0
    rtf = took / max(speech_seconds(out / "data"), 1e-6)
    stamp.write_text(json.dumps({"rtf": rtf, "wall_s": took,
                                 "model_mtime": (model / "model.pth").stat().st_mtime}))
    return rtf


def judge_and_score(wavs: Path, dev: Path, judge: Path, lang: Path, out: Path,
                    mos: bool) -> Dict[str, Optional[float]]:
    """Judge CER/WER (eval_ir) and DNSMOS OVRL and MCD against the real dev clips (eval_mos)."""
    if not (out / "ir" / "ir.json").exists():
        subprocess.run([PY, "-m", "lrspeech.bin.eval_ir", "--judge", str(judge), "--text",
                        str(dev), "--wav_dir", str(wavs), "--out_dir", str(out / "ir"),
                        "--lang_config", str(lang)], check=True, stdout=subprocess.DEVNULL)
    ir = json.loads((out / "ir" / "ir.json").read_text(encoding="utf-8"))
    res: Dict[str, Optional[float]] = {"judge_cer": ir["judge_cer"], "judge_wer": ir["judge_wer"],
                                       "utts": ir["num_utts"], "dnsmos_ovrl": None, "mcd": None}
    if not mos:
        return res
    if not (out / "mos" / "mos.json").exists():
        subprocess.run([PY, "-m", "lrspeech.bin.eval_mos", "--wav_dir", str(wavs), "--ref_dir",
                        str(dev), "--out_dir", str(out / "mos")], check=True,
                       stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "mos" / "mos.json").read_text(encoding="utf-8"))["metrics"]
    res["dnsmos_ovrl"] = (metrics.get("dnsmos_ovrl") or {}).get("mean")
    res["mcd"] = (metrics.get("mcd") or {}).get("mean")
    return res


def real_ceiling(dev: Path, judge: Path, lang: Path, work: Path, mos: bool) -> Dict:
    """The judge and DNSMOS on the real dev recordings (MCD against themselves is 0: left out)."""
    res = judge_and_score(dev, dev, judge, lang, work / "eval" / "real", False)
    if mos:
        out = work / "eval" / "real" / "mos"
        if not (out / "mos.json").exists():
            subprocess.run([PY, "-m", "lrspeech.bin.eval_mos", "--wav_dir", str(dev),
                            "--out_dir", str(out)], check=True, stdout=subprocess.DEVNULL)
        metrics = json.loads((out / "mos.json").read_text(encoding="utf-8"))["metrics"]
        res["dnsmos_ovrl"] = (metrics.get("dnsmos_ovrl") or {}).get("mean")
    return res


def evaluate(models: Dict[str, Path], vocoders: Sequence[str], dev: Path, judge: Path,
             lang: Path, work: Path, real_cer: float, nj: int, mos: bool) -> List[Figures]:
    """Every row's TTS read by every vocoder."""
    out: List[Figures] = []
    for row, model in models.items():
        for voc in vocoders:
            cell = work / "eval" / row / voc
            rtf = synthesize(model, dev, cell / "synth", voc, nj)
            r = judge_and_score(cell / "synth" / "data", dev, judge, lang, cell, mos)
            out.append(Figures(row, voc, r["judge_cer"], r["judge_wer"],
                               r["judge_cer"] / max(real_cer, 1e-9), r["dnsmos_ovrl"], r["mcd"],
                               rtf, int(r["utts"])))
            logger.info("%s", out[-1])
    return out


def fmt(x: Optional[float], pct: bool = False, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else f"{x:.{digits}f}"


def markdown(figs: Sequence[Figures], real: Dict, labels: Dict, corpus: str,
             times: Dict[str, float]) -> str:
    """The results table, the real-speech ceiling and what the labelled data was."""
    lines = [f"Corpus {corpus}; judge CER on the real dev recordings: "
             f"{fmt(real['judge_cer'], True)} (WER {fmt(real['judge_wer'], True)}, DNSMOS OVRL "
             f"{fmt(real.get('dnsmos_ovrl'))}, {real['utts']} clips)", "",
             "| TTS | vocoder | judge CER | judge WER | / real | DNSMOS OVRL | MCD (dB) | RTF |",
             "|---|---|---|---|---|---|---|---|"]
    for f in figs:
        lines.append(f"| {f.row} | {f.vocoder} | {fmt(f.judge_cer, True)} | "
                     f"{fmt(f.judge_wer, True)} | {f.vs_real:.2f}x | {fmt(f.dnsmos_ovrl)} | "
                     f"{fmt(f.mcd)} | {fmt(f.rtf, digits=3)} |")
    if labels:
        lines += ["", f"enc_labelled's unpaired speech: {labels.get('kept')} of "
                  f"{labels.get('total')} pieces labelled and kept; the same ASR reads dev at "
                  f"{fmt(labels.get('dev_cer_kept'), True)} CER"]
    if times:
        lines += ["", "Training wall time (s): " + ", ".join(f"{k} {v:.0f}"
                                                             for k, v in sorted(times.items()))]
    return "\n".join(lines) + "\n"


def train_all(a: argparse.Namespace, work: Path, db_root: Path, lang: Path, text: Path,
              opts: Sequence[str], times: Dict[str, float]) -> Tuple[Dict[str, Path], Path]:
    """The rows' TTS and (unless --judge) the judge, which trains on the second core."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        judge_job = None if a.judge else pool.submit(ablation.train_judge, work, db_root,
                                                     a.judge_epochs, a.quick, lang)
        try:
            models = train_rows(work, db_root, lang, text, opts, a.quick, times)
        finally:
            (work / "times.json").write_text(json.dumps(times, indent=2) + "\n")
        judge = a.judge.resolve() if judge_job is None else judge_job.result()
    return models, judge


def main(argv: Optional[List[str]] = None) -> int:
    p = ablation.corpus_parser(__doc__)
    p.add_argument("--lang_config", type=Path, default=None,
                   help="the corpus's lang.yaml (default: Swahili's, else a char config)")
    p.add_argument("--unpaired_text", type=Path, default=None,
                   help="unpaired sentences (id<TAB>text; default: the corpus's text/)")
    p.add_argument("--pretrain_epochs", type=int, default=8)
    p.add_argument("--finetune_epochs", type=int, default=20)
    p.add_argument("--dt_epochs", type=int, default=6)
    p.add_argument("--recipe_opts", default="", help="extra recipe options for every stage")
    p.add_argument("--vocoders", nargs="+", default=list(VOCODERS), choices=VOCODERS)
    p.add_argument("--dev_max_dur", type=float, default=60.0,
                   help="score on the val clips up to this long (s)")
    p.add_argument("--nj", type=int, default=2, help="synthesis workers")
    p.add_argument("--no_mos", action="store_true", help="judge only (no DNSMOS, no MCD)")
    p.add_argument("--quick", action="store_true", help="micro setting on tests/data")
    p.add_argument("--eval_only", action="store_true",
                   help="evaluate the TTS already trained in --work_dir; run no recipe stage "
                        "(needs --judge)")
    a, db_root = ablation.parse_corpus_args(p, argv)
    if a.eval_only and a.judge is None:
        p.error("--eval_only needs --judge (a packed judge ASR)")
    db_root = db_root.resolve()
    work = a.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lang = encoder.lang_config(db_root, work, a.lang_config)
    text = (a.unpaired_text or encoder.text_file(db_root, None)).resolve()
    epochs = {"pretrain": a.pretrain_epochs, "finetune": a.finetune_epochs, "dt": a.dt_epochs}
    opts = recipe_opts(a.quick, epochs, a.recipe_opts.split())
    times_file = work / "times.json"
    times: Dict[str, float] = json.loads(times_file.read_text()) if times_file.exists() else {}
    if a.eval_only:
        models, judge = trained_rows(work), a.judge.resolve()
    else:
        models, judge = train_all(a, work, db_root, lang, text, opts, times)
    dev = ablation.make_dev(work, db_root, a.dev_max_dur)
    real = real_ceiling(dev, judge, lang, work, not a.no_mos)
    figs = evaluate(models, a.vocoders, dev, judge, lang, work, real["judge_cer"], a.nj,
                    not a.no_mos)
    labels = labelled_share(work)
    md = markdown(figs, real, labels, str(db_root), times)
    (work / "results.md").write_text(md, encoding="utf-8")
    (work / "results.json").write_text(json.dumps(
        {"rows": [asdict(f) for f in figs], "real": real, "labels": labels, "times_s": times,
         "judge": str(judge), "dev": str(dev), "db_root": str(db_root), "recipe_opts": opts},
        indent=2) + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
