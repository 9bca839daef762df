"""Speech encoder features of a data dir, computed once and cached next to it.

Usage: python -m lrspeech.bin.extract_features --data_dir dump/raw/paired_hq \
    --speech_encoder whisper-base --nj 2

Writes `<data_dir>/encoder_feats/<encoder>/` (or `--out_dir`): `feats.ark` parts and
`feats.scp` (kaldiio, one (frames, dim) float32 matrix per utterance), `utt2num_frames`,
`skipped.json` (clips too short to give one frame, lrspeech.data.skips) and, last,
`meta.json`: the encoder's name, SHA-256 and feature size, the bucket, and a fingerprint of the
audio (every wav.scp entry with its file's size and modification time). A cache whose
meta.json is missing (interrupted) or whose fingerprint, encoder or bucket differs is
recomputed from scratch; the whole dir is built aside and renamed into place, so a half-written
cache is never read. `--nj N` runs one CTranslate2 model on N threads (one copy of the weights;
processes forked from a parent that holds a running model would not be safe).
"""

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.data.atomic import atomic_dir
from lrspeech.data.audio import AudioError, load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import EMPTY_AUDIO
from lrspeech.data.kaldi_files import read_mapping, write_mapping
from lrspeech.data.skips import EMPTY, SKIPPED_JSON, TOO_SHORT, Skips
from lrspeech.errors import InputError
from lrspeech.models.speech_encoder import HOP, SAMPLE_RATE, SpeechEncoder, out_frames
from lrspeech.progress import progress

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
META, SCP, NUM_FRAMES = "meta.json", "feats.scp", "utt2num_frames"
CACHE_DIR = "encoder_feats"
CHUNK = 16  # utterances read and encoded together by one worker


@dataclass(frozen=True)
class Encoded:
    utt: str
    frames: int = 0
    scp: str = ""  # kaldiio's ark:offset entry
    skipped: str = ""
    detail: str = ""
    audio_seconds: float = 0.0


def cache_dir(data_dir: PathLike, encoder_name: str) -> Path:
    """Where the features of `data_dir` by `encoder_name` are cached."""
    return Path(data_dir) / CACHE_DIR / encoder_name


def audio_fingerprint(dd: DataDir) -> str:
    """Hash of every audio spec with its file's size and mtime (pipes and segments as given)."""
    h = hashlib.sha256()
    for key in sorted(dd.wav_scp):
        spec = dd.wav_scp[key]
        h.update(f"{key} {spec}".encode())
        if os.path.isfile(spec):
            st = os.stat(spec)
            h.update(f" {st.st_size} {st.st_mtime_ns}".encode())
    for utt in sorted(dd.segments):
        seg = dd.segments[utt]
        h.update(f"{utt} {seg.recording} {seg.start} {seg.end}".encode())
    return h.hexdigest()[:32]


def wanted_meta(dd: DataDir, encoder: SpeechEncoder) -> Dict[str, Any]:
    return {"encoder": encoder.name, "sha256": encoder.resolved.sha256, "dim": encoder.dim,
            "frame_rate": encoder.frame_rate, "bucket_s": encoder.bucket_s,
            "audio": audio_fingerprint(dd), "utterances": len(dd.audio_utt_ids)}


def is_current(out_dir: Path, meta: Dict[str, Any]) -> bool:
    """True when `out_dir` holds a complete cache made from the same audio and encoder."""
    path = Path(out_dir) / META
    try:
        have = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    keys = ("encoder", "sha256", "dim", "bucket_s", "audio", "utterances")
    return all(have.get(k) == meta[k] for k in keys) and (Path(out_dir) / SCP).is_file()


def _encode_all(dd: DataDir, utts: Sequence[str], encoder: SpeechEncoder, ark: Path,
                progress: Any) -> List[Encoded]:
    """Encode `utts` CHUNK at a time into one ark; an entry per utterance (or its skip)."""
    import kaldiio

    out: List[Encoded] = []
    with open(ark, "wb") as f:
        for start in range(0, len(utts), CHUNK):
            batch, wavs = [], []
            for utt in utts[start:start + CHUNK]:
                wav, note = _read(dd, utt)
                if note is not None:
                    out.append(Encoded(utt, skipped=note[0], detail=note[1]))
                    progress.update(1)
                    continue
                batch.append(utt)
                wavs.append(wav)
            for utt, wav, feats in zip(batch, wavs, encoder.encode_many(wavs) if wavs else []):
                offset = f.tell()
                kaldiio.save_ark(f, {utt: feats})
                key_bytes = len(utt.encode("utf-8")) + 1  # kaldiio writes "utt " first
                out.append(Encoded(utt, len(feats), f"{ark.name}:{offset + key_bytes}",
                                   audio_seconds=len(wav) / SAMPLE_RATE))
                progress.update(1)
    return out


def _read(dd: DataDir, utt: str) -> Tuple[np.ndarray, Optional[Tuple[str, str]]]:
    """16 kHz samples of `utt`, or a (reason, detail) note for a clip that gives no frame."""
    spec, start, end = dd.audio_of(utt)
    try:
        wav, _ = load_audio(spec, SAMPLE_RATE, start=start, end=end)
    except AudioError as err:
        if err.kind != EMPTY_AUDIO:
            raise
        return np.zeros(0, np.float32), (EMPTY, str(err))
    if len(wav) == 0:
        return wav, (EMPTY, "no samples")
    if out_frames(len(wav)) < 1:
        return wav, (TOO_SHORT, f"{len(wav)} samples: under one encoder frame ({HOP // 2})")
    return wav, None


@dataclass
class FeatureResult:
    out_dir: Path
    meta: Dict[str, Any]
    skips: Skips
    computed: bool
    seconds: float = 0.0
    audio_seconds: float = 0.0

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio_seconds if self.audio_seconds else 0.0


def extract_features(data_dir: PathLike, encoder: Union[str, SpeechEncoder],
                     out_dir: Optional[PathLike] = None, nj: int = 1, bucket_s: float = 1.0,
                     force: bool = False) -> FeatureResult:
    """Cached encoder features of every utterance of `data_dir` (see the module docstring)."""
    if isinstance(encoder, str):
        encoder = SpeechEncoder.load(encoder, threads=nj, bucket_s=bucket_s)
    elif nj > encoder.threads:  # more threads than the given model has: a copy with them
        encoder = SpeechEncoder.load(encoder.resolved, threads=nj, bucket_s=encoder.bucket_s)
    dd = DataDir.load(Path(data_dir))
    if not dd.has_audio:
        raise InputError(f"{data_dir}/wav.scp: missing or empty; features need audio")
    out = Path(out_dir) if out_dir else cache_dir(data_dir, encoder.name)
    meta = wanted_meta(dd, encoder)
    if not force and is_current(out, meta):
        logger.info("%s: features of %s are cached; skipped", out, data_dir)
        return FeatureResult(out, meta, Skips(), computed=False)
    start = time.perf_counter()
    utts = dd.audio_utt_ids
    old = [e.name for e in out.iterdir()] if out.is_dir() else []  # all replaced, none kept
    with atomic_dir(out, replace=old) as tmp:
        with progress(total=len(utts), desc=f"encode {Path(data_dir).name}", unit="utt") as bar:
            done = _encode_all(dd, utts, encoder, tmp / "feats.ark", bar)
        skips = _write_index(tmp, done, out)
        meta["utterances_encoded"] = len(done) - len(skips)
        (tmp / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    took = time.perf_counter() - start
    skips.log(f"encoder features {data_dir}")
    result = FeatureResult(out, meta, skips, True, took, sum(e.audio_seconds for e in done))
    logger.info("%s: %d utterances encoded by %s in %.1f s (RTF %.3f) -> %s", data_dir,
                meta["utterances_encoded"], encoder.name, took, result.rtf, out)
    return result


def _write_index(tmp: Path, done: Sequence[Encoded], final: Path) -> Skips:
    skips = Skips()
    scp: Dict[str, str] = {}
    frames: Dict[str, int] = {}
    for e in done:
        if e.skipped:
            skips.add(e.utt, e.skipped, e.detail)
            continue
        scp[e.utt] = str(final.resolve() / e.scp)
        frames[e.utt] = e.frames
    write_mapping(tmp / SCP, scp)
    write_mapping(tmp / NUM_FRAMES, frames)
    skips.write(tmp / SKIPPED_JSON)
    return skips


def read_scp(out_dir: PathLike) -> Dict[str, str]:
    """utt -> ark entry of a cache's feats.scp."""
    return read_mapping(Path(out_dir) / SCP, "utterance")
