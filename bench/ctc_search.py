"""Benchmark: lrspeech's CTC prefix search vs ESPnet's beam search, same models, same audio.

Usage: python bench/ctc_search.py --model_dir egs/swahili/lr1/exp/finetune/asr/model \
    --data_dir egs/swahili/lr1/dump/raw/dev --lang_config egs/swahili/lr1/conf/lang.yaml

For each packed ASR (several --model_dir allowed) both searches decode every utterance of the
data dir CTC-only with the same beam: ESPnet's label-synchronous `BeamSearch` and lrspeech's
frame-synchronous `CtcPrefixSearch` (what `load_asr` now uses). Printed per model and search:
wall time of the decoding loop (model loaded), CER and WER against the data dir's text (both
normalized as the recipe scores), hypothesis words per reference word, and how often each
search found the label sequence with the higher exact log P_ctc(y|x) (their common objective).
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def decode_all(s2t, audio: Dict[str, "object"]) -> Dict[str, object]:
    """Hypothesis text, token ids and decoding seconds of every utterance."""
    hyps, ids = {}, {}
    t0 = time.perf_counter()
    for utt, x in audio.items():
        text, _, token_int, _ = s2t(x)[0]
        hyps[utt], ids[utt] = " ".join((text or "").split()), list(token_int)
    return {"hyps": hyps, "ids": ids, "seconds": time.perf_counter() - t0}


def exact_scores(s2t, audio, ids: Dict[str, Dict[str, List[int]]]) -> Dict[str, Dict[str, float]]:
    """log P_ctc(y|x) of each search's hypothesis per utterance (forward algorithm); `ids` maps
    search -> utt -> token ids. Each utterance is encoded once for all searches."""
    import torch

    from lrspeech.models.ctc_search import ctc_log_likelihood

    model = s2t.asr_model
    out: Dict[str, Dict[str, float]] = {name: {} for name in ids}
    for utt, x in audio.items():
        with torch.no_grad():
            enc, _ = model.encode(torch.from_numpy(x)[None], torch.tensor([len(x)]))
            logp = model.ctc.log_softmax(enc)[0]
        for name, by_utt in ids.items():
            out[name][utt] = float(ctc_log_likelihood(logp, by_utt[utt]))
    return out


def error_rates(refs: Dict[str, str], hyps: Dict[str, str], cfg=None) -> Dict[str, float]:
    """CER and WER as the recipe scores them, and hypothesis words per reference word."""
    from lrspeech.eval.scoring import score_corpus

    score = score_corpus(refs, hyps, cfg)
    return {"cer": score.cer, "wer": score.wer,
            "words_per_ref_word": score.word.hyp_len / score.word.ref_len}


def compare(model_dir: Path, data_dir: Path, lang_config: Path, beam: int) -> Dict[str, object]:
    from lrspeech.data.audio import load_audio
    from lrspeech.data.datadir import DataDir
    from lrspeech.models.packing import load_asr, model_sample_rate
    from lrspeech.text.lang import LangConfig

    dd = DataDir.load(data_dir)
    cfg = LangConfig.load(lang_config)
    ours = load_asr(model_dir, beam_size=beam)
    sr = model_sample_rate(ours)
    audio = {}
    for utt in dd.audio_utt_ids:
        spec, start, end = dd.audio_of(utt)
        audio[utt] = load_audio(spec, target_sr=sr, start=start, end=end)[0]
    refs = {u: dd.text[u] for u in audio}
    res: Dict[str, object] = {"model_dir": str(model_dir), "utterances": len(audio)}
    runs = {"espnet": decode_all(load_asr(model_dir, beam_size=beam, espnet_search=True), audio),
            "lrspeech": decode_all(ours, audio)}
    for name, run in runs.items():
        res[name] = {"seconds": round(run["seconds"], 2), **error_rates(refs, run["hyps"], cfg)}
    exact = exact_scores(ours, audio, {n: run["ids"] for n, run in runs.items()})
    esp, own = exact["espnet"], exact["lrspeech"]
    res["lrspeech_higher_p"] = sum(own[u] > esp[u] + 1e-4 for u in audio)
    res["espnet_higher_p"] = sum(esp[u] > own[u] + 1e-4 for u in audio)
    return res


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, nargs="+", required=True, help="packed ASR dirs")
    p.add_argument("--data_dir", type=Path, required=True, help="data dir with text")
    p.add_argument("--lang_config", type=Path, required=True, help="the recipe's lang.yaml")
    p.add_argument("--beam_size", type=int, default=10)
    p.add_argument("--out", type=Path, default=None, help="results as JSON")
    a = p.parse_args(argv)
    from lrspeech.runtime import limit_threads

    limit_threads()
    results = [compare(m, a.data_dir, a.lang_config, a.beam_size) for m in a.model_dir]
    print("| model | search | seconds | CER % | WER % | hyp words / ref word | higher P(y|x) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for name, key in (("espnet", "espnet_higher_p"), ("lrspeech", "lrspeech_higher_p")):
            s = r[name]
            print(f"| {r['model_dir']} | {name} | {s['seconds']:.1f} | {100 * s['cer']:.1f} | "
                  f"{100 * s['wer']:.1f} | {s['words_per_ref_word']:.2f} | "
                  f"{r[key]}/{r['utterances']} |")
    if a.out:
        a.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
