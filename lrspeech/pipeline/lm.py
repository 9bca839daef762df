"""The LM step: a character LM of the unpaired text, held-out sentences removed, packed.

Usage: python -m lrspeech.bin.lm_train --text dump/raw/unpaired_text --exclude dump/raw/dev \
    --lang_config conf/lang.yaml --token_list dump/token/target_asr_tokens.txt --out_dir exp/lm

1. The sentences of `--text` are normalized as ASR transcripts are (`normalize_for_scoring`:
   lower case, no punctuation, numbers as words); those that overlap a held-out sentence
   (`--exclude` data dirs: dev, test; `lrspeech.text.overlap`) are dropped and counted.
2. A share of them (`valid_share`, at least one) validates the training; the dev transcripts
   themselves are never trained on nor used to pick the checkpoint: they give the reported
   perplexity only.
3. ESPnet's LM task trains on them with ESPnet's `char` tokenizer and the ASR's own token
   list, exactly as the ASR reads its transcripts, so token ids match (conf/lm/lstm_tiny.yaml).
4. The best checkpoint is packed into `<out_dir>/model` (meta.json: task lm, the token list's
   SHA-256, sentences used and dropped, the dev perplexity) and `<out_dir>/lm.json` records
   the step.
"""

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import read_mapping, write_mapping
from lrspeech.errors import LrspeechError
from lrspeech.models.espnet_train import run_training, training_done
from lrspeech.models.lm import load_lm, token_digest
from lrspeech.models.packing import pack_model
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig
from lrspeech.text.overlap import OverlapRules, find_overlap
from lrspeech.text.token_list import read_token_list

logger = logging.getLogger(__name__)
PathLike = Union[str, Path]
SPACE, UNK = "<space>", "<unk>"
# Fewer sentences than this and the LM is refused: measured on Swahili (docs/benchmarks.md),
# an LM of a few hundred Bible verses already lowers dev WER; below 100 it raises it.
MIN_SENTENCES = 100


class LmDataError(LrspeechError, ValueError):
    """Text an LM cannot be trained on (empty, too small)."""


@dataclass
class LmText:
    """The sentences the LM trains on, normalized, and what was left out."""

    sentences: Dict[str, str]
    dropped: Dict[str, str] = field(default_factory=dict)  # id -> exact | contains | near
    empty: int = 0

    def counts(self) -> Dict[str, int]:
        kinds: Dict[str, int] = {}
        for kind in self.dropped.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        return {"kept": len(self.sentences), "empty": self.empty, **kinds}


def read_sentences(path: Path) -> Dict[str, str]:
    """`id sentence` lines of a data dir's text file (or of the file itself); an empty
    sentence is read (lm_text counts it), a malformed or repeated line is an error."""
    path = path / "text" if path.is_dir() else path
    if not path.is_file():
        raise LmDataError(f"{path}: no text file; give a data dir with `text` (id sentence)")
    return read_mapping(path, "utterance", allow_empty=True)


def lm_text(text: Dict[str, str], held_out: Sequence[str], cfg: LangConfig,
            rules: OverlapRules = OverlapRules(), where: str = "the text",
            min_sentences: int = MIN_SENTENCES) -> LmText:
    """Normalized sentences of `text` that do not overlap `held_out`; refuses fewer than
    `min_sentences`."""
    dropped = find_overlap(text, held_out, cfg, rules)
    out = LmText({}, dropped)
    for sid, sentence in text.items():
        if sid in dropped:
            continue
        norm = normalize_for_scoring(sentence, cfg)
        if norm:
            out.sentences[sid] = norm
        else:
            out.empty += 1
    if len(out.sentences) < min_sentences:
        raise LmDataError(
            f"{where}: {len(out.sentences)} usable sentences after dropping {len(dropped)} that "
            f"overlap the held-out sets and {out.empty} empty ones; an LM needs at least "
            f"{min_sentences} (docs/benchmarks.md, \"Language model\"). Give more unpaired text, "
            "or decode without an LM (--lm_weight 0)")
    return out


def split_valid(sentences: Dict[str, str], share: float, seed: int) -> Dict[str, Dict[str, str]]:
    """A random `share` of the sentences (at least one) for validation; the rest trains."""
    ids = sorted(sentences)
    random.Random(seed).shuffle(ids)
    n = max(1, int(round(share * len(ids))))
    return {"valid": {i: sentences[i] for i in sorted(ids[:n])},
            "train": {i: sentences[i] for i in sorted(ids[n:])}}


def write_lists(sentences: Dict[str, str], out: Path, vocab: int) -> Path:
    """An ESPnet LM list dir: `text` (id sentence) and `text_shape.char` (id length,vocab)."""
    write_mapping(out / "text", sentences)
    write_mapping(out / "text_shape.char", {i: f"{len(s)},{vocab}" for i, s in sentences.items()})
    return out


def lm_argv(config: Path, lists: Dict[str, Path], exp_dir: Path, token_list: Path,
            epochs: int, seed: int, extra: Sequence[str] = ()) -> List[str]:
    """ESPnet LM training arguments (char tokens over the ASR's token list)."""
    argv = ["--config", str(config), "--output_dir", str(exp_dir), "--resume", "true",
            "--use_preprocessor", "true", "--token_type", "char", "--token_list", str(token_list),
            "--bpemodel", "none", "--cleaner", "none", "--g2p", "none",
            "--max_epoch", str(epochs), "--seed", str(seed), "--ngpu", "0"]
    for split in ("train", "valid"):
        argv += [f"--{split}_data_path_and_name_and_type", f"{lists[split]}/text,text,text",
                 f"--{split}_shape_file", f"{lists[split]}/text_shape.char"]
    return argv + ["--fold_length", "150", *extra]


def token_ids(sentence: str, index: Dict[str, int]) -> List[int]:
    """ESPnet's char tokenization of a normalized sentence, as ids (<unk> for the unknown)."""
    unk = index[UNK]
    return [index.get(SPACE if ch == " " else ch, unk) for ch in sentence]


@dataclass
class LmResult:
    """What the LM step did."""

    model_dir: str
    sentences: Dict[str, int]
    dev_sentences: int
    dev_perplexity: Optional[float]
    epochs: int


def train_lm(text_dir: Path, exclude: Sequence[Path], lang_config: Path, token_list: Path,
             config: Path, out_dir: Path, epochs: int, seed: int = 1, valid_share: float = 0.02,
             extra_args: Sequence[str] = (), min_sentences: int = MIN_SENTENCES) -> LmResult:
    """The whole step (module docstring); returns what lm.json records."""
    cfg = LangConfig.load(lang_config)
    held = {f"{d}:{k}": v for d in exclude for k, v in read_sentences(Path(d)).items()}
    text = lm_text(read_sentences(Path(text_dir)), list(held.values()), cfg, where=str(text_dir),
                   min_sentences=min_sentences)
    logger.info("LM text %s: %s", text_dir, text.counts())
    tokens = read_token_list(token_list)
    parts = split_valid(text.sentences, valid_share, seed)
    lists = {s: write_lists(parts[s], out_dir / "data" / s, len(tokens)) for s in parts}
    exp = out_dir / "exp"
    argv = lm_argv(config, lists, exp, token_list, epochs, seed, extra_args)
    if not training_done(exp, argv):
        run_training("lm", argv, exp)
    model = pack_model(exp, None, out_dir / "model.tmp", meta={
        "task": "lm", "token_type": "char", "tokens_sha256": token_digest(tokens),
        "sentences": text.counts(), "text": str(text_dir)})
    dev = [normalize_for_scoring(t, cfg) for t in held.values()]
    dev = [s for s in dev if s]
    ppl = None
    if dev:
        index = {t: i for i, t in enumerate(tokens)}
        ppl = load_lm(model).perplexity([token_ids(s, index) for s in dev])
    meta = json.loads((model / "meta.json").read_text(encoding="utf-8"))
    meta["dev_perplexity"] = ppl
    atomic_write_text(model / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    final = out_dir / "model"
    if final.exists():
        shutil.rmtree(final)
    model.rename(final)
    result = LmResult(str(final), text.counts(), len(dev), ppl, epochs)
    atomic_write_text(out_dir / "lm.json", json.dumps(asdict(result), indent=2) + "\n")
    return result


# ---------------------------------------------------------------- fusion weights


class CachedScorer:
    """An LM scorer that computes each (state, token) step once: the grid of `tune_fusion`
    searches the same prefixes again and again. Keeps every state it gave out alive, so that
    their ids stay unique."""

    def __init__(self, lm: Any) -> None:
        self.lm, self.eos = lm, lm.eos
        self._cache: Dict[Tuple[int, int], Tuple[Any, Any]] = {}
        self._start: Optional[Tuple[Any, Any]] = None

    def initial(self) -> Tuple[Any, Any]:
        if self._start is None:
            self._start = self.lm.initial()
        return self._start

    def advance(self, states: Sequence[Any], tokens: Sequence[int]) -> List[Tuple[Any, Any]]:
        keys = [(id(s), int(k)) for s, k in zip(states, tokens)]
        todo = [i for i, key in enumerate(keys) if key not in self._cache]
        if todo:
            fresh = self.lm.advance([states[i] for i in todo], [tokens[i] for i in todo])
            for i, out in zip(todo, fresh):
                self._cache[keys[i]] = out
        return [self._cache[key] for key in keys]


def ids_to_text(ids: Sequence[int], tokens: Sequence[str]) -> str:
    """Plain text of char token ids (`<space>` spelled out), as Speech2Text prints it."""
    chars = "".join(" " if tokens[i] == SPACE else tokens[i] for i in ids)
    return " ".join(chars.split())


@dataclass
class FusionPoint:
    """Dev figures of one (lm_weight, length_bonus) pair."""

    lm_weight: float
    length_bonus: float
    cer: float
    wer: float
    search_s: float


def choose_point(points: Sequence[FusionPoint]) -> FusionPoint:
    """The lowest WER among the pairs whose CER is no worse than without the LM (0, 0);
    ties go to the lower CER, then the smaller weight."""
    base = next(p for p in points if p.lm_weight == 0.0 and p.length_bonus == 0.0)
    ok = [p for p in points if p.cer <= base.cer + 1e-9]
    return min(ok, key=lambda p: (round(p.wer, 9), round(p.cer, 9), p.lm_weight, p.length_bonus))


def ctc_posteriors(asr_dir: Path, data_dir: Path, device: str = "cpu") -> Dict[str, np.ndarray]:
    """The ASR's CTC log-posteriors (frames x vocabulary) of every clip of a data dir."""
    import torch

    from lrspeech.data.audio import load_audio, resample
    from lrspeech.models.packing import load_asr, model_sample_rate

    s2t = load_asr(asr_dir, device=device, lm_weight=0.0)
    rate = model_sample_rate(s2t)
    model = s2t.asr_model
    dd = DataDir.load(data_dir)
    out: Dict[str, np.ndarray] = {}
    with torch.no_grad():
        for utt in sorted(dd.wav_scp):
            spec, start, end = dd.audio_of(utt)
            raw, sr = load_audio(spec, start=start, end=end)
            speech = torch.tensor(resample(raw, sr, rate), dtype=torch.float32).unsqueeze(0)
            enc, _ = model.encode(speech, torch.tensor([speech.size(1)]))
            out[utt] = model.ctc.log_softmax(enc)[0].double().cpu().numpy()
    return out


def fusion_grid(weights: Sequence[float], bonuses: Sequence[float]) -> List[Tuple[float, float]]:
    """(0, 0) (no LM) first, then every (weight, bonus) pair."""
    return [(0.0, 0.0)] + [(w, b) for w in weights for b in bonuses if (w, b) != (0.0, 0.0)]


def decode_grid(post: Dict[str, np.ndarray], tokens: Sequence[str], lm: Any,
                grid: Sequence[Tuple[float, float]],
                beam: int = 10) -> List[Tuple[float, float, Dict[str, str], float]]:
    """Every utterance's hypothesis for every (weight, bonus) pair, and each pair's search
    time in seconds; (0, 0) runs the plain prefix search."""
    from lrspeech.models.ctc_search import Fusion, fused_beam_search, prefix_beam_search

    cached = CachedScorer(lm)
    out = []
    for w, b in grid:
        t0 = time.perf_counter()
        hyps = {}
        for utt, m in post.items():
            if w == 0.0 and b == 0.0:
                ids = prefix_beam_search(m, beam)[0]
            else:
                ids = fused_beam_search(m, beam, Fusion(cached, w, b))[0]
            hyps[utt] = ids_to_text(ids, tokens)
        out.append((w, b, hyps, time.perf_counter() - t0))
    return out


def tune_fusion(asr_dir: Path, lm_dir: Path, data_dir: Path, lang_config: Path,
                weights: Sequence[float], bonuses: Sequence[float], beam: int = 10,
                device: str = "cpu") -> Dict[str, Any]:
    """Decode `data_dir` once per (weight, bonus) pair of the grid from one pass of the
    encoder; the chosen pair (`choose_point`) and every pair's CER/WER and search time."""
    from lrspeech.eval.scoring import score_corpus
    from lrspeech.models.lm import check_tokens

    cfg = LangConfig.load(lang_config)
    tokens = read_token_list(asr_dir / "tokens.txt")
    lm = load_lm(lm_dir, device)
    check_tokens(lm, tokens, str(asr_dir))
    refs = DataDir.load(data_dir).text
    post = ctc_posteriors(asr_dir, data_dir, device)
    refs = {u: refs[u] for u in post}
    points = []
    for w, b, hyps, took in decode_grid(post, tokens, lm, fusion_grid(weights, bonuses), beam):
        score = score_corpus(refs, hyps, cfg)
        points.append(FusionPoint(w, b, score.cer, score.wer, took))
        logger.info("lm_weight %.2f length_bonus %.2f: CER %.2f%% WER %.2f%% (%.1f s)", w, b,
                    100 * score.cer, 100 * score.wer, took)
    best = choose_point(points)
    return {"chosen": asdict(best), "no_lm": asdict(points[0]),
            "grid": [asdict(p) for p in points], "data_dir": str(data_dir), "utts": len(post)}


def read_fusion(path: Path) -> Tuple[float, float, Dict[str, Any]]:
    """The tuned (lm_weight, length_bonus) in a `lm_fusion tune` result and what to record of
    the tuning in a packed ASR's meta.json."""
    try:
        r = json.loads(Path(path).read_text(encoding="utf-8"))
        chosen = r["chosen"]
        tuning = {"chosen": chosen, "no_lm": r["no_lm"], "data_dir": r["data_dir"]}
        return float(chosen["lm_weight"]), float(chosen["length_bonus"]), tuning
    except (ValueError, KeyError, TypeError) as err:
        raise LmDataError(f"{path}: not a `lm_fusion tune` result ({err}); rerun the tuning "
                          "(python -m lrspeech.bin.lm_fusion tune)") from err
