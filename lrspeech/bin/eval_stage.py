"""Evaluate one stage's ASR and TTS on a dev set in one process (recipe stages 6 and 8).

Usage: python -m lrspeech.bin.eval_stage --stage_dir exp/dt/round1 --data_dir dump/raw/dev \
    --judge exp/kd/asr/model --lang_config conf/lang.yaml --out_dir exp/eval/dt_round1 \
    --collect exp/eval/dt_round1.json --label dt_round1 --data "+ dual transformation round 1"

The ASR of <stage_dir>/asr/model decodes the dev speech (CER/WER against its text; with --lm,
a second time with the LM by shallow fusion, reported beside it); the TTS of
<stage_dir>/tts/model reads the dev sentences in the target voice; the judge ASR transcribes
them (intelligibility rate, judge CER) and the MOS proxies score them. These are the same
steps as asr_inference, score_asr, tts_inference, eval_ir, eval_mos and make_report --collect,
run in one process so that ESPnet is imported once (dev sets are small: one worker; a
fork after the first model has run torch ops would not be safe). Output layout under --out_dir:
asr/{text,score}, asr_score/score.json, tts/data (wav.scp, wav/, attention.json),
ir/ir.json, mos/mos.json; the stage result JSON is written last, atomically, to --collect,
with the clips every step of the stage and of this evaluation left out (skipped.json files
under --stage_dir and --out_dir, lrspeech.data.skips) counted per step and reason.

The judge also transcribes the real dev recordings (and DNSMOS scores them, with --mos all):
the report's reference for what the speaker's own voice gets. That is the same for every
stage judged alike, so it is kept in --real_dir (default <out_dir>/real) with a key of the
judge (path, size and time of its files) and the data, and reused while the key matches;
processes evaluating stages side by side take turns on it (a lock file beside it).
Each shown sample names its sentence and real recording (the dev text and wav.scp).
A line `<label>: ASR CER .. WER .. | TTS IR .. judge CER ..` is printed at the end, after one
with the real recordings' IR and judge CER.

--asr_only evaluates the ASR alone, for a stage whose TTS has not trained yet: the decodes and
scores above (no --judge needed), and a stage result whose TTS figures are null.
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from lrspeech.bin import asr_inference, eval_ir, eval_mos, make_report, score_asr, tts_inference
from lrspeech.data.atomic import atomic_write_text, exclusive_lock
from lrspeech.data.kaldi_files import read_mapping
from lrspeech.errors import InputError, LrspeechError


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lrspeech.bin.eval_stage", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage_dir", type=Path, required=True,
                   help="dir with asr/model and tts/model (packed models)")
    p.add_argument("--data_dir", type=Path, required=True, help="dev data dir (wav.scp, text)")
    p.add_argument("--judge", default=None,
                   help="packed ASR dir or `pocketsphinx` (IR judge; not with --asr_only)")
    p.add_argument("--lang_config", type=Path, required=True, help="the language's lang.yaml")
    p.add_argument("--out_dir", type=Path, required=True, help="where the evaluation goes")
    p.add_argument("--collect", type=Path, default=None, help="stage result JSON to write")
    p.add_argument("--label", default=None, help="row label (default: the stage dir's name)")
    p.add_argument("--data", default="", help="what the stage trained on (report column)")
    p.add_argument("--mos", choices=("all", "reference", "none"), default="all",
                   help="MOS proxies: DNSMOS and reference metrics, reference only, or none")
    p.add_argument("--samples", type=int, default=3, help="synthesized samples in the report")
    p.add_argument("--postfilter", default="auto",
                   help="the TTS's post-filter (lrspeech.bin.tts_inference --postfilter)")
    p.add_argument("--vocoder", default="auto",
                   help="the TTS's vocoder (lrspeech.bin.tts_inference --vocoder)")
    p.add_argument("--lm", type=Path, default=None,
                   help="packed LM dir: dev is decoded a second time with it (shallow fusion)")
    p.add_argument("--lm_weight", type=float, default=None, help="with --lm")
    p.add_argument("--length_bonus", type=float, default=0.0, help="with --lm")
    p.add_argument("--judge_lm", action="store_true",
                   help="the judge decodes with its own packed LM (default: without)")
    p.add_argument("--asr_only", action="store_true",
                   help="the ASR alone (the stage's TTS not trained yet): no synthesis, judge "
                        "or MOS")
    p.add_argument("--real_dir", type=Path, default=None,
                   help="where the judge's figures on the real dev recordings are kept and "
                        "reused across stages (default: <out_dir>/real, made afresh)")
    return p


class SubcommandError(LrspeechError, RuntimeError):
    """One of the evaluation's tools failed; it has printed its own error."""


def _run(name: str, main, argv: List[str]) -> None:
    rc = main(argv)
    if rc != 0:
        raise SubcommandError(f"{name} failed (exit {rc}); its error is printed above")


def _samples(tts_dir: Path, n: int) -> List[str]:
    """--sample options for make_report: the first n synthesized utterances."""
    args: List[str] = []
    for utt, wav in list(read_mapping(tts_dir / "wav.scp", "utterance").items())[:n]:
        args += ["--sample", utt, wav]
        att = tts_dir / "att_ws" / f"{utt}.npy"
        if att.is_file():
            args.append(str(att))
    return args


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def real_key(a: argparse.Namespace, with_mos: bool) -> dict:
    """What the real-recording figures depend on: the judge (its files' size and time), the
    dev text and audio list, the language config and how the judge decodes."""
    judge: object = a.judge
    if a.judge != "pocketsphinx":
        files = sorted(p for p in Path(a.judge).iterdir() if p.is_file())
        judge = [str(Path(a.judge).resolve())] + [
            [p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    return {"judge": judge, "text": _sha(a.data_dir / "text"),
            "wav.scp": _sha(a.data_dir / "wav.scp"), "lang_config": _sha(a.lang_config),
            "judge_lm": a.judge_lm, "dnsmos": with_mos}


def real_reference(a: argparse.Namespace) -> Tuple[List[str], dict]:
    """make_report options with the judge's IR (and DNSMOS) on the real dev recordings,
    computed unless --real_dir holds them for the same key; and the IR figures."""
    real_dir = a.real_dir or a.out_dir / "real"
    with_mos = a.mos == "all"
    key = real_key(a, with_mos)
    # Stages evaluated side by side (lr.sh stage 8, one per --nj lane) share --real_dir: the
    # first computes it, the others wait for it and reuse it.
    ir_json = real_dir / "ir" / "ir.json"
    with exclusive_lock(real_dir.with_name(real_dir.name + ".lock")):
        _real_figures(a, real_dir, key, with_mos)
        real_ir = json.loads(ir_json.read_text(encoding="utf-8"))
    opts = ["--real_ir_json", str(ir_json)]
    opts += ["--real_mos_json", str(real_dir / "mos" / "mos.json")] if with_mos else []
    return opts, real_ir


def _real_figures(a: argparse.Namespace, real_dir: Path, key: dict, with_mos: bool) -> None:
    """The judge's figures (and DNSMOS) on the real recordings in real_dir, unless they are
    there for the same key."""
    key_file = real_dir / "key.json"
    if not (key_file.is_file() and json.loads(key_file.read_text(encoding="utf-8")) == key):
        shutil.rmtree(real_dir, ignore_errors=True)
        _run("eval_ir", eval_ir.main, [
            "--judge", a.judge, "--text", str(a.data_dir), "--wav_dir", str(a.data_dir),
            "--out_dir", str(real_dir / "ir"), "--lang_config", str(a.lang_config),
            *(["--judge_lm"] if a.judge_lm else [])])
        if with_mos:
            _run("eval_mos", eval_mos.main, ["--wav_dir", str(a.data_dir), "--out_dir",
                                             str(real_dir / "mos")])
        atomic_write_text(key_file, json.dumps(key, indent=1) + "\n")
    else:
        print(f"real recordings: figures of {real_dir} reused (same judge and data)")


def evaluate_stage(a: argparse.Namespace) -> dict:
    """Run every step; returns the summary figures."""
    if a.judge is None and not a.asr_only:
        raise InputError("give --judge (the ASR that reads the synthesized speech), or "
                         "--asr_only to evaluate the stage's ASR alone")
    for task in ("asr",) if a.asr_only else ("asr", "tts"):
        if not (a.stage_dir / task / "model" / "meta.json").is_file():
            raise FileNotFoundError(
                f"{a.stage_dir}/{task}/model is not a packed model (no meta.json); "
                "train the stage first")
    out = a.out_dir
    if out.exists():
        shutil.rmtree(out)  # a previous attempt may have stopped half-way
    lang = ["--lang_config", str(a.lang_config)]
    _run("asr_inference", asr_inference.main, ["--model_dir", str(a.stage_dir / "asr" / "model"),
         "--data_dir", str(a.data_dir), "--out_dir", str(out / "asr"), "--lm_weight", "0"])
    _run("score_asr", score_asr.main, ["--ref", str(a.data_dir / "text"), "--hyp",
         str(out / "asr" / "text"), "--out_dir", str(out / "asr_score"), *lang])
    report_lm: List[str] = []
    if a.lm is not None:
        if a.lm_weight is None:
            raise InputError("--lm needs --lm_weight (tuned by lm_fusion tune)")
        _run("asr_inference", asr_inference.main, [
             "--model_dir", str(a.stage_dir / "asr" / "model"), "--data_dir", str(a.data_dir),
             "--out_dir", str(out / "asr_lm"), "--lm", str(a.lm), "--lm_weight",
             str(a.lm_weight), "--length_bonus", str(a.length_bonus)])
        _run("score_asr", score_asr.main, ["--ref", str(a.data_dir / "text"), "--hyp",
             str(out / "asr_lm" / "text"), "--out_dir", str(out / "asr_lm_score"), *lang])
        report_lm = ["--score_lm_json", str(out / "asr_lm_score" / "score.json")]
    score = json.loads((out / "asr_score" / "score.json").read_text(encoding="utf-8"))
    lm_score = {}
    if report_lm:
        lm_score = json.loads((out / "asr_lm_score" / "score.json").read_text(encoding="utf-8"))
    summary = {"cer": score.get("cer"), "wer": score.get("wer"), "lm_cer": lm_score.get("cer"),
               "lm_wer": lm_score.get("wer")}
    if a.asr_only:
        if a.collect:
            _run("make_report", make_report.main, [
                "--collect", str(a.collect), "--stage", a.label or a.stage_dir.name, "--data",
                a.data, "--score_json", str(out / "asr_score" / "score.json"), *report_lm])
        return {**summary, "ir": None, "judge_cer": None, "real_ir": None,
                "real_judge_cer": None}
    tts_dir = out / "tts" / "data"
    _run("tts_inference", tts_inference.main, ["--model_dir", str(a.stage_dir / "tts" / "model"),
         "--text_dir", str(a.data_dir), "--out_dir", str(tts_dir), "--speaker", "target",
         "--attention_scores", "--postfilter", a.postfilter, "--vocoder", a.vocoder])
    _run("eval_ir", eval_ir.main, ["--judge", a.judge, "--text", str(a.data_dir), "--wav_dir",
         str(tts_dir), "--out_dir", str(out / "ir"), *lang,
         *(["--judge_lm"] if a.judge_lm else [])])
    real_opts, real_ir = real_reference(a)
    report = ["--ir_json", str(out / "ir" / "ir.json"),
              "--score_json", str(out / "asr_score" / "score.json"), *report_lm, *real_opts]
    spoke = (tts_dir / "wav.scp").is_file() and (tts_dir / "wav.scp").stat().st_size > 0
    if not spoke:
        print(f"{tts_dir}: every synthesized clip failed (see its `failed` list): IR 0, no MOS")
    if a.mos != "none" and spoke:
        mos_opts = ["--no_dnsmos"] if a.mos == "reference" else []
        _run("eval_mos", eval_mos.main, ["--wav_dir", str(tts_dir), "--ref_dir", str(a.data_dir),
             "--out_dir", str(out / "mos"), *mos_opts])
        report += ["--mos_json", str(out / "mos" / "mos.json")]
    if (tts_dir / "attention.json").is_file():
        report += ["--attention_json", str(tts_dir / "attention.json")]
    ir = json.loads((out / "ir" / "ir.json").read_text(encoding="utf-8"))
    if a.collect:
        label = a.label or a.stage_dir.name
        skips = ["--skips_from", str(a.stage_dir), str(out)]
        samples = [*_samples(tts_dir, a.samples), "--dev_dir", str(a.data_dir)]
        _run("make_report", make_report.main, ["--collect", str(a.collect), "--stage", label,
             "--data", a.data, *report, *samples, *skips])
    return {**summary, "ir": ir.get("ir"), "judge_cer": ir.get("judge_cer"),
            "real_ir": real_ir.get("ir"), "real_judge_cer": real_ir.get("judge_cer")}


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    try:
        s = evaluate_stage(a)
    except (LrspeechError, OSError) as err:
        print(f"eval_stage: error: {err}", file=sys.stderr)
        return 1
    label = a.label or a.stage_dir.name
    if not a.asr_only:
        print(f"real recordings (reference): IR {_pct(s['real_ir'])} judge CER "
              f"{_pct(s['real_judge_cer'])} (judge: {a.judge})")
    with_lm = "" if a.lm is None else \
        f" (with the LM: CER {_pct(s['lm_cer'])} WER {_pct(s['lm_wer'])})"
    tts = "TTS not evaluated (--asr_only)" if a.asr_only else \
        f"TTS IR {_pct(s['ir'])} judge CER {_pct(s['judge_cer'])} (judge: {a.judge})"
    print(f"{label}: ASR CER {_pct(s['cer'])} WER {_pct(s['wer'])}{with_lm} | {tts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
