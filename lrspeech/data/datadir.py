"""Kaldi-style data dirs as a plain dataclass of dicts, read leniently and written atomically.

Usage: python -c "from lrspeech.data.datadir import DataDir; print(DataDir.load('data/x').kind)"

A dir holds `wav.scp` (recording id -> path or `cmd |` pipe), `text`, `utt2spk`, `spk2utt`
(always regenerated from utt2spk), and optionally `segments`, `utt2dur`, `utt2lang`. A
text-only dir (unpaired text) has just `text`; a speech-only dir (unpaired speech) has
`wav.scp` without `text`. Without `segments` the wav.scp ids are the utterance ids.
`DataDir.read` returns the dir plus the file-level problems (encoding, duplicates, order,
malformed values); `DataDir.load` raises them. Cross-file and audio checks live in
`lrspeech.data.validate`.
"""

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

from lrspeech.data.atomic import atomic_dir, carried_over
from lrspeech.data.errors import BAD_VALUE, MISSING_FILE, DataDirError, NoAudioError, Problem
from lrspeech.data.kaldi_files import Entry, check_order, first_values, format_lines, read_entries
from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

WAV_SCP, TEXT, UTT2SPK, SPK2UTT = "wav.scp", "text", "utt2spk", "spk2utt"
SEGMENTS, UTT2DUR, UTT2LANG = "segments", "utt2dur", "utt2lang"
MANAGED_FILES = (WAV_SCP, TEXT, UTT2SPK, SPK2UTT, SEGMENTS, UTT2DUR, UTT2LANG)

V = TypeVar("V")


@dataclass(frozen=True)
class Segment:
    """An utterance cut from a recording: `start`/`end` in seconds."""

    recording: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def format_seconds(x: float) -> str:
    """Seconds as written in utt2dur/segments: microsecond precision, shortest form."""
    return repr(round(float(x), 6))


@dataclass
class DataDir:
    """In-memory data dir. Dict keys are utterance ids, except wav_scp's with segments."""

    wav_scp: Dict[str, str] = field(default_factory=dict)
    text: Dict[str, str] = field(default_factory=dict)
    utt2spk: Dict[str, str] = field(default_factory=dict)
    segments: Dict[str, Segment] = field(default_factory=dict)
    utt2dur: Dict[str, float] = field(default_factory=dict)
    utt2lang: Dict[str, str] = field(default_factory=dict)
    path: Optional[Path] = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The dir's path for messages, or a placeholder for one built in memory."""
        return str(self.path) if self.path is not None else "<data dir in memory>"

    @property
    def has_segments(self) -> bool:
        return bool(self.segments)

    @property
    def has_audio(self) -> bool:
        return bool(self.wav_scp) or bool(self.segments)

    @property
    def is_text_only(self) -> bool:
        return bool(self.text) and not self.has_audio

    @property
    def is_speech_only(self) -> bool:
        return self.has_audio and not self.text

    @property
    def kind(self) -> str:
        """'paired', 'text-only', 'speech-only' or 'empty'."""
        if self.is_text_only:
            return "text-only"
        if self.is_speech_only:
            return "speech-only"
        return "paired" if self.text else "empty"

    @property
    def audio_utt_ids(self) -> List[str]:
        """Utterances that have audio: the segments ids, or else the wav.scp ids."""
        return sorted(self.segments if self.has_segments else self.wav_scp)

    @property
    def utt_ids(self) -> List[str]:
        """Every utterance id named in any utterance-keyed file, sorted (C-locale order)."""
        ids = set(self.text) | set(self.utt2spk) | set(self.utt2dur) | set(self.utt2lang)
        return sorted(ids | set(self.audio_utt_ids))

    @property
    def speakers(self) -> List[str]:
        return sorted(set(self.utt2spk.values()))

    @property
    def spk2utt(self) -> Dict[str, List[str]]:
        """Speaker -> its sorted utterance ids, derived from utt2spk."""
        out: Dict[str, List[str]] = {}
        for utt in sorted(self.utt2spk):
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return out

    def audio_of(self, utt: str) -> Tuple[str, float, Optional[float]]:
        """(wav.scp spec, start s, end s or None) of an utterance; NoAudioError (a KeyError)
        names the dir."""
        if self.has_segments:
            seg = self.segments.get(utt)
            if seg is None or seg.recording not in self.wav_scp:
                raise NoAudioError(
                    f"{self.name}: utterance '{utt}' has no segment with a recording"
                )
            return self.wav_scp[seg.recording], seg.start, seg.end
        if utt not in self.wav_scp:
            raise NoAudioError(f"{self.name}: utterance '{utt}' is not in wav.scp")
        return self.wav_scp[utt], 0.0, None

    def copy(self, **changes: object) -> "DataDir":
        """A shallow copy with fresh dicts, optionally with some fields replaced."""
        fresh = {f: dict(getattr(self, f)) for f in DICT_FIELDS}
        fresh.update(changes)
        return replace(self, **fresh)

    @classmethod
    def read(cls, path: Path) -> Tuple["DataDir", List[Problem]]:
        """Read what is readable in `path`, and list the file-level problems found."""
        dd, problems, _ = read_datadir(Path(path))
        return dd, problems

    @classmethod
    def load(cls, path: Path) -> "DataDir":
        """Read `path`; raise DataDirError listing every file-level problem, if any."""
        dd, problems, _ = read_datadir(Path(path))
        if problems:
            raise DataDirError(problems)
        return dd

    def save(self, path: Path) -> None:
        """Write the dir atomically: a reader of `path` sees the old dir or all of the new one."""
        save_datadir(self, Path(path))


DICT_FIELDS = ("wav_scp", "text", "utt2spk", "segments", "utt2dur", "utt2lang")


Parser = Callable[[Entry, Path], Tuple[Optional[V], Optional[Problem]]]
LineNumbers = Dict[str, Dict[str, int]]


def parse_file(
    path: Path, parse: Parser, noun: str = "utterance"
) -> Tuple[Dict[str, V], List[Problem], Dict[str, int]]:
    """Read a Kaldi file, convert each first-occurring value with `parse`.

    Returns the values, the problems, and each id's line number (for later messages).
    """
    entries, problems = read_entries(path, noun)
    problems += check_order(path, entries, noun)
    out: Dict[str, V] = {}
    lines: Dict[str, int] = {}
    for key, entry in first_values(entries).items():
        lines[key] = entry.line
        value, problem = parse(entry, path)
        if problem is not None:
            problems.append(replace(problem, noun=noun))
        if value is not None:
            out[key] = value
    return out, problems, lines


def _bad(entry: Entry, path: Path, message: str, fix: str) -> Problem:
    return Problem(str(path), entry.line, entry.key, message, fix, BAD_VALUE)


def parse_string(entry: Entry, path: Path) -> Tuple[Optional[str], Optional[Problem]]:
    """Any value, possibly empty (text, wav.scp); content checks happen in validation."""
    return entry.value, None


def parse_token(entry: Entry, path: Path) -> Tuple[Optional[str], Optional[Problem]]:
    """Exactly one whitespace-free token (utt2spk, utt2lang)."""
    tokens = entry.value.split()
    if len(tokens) != 1:
        got = "nothing" if not tokens else f"{len(tokens)} fields"
        msg = f"needs exactly one value after the id, got {got}"
        return None, _bad(entry, path, msg, f"write `{entry.key} VALUE` on line {entry.line}")
    return tokens[0], None


def parse_duration(entry: Entry, path: Path) -> Tuple[Optional[float], Optional[Problem]]:
    """A finite, non-negative number of seconds (utt2dur)."""
    try:
        value = float(entry.value)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        msg = f"has duration {entry.value!r}, not a non-negative number of seconds"
        return None, _bad(entry, path, msg, "recompute it with utils/compute_utt2dur.sh")
    return value, None


def parse_segment(entry: Entry, path: Path) -> Tuple[Optional[Segment], Optional[Problem]]:
    """`recording start end` with 0 <= start < end (segments)."""
    fields = entry.value.split()
    fix = f"write `{entry.key} RECORDING_ID START_S END_S` with 0 <= START_S < END_S"
    if len(fields) != 3:
        return None, _bad(entry, path, f"has {len(fields)} fields after the id, expected 3", fix)
    try:
        start, end = float(fields[1]), float(fields[2])
    except ValueError:
        return None, _bad(entry, path, f"has non-numeric times {fields[1]!r} {fields[2]!r}", fix)
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
        return None, _bad(entry, path, f"has an empty or negative range {start}..{end} s", fix)
    return Segment(fields[0], start, end), None


def parse_utt_list(entry: Entry, path: Path) -> Tuple[Optional[List[str]], Optional[Problem]]:
    """A speaker's utterance ids (spk2utt)."""
    utts = entry.value.split()
    if not utts:
        msg = "lists no utterances"
        return None, _bad(entry, path, msg, "regenerate spk2utt with utils/fix_data_dir.sh")
    return utts, None


def read_spk2utt(path: Path) -> Tuple[Dict[str, List[str]], List[Problem], Dict[str, int]]:
    """Read a spk2utt file (speaker -> utterance list) with its problems and line numbers."""
    return parse_file(path, parse_utt_list, noun="speaker")


def read_datadir(path: Path) -> Tuple[DataDir, List[Problem], LineNumbers]:
    """Read every present file of the dir: the dir, its file-level problems, line numbers.

    Line numbers are `{file name: {id: line}}`, for messages about cross-file problems.
    """
    if not path.is_dir():
        fix = "create it (e.g. with the recipe's local/data.sh) or correct the path"
        problem = Problem(str(path), None, None, "is not a directory", fix, MISSING_FILE)
        raise DataDirError([problem])
    parsers = {
        WAV_SCP: parse_string,
        TEXT: parse_string,
        UTT2SPK: parse_token,
        SEGMENTS: parse_segment,
        UTT2DUR: parse_duration,
        UTT2LANG: parse_token,
    }
    wav_noun = "recording" if (path / SEGMENTS).is_file() else "utterance"
    values: Dict[str, dict] = {}
    problems: List[Problem] = []
    lines: LineNumbers = {}
    for name, parse in parsers.items():
        if (path / name).is_file():
            noun = wav_noun if name == WAV_SCP else "utterance"
            values[name], found, lines[name] = parse_file(path / name, parse, noun)
            problems += found
    if UTT2SPK not in values and (path / SPK2UTT).is_file():
        spk2utt, found, _ = read_spk2utt(path / SPK2UTT)
        problems += found
        values[UTT2SPK] = {u: spk for spk, utts in spk2utt.items() for u in utts}
    if not any(name in values for name in (WAV_SCP, TEXT, SEGMENTS)):
        msg = "has neither wav.scp nor text"
        fix = "write wav.scp (speech) and/or text (transcripts) into it"
        raise DataDirError([Problem(str(path), None, None, msg, fix, MISSING_FILE)])
    dd = DataDir(
        wav_scp=values.get(WAV_SCP, {}),
        text=values.get(TEXT, {}),
        utt2spk=values.get(UTT2SPK, {}),
        segments=values.get(SEGMENTS, {}),
        utt2dur=values.get(UTT2DUR, {}),
        utt2lang=values.get(UTT2LANG, {}),
        path=path,
    )
    return dd, problems, lines


def datadir_files(dd: DataDir) -> Dict[str, str]:
    """File name -> content of every non-empty file of the dir (spk2utt from utt2spk)."""
    files = {
        WAV_SCP: format_lines(dd.wav_scp),
        TEXT: format_lines(dd.text),
        UTT2SPK: format_lines(dd.utt2spk),
        SPK2UTT: format_lines({s: " ".join(u) for s, u in dd.spk2utt.items()}),
        SEGMENTS: format_lines(
            {
                u: f"{s.recording} {format_seconds(s.start)} {format_seconds(s.end)}"
                for u, s in dd.segments.items()
            }
        ),
        UTT2DUR: format_lines({u: format_seconds(d) for u, d in dd.utt2dur.items()}),
        UTT2LANG: format_lines(dd.utt2lang),
    }
    return {name: content for name, content in files.items() if content}


def save_datadir(dd: DataDir, path: Path) -> None:
    """Write `dd` to `path` through a temporary sibling dir and one rename."""
    files = datadir_files(dd)
    if not files:
        raise InputError(f"{path}: refusing to write an empty data dir (no utterances left)")
    with atomic_dir(path, replace=MANAGED_FILES) as tmp:
        for name, content in files.items():
            (tmp / name).write_text(content, encoding="utf-8")
        extra = carried_over(tmp, path, MANAGED_FILES)
        kept = [e.name for e in extra if not e.name.startswith(".")]
        if kept:
            logger.warning("%s: kept files lrspeech does not manage (may be stale): %s", path, kept)
    logger.info("%s: wrote %d utterances (%s)", path, len(dd.utt_ids), dd.kind)
