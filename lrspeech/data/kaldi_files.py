"""Read and write Kaldi `id value` files (`wav.scp`, `text`, `utt2spk`, `spk2sid`, `score`...).

Usage: python -c "import lrspeech.data.kaldi_files as k; print(k.read_mapping('data/x/text'))"

The one place lrspeech parses and writes these files; two ways to read them:
- `read_entries` is lenient and reports instead of raising: every line that is not valid
  UTF-8, blank, duplicated or out of order becomes a `Problem`, and the readable lines are
  still returned, so validation can list everything at once and fix_data_dir can repair what
  is repairable.
- `read_mapping` (and `read_mapping_entries`, `parse_mapping`, `read_scores` on top of it) is
  strict, for every other reader: any such problem but the order, an empty value (unless
  allowed) or a value that does not parse raises one `DataDirError` naming file, line, id and
  fix. A silently deduplicated or truncated file would feed training or scoring something
  other than what the user gave.
Ids may hold any non-whitespace characters; the value is the rest of the line with its
internal spaces kept (as ESPnet's `read_2column_text`). Files are written sorted and atomically
(`write_mapping`). Kaldi sorts by id in C-locale byte order, which for UTF-8 is the order of
Python's `sorted()` on str (UTF-8 preserves code point order).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar, Union

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.errors import (
    BAD_VALUE,
    CONFLICT,
    DUPLICATE,
    ENCODING,
    MALFORMED,
    MISSING_FILE,
    UNSORTED,
    DataDirError,
    Problem,
)
from lrspeech.errors import InputError

PathLike = Union[str, Path]
T = TypeVar("T")
WHITESPACE = " \t\r\f\v"
FIX_SORT = "sort it with `LC_ALL=C sort -k1,1 -o FILE FILE` or run utils/fix_data_dir.sh"
FIX_UTF8 = "re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or fix that line"


@dataclass(frozen=True)
class Entry:
    """One line of a Kaldi file: its id, the rest of the line, and its 1-based line number."""

    key: str
    value: str
    line: int


def is_valid_id(key: str) -> bool:
    """Kaldi ids are non-empty and hold no whitespace (any other character is fine)."""
    return bool(key) and not any(ch in WHITESPACE or ch == "\n" for ch in key)


def split_line(text: str) -> Tuple[str, str]:
    """Split a line into (id, rest); the rest keeps its internal spaces, not its outer ones."""
    text = text.strip(WHITESPACE)
    for i, ch in enumerate(text):
        if ch in WHITESPACE:
            return text[:i], text[i:].strip(WHITESPACE)
    return text, ""


def _decode_line(
    raw: bytes, path: Path, lineno: int, offset: int, noun: str
) -> Tuple[str, List[Problem]]:
    """Decode one line; a bad byte becomes a Problem that names line and byte offset."""
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as err:
        key = split_line(raw.decode("utf-8", "replace"))[0] or None
        msg = (
            f"is not valid UTF-8: byte 0x{raw[err.start]:02x} at byte offset "
            f"{offset + err.start} of the file (byte {err.start + 1} of line {lineno})"
        )
        return "", [Problem(str(path), lineno, key, msg, FIX_UTF8, ENCODING, noun)]


def read_entries(path: Path, noun: str = "id") -> Tuple[List[Entry], List[Problem]]:
    """All decodable, non-blank lines of `path` as Entries, plus the problems of the others."""
    path = Path(path)
    raw = path.read_bytes()
    entries: List[Entry] = []
    problems: List[Problem] = []
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    offset = 0
    for lineno, chunk in enumerate(chunks, 1):
        text, bad = _decode_line(chunk, path, lineno, offset, noun)
        offset += len(chunk) + 1
        if bad:
            problems.extend(bad)
            continue
        key, value = split_line(text)
        if not key:
            problems.append(
                Problem(str(path), lineno, None, "is a blank line", "delete it", MALFORMED)
            )
            continue
        entries.append(Entry(key, value, lineno))
    return entries, problems


def check_order(path: Path, entries: List[Entry], noun: str = "id") -> List[Problem]:
    """Problems for repeated ids (each repeat) and for the first id that breaks the sort order."""
    problems: List[Problem] = []
    first: Dict[str, Entry] = {}
    prev: Optional[Entry] = None
    unsorted_reported = False
    for e in entries:
        if e.key in first:
            problems.append(_duplicate_problem(path, first[e.key], e, noun))
        else:
            first[e.key] = e
        if prev is not None and e.key < prev.key and not unsorted_reported:
            msg = (
                f"is out of order: it comes after '{prev.key}' (line {prev.line}); files must be "
                "sorted by id in C-locale byte order"
            )
            problems.append(Problem(str(path), e.line, e.key, msg, FIX_SORT, UNSORTED, noun))
            unsorted_reported = True
        prev = e
    return problems


def _duplicate_problem(path: Path, first: Entry, again: Entry, noun: str) -> Problem:
    """A repeated id: harmless when both lines agree, ambiguous (drop it) when they differ."""
    if first.value == again.value:
        msg = f"is a duplicate id (same line as line {first.line})"
        fix = "delete the repeated line"
        return Problem(str(path), again.line, again.key, msg, fix, DUPLICATE, noun)
    msg = f"is a duplicate id with a different value than on line {first.line}"
    fix = "keep the right line and delete the other; utils/fix_data_dir.sh drops the id"
    return Problem(str(path), again.line, again.key, msg, fix, CONFLICT, noun)


def first_values(entries: Iterable[Entry]) -> Dict[str, Entry]:
    """Map id -> its first Entry (later repeats are reported by `check_order`)."""
    out: Dict[str, Entry] = {}
    for e in entries:
        out.setdefault(e.key, e)
    return out


def format_lines(mapping: Mapping[str, str]) -> str:
    """Lines `id value`, sorted by id in C-locale order; ids must not contain whitespace."""
    lines = []
    for key in sorted(mapping):
        if not is_valid_id(key):
            raise InputError(f"id {key!r} is empty or contains whitespace; Kaldi ids cannot")
        value = str(mapping[key])
        if "\n" in value or "\r" in value:
            raise ValueError(f"id {key!r}: its value {value!r} holds a line break; a Kaldi "
                             "file has one id per line")
        lines.append(f"{key} {value}\n" if value != "" else f"{key}\n")
    return "".join(lines)


def write_mapping(path: PathLike, mapping: Mapping[str, object]) -> None:
    """Write `id value` lines sorted by id, atomically (values go through str())."""
    atomic_write_text(Path(path), format_lines(mapping))


# ---------------------------------------------------------------- strict reading


def read_mapping_entries(
    path: PathLike, noun: str = "id", allow_empty: bool = False
) -> Dict[str, Entry]:
    """id -> Entry (value and line number) of a Kaldi file, in file order; strict.

    Raises one `DataDirError` for all lines that are not UTF-8, blank, repeated (even with the
    same value) or, unless `allow_empty` (a hypothesis may be empty), have no value. Unsorted
    files are read: ESPnet does not need the order, and the writers here sort anyway.
    """
    path = Path(path)
    if not path.is_file():
        fix = "check the path, or run the step that writes it"
        raise DataDirError([Problem(str(path), None, None, "is missing", fix, MISSING_FILE)])
    entries, problems = read_entries(path, noun)
    problems += [p for p in check_order(path, entries, noun) if p.kind != UNSORTED]
    if not allow_empty:
        problems += [
            Problem(str(path), e.line, e.key, "has no value after the id",
                    "fill it in or delete the line (utils/fix_data_dir.sh)", MALFORMED, noun)
            for e in entries if not e.value
        ]
    if problems:
        raise DataDirError(sorted(problems, key=lambda p: p.line or 0))
    return first_values(entries)


def read_mapping(path: PathLike, noun: str = "id", allow_empty: bool = False) -> Dict[str, str]:
    """id -> value of a Kaldi file, in file order; strict (see `read_mapping_entries`)."""
    return {k: e.value for k, e in read_mapping_entries(path, noun, allow_empty).items()}


def parse_mapping(
    path: PathLike, parse: Callable[[str], T], expected: str, fix: str, noun: str = "id"
) -> Dict[str, T]:
    """id -> `parse(value)` of a strict Kaldi file; every value `parse` rejects (ValueError)
    is a Problem "has value '...', expected <expected>; <fix>", all raised at once."""
    typed: Dict[str, T] = {}
    problems: List[Problem] = []
    for key, e in read_mapping_entries(path, noun).items():
        try:
            typed[key] = parse(e.value)
        except ValueError:
            msg = f"has value {e.value!r}, expected {expected}"
            problems.append(Problem(str(path), e.line, key, msg, fix, BAD_VALUE, noun))
    if problems:
        raise DataDirError(problems)
    return typed


def read_scores(path: PathLike) -> Dict[str, float]:
    """`utt score` lines (an ASR decode's `score`, ctc_align's `scores`) as floats."""
    return parse_mapping(path, float, "a number", "rerun the step that wrote it", "utterance")
