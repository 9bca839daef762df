"""Read Kaldi `text` files (or plain sentence lists) and write ESPnet token files.

Usage: python -c "from lrspeech.text.textfile import read_text as r; print(r('data/x/text')[:3])"

The tokenized file has one line `utt_id tok1 tok2 ...` per utterance, in input order, and is
written under a temporary name and renamed when complete. Bad lines stop the run with the
file, line and utterance id: a transcript that is empty (or empties out in cleaning) would
otherwise train a model on silence-to-nothing pairs.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple, Union

from lrspeech.data.atomic import atomic_file
from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import read_mapping_entries
from lrspeech.errors import LrspeechError
from lrspeech.progress import progress as progress_bar
from lrspeech.text.cleaners import SENTENCE_PUNCTUATION
from lrspeech.text.graphemes import SPACE
from lrspeech.text.tokenizer import Tokenizer, UnknownReport

logger = logging.getLogger(__name__)

BATCH_SIZE = 512
FIX_EMPTY = "write the transcript or delete the line (lrspeech-fix-data-dir drops it)"


class TextFileError(LrspeechError, ValueError):
    """A text file line cannot be used; the message names file, line and utterance."""


@dataclass(frozen=True)
class TextLine:
    """One utterance: 1-based line number, id and raw text."""

    lineno: int
    utt_id: str
    text: str


def _lines(path: Path) -> Iterator[tuple]:
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                yield lineno, line.rstrip("\n").rstrip("\r")
    except UnicodeDecodeError as e:
        raise TextFileError(
            f"{path}: not valid UTF-8 ({e}); re-encode it, e.g. `iconv -f latin1 -t utf-8`"
        ) from e


def read_text(path: Union[str, Path], plain: bool = False) -> List[TextLine]:
    """Lines of a Kaldi `text` file (`utt_id text`), or of a plain file (one sentence a line).

    Plain lines get ids `<file stem>_<line number>`; blank plain lines are skipped. A Kaldi
    file is read strictly (lrspeech.data.kaldi_files.read_mapping): a blank, repeated or
    empty line stops the run, all of them named at once.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "text"
    if not path.is_file():
        raise TextFileError(f"{path}: text file not found; check the path or the data dir")
    if plain:
        return [TextLine(lineno, f"{path.stem}_{lineno:07d}", line.strip())
                for lineno, line in _lines(path) if line.strip()]
    try:
        entries = read_mapping_entries(path, "utterance")
    except DataDirError as err:
        raise TextFileError(str(err)) from err
    return [TextLine(e.line, e.key, e.value) for e in entries.values()]


def _has_content(tokens: Sequence[str]) -> bool:
    """True if something besides punctuation and word breaks is left to say."""
    return any(t != SPACE and t not in SENTENCE_PUNCTUATION for t in tokens)


def tokenize_lines(
    tokenizer: Tokenizer, lines: Sequence[TextLine], source: str, progress: bool = True
) -> Iterator[tuple]:
    """Yield (TextLine, tokens) in order, batching phonemization."""
    bar = progress_bar(total=len(lines), desc=f"tokenize {Path(source).name}", unit="utt",
                       disable=not progress)
    for start in range(0, len(lines), BATCH_SIZE):
        batch = lines[start:start + BATCH_SIZE]
        wheres = [f"{source}:{ln.lineno} ({ln.utt_id})" for ln in batch]
        for line, tokens in zip(batch, tokenizer.tokenize_batch([ln.text for ln in batch], wheres)):
            if not _has_content(tokens):
                raise TextFileError(
                    f"{source}:{line.lineno}: utterance '{line.utt_id}' is empty after cleaning "
                    f"(text was {line.text!r}); {FIX_EMPTY}"
                )
            yield line, tokens
        bar.update(len(batch))
    bar.close()


def tokenize_text_file(
    tokenizer: Tokenizer,
    in_path: Union[str, Path],
    out_path: Union[str, Path],
    plain: bool = False,
    progress: bool = True,
) -> Tuple[int, UnknownReport]:
    """Write `utt_id tok1 tok2 ...` lines for every utterance of `in_path` to `out_path`.

    Logs one line: what was written, and the unknown-character summary (a warning) if any.
    Returns the number of utterances and the tokenizer's unknown-character report.
    """
    lines = read_text(in_path, plain=plain)
    if not lines:
        raise TextFileError(f"{in_path}: no utterances; give a non-empty text file")
    with atomic_file(Path(out_path)) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line, tokens in tokenize_lines(tokenizer, lines, str(in_path), progress):
            f.write(f"{line.utt_id} {' '.join(tokens)}\n")
    report = tokenizer.report
    done = f"{out_path}: {len(lines)} utterances of {in_path}, {tokenizer.token_type} tokens"
    if report.empty:
        logger.info("%s; no unknown characters", done)
    else:
        logger.warning("%s; %s", done, report.summary())
    return len(lines), report
