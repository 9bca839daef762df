"""Decode a data dir with a packed ASR: hypotheses (`text`) and confidences (`score`).

Usage: python -m lrspeech.bin.asr_inference --model_dir exp/packed/asr --data_dir data/dev \
    --out_dir exp/decode_dev --nj 2

Each utterance is decoded alone (batch of 1); jobs and worker processes split the data dir as
lrspeech.models.jobs describes, and the outputs are built in a temporary sibling of `out_dir`
and renamed when complete.

`score` holds, per utterance, the best hypothesis's log-likelihood under the decoding weights
divided by its length in tokens (+1 for <eos>). With the default CTC-only decoding (ctc_weight
1.0) that is log P_ctc(y|x) per token: 0 is certain, lower is less sure; comparable across
utterances of different lengths, so recipes can rank or filter pseudo-labels by it.

Clips shorter than the ASR encoder takes (lrspeech.models.input_limits), or empty, are not
decoded: they are left out of `text` and `score` and listed in `skipped.json`.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from lrspeech.data.atomic import atomic_dir
from lrspeech.data.audio import AudioError, load_audio, resample
from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import EMPTY_AUDIO
from lrspeech.data.kaldi_files import write_mapping
from lrspeech.data.skips import EMPTY, SKIPPED_JSON, Skips
from lrspeech.models import packing
from lrspeech.models.input_limits import measure_limit
from lrspeech.models.jobs import (
    InferenceError,
    Throughput,
    job_share,
    note_resampled,
    preload_espnet,
    run_parts,
    split_parts,
    worker_tick,
)

PathLike = Union[str, Path]
SPACE = "<space>"


@dataclass(frozen=True)
class AsrOptions:
    """Decoding settings (batch of 1). CTC-only by default: see load_asr and
    docs/benchmarks.md ("CTC-only decoding by default")."""

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
    return decoder.run(DataDir.load(Path(job.data_dir)), job.utts, worker_tick)


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
                               preload=lambda: preload_espnet("asr")), key=lambda h: h.utt)
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
        write_mapping(tmp / "text", {h.utt: h.text for h in hyps})
        write_mapping(tmp / "score", {h.utt: f"{h.score:.4f}" for h in hyps})
        skips.write(tmp / SKIPPED_JSON)
    return hyps, took


def _decoder(cache: Dict[str, AsrDecoder], job: AsrJob) -> AsrDecoder:
    if "asr" not in cache:
        cache["asr"] = AsrDecoder(job.model_dir, job.options)
    return cache["asr"]


def _model_rate(model_dir: PathLike) -> int:
    return int(packing.read_meta(model_dir).get("sample_rate") or packing.DEFAULT_SAMPLE_RATE)
