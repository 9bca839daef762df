"""Import a corpus described by a `metadata.tsv` into a `DataDir`.

Usage: python -c "import lrspeech.data.corpus as c; c.datadir_from_metadata('m.tsv').save('d')"

The tsv has a header with the columns `id, audio, text, speaker, duration_s, split` (`audio`
relative to the tsv's folder, or absolute; `duration_s` and `split` optional). Utterance ids
become `<speaker>-<id>` unless the id already starts with the speaker, so that sorting by
utterance keeps each speaker's utterances together (Kaldi relies on it). A tsv whose audio
column is empty everywhere gives a text-only dir; one whose text is empty everywhere, a
speech-only dir. Every bad row is reported with its line number in one `DataDirError`.
"""

import csv
import math
from pathlib import Path
from typing import Dict, List, Sequence, Union

from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import BAD_VALUE, DUPLICATE, MISSING_FILE, DataDirError, Problem
from lrspeech.data.kaldi_files import is_valid_id

REQUIRED_COLUMNS = ("id", "audio", "text")
Splits = Union[None, str, Sequence[str]]


def make_utt_id(speaker: str, utt: str) -> str:
    """Speaker-prefixed utterance id (`spk-utt`), unless `utt` already starts with `speaker`."""
    return utt if utt.startswith(speaker) else f"{speaker}-{utt}"


def _read_rows(tsv_path: Path) -> List[Dict[str, str]]:
    """Rows of the tsv (no quoting: transcripts may contain quote marks)."""
    with open(tsv_path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            msg = f"header lacks the column(s) {missing} (has {columns})"
            fix = "the header must be tab-separated `id audio text speaker duration_s split`"
            raise DataDirError([Problem(str(tsv_path), 1, None, msg, fix, MISSING_FILE)])
        return list(reader)


def _wanted(row: Dict[str, str], splits: Splits) -> bool:
    if splits is None:
        return True
    names = {splits} if isinstance(splits, str) else set(splits)
    return (row.get("split") or "").strip() in names


def _row_problems(tsv: Path, line: int, row: Dict[str, str]) -> List[Problem]:
    """Problems of one row: bad ids, a bad duration, extra or missing cells."""
    problems = []
    utt, spk = (row.get("id") or "").strip(), (row.get("speaker") or "").strip()

    def bad(msg: str, fix: str) -> None:
        problems.append(Problem(str(tsv), line, utt or None, msg, fix, BAD_VALUE))

    if None in row or any(v is None for v in row.values()):
        bad("has a different number of tab-separated cells than the header",
            "give every row one cell per header column (empty cells are fine)")
    if not is_valid_id(utt):
        bad("has an empty id or one containing whitespace", "give it an id without spaces")
    if spk and not is_valid_id(spk):
        bad(f"has speaker {spk!r}, which contains whitespace", "use a speaker id without spaces")
    dur = (row.get("duration_s") or "").strip()
    if dur:
        try:
            ok = math.isfinite(float(dur)) and float(dur) > 0
        except ValueError:
            ok = False
        if not ok:
            bad(f"has duration_s {dur!r}, not a positive number",
                "write the clip length in seconds, or leave the cell empty")
    return problems


def datadir_from_metadata(tsv_path: Union[str, Path], split: Splits = None) -> DataDir:
    """Build a data dir from a `metadata.tsv` (only rows of `split`, a name or a list, if given).

    Audio paths become absolute; `utt2dur` comes from `duration_s` when every row has one;
    a missing speaker makes the utterance its own speaker (Kaldi's convention).
    """
    tsv = Path(tsv_path).resolve()
    rows = _read_rows(tsv)
    if split is not None and rows and "split" not in rows[0]:
        msg = f"has no `split` column, so split={split!r} cannot be selected"
        raise DataDirError([Problem(str(tsv), 1, None, msg, "add the column or pass split=None",
                                    MISSING_FILE)])
    dd = DataDir()
    problems: List[Problem] = []
    first_line: Dict[str, int] = {}
    durations: Dict[str, float] = {}
    for line, row in enumerate(rows, 2):
        if not _wanted(row, split):
            continue
        found = _row_problems(tsv, line, row)
        problems += found
        if found:
            continue
        utt_id = _add_row(dd, tsv, row, durations)
        if utt_id in first_line:
            msg = f"gives utterance id '{utt_id}' again (first on line {first_line[utt_id]})"
            problems.append(Problem(str(tsv), line, row["id"].strip(), msg,
                                    "make the ids unique", DUPLICATE))
        first_line.setdefault(utt_id, line)
    problems += _mixed_problems(tsv, dd, first_line)
    if problems:
        raise DataDirError(problems)
    if durations and len(durations) == len(dd.utt_ids):
        dd.utt2dur = durations
    return dd


def _add_row(dd: DataDir, tsv: Path, row: Dict[str, str], durations: Dict[str, float]) -> str:
    """Put one valid row into the dir; return its utterance id."""
    utt = row["id"].strip()
    spk = (row.get("speaker") or "").strip() or utt
    utt_id = make_utt_id(spk, utt)
    audio, text = (row.get("audio") or "").strip(), (row.get("text") or "").strip()
    if audio:
        path = Path(audio)
        dd.wav_scp[utt_id] = str(path if path.is_absolute() else tsv.parent / path)
    if text:
        dd.text[utt_id] = text
    dd.utt2spk[utt_id] = spk
    dur = (row.get("duration_s") or "").strip()
    if dur:
        durations[utt_id] = float(dur)
    return utt_id


def _mixed_problems(tsv: Path, dd: DataDir, lines: Dict[str, int]) -> List[Problem]:
    """Rows without audio (or text) are only allowed when all rows lack it."""
    problems = []
    for table, column in ((dd.wav_scp, "audio"), (dd.text, "text")):
        if not table:
            continue
        for utt_id in sorted(set(lines) - set(table), key=lambda u: lines[u]):
            msg = f"has an empty `{column}` cell while other rows have one"
            fix = f"fill it, or drop the row (a {column}-less corpus leaves it empty everywhere)"
            problems.append(Problem(str(tsv), lines[utt_id], utt_id, msg, fix, BAD_VALUE))
    return problems
