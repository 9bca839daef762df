"""Synthesize a text dir with a packed TTS, in one speaker's voice, into a data dir.

Usage: python -m lrspeech.bin.tts_inference --model_dir exp/packed/tts --text_dir data/text \
    --out_dir exp/synth --speaker target --nj 2

Writes `wav/<utt>.wav` + `wav.scp` (unless no vocoder), `text`, `utt2spk`, and on request
`att_ws/<utt>.npy` (encoder-decoder attention of the most diagonal head, decoder steps x
(tokens + <eos>)), `durations` (ESPnet format `utt d1 d2 ...`, one per token and <eos>, in
feature frames: they sum to the frame count of the generated features; with teacher forcing,
to that of the real audio, the <eos> taking the < r frames a reduction factor r leaves over)
and `feats/<utt>.npy` + `feats.scp` (de-normalized features, frames x mels). Jobs and worker
processes split the text dir as lrspeech.models.jobs describes (one seed per utterance, so the
output does not depend on the split); the dir is built in a temporary sibling of `out_dir`
and renamed when complete.

A synthesized clip that is empty, or near-empty (shorter than `min_seconds`, 0.1 s: no word is
spoken in less), is not written: its utterance is left out of every file above and
listed in `failed` (`utt text`, so the text is kept) and `skipped.json` (reason per utterance,
counts), and one warning line says how many.
"""

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from lrspeech.data.atomic import atomic_dir, atomic_file
from lrspeech.data.audio import load_audio, resample, write_wav
from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import write_mapping
from lrspeech.data.skips import EMPTY, FAILED_LIST, NEAR_EMPTY, SKIPPED_JSON, Skips
from lrspeech.models import packing
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
from lrspeech.models.text_encoder import TextEncoder, TextReport, read_text_dir

PathLike = Union[str, Path]


@dataclass(frozen=True)
class TtsOptions:
    """Synthesis settings. `vocoder` None writes features only (no Griffin-Lim)."""

    speaker: str = "target"
    vocoder: Optional[str] = "auto"  # lrspeech.models.vocoder.parse_spec
    vocoder_config: Optional[str] = None
    vocoder_file: Optional[str] = None
    postfilter: Optional[str] = "auto"  # lrspeech.models.postfilter.parse_postfilter
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
            postfilter=options.postfilter, use_teacher_forcing=options.teacher_forcing,
            always_fix_seed=True, seed=options.seed,
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
    return Synthesizer(job.model_dir, job.options).run(job, worker_tick)


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
                                preload=lambda: preload_espnet("tts")), key=lambda r: r.utt)
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
    write_mapping(tmp / "text", {u: texts[u] for u in utts})
    write_mapping(tmp / "utt2spk", {u: speaker for u in utts})
    write_mapping(tmp / "spk2utt", {speaker: " ".join(utts)} if utts else {})
    if options.with_vocoder:
        write_mapping(tmp / "wav.scp", {r.utt: r.wav for r in records if r.wav})
    if any(r.feats for r in records) or not options.with_vocoder:
        write_mapping(tmp / "feats.scp", {r.utt: r.feats for r in records if r.feats})
    if options.write_durations:
        write_mapping(tmp / "durations", {r.utt: " ".join(map(str, r.durations or []))
                                          for r in records})


def _write_failed(tmp: Path, failed: List[TtsRecord], texts: Mapping[str, str]) -> Skips:
    """`failed` (utt and text of each clip not written) and `skipped.json` (reasons)."""
    skips = Skips()
    for r in failed:
        skips.add(r.utt, r.failed, r.detail)
    write_mapping(tmp / FAILED_LIST, {r.utt: texts[r.utt] for r in failed})
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
