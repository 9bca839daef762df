"""ESPnet token lists: `<blank>`, `<unk>`, tokens by frequency then name, `<sos/eos>`.

Usage: python -m lrspeech.bin.make_token_list --out dump/tokens.txt dump/train/text.tok

Ties in frequency are broken by the token itself, so the same text always gives the same
list (ESPnet's own counter keeps first-seen order, which depends on file order).
"""

import collections
from pathlib import Path
from typing import Counter, Iterable, List, Optional, Sequence, Union

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import read_mapping
from lrspeech.errors import LrspeechError

BLANK = "<blank>"
UNK = "<unk>"
SOS_EOS = "<sos/eos>"
SPACE = "<space>"
SPECIALS = (BLANK, UNK, SOS_EOS)


class TokenListError(LrspeechError, ValueError):
    """A tokenized text or token list is malformed; the message names file and line."""


def count_tokens(paths: Iterable[Union[str, Path]]) -> Counter[str]:
    """Token counts over tokenized text files (`utt_id tok1 tok2 ...`)."""
    counts: Counter[str] = collections.Counter()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise TokenListError(
                f"{path}: tokenized text not found; run python -m lrspeech.bin.tokenize_text"
            )
        try:
            tokenized = read_mapping(path, "utterance")
        except DataDirError as err:
            raise TokenListError(f"{err}\n(expected `utt_id tok1 tok2 ...` lines; re-run "
                                 "tokenize_text or fix them)") from err
        for tokens in tokenized.values():
            counts.update(tokens.split())
    return counts


def build_token_list(
    counts: Counter[str], min_count: int = 1, extra: Sequence[str] = ()
) -> List[str]:
    """Specials around tokens sorted by descending count, then by name.

    Tokens seen fewer than `min_count` times are dropped (they become `<unk>`); `extra`
    tokens (e.g. all pieces of a BPE model) are appended after the counted ones.
    """
    kept = [t for t, n in counts.items() if n >= min_count and t not in SPECIALS]
    kept.sort(key=lambda t: (-counts[t], t))
    seen = set(kept)
    for tok in extra:
        if tok not in seen and tok not in SPECIALS:
            kept.append(tok)
            seen.add(tok)
    return [BLANK, UNK] + kept + [SOS_EOS]


def write_token_list(tokens: Sequence[str], path: Union[str, Path]) -> None:
    """One token per line, written atomically."""
    atomic_write_text(Path(path), "".join(f"{t}\n" for t in tokens))


def read_token_list(path: Union[str, Path], check: bool = True) -> List[str]:
    """Tokens of an ESPnet token list; with `check`, the specials must sit where ESPnet wants."""
    path = Path(path)
    if not path.is_file():
        raise TokenListError(
            f"{path}: token list not found; make one with python -m lrspeech.bin.make_token_list"
        )
    tokens = [line.rstrip("\n") for line in open(path, encoding="utf-8")]
    if check:
        _check_format(tokens, path)
    return tokens


def _check_format(tokens: List[str], path: Path) -> None:
    problem: Optional[str] = None
    if len(tokens) < 3:
        problem = f"has {len(tokens)} lines; a token list needs <blank>, <unk>, tokens, <sos/eos>"
    elif tokens[0] != BLANK or tokens[1] != UNK:
        problem = f"must start with {BLANK}, {UNK} (starts with {tokens[:2]})"
    elif tokens[-1] != SOS_EOS:
        problem = f"must end with {SOS_EOS} (ends with {tokens[-1]!r})"
    else:
        for i, tok in enumerate(tokens, 1):
            if not tok or any(c.isspace() for c in tok):
                problem = f"line {i}: token {tok!r} is empty or contains whitespace"
                break
        dupes = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if problem is None and dupes:
            problem = f"has duplicate tokens {dupes[:10]}"
    if problem:
        raise TokenListError(f"{path}: {problem}; rebuild it with make_token_list")
