"""Read and write the one-id-per-line files of a Kaldi data dir (`wav.scp`, `text`, ...).

Usage: python -c "import lrspeech.data.kaldi_files as k; print(k.read_entries('data/x/text'))"

Reading is lenient and reports instead of raising: every line that is not valid UTF-8, blank,
duplicated or out of order becomes a `Problem`, and the readable lines are still returned, so
validation can list everything at once and fix_data_dir can repair what is repairable.
Ids may hold any non-whitespace characters; the value is the rest of the line with its
internal spaces kept. Kaldi sorts by id in C-locale byte order, which for UTF-8 is the order
of Python's `sorted()` on str (UTF-8 preserves code point order).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.errors import CONFLICT, DUPLICATE, ENCODING, MALFORMED, UNSORTED, Problem

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
            raise ValueError(f"id {key!r} is empty or contains whitespace; Kaldi ids cannot")
        value = mapping[key]
        lines.append(f"{key} {value}\n" if value != "" else f"{key}\n")
    return "".join(lines)


def write_mapping(path: Path, mapping: Mapping[str, str]) -> None:
    """Write a sorted Kaldi file atomically."""
    atomic_write_text(Path(path), format_lines(mapping))
