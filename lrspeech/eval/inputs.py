"""Inputs of the evaluators: Kaldi `text` files and audio sets (a data dir or a wav folder).

Usage: python -c "from lrspeech.eval.inputs import audio_set as a; print(a('tests/data/sw/flac'))"

An audio set is either a data dir with `wav.scp` (and optionally `segments`), as the
synthesis stages write, or a plain folder of `<utt>.wav` files, as other tools write. Both
become `utt -> AudioRef`, so the metrics never care which one the user had.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from lrspeech.data.audio import is_pipe, load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import Entry, read_mapping_entries
from lrspeech.data.skips import FAILED_LIST
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
AUDIO_SUFFIXES = (".wav", ".flac")


class EvalInputError(LrspeechError, ValueError):
    """An evaluation input that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class AudioRef:
    """Where an utterance's samples are: a wav.scp spec and an optional [start, end) in s."""

    spec: str
    start: float = 0.0
    end: Optional[float] = None

    def load(self, target_sr: Optional[int] = None) -> Tuple[np.ndarray, int]:
        """Mono float32 samples (resampled to `target_sr` when given) and their rate."""
        return load_audio(self.spec, target_sr=target_sr, start=self.start, end=self.end)


def read_text_entries(path: PathLike) -> Dict[str, Entry]:
    """`utt text` lines of a Kaldi text file, keyed by id (Entry keeps the line number).

    Unreadable lines and repeated ids are errors: a score over a silently deduplicated
    file would not be the score of the file the user gave. An empty transcript is read (a
    hypothesis may be empty).
    """
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: text file not found; give the `text` file of a data dir")
    try:
        return read_mapping_entries(path, "utterance", allow_empty=True)
    except DataDirError as err:
        raise EvalInputError(str(err)) from err


def read_text(path: PathLike) -> Dict[str, str]:
    """`utt -> transcript` of a Kaldi text file (or of the `text` file in a data dir)."""
    path = Path(path)
    if path.is_dir():
        path = path / "text"
    return {k: e.value for k, e in read_text_entries(path).items()}


def _wav_folder(path: Path) -> Dict[str, AudioRef]:
    """`<utt>.wav` (or .flac) files of a folder; the file stem is the utterance id."""
    refs: Dict[str, AudioRef] = {}
    for f in sorted(path.iterdir()):
        if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file():
            if f.stem in refs:
                raise EvalInputError(
                    f"{f}: utterance '{f.stem}' has two audio files in {path}; keep one"
                )
            refs[f.stem] = AudioRef(str(f))
    return refs


def _resolve_spec(spec: str, data_dir: Path) -> str:
    """A relative wav.scp path is read from the working dir (Kaldi's rule), else the data dir."""
    if is_pipe(spec) or Path(spec).is_absolute() or Path(spec).is_file():
        return spec
    candidate = data_dir / spec
    return str(candidate) if candidate.is_file() else spec


def _data_dir_audio(path: Path) -> Dict[str, AudioRef]:
    """`utt -> AudioRef` of a data dir with wav.scp (segments honoured)."""
    try:
        dd = DataDir.load(path)
    except DataDirError as err:
        raise EvalInputError(str(err)) from err
    refs = {}
    for utt in dd.audio_utt_ids:
        spec, start, end = dd.audio_of(utt)
        refs[utt] = AudioRef(_resolve_spec(spec, path), start, end)
    return refs


def audio_set(path: PathLike) -> Dict[str, AudioRef]:
    """Audio of a data dir with wav.scp, or of a folder of `<utt>.wav` files. A synthesis
    output dir whose every clip failed (empty wav.scp, a `failed` list) has none: {}."""
    path = Path(path)
    if not path.is_dir():
        raise EvalInputError(
            f"{path}: not a directory; give a data dir with wav.scp or a folder of <utt>.wav files"
        )
    refs = _data_dir_audio(path) if (path / "wav.scp").is_file() else _wav_folder(path)
    if not refs and (path / "wav.scp").is_file() and (path / FAILED_LIST).is_file():
        return refs  # a synthesis output where every clip failed: all missing, not an error
    if not refs:
        raise EvalInputError(
            f"{path}: holds no audio (no wav.scp and no .wav/.flac files); "
            "point to the synthesis output dir"
        )
    return refs
