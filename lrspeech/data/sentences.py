"""Read sentence files: `id<TAB>text` lines or one sentence per line, plain text or `.xz`.

Usage: python -c "from lrspeech.data.sentences import read_sentences as r; print(r('t.tsv')[:2])"

One reader for every sentence file the toolkit takes (unpaired text, the text espeak-ng reads
for the rich-resource corpus, benchmark samples), so that they all accept the same formats and
fail with the same messages. The format follows the first non-empty line; a header line
`id<TAB>text` is skipped, and so are ids with empty text (verses a translation leaves out),
with a warning naming the first. Ids must be usable in file names (synthesized wavs are named
after them); plain lines get their line number, zero-padded, as id.
"""

import logging
import lzma
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Union

from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SentenceFileError(LrspeechError, ValueError):
    """The sentence file cannot be used; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Sentence:
    id: str
    text: str
    line: int


def read_sentences(path: Union[str, Path], max_sentences: Optional[int] = None) -> List[Sentence]:
    """The file's sentences in file order (the first `max_sentences` when given), spaces
    collapsed; an error names the file and line of the first unusable one."""
    path = Path(path)
    opener = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError, lzma.LZMAError) as err:
        raise SentenceFileError(
            f"{path}: cannot read the text file ({err}); give a UTF-8 text file (or .xz)"
        ) from None
    first = next((line for line in lines if line.strip()), "")
    tsv = "\t" in first
    sentences: List[Sentence] = []
    seen = {}
    empty: List[str] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip() or (tsv and line.strip().lower() == "id\ttext"):
            continue
        sentence = _parse_tsv_line(path, n, line) if tsv else Sentence(f"{n:06d}", line, n)
        if not sentence.text.strip():
            empty.append(f"{path}:{n}: utterance {sentence.id!r}")
            continue
        if sentence.id in seen:
            raise SentenceFileError(
                f"{path}:{n}: id {sentence.id!r} already used on line {seen[sentence.id]}; "
                "make the ids unique"
            )
        seen[sentence.id] = n
        sentences.append(Sentence(sentence.id, " ".join(sentence.text.split()), n))
        if max_sentences and len(sentences) >= max_sentences:
            break
    if empty:
        logger.warning("%s has empty text; skipped (%d such lines)", empty[0], len(empty))
    if not sentences:
        raise SentenceFileError(
            f"{path}: no sentences found; give `id<TAB>text` lines or one sentence per line"
        )
    return sentences


def _parse_tsv_line(path: Path, n: int, line: str) -> Sentence:
    fields = line.split("\t")
    if len(fields) != 2:
        raise SentenceFileError(
            f"{path}:{n}: {len(fields)} tab-separated fields; expected id<TAB>text like line 1 "
            "(keep two columns, e.g. with `cut -f1,2`)"
        )
    sent_id, text = fields[0].strip(), fields[1]
    if not SAFE_ID.match(sent_id):
        raise SentenceFileError(
            f"{path}:{n}: id {sent_id!r} is not usable in file names; use letters, digits, "
            "'.', '_' and '-' only"
        )
    return Sentence(sent_id, text, n)
