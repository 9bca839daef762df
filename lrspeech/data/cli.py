"""Shared plumbing of the data-dir command-line tools (logging set-up, error reporting).

Usage: python -c "from lrspeech.data.cli import run_cli; import sys; sys.exit(run_cli(lambda: 0))"

Why: every data CLI should fail the same way on bad input, with the one-line-per-problem
message of a project error (file, line, utterance, fix) on stderr and exit status 1. Other
exceptions (a bug) are not caught: they show their traceback.
"""

import logging
import sys
from pathlib import Path
from typing import Callable, List

from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import read_entries
from lrspeech.errors import LrspeechError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr with timestamps; INFO by default, DEBUG with --verbose."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)


def run_cli(body: Callable[[], int]) -> int:
    """Run a CLI body; a project error or an unreadable file prints its message to stderr and
    returns 1."""
    try:
        return body()
    except (LrspeechError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
    return 1


def read_id_list(path: Path) -> List[str]:
    """Ids from a list file: the first field of each line (so a `text` or `utt2spk` works)."""
    entries, problems = read_entries(Path(path))
    if problems:
        raise DataDirError(problems)
    return [e.key for e in entries]
