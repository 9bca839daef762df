"""Benchmark: the unpaired text as a language model, fused in the CTC prefix search.

Usage: python bench/lm.py --db_root ../shared/data/sw --work_dir /tmp/bench/lm_sw \
    --asr_dirs /tmp/bench/enc_sw/cells/whisper-base/seed{1,2,3}/model

The ASRs are packed CTC heads of one corpus (e.g. bench/encoder.py's cells: frozen Whisper-base
features, 50 paired utterances). The LM is the recipe's (`lrspeech.pipeline.lm.train_lm`,
conf/lm/lstm_tiny.yaml) on the corpus's unpaired text, the dev transcripts' overlap removed;
dev is every val clip of at most 60 s. Each ASR encodes dev once; every (lm_weight,
length_bonus) pair of the grid then decodes it. Figures per ASR:

- no LM: the plain prefix search;
- tuned on dev: the pair the recipe would choose on the whole dev set (optimistic);
- 2-fold: the pair chosen on one half of dev scores the other half, and the other way round
  (an honest estimate of what the LM buys on unseen speech);
- decoding time with the chosen pair over without the LM, the encoder included (both measured
  in this run, on the same posteriors).

`--sizes` also trains LMs on the first N sentences of the text (2-fold figures of the first
ASR), which is how lrspeech.pipeline.lm.MIN_SENTENCES was chosen. Every LM and every
posterior matrix is kept in --work_dir and reused; results: work_dir/results.{json,md}.
"""

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ablation  # noqa: E402
import encoder  # noqa: E402

logger = logging.getLogger("bench.lm")
LM_CONFIG = REPO / "conf" / "lm" / "lstm_tiny.yaml"


def read_sentences(text: Path) -> List[Tuple[str, str]]:
    """(id, sentence) of an `id<TAB>text` file (.xz read too)."""
    import lzma

    opener = lzma.open if text.suffix == ".xz" else open
    with opener(text, "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t", 1) for line in f if "\t" in line]
    return [(i, t) for i, t in rows]


def train_sized_lm(work: Path, sentences: Sequence[Tuple[str, str]], size: int, dev: Path,
                   lang: Path, tokens: Path, epochs: int) -> Path:
    """The LM of the first `size` sentences (0: all), trained once."""
    from lrspeech.pipeline.lm import train_lm

    name = f"lm_{size or 'all'}"
    out = work / name
    if (out / "lm.json").is_file():
        return out / "model"
    chosen = sentences[:size] if size else sentences
    text_dir = work / f"{name}_text"
    text_dir.mkdir(parents=True, exist_ok=True)
    (text_dir / "text").write_text("".join(f"{i} {t}\n" for i, t in chosen), encoding="utf-8")
    t0 = time.time()
    train_lm(text_dir, [dev], lang, tokens, LM_CONFIG, out, epochs, min_sentences=1)
    record = json.loads((out / "lm.json").read_text(encoding="utf-8"))
    record["train_s"] = round(time.time() - t0, 1)
    (out / "lm.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return out / "model"


def posteriors(asr: Path, dev: Path, cache: Path) -> Tuple[Dict[str, np.ndarray], float]:
    """The ASR's CTC log-posteriors of dev (cached as .npz) and the encoding time in s."""
    from lrspeech.pipeline.lm import ctc_posteriors

    if cache.is_file():
        data = np.load(cache)
        return {k: data[k] for k in data.files if k != "__seconds"}, float(data["__seconds"])
    t0 = time.perf_counter()
    post = ctc_posteriors(asr, dev)
    took = time.perf_counter() - t0
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, __seconds=np.array(took), **post)
    return post, took


def folds(utts: Sequence[str]) -> List[List[str]]:
    """Two halves of the dev utterances (alternating in sorted order)."""
    ordered = sorted(utts)
    return [ordered[0::2], ordered[1::2]]


def score(refs: Dict[str, str], hyps: Dict[str, str], utts: Sequence[str], cfg: Any
          ) -> Tuple[float, float]:
    from lrspeech.eval.scoring import score_corpus

    s = score_corpus({u: refs[u] for u in utts}, {u: hyps[u] for u in utts}, cfg)
    return s.cer, s.wer


def evaluate(grid_out: Sequence[Tuple[float, float, Dict[str, str], float]],
             refs: Dict[str, str], cfg: Any, encode_s: float) -> Dict[str, Any]:
    """No LM, tuned on all of dev, 2-fold; the decoding-time ratio of the chosen pair."""
    from lrspeech.pipeline.lm import FusionPoint, choose_point

    utts = sorted(grid_out[0][2])

    def points(subset: Sequence[str]) -> List[FusionPoint]:
        return [FusionPoint(w, b, *score(refs, hyps, subset, cfg), t)
                for w, b, hyps, t in grid_out]

    every = points(utts)
    tuned = choose_point(every)
    cv_hyps: Dict[str, str] = {}
    picks = []
    for tune_on, test_on in (folds(utts), folds(utts)[::-1]):
        pick = choose_point(points(tune_on))
        picks.append((pick.lm_weight, pick.length_bonus))
        hyps = next(h for w, b, h, _ in grid_out if (w, b) == picks[-1])
        cv_hyps.update({u: hyps[u] for u in test_on})
    cv_cer, cv_wer = score(refs, cv_hyps, utts, cfg)
    plain_s = grid_out[0][3]
    pair = (tuned.lm_weight, tuned.length_bonus)
    chosen_s = next(t for w, b, _, t in grid_out if (w, b) == pair)
    return {"no_lm": {"cer": every[0].cer, "wer": every[0].wer},
            "tuned": {"cer": tuned.cer, "wer": tuned.wer, "lm_weight": tuned.lm_weight,
                      "length_bonus": tuned.length_bonus},
            "two_fold": {"cer": cv_cer, "wer": cv_wer, "picks": picks},
            "time": {"encode_s": encode_s, "search_plain_s": plain_s, "search_lm_s": chosen_s,
                     "ratio": (encode_s + chosen_s) / (encode_s + plain_s)},
            "utts": len(utts)}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def markdown(rows: Dict[str, Dict], sizes: Dict[str, Dict], lm_info: Dict, corpus: str) -> str:
    lines = [f"Corpus {corpus}; LM: {lm_info}", "",
             "| ASR | CER no LM | WER no LM | CER tuned | WER tuned | (w, b) | CER 2-fold "
             "| WER 2-fold | WER rel. (2-fold) | decode time ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        rel = 1 - r["two_fold"]["wer"] / r["no_lm"]["wer"]
        lines.append(
            f"| {name} | {pct(r['no_lm']['cer'])} | {pct(r['no_lm']['wer'])} | "
            f"{pct(r['tuned']['cer'])} | {pct(r['tuned']['wer'])} | "
            f"({r['tuned']['lm_weight']}, {r['tuned']['length_bonus']}) | "
            f"{pct(r['two_fold']['cer'])} | {pct(r['two_fold']['wer'])} | {pct(rel)} | "
            f"{r['time']['ratio']:.2f}x |")
    if sizes:
        lines += ["", "| LM sentences | dev perplexity | CER 2-fold | WER 2-fold |",
                  "|---|---|---|---|"]
        for n, r in sizes.items():
            lines.append(f"| {n} | {r['ppl']:.2f} | {pct(r['two_fold']['cer'])} | "
                         f"{pct(r['two_fold']['wer'])} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, required=True)
    p.add_argument("--work_dir", type=Path, required=True)
    p.add_argument("--asr_dirs", type=Path, nargs="+", required=True,
                   help="packed CTC ASR dirs of this corpus (one token list)")
    p.add_argument("--lang_config", type=Path, default=None)
    p.add_argument("--unpaired_text", type=Path, default=None)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--sizes", type=int, nargs="*", default=[],
                   help="also LMs of the first N sentences (2-fold figures of the first ASR)")
    p.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.4, 0.6, 0.8])
    p.add_argument("--bonuses", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    p.add_argument("--beam_size", type=int, default=10)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from lrspeech.data.datadir import DataDir
    from lrspeech.models.lm import load_lm
    from lrspeech.pipeline.lm import decode_grid, fusion_grid
    from lrspeech.text.lang import LangConfig

    db_root, work = a.db_root.resolve(), a.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    lang = encoder.lang_config(db_root, work, a.lang_config)
    cfg = LangConfig.load(lang)
    sentences = read_sentences(encoder.text_file(db_root, a.unpaired_text))
    dev = ablation.make_dev(work, db_root, 60.0)
    refs = DataDir.load(dev).text
    tokens_file = a.asr_dirs[0] / "tokens.txt"
    tokens = tokens_file.read_text(encoding="utf-8").splitlines()
    grid = fusion_grid(a.weights, a.bonuses)
    lm_dir = train_sized_lm(work, sentences, 0, dev, lang, tokens_file, a.epochs)
    lm = load_lm(lm_dir)
    lm_json = json.loads((lm_dir.parent / "lm.json").read_text(encoding="utf-8"))
    rows: Dict[str, Dict] = {}
    for asr in a.asr_dirs:
        name = f"{asr.parent.parent.name}/{asr.parent.name}"
        post, enc_s = posteriors(asr, dev, work / "post" / f"{name.replace('/', '_')}.npz")
        rows[name] = evaluate(decode_grid(post, tokens, lm, grid, a.beam_size), refs, cfg, enc_s)
        logger.info("%s: %s", name, rows[name])
    sizes: Dict[str, Dict] = {}
    first = a.asr_dirs[0]
    post, enc_s = posteriors(first, dev, work / "post" /
                             f"{first.parent.parent.name}_{first.parent.name}.npz")
    for n in a.sizes:
        model = train_sized_lm(work, sentences, n, dev, lang, tokens_file, a.epochs)
        r = evaluate(decode_grid(post, tokens, load_lm(model), grid, a.beam_size), refs, cfg,
                     enc_s)
        r["ppl"] = json.loads((model.parent / "lm.json").read_text())["dev_perplexity"]
        sizes[str(n)] = r
        logger.info("LM of %d sentences: %s", n, r)
    info = {k: lm_json[k] for k in ("sentences", "dev_perplexity", "epochs")}
    info["train_s"] = lm_json.get("train_s")
    md = markdown(rows, sizes, info, str(db_root))
    (work / "results.md").write_text(md, encoding="utf-8")
    (work / "results.json").write_text(json.dumps({"rows": rows, "sizes": sizes, "lm": info,
                                                   "grid": grid}, indent=2) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
