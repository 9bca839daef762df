"""Problems found in a data dir, and the one exception that carries all of them.

Usage: python -c "from lrspeech.data.errors import Problem; print(Problem('t', 3, 'u', 'x', 'y'))"

Why one exception for many problems: a user fixing a data dir wants the whole list at once, not
one error per run. `DataDirError` is also a sequence of `Problem`s, so `fix_data_dir` can act on
each one (drop the utterance, resort the file) instead of parsing messages.
"""

from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

from lrspeech.errors import LrspeechError

MAX_SHOWN = 20

# Kinds of problem. fix_data_dir drops the utterances named by the DROP_KINDS; the others are
# repaired by rewriting the dir (sorting, regenerating spk2utt, dropping stray lines).
MISSING_FILE = "missing_file"
MISSING_AUDIO = "missing_audio"
UNREADABLE_AUDIO = "unreadable_audio"
EMPTY_AUDIO = "empty_audio"
SAMPLE_RATE = "sample_rate"
EMPTY_TEXT = "empty_text"
BAD_VALUE = "bad_value"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
UNSORTED = "unsorted"
ENCODING = "encoding"
MALFORMED = "malformed"
SPK_MISMATCH = "spk_mismatch"
NOT_IN_AUDIO = "not_in_audio"
NOT_IN_TEXT = "not_in_text"
NOT_IN_FILE = "not_in_file"
SEGMENT_RANGE = "segment_range"
UNKNOWN_RECORDING = "unknown_recording"
STRAY_RECORDING = "stray_recording"
OTHER = "other"

DROP_KINDS = frozenset(
    {
        MISSING_AUDIO,
        UNREADABLE_AUDIO,
        EMPTY_AUDIO,
        SAMPLE_RATE,
        EMPTY_TEXT,
        BAD_VALUE,
        CONFLICT,
        ENCODING,
        NOT_IN_AUDIO,
        NOT_IN_TEXT,
        NOT_IN_FILE,
        SEGMENT_RANGE,
        UNKNOWN_RECORDING,
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a data dir: where (file, 1-based line, id), what, and how to fix it.

    `utt_id` holds the key of the offending line: an utterance id, or a recording id for
    `wav.scp` lines of a dir with `segments`, or a speaker id for `spk2utt`; `noun` says
    which, for the message. `kind` is one of the constants above.
    """

    file: str
    line: Optional[int]
    utt_id: Optional[str]
    message: str
    fix: str
    kind: str = OTHER
    noun: str = "utterance"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        who = f"{self.noun} '{self.utt_id}' " if self.utt_id is not None else ""
        return f"{where}: {who}{self.message}; {self.fix}"


class DataDirError(LrspeechError, ValueError):
    """All problems of a data dir in one exception; iterate it to get the `Problem`s."""

    def __init__(self, problems: Sequence[Problem], max_shown: int = MAX_SHOWN) -> None:
        if not problems:
            raise ValueError("DataDirError needs at least one Problem")
        self.problems: List[Problem] = list(problems)
        super().__init__(format_problems(self.problems, max_shown))

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def __getitem__(self, index: int) -> Problem:
        return self.problems[index]


class NoAudioError(LrspeechError, KeyError):
    """An utterance with no recording in its data dir (a KeyError: a lookup that failed)."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0]) if self.args else ""


def format_problems(problems: Sequence[Problem], max_shown: int = MAX_SHOWN) -> str:
    """Render the first `max_shown` problems, one per line, and a count of the rest."""
    n = len(problems)
    head = f"{n} problem{'s' if n != 1 else ''} found:"
    lines = [head] + [f"  {p}" for p in problems[:max_shown]]
    if n > max_shown:
        lines.append(f"  ... and {n - max_shown} more")
    return "\n".join(lines)
