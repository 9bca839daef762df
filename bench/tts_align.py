"""Benchmark: attention Transformer-TTS vs FastSpeech2 on CTC durations, judged by an ASR.

Usage: python bench/tts_align.py --db_root ../shared/data/sw --work_dir /tmp/bench_tts_align --quick

The low-resource setting of the design notes: a TTS learns from the first 50 train clips of
at most 12 s of one speaker (about 10 minutes of speech). Two TTS train for the same wall-clock
budget, one after the other: ESPnet's Transformer-TTS with guided attention
(conf/tts/transformer_tiny.yaml, LRSpeech's path) and FastSpeech2 (conf/tts/fastspeech2_tiny.yaml)
on durations from CTC forced alignment (`--tts_align ctc`). A judge ASR (Conformer, CTC
decoding) trained on every train clip, never on the dev clips, transcribes the dev sentences
synthesized by each TTS (Griffin-Lim) and the dev recordings themselves; the figures are the
judge's CER on each, the Transformer-TTS's teacher-forced focus rate, and the alignment scores.
The aligner is the judge by default (an ASR of a later pipeline stage, trained on speech that
includes the paired clips); `--aligner paired` trains one on the paired clips only instead.
Every step keeps its output in --work_dir and is skipped when rerun.
"""

import argparse
import csv
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.tts_align")
TTS_ATT = REPO / "conf" / "tts" / "transformer_tiny.yaml"
TTS_FS2 = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
ASR_BASE = REPO / "conf" / "asr" / "conformer_tiny.yaml"
LANG = REPO / "conf" / "lang" / "sw.yaml"
# The judge: the 4.3M-parameter Conformer of the design notes (14% CER on this speaker).
JUDGE_ENCODER = {"output_size": 144, "attention_heads": 4, "linear_units": 576, "num_blocks": 6}


@dataclass
class Setting:
    n_paired: int = 50
    max_clip_s: float = 12.0
    n_dev: int = 46
    judge_minutes: float = 35.0
    tts_minutes: float = 15.0
    aligner: str = "judge"
    judge_big: bool = True  # JUDGE_ENCODER on every train clip; else conformer_tiny on paired

    @classmethod
    def quick(cls) -> "Setting":
        """Checks that everything runs; the figures mean nothing."""
        return cls(n_paired=12, n_dev=3, judge_minutes=1.5, tts_minutes=1.0, judge_big=False)


# ---------------------------------------------------------------- data


def read_rows(db_root: Path) -> List[Dict[str, str]]:
    with open(db_root / "metadata.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        row["audio"] = str((db_root / row["audio"]).resolve())
    return sorted(rows, key=lambda r: r["id"])


def choose(rows: List[Dict[str, str]], s: Setting) -> Dict[str, List[Dict[str, str]]]:
    """Paired: the first n train clips <= max_clip_s; judge: all train clips; dev: val clips."""
    train = [r for r in rows if r["split"] == "train"]
    paired = [r for r in train if float(r["duration_s"]) <= s.max_clip_s][: s.n_paired]
    dev = [r for r in rows if r["split"] != "train"][: s.n_dev]
    if len(paired) < s.n_paired or not dev:
        raise SystemExit(f"corpus too small: {len(paired)} paired clips, {len(dev)} dev clips")
    return {"paired": paired, "judge": train, "dev": dev}


def write_data_dir(rows: Sequence[Dict[str, str]], out: Path, normalize) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    files = {"wav.scp": [], "text": [], "utt2spk": []}
    for r in sorted(rows, key=lambda r: r["id"]):
        files["wav.scp"].append(f"{r['id']} {r['audio']}")
        files["text"].append(f"{r['id']} {normalize(r['text'])}")
        files["utt2spk"].append(f"{r['id']} {r['speaker']}")
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def char_tokens(text: str) -> str:
    return " <space> ".join(" ".join(word) for word in text.split())


def write_token_text(data_dir: Path, out: Path) -> Path:
    from lrspeech.data.kaldi_files import read_mapping, write_mapping

    texts = read_mapping(data_dir / "text", "utterance")
    write_mapping(out, {utt: char_tokens(text) for utt, text in texts.items()})
    return out


# ---------------------------------------------------------------- timed training


def train_timed(task: str, config: Path, lists: Dict[str, Path], stats: Path, exp: Path,
                tokens: Path, token_type: str, minutes: float,
                extra: Sequence[str] = ()) -> Dict[str, object]:
    """Train for a wall-clock budget (then stop ESPnet); keep its best checkpoint."""
    from lrspeech.models import espnet_train

    marker = exp / "bench_done.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    argv = espnet_train.train_args(task, config, lists["train"], lists["valid"], stats, exp,
                                   tokens, token_type)
    argv += ["--max_epoch", "100000", "--num_att_plot", "0", "--use_tensorboard", "false",
             "--keep_nbest_models", "1", "--seed", "0", *extra]
    exp.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", f"lrspeech.bin.{task}_train", *map(str, argv)]
    start = time.time()
    with open(exp / "bench_train.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
    if _epochs(exp) == 0:
        raise SystemExit(f"{exp}: no epoch finished in {minutes} min; give it more time "
                         f"(see {exp / 'bench_train.log'})")
    info = {"minutes": round((time.time() - start) / 60, 2), "epochs": _epochs(exp),
            "checkpoint": str(espnet_train.find_checkpoint(exp))}
    marker.write_text(json.dumps(info))
    return info


def _epochs(exp: Path) -> int:
    """The last finished epoch (a resumed run logs only its own)."""
    log = (exp / "bench_train.log").read_text(encoding="utf-8", errors="replace")
    return max((int(n) for n in re.findall(r"(\d+)epoch results:", log)), default=0)


def build_lists(data: Path, root: Path, text: Optional[Path], with_sids: bool,
                spk2sid: Optional[Path] = None) -> Path:
    from lrspeech.models import train_lists

    return train_lists.write_train_lists(data, root, text=text, with_sids=with_sids,
                                         spk2sid=spk2sid)


def train_asr(name: str, data: Dict[str, Path], work: Path, minutes: float,
              big: bool = True) -> Dict[str, object]:
    from lrspeech.models import espnet_train, train_lists

    config = work / f"{name}.yaml"
    conf = yaml.safe_load(ASR_BASE.read_text())
    if big:
        conf["encoder_conf"].update(JUDGE_ENCODER)
    config.write_text(yaml.safe_dump(conf))
    lists = {s: build_lists(d, work / name / "dump" / s, None, False) for s, d in data.items()}
    tokens = train_lists.write_token_list(lists["train"] / "text", work / name / "tokens.txt",
                                          "char")
    stats = espnet_train.collect_stats("asr", config, lists["train"], lists["valid"],
                                       work / name / "stats", tokens, "char",
                                       log_file=work / name / "stats.log")
    info = train_timed("asr", config, lists, stats, work / name / "exp", tokens, "char", minutes)
    info["exp"] = str(work / name / "exp")
    return info


def train_tts(name: str, config: Path, lists: Dict[str, Path], work: Path,
              minutes: float) -> Dict[str, object]:
    from lrspeech.models import espnet_train, train_lists
    from lrspeech.pipeline.pitch_energy import fastspeech2_data_args

    tokens = train_lists.write_token_list(lists["train"] / "text", work / name / "tokens.txt")
    stats = espnet_train.collect_stats("tts", config, lists["train"], lists["valid"],
                                       work / name / "stats", tokens,
                                       log_file=work / name / "stats.log")
    extra = fastspeech2_data_args(lists["train"], lists["valid"])  # precomputed pitch/energy
    info = train_timed("tts", config, lists, stats, work / name / "exp", tokens, "word", minutes,
                       extra)
    info["exp"] = str(work / name / "exp")
    return info


# ---------------------------------------------------------------- evaluation


def load_judge(exp: Path):
    from lrspeech.eval.judge import EspnetJudge
    from lrspeech.pipeline.align import load_speech2text

    return EspnetJudge.from_speech2text(load_speech2text(exp), name=str(exp))


def judge_cer(judge, audio: Dict[str, np.ndarray], refs: Dict[str, str], cfg) -> Dict:
    from tqdm import tqdm

    from lrspeech.eval.ir import pad_silence
    from lrspeech.eval.scoring import score_corpus

    hyps = {u: judge.transcribe(pad_silence(x, 16000), 16000)
            for u, x in tqdm(sorted(audio.items()), desc="judge", unit="utt")}
    score = score_corpus(refs, hyps, cfg)
    return {"cer": score.cer, "wer": score.wer, "hyps": hyps}


def synthesize(exp: Path, texts: Dict[str, str], sid: int) -> Dict[str, np.ndarray]:
    from espnet2.bin.tts_inference import Text2Speech
    from tqdm import tqdm

    from lrspeech.models import espnet_train

    trained = espnet_train.TrainedExp.load(exp)
    tts = Text2Speech(str(trained.config), str(trained.checkpoint), device="cpu",
                      maxlenratio=5.0, threshold=0.5)
    out = {}
    for utt, text in tqdm(sorted(texts.items()), desc=f"synthesize {exp.parent.name}"):
        result = tts(char_tokens(text), sids=np.array([sid]))
        out[utt] = result["wav"].numpy().astype(np.float32)
    return out


def focus_rate(exp: Path, lists: Path, n: int = 10) -> float:
    """Mean teacher-forced focus rate of the attention TTS on training clips."""
    import torch
    from espnet2.bin.tts_inference import Text2Speech

    from lrspeech.data.audio import load_audio
    from lrspeech.data.kaldi_files import read_mapping
    from lrspeech.models import espnet_train

    trained = espnet_train.TrainedExp.load(exp)
    tts = Text2Speech(str(trained.config), str(trained.checkpoint), device="cpu",
                      use_teacher_forcing=True)
    tts.vocoder = None  # Griffin-Lim is not needed for the attention
    texts = read_mapping(lists / "text", "utterance")
    wavs = read_mapping(lists / "wav.scp", "utterance")
    sids = read_mapping(lists / "utt2sid", "utterance")
    rates = []
    for utt in sorted(texts)[:n]:
        speech, _ = load_audio(wavs[utt])
        out = tts(texts[utt], speech=torch.from_numpy(speech), sids=np.array([int(sids[utt])]))
        rates.append(float(out["focus_rate"]))
    return float(np.mean(rates))


# ---------------------------------------------------------------- the benchmark


def run(db_root: Path, work: Path, s: Setting) -> Dict[str, object]:
    from lrspeech.data.audio import load_audio
    from lrspeech.data.datadir import DataDir
    from lrspeech.pipeline.align import CtcAligner
    from lrspeech.pipeline.align_data import align_data_dir
    from lrspeech.pipeline.durations import TtsFrames
    from lrspeech.pipeline.fastspeech2_lists import write_fastspeech2_lists
    from lrspeech.text.cleaners import normalize_for_scoring
    from lrspeech.text.lang import LangConfig

    cfg = LangConfig.load(LANG)
    rows = choose(read_rows(db_root), s)
    data = {k: write_data_dir(v, work / "data" / k, lambda t: normalize_for_scoring(t, cfg))
            for k, v in rows.items()}
    valid = write_data_dir(rows["paired"][:4], work / "data" / "paired_valid",
                           lambda t: normalize_for_scoring(t, cfg))
    res: Dict[str, object] = {"setting": asdict(s), "paired_s": round(
        sum(float(r["duration_s"]) for r in rows["paired"]), 1)}
    t0 = time.time()
    res["judge"] = train_asr("asr_judge", {"train": data["judge" if s.judge_big else "paired"],
                                           "valid": valid}, work, s.judge_minutes, s.judge_big)
    aligner_exp = Path(res["judge"]["exp"])
    if s.aligner == "paired":
        res["aligner"] = train_asr("asr_paired", {"train": data["paired"], "valid": valid},
                                   work, s.tts_minutes)
        aligner_exp = Path(res["aligner"]["exp"])

    # LRSpeech's path: Transformer-TTS with guided attention
    text = {k: write_token_text(d, work / "data" / f"{k}.tokens")
            for k, d in (("paired", data["paired"]), ("valid", valid))}
    att_lists = {"train": build_lists(data["paired"], work / "tts_att" / "dump" / "train",
                                      text["paired"], True)}
    att_lists["valid"] = build_lists(valid, work / "tts_att" / "dump" / "valid", text["valid"],
                                     True, att_lists["train"] / "spk2sid")
    res["tts_attention"] = train_tts("tts_att", TTS_ATT, att_lists, work, s.tts_minutes)

    # --tts_align ctc: CTC durations, FastSpeech2
    frames = TtsFrames.from_tts_config(TTS_FS2)
    aligner = CtcAligner.from_model(aligner_exp)
    fs2_lists = {}
    for split, d in (("train", data["paired"]), ("valid", valid)):
        report = align_data_dir(aligner, d, work / "align" / split, frames,
                                min_score="auto" if split == "train" else None)
        prep = write_fastspeech2_lists(
            DataDir.load(d), work / "align" / split, work / "tts_fs2" / "dump" / split,
            spk2sid=None if split == "train" else fs2_lists["train"] / "spk2sid",
            tts_config=TTS_FS2)
        fs2_lists[split] = prep.lists_dir
        if split == "train":
            res["alignment"] = {**report.summary()["score"], **report.selection.summary(),
                                **prep.summary()}
            res["alignment"].pop("histogram")
    res["tts_fastspeech2"] = train_tts("tts_fs2", TTS_FS2, fs2_lists, work, s.tts_minutes)
    res["train_minutes"] = round((time.time() - t0) / 60, 1)

    # evaluation
    judge = load_judge(Path(res["judge"]["exp"]))
    refs = {r["id"]: normalize_for_scoring(r["text"], cfg) for r in rows["dev"]}
    real = {r["id"]: load_audio(r["audio"], 16000)[0] for r in rows["dev"]}
    sid = int(dict(line.split() for line in (att_lists["train"] / "spk2sid").read_text()
                   .splitlines())[rows["paired"][0]["speaker"]])
    res["cer_real"] = judge_cer(judge, real, refs, cfg)
    for name in ("tts_attention", "tts_fastspeech2"):
        wavs = synthesize(Path(res[name]["exp"]), refs, sid)
        res[name]["cer"] = judge_cer(judge, wavs, refs, cfg)
        res[name]["mean_s"] = round(float(np.mean([len(w) / 16000 for w in wavs.values()])), 2)
    res["real_mean_s"] = round(float(np.mean([len(w) / 16000 for w in real.values()])), 2)
    res["tts_attention"]["focus_rate"] = focus_rate(Path(res["tts_attention"]["exp"]),
                                                    att_lists["train"])
    return res


def print_figures(res: Dict[str, object]) -> None:
    att, fs2 = res["tts_attention"], res["tts_fastspeech2"]
    al = res["alignment"]
    print(f"paired: {res['setting']['n_paired']} clips ({res['paired_s']} s); "
          f"dev: {res['setting']['n_dev']} sentences")
    print(f"judge: {res['judge']['epochs']} epochs in {res['judge']['minutes']} min; "
          f"CER on real dev recordings {100 * res['cer_real']['cer']:.1f}%")
    print(f"alignment scores: median {al['median']}, min {al['min']}, max {al['max']}; "
          f"FastSpeech2 kept {al['kept']}, left out {al['low_score']} "
          f"(threshold {al['threshold']})")
    for name, r in (("Transformer-TTS (attention)", att), ("FastSpeech2 (CTC durations)", fs2)):
        print(f"{name}: {r['epochs']} epochs in {r['minutes']} min; judge CER "
              f"{100 * r['cer']['cer']:.1f}% (WER {100 * r['cer']['wer']:.1f}%), "
              f"mean length {r['mean_s']} s (real {res['real_mean_s']} s)")
    print(f"Transformer-TTS teacher-forced focus rate: {att['focus_rate']:.3f}")
    ratio = fs2["cer"]["cer"] / max(att["cer"]["cer"], 1e-9)
    print(f"FastSpeech2 / attention judge CER: {ratio:.2f} (target <= 0.5)")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, required=True, help="folder with metadata.tsv")
    p.add_argument("--work_dir", type=Path, default=Path("/tmp/bench_tts_align"))
    p.add_argument("--quick", action="store_true", help="tiny budgets: checks it runs (minutes)")
    p.add_argument("--tts_minutes", type=float, help="training budget of each TTS")
    p.add_argument("--judge_minutes", type=float, help="training budget of the judge ASR")
    p.add_argument("--aligner", choices=("judge", "paired"), help="ASR that aligns (see above)")
    args = p.parse_args(argv)
    limit_threads()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    s = Setting.quick() if args.quick else Setting()
    for key in ("tts_minutes", "judge_minutes", "aligner"):
        if getattr(args, key) is not None:
            setattr(s, key, getattr(args, key))
    res = run(args.db_root.resolve(), args.work_dir.resolve(), s)
    (args.work_dir / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    print_figures(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
