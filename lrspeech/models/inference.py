"""Batch inference with packed models: decode a data dir (ASR), synthesize a text dir (TTS).

Usage: python -m lrspeech.bin.asr_inference --model_dir exp/packed/asr --data_dir data/dev \
    --out_dir exp/decode_dev --nj 2

Work is split like Kaldi jobs: `job_index`/`num_jobs` pick a contiguous share of the
utterances in id order (the recipe's run.pl runs one process per job), and `nj` splits that
share again over worker processes of one thread each (torch is 3-13x slower on small VMs
otherwise). Each utterance is processed alone (batch of 1) with a fixed seed, so results do
not depend on the split; results are merged in id order. Outputs are built in a temporary
sibling of `out_dir` and renamed when complete.

ASR writes `text` (hypotheses) and `score`: per utterance, the best hypothesis's
log-likelihood under the decoding weights divided by its length in tokens (+1 for <eos>).
With the default CTC-only decoding (ctc_weight 1.0) that is log P_ctc(y|x) per token: 0 is
certain, lower is less sure; comparable across utterances of different lengths, so recipes
can rank or filter pseudo-labels by it.

TTS writes `wav/<utt>.wav` + `wav.scp` (unless no vocoder), `text`, `utt2spk`, and on request
`att_ws/<utt>.npy` (encoder-decoder attention of the most diagonal head, decoder steps x
(tokens + <eos>)), `durations` (ESPnet format `utt d1 d2 ...`, one per token and <eos>, in
feature frames: they sum to the frame count of the generated features; with teacher forcing,
to that of the real audio, the <eos> taking the < r frames a reduction factor r leaves over)
and `feats/<utt>.npy` + `feats.scp` (de-normalized features, frames x mels).

A synthesized clip that is empty, or near-empty (shorter than `min_seconds`, 0.1 s: no word is
spoken in less), is not written: its utterance is left out of every file above and
listed in `failed` (`utt text`, so the text is kept) and `skipped.json` (reason per utterance,
counts), and one warning line says how many. Decoding likewise leaves out clips shorter than
the ASR encoder takes (lrspeech.models.input_limits), listed in its `skipped.json`.
"""

import collections
import logging
import multiprocessing as mp
import queue
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.data.atomic import atomic_dir, atomic_file
from lrspeech.data.audio import AudioError, load_audio, resample, write_wav
from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import EMPTY_AUDIO, MALFORMED, DataDirError
from lrspeech.data.kaldi_files import format_lines
from lrspeech.data.skips import EMPTY, FAILED_LIST, NEAR_EMPTY, SKIPPED_JSON, Skips
from lrspeech.models import packing
from lrspeech.models.input_limits import measure_limit
from lrspeech.progress import progress as progress_bar
from lrspeech.runtime import limit_threads

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
SPACE, UNK, EOS = "<space>", "<unk>", "<sos/eos>"
MAX_LISTED = 5


class InferenceError(ValueError):
    """Inputs that cannot be decoded/synthesized; the message names the file and the fix."""


# ---------------------------------------------------------------- jobs


def contiguous_part(items: Sequence[Any], k: int, n: int) -> List[Any]:
    """Part `k` (1-based) of `n` contiguous parts, sizes within one (larger parts first)."""
    if n < 1 or not 1 <= k <= n:
        raise InferenceError(f"job {k} of {n}: need 1 <= job_index <= num_jobs")
    sizes = [len(items) // n + (i < len(items) % n) for i in range(n)]
    start = sum(sizes[:k - 1])
    return list(items[start:start + sizes[k - 1]])


def job_share(ids: Sequence[str], job_index: int, num_jobs: int) -> List[str]:
    """Job `job_index` (1-based) of `num_jobs`: contiguous in id order, sizes within one.

    More jobs than utterances leaves the last jobs empty (they write empty outputs).
    """
    return contiguous_part(sorted(ids), job_index, num_jobs)


def split_parts(items: Sequence[Any], nj: int) -> List[List[Any]]:
    """Non-empty contiguous parts for `nj` workers (fewer when there are few items)."""
    n = max(1, min(nj, len(items)))
    return [p for p in (contiguous_part(items, k, n) for k in range(1, n + 1)) if p]


_PROGRESS: Optional[Any] = None
_MODEL: Dict[str, Any] = {}


def _init_worker(progress: Any) -> None:
    """Worker set-up: one thread, the progress queue."""
    import torch

    global _PROGRESS
    limit_threads(1)
    torch.set_num_threads(1)
    _PROGRESS = progress


def _tick() -> None:
    if _PROGRESS is not None:
        _PROGRESS.put(1)


def worker_context() -> Any:
    """`fork` where the OS has it: workers inherit the imported ESPnet (re-importing it in
    each spawned worker costs 5-90 s on a loaded 2-core VM). The parent has run no torch
    op and started no thread when it forks, which is what makes forking safe here."""
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def run_parts(work: Callable[..., List[Any]], parts: List[Any], nj: int, desc: str,
              total: int, local: Callable[[Callable[[], None]], Callable[[Any], List[Any]]],
              preload: Callable[[], None] = lambda: None) -> List[Any]:
    """Run `work(part)` for each part: in this process (nj 1) or in `nj` worker processes.

    `local(tick)` returns the in-process worker (so a model is loaded once); the worker
    processes call the module-level `work`, which loads its own copy. `preload` imports
    what workers share before they start. Results are concatenated in part order.
    """
    if nj <= 1 or len(parts) <= 1:
        with progress_bar(total=total, desc=desc, unit="utt") as bar:
            run = local(lambda: bar.update(1))
            return [r for part in parts for r in run(part)]
    preload()
    ctx = worker_context()
    progress = ctx.Queue()
    with ProcessPoolExecutor(len(parts), mp_context=ctx, initializer=_init_worker,
                             initargs=(progress,)) as pool:
        futures = [pool.submit(work, part) for part in parts]  # starts all workers first
        with progress_bar(total=total, desc=desc, unit="utt") as bar:
            _follow(futures, progress, bar)
        return [r for f in futures for r in f.result()]


def _follow(futures: List[Future], progress: Any, bar: Any) -> None:
    while not all(f.done() for f in futures):
        try:
            progress.get(timeout=0.2)
            bar.update(1)
        except queue.Empty:
            continue
    while True:
        try:
            progress.get_nowait()
            bar.update(1)
        except queue.Empty:
            break


@dataclass(frozen=True)
class Throughput:
    """Speed of a run: utterances per wall-clock second, and the real-time factor.

    `seconds` is the wall time of the whole run (model loading and worker start included);
    `compute_seconds` sums the time spent on each utterance, so RTF = compute / audio time
    measures the model itself (below 1: faster than real time).
    """

    utterances: int
    seconds: float
    compute_seconds: float
    audio_seconds: float

    @property
    def utts_per_second(self) -> float:
        return self.utterances / self.seconds if self.seconds > 0 else 0.0

    @property
    def rtf(self) -> float:
        if self.audio_seconds <= 0:
            return float("inf")
        return self.compute_seconds / self.audio_seconds

    def summary(self) -> str:
        return (f"{self.utterances} utterances in {self.seconds:.1f} s (loading included): "
                f"{self.utts_per_second:.2f} utt/s; RTF {self.rtf:.3f} "
                f"({self.compute_seconds:.1f} s of compute for "
                f"{self.audio_seconds:.1f} s of audio)")


def note_resampled(rates: Mapping[str, int], target: int, what: str) -> None:
    """One note for all utterances read at another rate than the model's."""
    other = {u: r for u, r in rates.items() if r != target}
    if other:
        counts = collections.Counter(other.values())
        shown = ", ".join(f"{n} at {r} Hz" for r, n in sorted(counts.items()))
        logger.warning("%s: %d utterances resampled to the model's %d Hz (%s; first: %s)",
                       what, len(other), target, shown, sorted(other)[0])


def _write_lines(path: Path, mapping: Mapping[str, str]) -> None:
    path.write_text(format_lines(mapping), encoding="utf-8")


# ---------------------------------------------------------------- ASR


@dataclass(frozen=True)
class AsrOptions:
    """Decoding settings (batch of 1). CTC-only by default: see DESIGN.md and load_asr."""

    beam_size: int = 10
    ctc_weight: float = 1.0
    penalty: float = 0.0
    maxlenratio: float = 0.0
    minlenratio: float = 0.0
    device: str = "cpu"
    lm: Optional[str] = None  # packed LM dir (default: the ASR's own packed LM, if any)
    lm_weight: Optional[float] = None  # None: the packed weight; 0: no LM
    length_bonus: Optional[float] = None  # None: the packed bonus (with the LM)

    def decode_kwargs(self) -> Dict[str, Any]:
        return dict(beam_size=self.beam_size, ctc_weight=self.ctc_weight, penalty=self.penalty,
                    maxlenratio=self.maxlenratio, minlenratio=self.minlenratio, nbest=1,
                    lm=self.lm, lm_weight=self.lm_weight, length_bonus=self.length_bonus)


@dataclass(frozen=True)
class AsrHyp:
    """One decoded utterance."""

    utt: str
    text: str
    score: float  # log-likelihood per token (see module docstring)
    total_score: float
    tokens: int
    audio_seconds: float
    sample_rate: int  # the audio's own rate before resampling
    seconds: float = 0.0  # time spent decoding it
    skipped: str = ""  # reason it was not decoded (lrspeech.data.skips), empty when decoded
    detail: str = ""


@dataclass(frozen=True)
class AsrJob:
    """What one worker needs (picklable)."""

    model_dir: str
    data_dir: str
    utts: List[str]
    options: AsrOptions


def hypothesis_text(text: Optional[str], tokens: Sequence[str], token_type: str) -> str:
    """Plain text of a hypothesis; pre-tokenized (`word`) models spell `<space>` out."""
    if token_type == "word" or text is None:
        joined = "".join(" " if t == SPACE else t for t in tokens) if SPACE in tokens \
            else " ".join(tokens)
        return " ".join(joined.split())
    return " ".join(text.split())


class AsrDecoder:
    """A loaded packed ASR that decodes utterances of a data dir one by one."""

    def __init__(self, model_dir: PathLike, options: AsrOptions) -> None:
        self.speech2text = packing.load_asr(model_dir, device=options.device,
                                            **options.decode_kwargs())
        self.sample_rate = packing.model_sample_rate(self.speech2text)
        self.token_type = str(self.speech2text.asr_train_args.token_type)
        self.limit = measure_limit(self.speech2text.asr_model, self.sample_rate)

    def decode(self, dd: DataDir, utt: str) -> AsrHyp:
        """One utterance's hypothesis; audio the encoder cannot take comes back `skipped`."""
        spec, start, end = dd.audio_of(utt)
        try:
            raw, sr = load_audio(spec, start=start, end=end)
        except AudioError as err:
            if err.kind != EMPTY_AUDIO:
                raise
            return AsrHyp(utt, "", 0.0, 0.0, 0, 0.0, self.sample_rate, skipped=EMPTY,
                          detail=str(err))
        speech = resample(raw, sr, self.sample_rate)
        short = self.limit.reason(len(speech))
        if short is not None:
            return AsrHyp(utt, "", 0.0, 0.0, 0, len(raw) / sr, sr, skipped=short,
                          detail=self.limit.describe(len(speech)))
        start_time = time.perf_counter()
        results = self.speech2text(speech)
        text, tokens, _, hyp = results[0]
        total = float(hyp.score)
        return AsrHyp(utt, hypothesis_text(text, tokens, self.token_type),
                      total / (len(tokens) + 1), total, len(tokens), len(raw) / sr, sr,
                      time.perf_counter() - start_time)

    def run(self, dd: DataDir, utts: Sequence[str], tick: Callable[[], None]) -> List[AsrHyp]:
        out = []
        for utt in utts:
            out.append(self.decode(dd, utt))
            tick()
        return out


def _asr_work(job: AsrJob) -> List[AsrHyp]:
    decoder = AsrDecoder(job.model_dir, job.options)
    return decoder.run(DataDir.load(Path(job.data_dir)), job.utts, _tick)


def load_speech_dir(data_dir: PathLike) -> DataDir:
    """A data dir with audio; errors name the dir and what to do."""
    dd = DataDir.load(Path(data_dir))
    if not dd.has_audio:
        raise InferenceError(f"{data_dir}/wav.scp: missing or empty; decoding needs audio")
    return dd


def decode_data_dir(
    model_dir: PathLike,
    data_dir: PathLike,
    out_dir: PathLike,
    options: AsrOptions = AsrOptions(),
    job_index: int = 1,
    num_jobs: int = 1,
    nj: int = 1,
) -> Tuple[List[AsrHyp], Throughput]:
    """Decode this job's share of `data_dir` into `out_dir` (text, score); return results.

    Clips the ASR encoder cannot take (empty, or too short for its subsampling) are not
    decoded: they are left out of text/score and listed, with counts per reason, in
    `out_dir/skipped.json` and one log line; the returned hypotheses are the decoded ones.
    """
    packing.expect_task(Path(model_dir), "asr")
    dd = load_speech_dir(data_dir)
    utts = job_share(dd.audio_utt_ids, job_index, num_jobs)
    jobs = [AsrJob(str(model_dir), str(data_dir), part, options) for part in split_parts(utts, nj)]
    start = time.perf_counter()
    decoder: Dict[str, AsrDecoder] = {}

    def local(tick: Callable[[], None]) -> Callable[[AsrJob], List[AsrHyp]]:
        return lambda job: _decoder(decoder, job).run(dd, job.utts, tick)

    results = sorted(run_parts(_asr_work, jobs, nj, "decode", len(utts), local,
                               preload=lambda: _preload("asr")), key=lambda h: h.utt)
    skips = Skips()
    for h in results:
        if h.skipped:
            skips.add(h.utt, h.skipped, h.detail)
    hyps = [h for h in results if not h.skipped]
    took = Throughput(len(hyps), time.perf_counter() - start, sum(h.seconds for h in hyps),
                      sum(h.audio_seconds for h in hyps))
    if hyps:
        note_resampled({h.utt: h.sample_rate for h in hyps}, _model_rate(model_dir), str(data_dir))
    skips.log(f"decode {data_dir}")
    with atomic_dir(Path(out_dir), replace=("text", "score", SKIPPED_JSON)) as tmp:
        _write_lines(tmp / "text", {h.utt: h.text for h in hyps})
        _write_lines(tmp / "score", {h.utt: f"{h.score:.4f}" for h in hyps})
        skips.write(tmp / SKIPPED_JSON)
    return hyps, took


def _preload(task: str) -> None:
    """Import ESPnet's inference module (and register lrspeech's models) before forking."""
    import importlib

    from lrspeech.models.tasks import register_models

    importlib.import_module(f"espnet2.bin.{task}_inference")
    register_models()


def _decoder(cache: Dict[str, AsrDecoder], job: AsrJob) -> AsrDecoder:
    if "asr" not in cache:
        cache["asr"] = AsrDecoder(job.model_dir, job.options)
    return cache["asr"]


def _model_rate(model_dir: PathLike) -> int:
    return int(packing.read_meta(model_dir).get("sample_rate") or packing.DEFAULT_SAMPLE_RATE)


# ---------------------------------------------------------------- TTS text


@dataclass
class TextReport:
    """Utterances skipped for empty text and tokens mapped to <unk>, reported once."""

    empty: List[str] = field(default_factory=list)
    blank_lines: List[int] = field(default_factory=list)
    unknown: collections.Counter = field(default_factory=collections.Counter)
    unknown_where: Dict[str, str] = field(default_factory=dict)
    details: str = ""

    def log(self, where: str) -> None:
        if self.blank_lines:
            logger.warning("%s/text: %d blank lines skipped (line %s)", where,
                           len(self.blank_lines), ", ".join(map(str, self.blank_lines[:10])))
        if self.empty:
            logger.warning("%s/text: %d utterances with empty text skipped (%s); fill or drop "
                           "them (utils/fix_data_dir.sh)", where, len(self.empty),
                           ", ".join(self.empty[:MAX_LISTED]))
        if self.details:
            logger.warning("%s/text: %s", where, self.details)
        elif self.unknown:
            shown = ", ".join(f"{t!r} x{n} (e.g. in {self.unknown_where[t]})"
                              for t, n in self.unknown.most_common(MAX_LISTED))
            logger.warning("%s/text: %d tokens unknown to the model were read as <unk>: %s",
                           where, sum(self.unknown.values()), shown)


def read_text_dir(text_dir: PathLike, report: TextReport) -> DataDir:
    """A text dir; blank lines and empty texts are skipped (reported), other problems raise."""
    if not (Path(text_dir) / "text").is_file():
        raise InferenceError(f"{text_dir}/text: missing; synthesis needs a text file")
    dd, problems = DataDir.read(Path(text_dir))
    blank = [p for p in problems if p.kind == MALFORMED and p.utt_id is None]
    fatal = [p for p in problems if p not in blank]
    if fatal:
        raise DataDirError(fatal)
    report.blank_lines = sorted(p.line for p in blank if p.line is not None)
    report.empty = sorted(u for u, t in dd.text.items() if not t.strip())
    return dd


class TextEncoder:
    """Raw text -> the model's token ids, as the model's training text was made.

    - `word` models with a lang.yaml (lrspeech's pre-tokenized phonemes/characters):
      lrspeech.text's Tokenizer with the packed lang.yaml and meta token_type;
    - `word` models read pre-tokenized input with `tokenized=True`;
    - ESPnet's own token types (char/phn/bpe): ESPnet's cleaner and tokenizer.
    Tokens outside the token list become <unk> and are counted in the report.
    """

    def __init__(self, model_dir: PathLike, meta: Mapping[str, Any], tokenized: bool = False):
        model_dir = Path(model_dir)
        config = packing.resolve_config(model_dir)
        self.token_list = [t.rstrip("\n") for t in
                           (model_dir / packing.TOKENS).read_text(encoding="utf-8").splitlines()]
        self.ids = {t: i for i, t in enumerate(self.token_list)}
        self.lrspeech_tokenizer = None
        self.espnet = None
        if str(config.get("token_type")) == "word" and not tokenized:
            self.lrspeech_tokenizer = self._lrspeech(model_dir, meta)
        elif str(config.get("token_type")) != "word":
            self.espnet = self._espnet(config)

    def _lrspeech(self, model_dir: Path, meta: Mapping[str, Any]) -> Any:
        from lrspeech.text.lang import LangConfig
        from lrspeech.text.tokenizer import Tokenizer

        if not (model_dir / packing.LANG).is_file():
            raise InferenceError(
                f"{model_dir}/{packing.LANG}: missing; this model reads lrspeech tokens. Repack "
                "it with --lang_config, or pass pre-tokenized text (--tokenized)")
        token_type = meta.get("token_type")
        token_type = token_type if token_type in ("char", "phn", "bpe") else None
        bpe = model_dir / "bpe.model"
        return Tokenizer(LangConfig.load(model_dir / packing.LANG), token_type=token_type,
                         bpemodel=bpe if bpe.is_file() else None, token_list=self.token_list)

    @staticmethod
    def _espnet(config: Mapping[str, Any]) -> Tuple[Any, Any]:
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        tokenizer = build_tokenizer(
            token_type=config["token_type"], bpemodel=config.get("bpemodel"),
            non_linguistic_symbols=config.get("non_linguistic_symbols"),
            g2p_type=config.get("g2p"))
        return TextCleaner(config.get("cleaner")), tokenizer

    def tokens(self, texts: Mapping[str, str]) -> Dict[str, List[str]]:
        """Tokens of each utterance (as the model knows them: unknown ones are <unk>)."""
        utts = sorted(texts)
        if self.lrspeech_tokenizer is not None:
            raw = self.lrspeech_tokenizer.tokenize_batch([texts[u] for u in utts], utts)
        elif self.espnet is not None:
            cleaner, tokenizer = self.espnet
            raw = [tokenizer.text2tokens(cleaner(texts[u])) for u in utts]
        else:
            raw = [texts[u].split() for u in utts]
        return dict(zip(utts, raw))

    def encode(self, texts: Mapping[str, str], report: TextReport) -> Dict[str, List[str]]:
        """Tokens per utterance with unknown ones replaced by <unk> and counted in `report`."""
        out = {}
        for utt, toks in self.tokens(texts).items():
            known = []
            for tok in toks:
                if tok not in self.ids:
                    report.unknown[tok] += 1
                    report.unknown_where.setdefault(tok, utt)
                    tok = UNK
                known.append(tok)
            out[utt] = known
        tokenizer = self.lrspeech_tokenizer
        if tokenizer is not None:  # it maps unknown tokens to <unk> itself, and counts them
            report.unknown.update(tokenizer.report.oov_tokens)
            if not tokenizer.report.empty:
                report.details = tokenizer.report.summary()
        return out

    def to_ids(self, tokens: Sequence[str]) -> np.ndarray:
        return np.array([self.ids.get(t, self.ids.get(UNK, 1)) for t in tokens], dtype=np.int64)


# ---------------------------------------------------------------- TTS


@dataclass(frozen=True)
class TtsOptions:
    """Synthesis settings. `vocoder` None writes features only (no Griffin-Lim)."""

    speaker: str = "target"
    vocoder: Optional[str] = "auto"  # lrspeech.models.vocoder.parse_spec
    vocoder_config: Optional[str] = None
    vocoder_file: Optional[str] = None
    write_attention: bool = False
    write_durations: bool = False
    write_feats: bool = False
    teacher_forcing: bool = False
    speech_dir: Optional[str] = None
    tokenized: bool = False
    threshold: float = 0.5
    minlenratio: float = 0.0
    maxlenratio: float = 10.0
    seed: int = 777
    device: str = "cpu"
    # A clip shorter than this (s) is near-empty: no word is spoken in less. It is recorded as
    # failed and not written (empty clips always are).
    min_seconds: float = 0.1

    @property
    def with_vocoder(self) -> bool:
        return self.vocoder_file is not None or self.vocoder not in (None, "none")


@dataclass(frozen=True)
class TtsItem:
    """One utterance to synthesize (picklable)."""

    utt: str
    tokens: List[str]
    token_ids: List[int]


@dataclass(frozen=True)
class TtsRecord:
    """One synthesized utterance."""

    utt: str
    tokens: List[str]  # what the model read (without <eos>)
    frames: int
    audio_seconds: float
    wav: Optional[str] = None
    feats: Optional[str] = None
    att_ws: Optional[str] = None
    durations: Optional[List[int]] = None
    focus_rate: Optional[float] = None
    speech_rate: Optional[int] = None  # teacher forcing: the real audio's own rate
    seconds: float = 0.0  # time spent synthesizing it
    speech_frames: Optional[int] = None  # teacher forcing: frames of the real audio
    failed: str = ""  # why no clip was written (lrspeech.data.skips reason), empty if written
    detail: str = ""


@dataclass(frozen=True)
class TtsJob:
    model_dir: str
    out_dir: str  # the temporary dir files go to
    final_dir: str  # where they will be after the rename (for wav.scp)
    items: List[TtsItem]
    speaker: str
    options: TtsOptions


class Synthesizer:
    """A loaded packed TTS that synthesizes items in one speaker's voice."""

    def __init__(self, model_dir: PathLike, options: TtsOptions) -> None:
        self.options = options
        self.model_dir = Path(model_dir)
        self.meta = packing.read_meta(self.model_dir)
        self.t2s = packing.load_tts(
            self.model_dir, device=options.device, vocoder=options.vocoder,
            vocoder_config=options.vocoder_config, vocoder_file=options.vocoder_file,
            use_teacher_forcing=options.teacher_forcing, always_fix_seed=True, seed=options.seed,
            threshold=options.threshold, minlenratio=options.minlenratio,
            maxlenratio=options.maxlenratio)
        self.fs = int(self.t2s.fs or packing.model_sample_rate(self.t2s, self.meta))
        self.hop = self._hop()
        self.reduction = int(getattr(self.t2s.tts, "reduction_factor", 1) or 1)
        self.speech = DataDir.load(Path(options.speech_dir)) if options.speech_dir else None

    def _hop(self) -> int:
        fe = self.t2s.feats_extract
        if fe is None or not hasattr(fe, "get_parameters"):
            raise InferenceError(f"{self.model_dir}: model has no feature extractor; cannot "
                                 "tell its frame rate")
        return int(fe.get_parameters()["n_shift"])

    def conditioning(self, speaker: str) -> Dict[str, np.ndarray]:
        """sids / spembs for a speaker name (or `target`), as the model needs them."""
        table = packing.speaker_table(self.model_dir, self.meta)
        kw: Dict[str, np.ndarray] = {}
        if self.t2s.use_sids:
            name, sid = table.resolve(speaker)
            if sid is None:
                raise InferenceError(f"{self.model_dir}: speaker '{name}' has no id; "
                                     f"{table.listing()}")
            kw["sids"] = np.array([sid])
        if self.t2s.use_spembs:
            kw["spembs"] = table.embedding(speaker)
        return kw

    def synthesize(self, item: TtsItem, cond: Mapping[str, np.ndarray], out: Path,
                   final: Path) -> TtsRecord:
        speech, sr = self._speech(item.utt)
        start = time.perf_counter()
        result = self.t2s(np.asarray(item.token_ids, dtype=np.int64), speech=speech, **cond)
        took = time.perf_counter() - start
        feats = result.get("feat_gen_denorm")
        feats = result["feat_gen"] if feats is None else feats
        frames = int(feats.shape[0])
        rec = TtsRecord(item.utt, list(item.tokens), frames, frames * self.hop / self.fs,
                        speech_rate=sr, seconds=took,
                        speech_frames=self._frames_of(speech) if speech is not None else None)
        failed = self._failure(rec, result)
        if failed is not None:
            return replace(rec, failed=failed[0], detail=failed[1])
        return self._save(rec, result, feats, out, final)

    def _failure(self, rec: TtsRecord, result: Mapping[str, Any]) -> Optional[Tuple[str, str]]:
        """(reason, detail) when the output is empty or near-empty, else None.

        The waveform's length counts where there is one, else the features'. Teacher forcing
        follows the real audio, whose length says nothing of the model: only emptiness counts.
        """
        wav = result.get("wav") if self.options.with_vocoder else None
        seconds = int(wav.numel()) / self.fs if wav is not None else rec.audio_seconds
        if rec.frames == 0 or seconds == 0:
            return EMPTY, f"the TTS generated no audio for {len(rec.tokens)} tokens"
        if not self.options.teacher_forcing and seconds < self.options.min_seconds:
            return NEAR_EMPTY, (f"{seconds:.3f} s ({rec.frames} frames) for {len(rec.tokens)} "
                                f"tokens, under --min_seconds {self.options.min_seconds:g}")
        return None

    def _frames_of(self, speech: np.ndarray) -> int:
        """Feature frames of the real audio, as the model's extractor (and a student) count."""
        import torch

        x = torch.as_tensor(speech, dtype=torch.float32)[None]
        _, lengths = self.t2s.feats_extract(x, torch.tensor([x.shape[1]]))
        return int(lengths[0])

    def _speech(self, utt: str) -> Tuple[Optional[np.ndarray], Optional[int]]:
        if not self.options.teacher_forcing:
            return None, None
        if self.speech is None:
            raise InferenceError("teacher forcing needs the real audio: give --speech_dir")
        try:
            spec, start, end = self.speech.audio_of(utt)
        except KeyError as err:
            raise InferenceError(f"{self.options.speech_dir}/wav.scp: utterance '{utt}' has "
                                 "no audio; teacher forcing needs every utterance's "
                                 "recording (add it or subset the text dir)") from err
        raw, sr = load_audio(spec, start=start, end=end)
        return resample(raw, sr, self.fs), sr

    def _save(self, rec: TtsRecord, result: Mapping[str, Any], feats: Any, out: Path,
              final: Path) -> TtsRecord:
        changes: Dict[str, Any] = {}
        if result.get("wav") is not None and self.options.with_vocoder:
            write_wav(out / "wav" / f"{rec.utt}.wav", result["wav"].cpu().numpy(), self.fs)
            changes["wav"] = str(final / "wav" / f"{rec.utt}.wav")
        if self.options.write_feats or not self.options.with_vocoder:
            save_npy(out / "feats" / f"{rec.utt}.npy", feats.cpu().numpy())
            changes["feats"] = str(final / "feats" / f"{rec.utt}.npy")
        if result.get("att_w") is not None:
            changes["focus_rate"] = float(result["focus_rate"])
            if self.options.write_attention:
                save_npy(out / "att_ws" / f"{rec.utt}.npy", most_diagonal_head(result["att_w"]))
                changes["att_ws"] = str(final / "att_ws" / f"{rec.utt}.npy")
        if self.options.write_durations:
            changes["durations"] = self._durations(rec, result)
        return replace(rec, **changes)

    def _durations(self, rec: TtsRecord, result: Mapping[str, Any]) -> List[int]:
        if result.get("duration") is None:
            raise InferenceError(f"{self.model_dir}: model '{type(self.t2s.tts).__name__}' "
                                 "gives neither attention nor durations")
        durations = [int(d) * self.reduction for d in result["duration"].view(-1).tolist()]
        if sum(durations) != rec.frames:
            raise InferenceError(f"utterance '{rec.utt}': durations sum to {sum(durations)} "
                                 f"frames but {rec.frames} were generated")
        if rec.speech_frames is not None:
            # a reduction factor r > 1 drops the real audio's last frames (< r): give them to
            # the final <eos> so the durations count every frame a student will train on
            durations[-1] += rec.speech_frames - rec.frames
        return durations

    def run(self, job: TtsJob, tick: Callable[[], None]) -> List[TtsRecord]:
        cond = self.conditioning(job.speaker)
        out = []
        for item in job.items:
            out.append(self.synthesize(item, cond, Path(job.out_dir), Path(job.final_dir)))
            tick()
        return out


def most_diagonal_head(att_w: Any) -> np.ndarray:
    """(steps, tokens) map of the head with the highest focus rate (ESPnet's choice)."""
    a = att_w.detach().cpu().numpy() if hasattr(att_w, "detach") else np.asarray(att_w)
    heads = a.reshape(-1, a.shape[-2], a.shape[-1])
    return heads[int(np.argmax(heads.max(axis=-1).mean(axis=-1)))].astype(np.float32)


def save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def _tts_work(job: TtsJob) -> List[TtsRecord]:
    return Synthesizer(job.model_dir, job.options).run(job, _tick)


@dataclass
class SynthesisResult:
    """What synthesize_text_dir did."""

    records: List[TtsRecord]
    throughput: Throughput
    report: TextReport
    speaker: str
    out_dir: Path
    failed: List[TtsRecord] = field(default_factory=list)  # empty or near-empty: no clip


TTS_FILES = ("wav", "wav.scp", "text", "utt2spk", "spk2utt", "feats", "feats.scp", "att_ws",
             "attention.json", "durations", FAILED_LIST, SKIPPED_JSON)


def synthesize_text_dir(
    model_dir: PathLike,
    text_dir: PathLike,
    out_dir: PathLike,
    options: TtsOptions = TtsOptions(),
    job_index: int = 1,
    num_jobs: int = 1,
    nj: int = 1,
    finalize: Optional[Callable[[Path, List[TtsRecord]], None]] = None,
) -> SynthesisResult:
    """Synthesize this job's share of a text dir into `out_dir` (see the module docstring).

    `finalize(tmp_dir, records)` may add files before the dir is renamed into place.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    meta = packing.expect_task(model_dir, "tts")
    report = TextReport()
    dd = read_text_dir(text_dir, report)
    texts = {u: t for u, t in dd.text.items() if t.strip()}
    share = job_share(sorted(texts), job_index, num_jobs)
    speaker = speaker_name(model_dir, meta, options.speaker)
    encoder = TextEncoder(model_dir, meta, options.tokenized)
    tokens = encoder.encode({u: texts[u] for u in share}, report)
    report.log(str(text_dir))
    items = [TtsItem(u, tokens[u], encoder.to_ids(tokens[u]).tolist()) for u in share]
    start = time.perf_counter()
    with atomic_dir(out_dir, replace=TTS_FILES) as tmp:
        jobs = [TtsJob(str(model_dir), str(tmp), str(out_dir.resolve()), part, options.speaker,
                       options) for part in split_parts(items, nj)]
        synth: Dict[str, Synthesizer] = {}

        def local(tick: Callable[[], None]) -> Callable[[TtsJob], List[TtsRecord]]:
            return lambda job: _synthesizer(synth, job).run(job, tick)

        done = sorted(run_parts(_tts_work, jobs, nj, "synthesize", len(items), local,
                                preload=lambda: _preload("tts")), key=lambda r: r.utt)
        took = Throughput(len(done), time.perf_counter() - start,
                          sum(r.seconds for r in done), sum(r.audio_seconds for r in done))
        records = [r for r in done if not r.failed]
        failed = [r for r in done if r.failed]
        _write_tts_index(tmp, records, texts, speaker, options)
        _write_failed(tmp, failed, texts).log(f"synthesize {text_dir}")
        if finalize is not None:
            finalize(tmp, records)
    if options.teacher_forcing and records:
        note_resampled({r.utt: r.speech_rate for r in records if r.speech_rate},
                       int(meta.get("sample_rate") or packing.DEFAULT_SAMPLE_RATE),
                       str(options.speech_dir))
    return SynthesisResult(records, took, report, speaker, out_dir, failed)


def _synthesizer(cache: Dict[str, Synthesizer], job: TtsJob) -> Synthesizer:
    if "tts" not in cache:
        cache["tts"] = Synthesizer(job.model_dir, job.options)
    return cache["tts"]


def _write_tts_index(tmp: Path, records: List[TtsRecord], texts: Mapping[str, str],
                     speaker: str, options: TtsOptions) -> None:
    utts = [r.utt for r in records]
    _write_lines(tmp / "text", {u: texts[u] for u in utts})
    _write_lines(tmp / "utt2spk", {u: speaker for u in utts})
    _write_lines(tmp / "spk2utt", {speaker: " ".join(utts)} if utts else {})
    if options.with_vocoder:
        _write_lines(tmp / "wav.scp", {r.utt: r.wav for r in records if r.wav})
    if any(r.feats for r in records) or not options.with_vocoder:
        _write_lines(tmp / "feats.scp", {r.utt: r.feats for r in records if r.feats})
    if options.write_durations:
        _write_lines(tmp / "durations", {r.utt: " ".join(map(str, r.durations or []))
                                         for r in records})


def _write_failed(tmp: Path, failed: List[TtsRecord], texts: Mapping[str, str]) -> Skips:
    """`failed` (utt and text of each clip not written) and `skipped.json` (reasons)."""
    skips = Skips()
    for r in failed:
        skips.add(r.utt, r.failed, r.detail)
    _write_lines(tmp / FAILED_LIST, {r.utt: texts[r.utt] for r in failed})
    skips.write(tmp / SKIPPED_JSON)
    return skips


def speaker_name(model_dir: PathLike, meta: Mapping[str, Any], speaker: str) -> str:
    """The name `speaker` (a name or `target`) stands for; errors list the known speakers.

    A single-speaker model has no speaker table: any name is taken as given, `target` is
    meta's target_speaker (or "tts").
    """
    table = packing.speaker_table(model_dir, meta)
    if table.names:
        return table.name_of(speaker)
    if speaker == "target":
        return str(meta.get("target_speaker") or "tts")
    return speaker
