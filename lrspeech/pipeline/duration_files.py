"""The files of an alignment dir: durations, scores, TTS tokens, word timings, frame grid.

Usage: python -c "from lrspeech.pipeline.duration_files import read_durations as r; \
print(len(r('exp/finetune/tts_durations/train/durations')))"

One dir per aligned data dir (a split of the ctc_align step's output, or `align_data_dir`'s):
`durations` (`utt d1 ... dN d_eos`, TTS frames, FastSpeech2's `text_int` format), `scores`
(mean log posterior per ASR frame of the best CTC path), `tokens` (the TTS tokens the durations
count), `ctm` (word timings, `utt 1 start dur word`), `frames.yaml` (the TTS frame grid the
durations are for), `report.json` and `skipped.json`. Readers name the file and line of a bad
entry and say to realign; `scores` is read by lrspeech.data.kaldi_files.read_scores, the
reader of an ASR decode's `score` too.
"""

from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import yaml

from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import read_mapping_entries, write_mapping
from lrspeech.errors import InputError
from lrspeech.pipeline.durations import TtsFrames

DURATIONS, SCORES, CTM, TOKENS = "durations", "scores", "ctm", "tokens"
REPORT, FRAMES = "report.json", "frames.yaml"
REALIGN = "rerun lrspeech.bin.ctc_align"


def write_durations(path: Path, durations: Mapping[str, Sequence[int]]) -> None:
    """Write `utt d1 ... dN d_eos` lines (sorted by id) atomically."""
    write_mapping(Path(path), {u: durations_text(d) for u, d in durations.items()})


def durations_text(durations: Sequence[int]) -> str:
    """One utterance's durations as a durations file (and ESPnet's `text_int`) holds them."""
    return " ".join(str(int(x)) for x in durations)


def read_durations(path: Path) -> Dict[str, List[int]]:
    """Read a durations file; a malformed line raises InputError naming file and line."""
    out: Dict[str, List[int]] = {}
    for key, line, value in _entries(path):
        try:
            values = [int(x) for x in value.split()]
        except ValueError:
            values = []
        if not values or min(values) < 0:
            raise InputError(
                f"{path}:{line}: utterance '{key}' needs non-negative integer durations, "
                f"got {value!r}; {REALIGN}"
            )
        out[key] = values
    return out


def write_scores(path: Path, scores: Mapping[str, float]) -> None:
    """Write `utt score` lines (sorted by id) atomically."""
    write_mapping(Path(path), {u: f"{float(s):.4f}" for u, s in scores.items()})


def write_token_file(path: Path, tokens: Mapping[str, Sequence[str]]) -> None:
    """Write pre-tokenized text (`utt tok1 tok2 ...`, sorted by id) atomically."""
    write_mapping(Path(path), {u: " ".join(t) for u, t in tokens.items()})


def read_token_file(path: Path) -> Dict[str, List[str]]:
    """Pre-tokenized text (`utt tok1 tok2 ...`); problems raise InputError naming file and line."""
    return {key: value.split() for key, _, value in _entries(path)}


def write_ctm(path: Path, words: Mapping[str, Sequence[Tuple[str, float, float]]]) -> None:
    """Word timings `utt 1 start duration word`, utterances sorted, words in order."""
    lines = [f"{utt} 1 {start:.3f} {end - start:.3f} {word}\n"
             for utt in sorted(words) for word, start, end in words[utt]]
    Path(path).write_text("".join(lines), encoding="utf-8")


def write_frames(path: Path, frames: TtsFrames) -> None:
    """The TTS frame grid (`fs`, `hop_length`) the durations of a dir are counted on."""
    Path(path).write_text(yaml.safe_dump({"fs": frames.fs, "hop_length": frames.hop_length}),
                          encoding="utf-8")


def read_frames(align_dir: Path) -> TtsFrames:
    """The TTS frame grid an align dir was made for (its frames.yaml)."""
    path = Path(align_dir) / FRAMES
    if not path.is_file():
        raise InputError(f"{path}: missing; {align_dir} is not an output of lrspeech.bin.ctc_align")
    conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return TtsFrames(fs=int(conf["fs"]), hop_length=int(conf["hop_length"]))


def _entries(path: Path) -> List[Tuple[str, int, str]]:
    """(id, line number, value) of every line of a Kaldi-style file; file problems (a blank,
    repeated or empty line) raise, all at once."""
    if not Path(path).is_file():
        raise InputError(f"{path}: missing; {REALIGN}")
    try:
        entries = read_mapping_entries(path, "utterance")
    except DataDirError as err:
        raise InputError(f"{err}\n({REALIGN})") from err
    return [(e.key, e.line, e.value) for e in entries.values()]
