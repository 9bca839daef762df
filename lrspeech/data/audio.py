"""Audio I/O for data dirs: wav/flac files or Kaldi `cmd |` pipes, mono, resampled, trimmed.

Usage: python -c "from lrspeech.data.audio import load_audio; print(load_audio('a.flac', 22050))"

Why these choices: resampling uses scipy's polyphase filter with the exact rational ratio
(16000 -> 22050 is 441/320), so no rate is approximated; silence trimming is energy based
(frame power in dB below the loudest frame, like librosa's `top_db`) and keeps a small margin
so word onsets are not clipped; every written file appears under its final name only when
complete. Errors carry the offending spec, what is wrong and what to do.
"""

import io
import logging
import math
import shlex
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
import soundfile as sf

from lrspeech.data.atomic import atomic_file
from lrspeech.data.errors import EMPTY_AUDIO, MISSING_AUDIO, UNREADABLE_AUDIO
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

Spec = Union[str, Path]
BLOCK_FRAMES = 1 << 16
DEFAULT_TOP_DB = 40.0
DEFAULT_MARGIN_S = 0.05
ZERO_LENGTH = "has no samples (zero-length audio)"
FIX_UNREADABLE = "re-export the file as wav/flac or remove the utterance (utils/fix_data_dir.sh)"


class AudioError(LrspeechError):
    """An audio spec that cannot be used: names the spec, the problem and the fix."""

    def __init__(self, spec: Spec, message: str, fix: str, kind: str = UNREADABLE_AUDIO) -> None:
        self.spec, self.message, self.fix, self.kind = str(spec), message, fix, kind
        super().__init__(f"{spec}: {message}; {fix}")


@dataclass(frozen=True)
class AudioInfo:
    """Sample rate, length in frames and channel count of an audio spec."""

    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def is_pipe(spec: Spec) -> bool:
    """True for a Kaldi pipe spec such as `sox a.sph -t wav - |`."""
    return str(spec).rstrip().endswith("|")


def run_pipe(spec: Spec) -> bytes:
    """Run a `cmd |` spec in a shell and return its stdout (the audio file's bytes)."""
    cmd = str(spec).rstrip()[:-1].strip()
    proc = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        msg = f"command exited with status {proc.returncode}: {' | '.join(err) or 'no message'}"
        raise AudioError(spec, msg, "run the command by hand and fix it, or fix wav.scp")
    if not proc.stdout:
        fix = "make the command write a wav/flac file to stdout"
        raise AudioError(spec, "command wrote no audio", fix, EMPTY_AUDIO)
    return proc.stdout


def _open(spec: Spec) -> sf.SoundFile:
    """Open a file or pipe spec for reading, translating failures into AudioError."""
    if is_pipe(spec):
        source: Union[str, io.BytesIO] = io.BytesIO(run_pipe(spec))
    else:
        path = Path(spec)
        if not path.is_file():
            fix = "correct the path in wav.scp or remove the utterance (utils/fix_data_dir.sh)"
            raise AudioError(spec, "audio file does not exist", fix, MISSING_AUDIO)
        source = str(path)
    try:
        return sf.SoundFile(source)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(spec, f"cannot be read as audio ({err})", FIX_UNREADABLE) from err


def read_frames(
    spec: Spec, start: float = 0.0, end: Optional[float] = None
) -> Tuple[np.ndarray, int]:
    """Samples [start, end) seconds of a spec as float32 (frames, channels), and the rate."""
    with _open(spec) as f:
        sr = f.samplerate
        first = int(round(start * sr))
        last = f.frames if end is None else min(int(round(end * sr)), f.frames)
        if f.frames == 0:
            raise AudioError(spec, ZERO_LENGTH, FIX_UNREADABLE, EMPTY_AUDIO)
        if first >= last:
            msg = f"segment {start}..{end} s starts after the audio ends ({f.frames / sr:.3f} s)"
            raise AudioError(spec, msg, "fix the segment times in segments", EMPTY_AUDIO)
        try:
            f.seek(first)
            data = f.read(last - first, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(spec, f"is truncated or corrupt ({err})", FIX_UNREADABLE) from err
    return data, sr


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average the channels of (frames, channels) data; 1-D input is returned as is."""
    return data if data.ndim == 1 else data.mean(axis=1)


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase resampling with the exact ratio target_sr/orig_sr reduced by their gcd."""
    if orig_sr == target_sr:
        return x
    from scipy.signal import resample_poly  # heavy import (pulls scipy.stats): only when used

    g = math.gcd(int(orig_sr), int(target_sr))
    return resample_poly(x, target_sr // g, orig_sr // g, axis=0).astype(np.float32)


def frame_power(
    x: np.ndarray, sr: int, frame_s: float = 0.025, hop_s: float = 0.010
) -> Tuple[np.ndarray, np.ndarray, int]:
    """(frame start samples, mean power per frame, frame length) of a signal longer than a frame."""
    frame = max(1, int(round(frame_s * sr)))
    hop = max(1, int(round(hop_s * sr)))
    csum = np.concatenate([[0.0], np.cumsum(np.asarray(x, dtype=np.float64) ** 2)])
    starts = np.arange(0, len(x) - frame + 1, hop)
    return starts, (csum[starts + frame] - csum[starts]) / frame, frame


def trim_bounds(
    x: np.ndarray,
    sr: int,
    top_db: float = DEFAULT_TOP_DB,
    margin_s: float = DEFAULT_MARGIN_S,
    frame_s: float = 0.025,
    hop_s: float = 0.010,
) -> Tuple[int, int]:
    """[start, end) samples of the non-silent part: frames within `top_db` of the loudest.

    A margin of `margin_s` is kept on both sides. A silent (all-zero) or sub-frame signal
    is kept whole, since there is nothing to measure against.
    """
    if len(x) <= max(1, int(round(frame_s * sr))):
        return 0, len(x)
    starts, power, frame = frame_power(x, sr, frame_s, hop_s)
    if power.max() <= 0:
        return 0, len(x)
    loud = np.nonzero(power > power.max() * 10.0 ** (-top_db / 10.0))[0]
    margin = int(round(margin_s * sr))
    first = max(0, int(starts[loud[0]]) - margin)
    last = min(len(x), int(starts[loud[-1]]) + frame + margin)
    return first, last


def speech_islands(
    x: np.ndarray,
    sr: int,
    floor_margin_db: float = 12.0,
    min_gap_db: float = 10.0,
    bridge_s: float = 0.05,
    hop_s: float = 0.010,
) -> List[Tuple[float, float]]:
    """[start, end) seconds of the stretches of speech in a recording, in time order.

    Why energy and not a model: it needs no training data in the language, and read speech
    recorded in one session has a stable noise floor. A frame (25 ms) is speech when its power
    is above the recording's noise floor (the 5th percentile of frame power, in dB) plus
    `floor_margin_db`, a threshold that never comes closer than `min_gap_db` to the loudest
    frame (so a recording with little silence still has its quiet stretches found). Silences
    of at most `bridge_s` (stop closures inside words) are bridged. An all-zero or sub-frame
    signal has no speech.
    """
    if len(x) <= max(1, int(round(0.025 * sr))):
        return []
    starts, power, frame = frame_power(x, sr, 0.025, hop_s)
    if power.max() <= 0:
        return []
    db = 10.0 * np.log10(np.maximum(power, 1e-20))
    threshold = min(float(np.percentile(db, 5)) + floor_margin_db, float(db.max()) - min_gap_db)
    loud = np.concatenate([[False], db > threshold, [False]])
    edges = np.flatnonzero(np.diff(loud.astype(np.int8)))
    runs = [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2])]  # frames [a, b)
    merged: List[List[int]] = []
    bridge = int(round(bridge_s / hop_s))
    for run in runs:
        if merged and run[0] - merged[-1][1] <= bridge:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [
        (float(starts[a]) / sr, min(len(x), float(starts[b - 1]) + frame) / sr) for a, b in merged
    ]


def trim_silence(
    x: np.ndarray, sr: int, top_db: float = DEFAULT_TOP_DB, margin_s: float = DEFAULT_MARGIN_S
) -> np.ndarray:
    """Cut leading and trailing silence (see `trim_bounds`)."""
    first, last = trim_bounds(x, sr, top_db, margin_s)
    return x[first:last]


def load_audio(
    spec: Spec,
    target_sr: Optional[int] = None,
    trim_db: Optional[float] = None,
    start: float = 0.0,
    end: Optional[float] = None,
) -> Tuple[np.ndarray, int]:
    """Mono float32 samples of a spec (or of its [start, end) s segment) and their rate.

    Resampled to `target_sr` when given; leading/trailing silence more than `trim_db` below
    the loudest frame is cut when `trim_db` is given.
    """
    data, sr = read_frames(spec, start, end)
    x = to_mono(data).astype(np.float32)
    if target_sr is not None and target_sr != sr:
        x, sr = resample(x, sr, target_sr), int(target_sr)
    if trim_db is not None:
        x = trim_silence(x, sr, trim_db)
    return x, sr


def wav_truncation(path: Path) -> Optional[str]:
    """Describe a RIFF/WAV file whose data chunk is shorter than its header says, else None.

    libsndfile silently shortens such files, so header checks alone would pass them.
    Streamed wavs (size 0 or 0xFFFFFFFF, as `sox ... -t wav -` writes) are not judged.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                have = size - pos - 8
                if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > have:
                    return f"header announces {chunk_size} data bytes but the file holds {have}"
                return None
            pos += 8 + chunk_size + (chunk_size & 1)
    return "has no data chunk"


def check_audio(spec: Spec, decode: bool = True) -> AudioInfo:
    """Open a spec and check it is complete and non-empty; raise AudioError otherwise.

    With `decode` every sample is decoded (catches truncated FLAC); without it only the
    header is read (and a wav's declared size checked). Pipes are always run and decoded.
    """
    if not is_pipe(spec) and Path(spec).is_file():
        truncated = wav_truncation(Path(spec))
        if truncated:
            raise AudioError(spec, f"is truncated: {truncated}", FIX_UNREADABLE)
    with _open(spec) as f:
        info = AudioInfo(f.samplerate, f.frames, f.channels)
        if info.frames == 0:
            raise AudioError(spec, ZERO_LENGTH, FIX_UNREADABLE, EMPTY_AUDIO)
        if decode or is_pipe(spec):
            _decode_all(spec, f)
    return info


def _decode_all(spec: Spec, f: sf.SoundFile) -> None:
    """Decode an open file block by block; fewer frames than announced means truncation."""
    got = 0
    try:
        while True:
            block = f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            got += block.shape[0]
    except (sf.LibsndfileError, RuntimeError) as err:
        msg = f"is truncated or corrupt: decoding failed after {got} samples ({err})"
        raise AudioError(spec, msg, FIX_UNREADABLE) from err
    if got < f.frames:
        msg = f"is truncated: decoded {got} of the {f.frames} samples its header announces"
        raise AudioError(spec, msg, FIX_UNREADABLE)


def audio_info(spec: Spec) -> AudioInfo:
    """Rate, frames and channels from the header (files) or by decoding (pipes)."""
    with _open(spec) as f:
        return AudioInfo(f.samplerate, f.frames, f.channels)


def write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    """Write 16-bit PCM wav atomically; samples are clipped to [-1, 1]."""
    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"{path}: refusing to write {x.shape} samples; expected (frames[, ch])")
    with atomic_file(Path(path)) as tmp:
        sf.write(str(tmp), x, int(sr), subtype="PCM_16", format="WAV")


def pipe_spec(cmd: str, *args: str) -> str:
    """A wav.scp pipe spec for `cmd args...` with shell quoting, e.g. for sox conversions."""
    return " ".join([cmd] + [shlex.quote(a) for a in args]) + " |"
