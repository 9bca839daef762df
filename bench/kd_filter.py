"""Benchmark: choose the knowledge-distillation filter thresholds (WCR, ADR) from data.

Usage: python bench/kd_filter.py --quick --work_dir /tmp/bench_kd_quick

Real run (packed models; pack ESPnet exp dirs with python -m lrspeech.bin.pack_model):
    python bench/kd_filter.py --tts /tmp/kdb/tts --judge /tmp/kdb/judge \
        --text egs/swahili/lr1/db/text/bible_nt.tsv.xz --n 150 --lang_config conf/lang/sw.yaml \
        --work_dir /tmp/kdb

Stage 7 of the recipe keeps the TTS teacher's synthetic pairs whose attention passes
--kd_wcr_min (word coverage ratio) and --kd_adr_min (attention diagonal ratio); both default
to 0 because they were never chosen from data. The question here is whether the two scores
tell good synthesis from bad, with "good" measured by a judge ASR. Steps:

1. a seeded sample of --n sentences of at most --max_words words, normalized as for scoring
   (lower case, no punctuation, numbers spelled out), the text the teacher and judge know;
2. the teacher synthesizes them in the target voice with `lrspeech.bin.tts_inference
   --attention_scores`, stage 7's own call;
3. WCR and ADR of each utterance with the stage-7 filter's scoring
   (`lrspeech.pipeline.kd_filter.score_pairs`, the same tokens and attention columns);
4. the judge transcribes each utterance as stage 8 does (`lrspeech.eval.ir.evaluate_ir`:
   silence padding, CTC decoding), which gives a character error rate (CER) per utterance.

It prints the score quantiles, the rank (Spearman) and linear (Pearson) correlation of each
score with judge CER, and for a grid of thresholds the kept share and the mean judge CER of
the kept and the dropped utterances.

Threshold rule. The candidate thresholds of a score are its own quantiles at 0, 5, ..., 30%,
rounded down to two significant digits (a threshold at the q quantile drops at most a share q).
Every pair (wcr_min, adr_min) of candidates is tried; its gain is the mean judge CER of all
utterances minus that of the kept ones. Among the pairs that keep at least --min_keep (70%)
of the utterances, let G be the best gain. If G is below --min_gain (2 CER points), the scores
do not separate good from bad synthesis of this teacher and the recommendation is 0 / 0 (no
filtering): dropping data for noise costs the student training pairs and buys nothing.
Otherwise the recommendation is the pair that keeps the most utterances while reaching 90% of
G: it drops the worst utterances, and not, on top of them, good ones whose loss lowers the
mean CER by chance (the lowest mean alone would always pick the most aggressive thresholds).
The gain's 95% bootstrap interval (utterances resampled, thresholds held fixed) shows how
firm it is; it ignores that the thresholds were picked on the same utterances, so it is
optimistic.

`--quick` trains a micro Transformer-TTS and a micro ASR for a few steps on the Swahili clips
of tests/data (unless --tts/--judge are given) and synthesizes 8 short sentences: it checks
that everything runs (a couple of minutes); its figures mean nothing. Every step keeps its
output in --work_dir and is skipped when rerun with the same inputs. Results go to
<work_dir>/results.json and results.md.
"""

import argparse
import csv
import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.kd_filter")
DEFAULT_TEXT = REPO / "egs" / "swahili" / "lr1" / "db" / "text" / "bible_nt.tsv.xz"
DEFAULT_LANG = REPO / "conf" / "lang" / "sw.yaml"
MICRO_DATA = REPO / "tests" / "data" / "sw"
MICRO_TTS = REPO / "conf" / "tts" / "transformer_tiny.yaml"
MICRO_ASR = REPO / "conf" / "asr" / "transformer_tiny.yaml"
MICRO_ARGS = ["--max_epoch", "2", "--num_iters_per_epoch", "3", "--num_att_plot", "0",
              "--use_tensorboard", "false", "--seed", "0"]
LEVELS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)  # candidate quantiles of each score
TABLE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # quantiles shown for each score alone
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
SCORES = ("wcr", "adr")
# per-utterance columns: cer_noins = (substitutions + deletions) / reference characters, the
# share of the text the judge did not hear, blind to babbling (insertions) after the text
COLUMNS = ("wcr", "adr", "focus_rate", "cer", "cer_noins", "words", "seconds")


# ---------------------------------------------------------------- threshold analysis


def floor_sig(x: float, digits: int = 2) -> float:
    """`x` rounded down to `digits` significant digits (0 stays 0)."""
    if x <= 0 or not math.isfinite(x):
        return max(0.0, x) if math.isfinite(x) else 0.0
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(x)))
    return math.floor(x * scale * (1 + 1e-12)) / scale


def candidate_thresholds(values: Sequence[float], levels: Sequence[float] = LEVELS) -> List[float]:
    """Thresholds at the given quantiles of `values` (level 0: no filtering), distinct, sorted."""
    arr = np.asarray(values, dtype=float)
    out = {0.0 if lv <= 0 else floor_sig(float(np.quantile(arr, lv))) for lv in levels}
    return sorted(out)


@dataclass(frozen=True)
class Cut:
    """What a pair of thresholds keeps, and the mean judge CER on both sides."""

    wcr_min: float
    adr_min: float
    kept: int
    total: int
    cer_kept: Optional[float]
    cer_dropped: Optional[float]

    @property
    def kept_share(self) -> float:
        return self.kept / self.total if self.total else 0.0


def _mean(x: np.ndarray) -> Optional[float]:
    return float(x.mean()) if len(x) else None


def evaluate_cut(wcr: np.ndarray, adr: np.ndarray, cer: np.ndarray, wcr_min: float,
                 adr_min: float) -> Cut:
    """Keep utterances with wcr >= wcr_min and adr >= adr_min, as the stage-7 filter does."""
    keep = (wcr >= wcr_min) & (adr >= adr_min)
    return Cut(wcr_min, adr_min, int(keep.sum()), len(cer), _mean(cer[keep]), _mean(cer[~keep]))


def grid(wcr: np.ndarray, adr: np.ndarray, cer: np.ndarray,
         levels: Sequence[float] = LEVELS) -> List[Cut]:
    """Every pair of candidate thresholds."""
    return [evaluate_cut(wcr, adr, cer, w, a)
            for w in candidate_thresholds(wcr, levels) for a in candidate_thresholds(adr, levels)]


def recommend(wcr: np.ndarray, adr: np.ndarray, cer: np.ndarray, min_keep: float = 0.7,
              min_gain: float = 0.02, share_of_gain: float = 0.9,
              levels: Sequence[float] = LEVELS) -> Dict[str, object]:
    """The thresholds of the rule in the module docstring, with the best pair and the reason."""
    base = evaluate_cut(wcr, adr, cer, 0.0, 0.0)
    ok = [c for c in grid(wcr, adr, cer, levels) if c.kept_share >= min_keep]
    best = min(ok, key=lambda c: (round(c.cer_kept, 9), -c.kept, c.wcr_min + c.adr_min))
    gain = base.cer_kept - best.cer_kept
    if gain >= min_gain:
        enough = [c for c in ok if base.cer_kept - c.cer_kept >= share_of_gain * gain]
        chosen = max(enough, key=lambda c: (c.kept, -c.cer_kept, -(c.wcr_min + c.adr_min)))
        reason = (f"keeps the most utterances among the thresholds that keep >= "
                  f"{min_keep:.0%} and reach >= {share_of_gain:.0%} of the best gain in mean "
                  f"judge CER ({100 * gain:.1f} points)")
    else:
        chosen = base
        reason = (f"no thresholds keeping >= {min_keep:.0%} lower the mean judge CER by "
                  f">= {100 * min_gain:.0f} points (best: {100 * gain:.1f} points at "
                  f"wcr_min {best.wcr_min}, adr_min {best.adr_min}); keep everything")
    return {"wcr_min": chosen.wcr_min, "adr_min": chosen.adr_min, "cut": asdict(chosen),
            "kept_share": chosen.kept_share, "gain": base.cer_kept - chosen.cer_kept,
            "best": asdict(best), "best_gain": gain, "reason": reason,
            "min_keep": min_keep, "min_gain": min_gain, "share_of_gain": share_of_gain}


def bootstrap_gain(wcr: np.ndarray, adr: np.ndarray, cer: np.ndarray, wcr_min: float,
                   adr_min: float, n: int = 2000, seed: int = 0) -> Tuple[float, float]:
    """95% interval of mean CER (all) - mean CER (kept), utterances resampled."""
    rng = np.random.default_rng(seed)
    keep = (wcr >= wcr_min) & (adr >= adr_min)
    gains = []
    for _ in range(n):
        idx = rng.integers(0, len(cer), len(cer))
        if keep[idx].any():
            gains.append(cer[idx].mean() - cer[idx][keep[idx]].mean())
    if not gains:
        return float("nan"), float("nan")
    lo, hi = np.percentile(gains, [2.5, 97.5])
    return float(lo), float(hi)


def correlation(x: np.ndarray, y: np.ndarray) -> Dict[str, Optional[float]]:
    """Spearman and Pearson correlation with p-values (None where a side is constant)."""
    from scipy import stats

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"spearman": None, "spearman_p": None, "pearson": None, "pearson_p": None}
    s = stats.spearmanr(x, y)
    p = stats.pearsonr(x, y)
    return {"spearman": float(s[0]), "spearman_p": float(s[1]),
            "pearson": float(p[0]), "pearson_p": float(p[1])}


def quantiles(values: Sequence[float]) -> Dict[str, float]:
    q = np.quantile(np.asarray(values, dtype=float), QUANTILES)
    return {f"q{int(p * 100)}": round(float(v), 4) for p, v in zip(QUANTILES, q)}


def single_score_table(scores: Mapping[str, np.ndarray], cer: np.ndarray, name: str,
                       levels: Sequence[float] = TABLE_LEVELS) -> List[Dict[str, object]]:
    """One score alone (the other at 0) at thresholds on its quantiles."""
    rows = []
    for lv in levels:
        thr = 0.0 if lv <= 0 else floor_sig(float(np.quantile(scores[name], lv)))
        mins = {s: (thr if s == name else 0.0) for s in SCORES}
        cut = evaluate_cut(scores["wcr"], scores["adr"], cer, mins["wcr"], mins["adr"])
        rows.append({"level": lv, "threshold": thr, **asdict(cut), "kept_share": cut.kept_share})
    return rows


def analyse(rows: Mapping[str, Mapping[str, float]], min_keep: float,
            min_gain: float) -> Dict[str, object]:
    utts = sorted(rows)
    col = {k: np.array([rows[u][k] for u in utts], dtype=float)
           for k in COLUMNS}
    cer = col["cer"]
    rec = recommend(col["wcr"], col["adr"], cer, min_keep, min_gain)
    ok = [c for c in grid(col["wcr"], col["adr"], cer) if c.kept_share >= min_keep]
    top = sorted(ok, key=lambda c: (c.cer_kept, -c.kept))[:8]
    return {
        "n": len(utts),
        "quantiles": {k: quantiles(col[k]) for k in COLUMNS},
        "mean_cer": float(cer.mean()),
        "correlation": {k: {"cer": correlation(col[k], cer),
                            "cer_noins": correlation(col[k], col["cer_noins"]),
                            "words": correlation(col[k], col["words"])}
                        for k in ("wcr", "adr", "focus_rate")},
        "single": {s: single_score_table(col, cer, s) for s in SCORES},
        "joint_top": [{**asdict(c), "kept_share": c.kept_share} for c in top],
        "recommendation": rec,
        "bootstrap_gain_95": bootstrap_gain(col["wcr"], col["adr"], cer, rec["wcr_min"],
                                            rec["adr_min"]),
        "best_bootstrap_gain_95": bootstrap_gain(col["wcr"], col["adr"], cer,
                                                 rec["best"]["wcr_min"], rec["best"]["adr_min"]),
    }


# ---------------------------------------------------------------- cached steps


def step_done(out: Path, inputs: Mapping[str, object]) -> bool:
    marker = out / "bench_inputs.json"
    return marker.is_file() and json.loads(marker.read_text()) == dict(inputs)


def mark_done(out: Path, inputs: Mapping[str, object]) -> None:
    (out / "bench_inputs.json").write_text(json.dumps(dict(inputs), indent=1))


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def make_text_dir(text: Path, lang: Path, n: int, max_words: int, seed: int, out: Path) -> Path:
    """A text-only data dir of `n` seeded sentences of 1..max_words words (normalized)."""
    from lrspeech.data.datadir import DataDir
    from lrspeech.data.ops import seeded_order
    from lrspeech.data.sentences import read_sentences
    from lrspeech.text.cleaners import normalize_for_scoring
    from lrspeech.text.lang import LangConfig

    inputs = {"text": str(text), "sha1": sha1(text), "lang": sha1(lang), "n": n,
              "max_words": max_words, "seed": seed}
    if step_done(out, inputs):
        return out
    cfg = LangConfig.load(lang)
    chosen: Dict[str, str] = {}
    # The toolkit's sentence reader; ids without the recipe's `text-` prefix, so the seeded
    # sample (ranked by id) is the one the figures in docs/benchmarks.md were measured on.
    sentences = {s.id: s.text for s in read_sentences(text)}
    for utt in seeded_order(sentences, seed):
        norm = normalize_for_scoring(sentences[utt], cfg)
        if 0 < len(norm.split()) <= max_words:
            chosen[utt] = norm
        if len(chosen) == n:
            break
    if len(chosen) < n:
        logger.warning("%s: only %d sentences of <= %d words", text, len(chosen), max_words)
    DataDir(text=chosen).save(out)
    mark_done(out, inputs)
    return out


def synthesize(tts: Path, text_dir: Path, out: Path, nj: int, maxlenratio: float,
               minlenratio: float = 0.0) -> Path:
    """Stage 7's synthesis call: the target voice, with attention maps."""
    inputs = {"tts": str(tts), "model": sha1(tts / "model.pth"), "text": sha1(text_dir / "text"),
              "maxlenratio": maxlenratio, "minlenratio": minlenratio}
    if step_done(out, inputs):
        return out
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "lrspeech.bin.tts_inference", "--model_dir", str(tts),
           "--text_dir", str(text_dir), "--out_dir", str(out), "--speaker", "target",
           "--attention_scores", "--nj", str(nj), "--maxlenratio", str(maxlenratio),
           "--minlenratio", str(minlenratio)]
    start = time.time()
    log = out.parent / f"{out.name}.log"
    with open(log, "w", encoding="utf-8") as f:
        if subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT) != 0:
            raise SystemExit(f"synthesis failed; see {log}")
    logger.info("synthesized %s in %.0f s", text_dir, time.time() - start)
    mark_done(out, inputs)
    return out


def attention_rows(synth: Path, lang: Path, token_type: Optional[str]) -> Tuple[Dict, Dict]:
    """Per-utterance WCR/ADR/focus rate as the stage-7 filter computes them; and failures."""
    from lrspeech.data.datadir import DataDir
    from lrspeech.pipeline.kd_filter import score_pairs
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.tokenizer import Tokenizer

    tok_type = token_type if token_type in ("char", "phn", "bpe") else None
    tok = Tokenizer(LangConfig.load(lang), token_type=tok_type)
    res = score_pairs(DataDir.load(synth), [synth / "att_ws"], tok, 0.0, 0.0)
    return res.scores, res.dropped


def judge_rows(judge_dir: Path, synth: Path, lang: Path, out: Path) -> Dict[str, Dict]:
    """Per-utterance judge CER (stage 8's IR path), cached in out/judge.tsv."""
    inputs = {"judge": str(judge_dir), "model": sha1(judge_dir / "model.pth"),
              "wav": sha1(synth / "wav.scp"), "text": sha1(synth / "text")}
    table = out / "judge.tsv"
    if not step_done(out, inputs):
        from lrspeech.eval.inputs import audio_set, read_text
        from lrspeech.eval.ir import evaluate_ir, write_ir
        from lrspeech.eval.judge import EspnetJudge
        from lrspeech.text.lang import LangConfig

        audio = audio_set(synth)
        result = evaluate_ir(EspnetJudge(judge_dir), read_text(synth / "text"), audio,
                             LangConfig.load(lang))
        out.mkdir(parents=True, exist_ok=True)
        write_ir(result, out)
        with open(table, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(["utt", "cer", "char_errors", "ref_chars", "seconds", "ref", "hyp"])
            for u in result.score.utts:
                x, sr = audio[u.utt].load()
                w.writerow([u.utt, f"{u.char.rate:.4f}", u.char.errors, u.char.ref_len,
                            f"{len(x) / sr:.2f}", u.ref, u.hyp])
        mark_done(out, inputs)
    with open(table, encoding="utf-8") as f:
        return {r["utt"]: r for r in csv.DictReader(f, delimiter="\t")}


# ---------------------------------------------------------------- quick mode: micro models


def build_micro(work: Path, lang: Path) -> Tuple[Path, Path]:
    """Micro Transformer-TTS and ASR trained a few steps on tests/data/sw, packed."""
    from lrspeech.data.datadir import DataDir
    from lrspeech.models import espnet_train, train_lists
    from lrspeech.models.packing import pack_model
    from lrspeech.models.speakers import read_spk2sid
    from lrspeech.text.cleaners import normalize_for_scoring
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.tokenizer import Tokenizer

    tts, asr = work / "tts" / "model", work / "asr" / "model"
    if (tts / "meta.json").is_file() and (asr / "meta.json").is_file():
        return tts, asr
    cfg = LangConfig.load(lang)
    with open(MICRO_DATA / "metadata.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    data = {}
    for split in ("train", "val"):
        part = [r for r in rows if r["split"] == split]
        data[split] = work / "data" / split
        DataDir(wav_scp={r["id"]: str(MICRO_DATA / r["audio"]) for r in part},
                text={r["id"]: normalize_for_scoring(r["text"], cfg) for r in part},
                utt2spk={r["id"]: r["speaker"] for r in part}).save(data[split])
    tok = Tokenizer(cfg, token_type="char")
    tok_text = {}
    for split, d in data.items():
        text = DataDir.load(d).text
        tokens = tok.tokenize_batch([text[u] for u in sorted(text)], sorted(text))
        tok_text[split] = work / "data" / f"{split}.tokens"
        tok_text[split].write_text("".join(f"{u} {' '.join(t)}\n"
                                           for u, t in zip(sorted(text), tokens)))
    # TTS: pre-tokenized characters (ESPnet --token_type word), as the recipe trains it
    lists = {"train": train_lists.write_train_lists(data["train"], work / "tts" / "dump" / "train",
                                                    text=tok_text["train"], with_sids=True)}
    lists["valid"] = train_lists.write_train_lists(data["val"], work / "tts" / "dump" / "valid",
                                                   text=tok_text["val"], with_sids=True,
                                                   spk2sid=lists["train"] / "spk2sid")
    tokens = train_lists.write_token_list(lists["train"] / "text", work / "tts" / "tokens.txt")
    stats = espnet_train.collect_stats("tts", MICRO_TTS, lists["train"], lists["valid"],
                                       work / "tts" / "stats", tokens, log_file=work / "tts.log")
    exp = espnet_train.train("tts", MICRO_TTS, lists["train"], lists["valid"], stats,
                             work / "tts" / "exp", tokens, extra_args=MICRO_ARGS,
                             log_file=work / "tts.log")
    speakers = read_spk2sid(lists["train"] / "spk2sid")
    pack_model(exp, None, tts, lang_config=lang, meta={
        "token_type": "char", "speakers": speakers,
        "target_speaker": sorted(s for s in speakers if s != "<unk>")[0]})
    # ASR judge: ESPnet characters
    alists = {s: train_lists.write_train_lists(d, work / "asr" / "dump" / s)
              for s, d in (("train", data["train"]), ("valid", data["val"]))}
    atokens = train_lists.write_token_list(alists["train"] / "text", work / "asr" / "tokens.txt",
                                           "char")
    astats = espnet_train.collect_stats("asr", MICRO_ASR, alists["train"], alists["valid"],
                                        work / "asr" / "stats", atokens, "char",
                                        log_file=work / "asr.log")
    aexp = espnet_train.train("asr", MICRO_ASR, alists["train"], alists["valid"], astats,
                              work / "asr" / "exp", atokens, "char", extra_args=MICRO_ARGS,
                              log_file=work / "asr.log")
    pack_model(aexp, None, asr, lang_config=lang, meta={"token_type": "char"})
    return tts, asr


# ---------------------------------------------------------------- the benchmark


@dataclass
class Setting:
    n: int = 150
    max_words: int = 20
    seed: int = 1
    nj: int = 2
    maxlenratio: float = 10.0
    minlenratio: float = 0.0
    min_keep: float = 0.7
    min_gain: float = 0.02

    @classmethod
    def quick(cls) -> "Setting":
        """Checks that everything runs; the figures mean nothing."""
        return cls(n=8, max_words=8, minlenratio=2.0)  # untrained: stops at once otherwise


def run(a: argparse.Namespace, s: Setting) -> Dict[str, object]:
    from lrspeech.eval.scoring import score_utterance
    from lrspeech.models.packing import read_meta

    work = a.work_dir
    work.mkdir(parents=True, exist_ok=True)
    tts, judge = a.tts, a.judge
    if tts is None or judge is None:
        micro_tts, micro_asr = build_micro(work / "micro", a.lang_config)
        tts, judge = tts or micro_tts, judge or micro_asr
    text_dir = make_text_dir(a.text, a.lang_config, s.n, s.max_words, s.seed, work / "text")
    synth = synthesize(tts, text_dir, work / "synth", s.nj, s.maxlenratio, s.minlenratio)
    scores, failed = attention_rows(synth, a.lang_config, read_meta(tts).get("token_type"))
    judged = judge_rows(judge, synth, a.lang_config, work / "judge")
    rows = {}
    for utt, sc in scores.items():
        j = judged[utt]
        chars = score_utterance(utt, j["ref"], j["hyp"]).char
        rows[utt] = {**{k: round(float(v), 5) for k, v in sc.items()},
                     "cer": float(j["cer"]), "cer_noins": (chars.sub + chars.dels) / chars.ref_len,
                     "words": len(j["ref"].split()), "seconds": float(j["seconds"]),
                     "ref": j["ref"], "hyp": j["hyp"]}
    res = {"setting": asdict(s), "tts": str(tts), "judge": str(judge), "text": str(a.text),
           "unscored": failed, **analyse(rows, s.min_keep, s.min_gain), "utts": rows}
    return res


def pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _corr(c: Mapping[str, Optional[float]], kind: str) -> str:
    return "-" if c[kind] is None else f"{c[kind]:+.3f} ({c[kind + '_p']:.2g})"


def markdown(res: Dict[str, object]) -> str:
    q, cor, rec = res["quantiles"], res["correlation"], res["recommendation"]
    lines = [f"{res['n']} synthetic utterances (teacher {res['tts']}, judge {res['judge']}); "
             f"mean judge CER {pct(res['mean_cer'])}; {len(res['unscored'])} unscored", "",
             "| score | " + " | ".join(q["wcr"]) + " |",
             "|---|" + "---|" * len(q["wcr"])]
    for k in COLUMNS:
        lines.append(f"| {k} | " + " | ".join(f"{v:.4g}" for v in q[k].values()) + " |")
    lines += ["", "| score | Spearman with judge CER (p) | Pearson with judge CER (p) | "
              "Spearman with CER w/o insertions (p) | Spearman with sentence words (p) |",
              "|---|---|---|---|---|"]
    for k, c in cor.items():
        cells = [_corr(c["cer"], "spearman"), _corr(c["cer"], "pearson"),
                 _corr(c["cer_noins"], "spearman"), _corr(c["words"], "spearman")]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    for s in SCORES:
        lines += ["", f"| {s}_min (quantile) | kept | mean CER kept | mean CER dropped |",
                  "|---|---|---|---|"]
        for r in res["single"][s]:
            lines.append(f"| {r['threshold']:.4g} (q{int(100 * r['level'])}) | "
                         f"{r['kept']} ({pct(r['kept_share'])}) | {pct(r['cer_kept'])} | "
                         f"{pct(r['cer_dropped'])} |")
    lines += ["", f"Pairs keeping >= {pct(rec['min_keep'])}, by mean CER of the kept:", "",
              "| wcr_min | adr_min | kept | mean CER kept | mean CER dropped |",
              "|---|---|---|---|---|"]
    for c in res["joint_top"]:
        lines.append(f"| {c['wcr_min']:.4g} | {c['adr_min']:.4g} | {c['kept']} "
                     f"({pct(c['kept_share'])}) | {pct(c['cer_kept'])} | {pct(c['cer_dropped'])} |")
    lo, hi = res["bootstrap_gain_95"]
    blo, bhi = res["best_bootstrap_gain_95"]
    lines += ["", f"Recommended: --kd_wcr_min {rec['wcr_min']:.4g} --kd_adr_min "
              f"{rec['adr_min']:.4g} (keeps {pct(rec['kept_share'])}; {rec['reason']}); mean CER "
              f"gain {100 * rec['gain']:.1f} points, 95% bootstrap [{100 * lo:.1f}, "
              f"{100 * hi:.1f}]; best pair's gain {100 * rec['best_gain']:.1f} points, "
              f"[{100 * blo:.1f}, {100 * bhi:.1f}]"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tts", type=Path, help="packed attention TTS teacher (Transformer-TTS)")
    p.add_argument("--judge", type=Path, help="packed judge ASR")
    p.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="id<TAB>text sentences (.xz ok)")
    p.add_argument("--lang_config", type=Path, default=DEFAULT_LANG)
    p.add_argument("--work_dir", type=Path, default=Path("/tmp/bench_kd_filter"))
    p.add_argument("--quick", action="store_true", help="micro models, 8 sentences (minutes)")
    p.add_argument("--n", type=int, help="sentences to synthesize (default 150; quick 8)")
    p.add_argument("--max_words", type=int, help="longest sentence (default 20; quick 8)")
    p.add_argument("--seed", type=int, help="sentence sample seed (default 1)")
    p.add_argument("--nj", type=int, help="synthesis worker processes (default 2)")
    p.add_argument("--maxlenratio", type=float, help="length cap per token (default 10)")
    p.add_argument("--minlenratio", type=float, help="least length per token (0; quick 2)")
    p.add_argument("--min_keep", type=float, help="least kept share of a recommendation (0.7)")
    p.add_argument("--min_gain", type=float, help="least mean CER gain to filter at all (0.02)")
    a = p.parse_args(argv)
    if not a.quick and (a.tts is None or a.judge is None):
        p.error("--tts and --judge are required (or --quick, which trains micro models)")
    limit_threads()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)  # ESPnet logs every beam search step at INFO
    s = Setting.quick() if a.quick else Setting()
    for key in ("n", "max_words", "seed", "nj", "maxlenratio", "minlenratio", "min_keep",
                "min_gain"):
        if getattr(a, key) is not None:
            setattr(s, key, getattr(a, key))
    a.work_dir = a.work_dir.resolve()
    for key in ("tts", "judge", "text", "lang_config"):
        if getattr(a, key) is not None:
            setattr(a, key, getattr(a, key).resolve())
    res = run(a, s)
    md = markdown(res)
    (a.work_dir / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    (a.work_dir / "results.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
