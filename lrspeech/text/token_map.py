"""Cross-lingual token map: for each target-language token, the closest source token.

Usage: python -c "from lrspeech.text.token_map import read_token_map as r; print(r('map.tsv'))"

Fine-tuning starts the target embedding rows from the mapped source rows, so a good map
gives the low-resource model a head start. Tried in order, the first that finds a source
token wins:

  identity    the same token exists in the source list (special tokens always map to
              themselves);
  decomposed  equal after Unicode decomposition and stripping marks ("é" -> "e",
              "ɛ̀" -> "ɛ"); for phones also stress/length/modifier letters ("aː" -> "a");
  phoneme     (characters) the target voice reads the character as a phone, and the
              source character whose phone is nearest by articulatory features wins;
  features    (phones, or characters that are IPA letters) the nearest source phone by
              articulatory features (ipa.py), within `max_distance`;
  unmapped    nothing close enough; the row keeps its fresh initialization.

A combining mark alone (a tone or dot below as its own token: the language's `unicode_form`
is NFD) maps only to the same mark in the source list. Otherwise it stays unmapped, on
purpose: no letter or phone of the source means "the letter before takes this tone", and a
letter's row would start the model reading the mark as a sound of its own. Summaries name such marks
by code point (U+0301), since a lone mark printed in a line sits on the character before it.

The file `token_map.tsv` has `target<TAB>source<TAB>method` lines, source empty when unmapped.
"""

import collections
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from lrspeech.data.atomic import atomic_write_text
from lrspeech.errors import LrspeechError
from lrspeech.text.g2p import char_sounds
from lrspeech.text.graphemes import is_combining, strip_marks
from lrspeech.text.ipa import base_symbols, phone_distance
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

METHODS = ("identity", "decomposed", "phoneme", "features", "unmapped")
SPECIAL_TOKENS = frozenset({"<blank>", "<unk>", "<space>", "<sos/eos>"})
DEFAULT_MAX_DISTANCE = 2.0


class TokenMapError(LrspeechError, ValueError):
    """A token map file is malformed; the message names file and line."""


@dataclass(frozen=True)
class MapEntry:
    target: str
    source: Optional[str]
    method: str
    distance: Optional[float] = None


def is_mark(token: str) -> bool:
    """True for a token made only of combining marks (NFD's tone and diacritic tokens)."""
    return bool(token) and all(is_combining(ch) for ch in token)


def shown(token: str) -> str:
    """The token as a summary line shows it: lone marks by code point ('U+0301')."""
    return "+".join(f"U+{ord(ch):04X}" for ch in token) if is_mark(token) else token


def _nearest(
    value: str, candidates: Dict[str, str], max_distance: float
) -> Optional[tuple]:
    """(source token, distance) of the candidate phone nearest to phone `value`."""
    best = None
    for token, phone in candidates.items():
        d = phone_distance(value, phone)
        if d is not None and d <= max_distance and (best is None or d < best[1]):
            best = (token, d)
    return best


def _decomposed(target: str, sources: Sequence[str], strip: Callable[[str], str]) -> Optional[str]:
    """The source token with the same stripped form and the fewest differing marks.

    Ties go to the earlier source token (token lists sort by frequency).
    """
    base = strip(target)
    if not base:
        return None
    same = [s for s in sources if strip(s) == base]
    if not same:
        return None
    return min(same, key=lambda s: len(set(s) ^ set(target)))


def _phone_values(tokens: Sequence[str]) -> Dict[str, str]:
    """Tokens usable as IPA phones (or punctuation), each standing for itself."""
    return {t: t for t in tokens if phone_distance(t, t) is not None}


class TokenMapper:
    """Builds map entries for one (target, source) pair of token lists."""

    def __init__(
        self,
        source_tokens: Sequence[str],
        token_type: str,
        target_cfg: Optional[LangConfig] = None,
        source_cfg: Optional[LangConfig] = None,
        max_distance: float = DEFAULT_MAX_DISTANCE,
    ) -> None:
        self.sources = [t for t in source_tokens if t not in SPECIAL_TOKENS]
        self.source_set = set(source_tokens)
        self.token_type = token_type
        self.target_cfg = target_cfg
        self.max_distance = max_distance
        self.strip = base_symbols if token_type == "phn" else strip_marks
        self.source_phones = self._source_phones(source_cfg)

    def _source_phones(self, source_cfg: Optional[LangConfig]) -> Dict[str, str]:
        """Source characters read as IPA letters, else as the source voice reads them."""
        if self.token_type == "phn":
            return _phone_values(self.sources)
        values = {t: strip_marks(t) for t in self.sources}
        values = {t: v for t, v in values.items() if v and phone_distance(v, v) is not None}
        rest = [t for t in self.sources if t not in values]
        if rest and source_cfg is not None:
            sounds = char_sounds(source_cfg, rest)
            values.update({t: s for t, s in sounds.items() if s is not None})
        return values

    def map_all(self, targets: Sequence[str]) -> List[MapEntry]:
        sounds: Dict[str, Optional[str]] = {}
        if self.token_type == "char" and self.target_cfg is not None:
            todo = [t for t in targets if t not in self.source_set and t not in SPECIAL_TOKENS]
            sounds = char_sounds(self.target_cfg, todo) if todo else {}
        return [self.map_one(t, sounds.get(t)) for t in targets]

    def map_one(self, target: str, sound: Optional[str] = None) -> MapEntry:
        if target in SPECIAL_TOKENS or target in self.source_set:
            return MapEntry(target, target, "identity", 0.0)
        if is_mark(target):  # no counterpart: a fresh row, not a letter's (see the docstring)
            return MapEntry(target, None, "unmapped")
        src = _decomposed(target, self.sources, self.strip)
        if src is not None:
            return MapEntry(target, src, "decomposed")
        if sound is not None:
            best = _nearest(sound, self.source_phones, self.max_distance)
            if best is not None:
                return MapEntry(target, best[0], "phoneme", best[1])
        if self.token_type != "bpe":
            value = target if self.token_type == "phn" else strip_marks(target)
            best = _nearest(value, self.source_phones, self.max_distance)
            if best is not None:
                return MapEntry(target, best[0], "features", best[1])
        return MapEntry(target, None, "unmapped")


def build_token_map(
    target_tokens: Sequence[str],
    source_tokens: Sequence[str],
    token_type: Optional[str] = None,
    target_cfg: Optional[LangConfig] = None,
    source_cfg: Optional[LangConfig] = None,
    max_distance: float = DEFAULT_MAX_DISTANCE,
) -> List[MapEntry]:
    """Map every target token (in order) to a source token or to nothing.

    `token_type` defaults to the target config's (phn without a voice means characters).
    """
    if token_type is None:
        token_type = target_cfg.token_type if target_cfg is not None else "phn"
        if token_type == "phn" and target_cfg is not None and target_cfg.espeak_voice is None:
            token_type = "char"
    mapper = TokenMapper(source_tokens, token_type, target_cfg, source_cfg, max_distance)
    return mapper.map_all(target_tokens)


def summarize(entries: Sequence[MapEntry]) -> str:
    """Counts per method and the unmapped tokens."""
    counts = collections.Counter(e.method for e in entries)
    parts = [f"{m}: {counts[m]}" for m in METHODS if counts[m]]
    unmapped = [shown(e.target) for e in entries if e.method == "unmapped"]
    text = f"{len(entries)} target tokens; " + ", ".join(parts)
    if unmapped:
        text += f"; unmapped: {' '.join(unmapped)}"
    return text


def write_token_map(entries: Sequence[MapEntry], path: Union[str, Path]) -> None:
    """`target<TAB>source<TAB>method` lines, written atomically."""
    lines = [f"{e.target}\t{e.source or ''}\t{e.method}\n" for e in entries]
    atomic_write_text(Path(path), "".join(lines))


def read_token_map_entries(path: Union[str, Path]) -> List[MapEntry]:
    """Entries of a token_map.tsv, checked line by line."""
    path = Path(path)
    if not path.is_file():
        raise TokenMapError(
            f"{path}: token map not found; make one with python -m lrspeech.bin.make_token_map"
        )
    entries: List[MapEntry] = []
    seen: Dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            entry = _parse_line(line.rstrip("\n"), f"{path}:{lineno}")
            if entry.target in seen:
                raise TokenMapError(
                    f"{path}:{lineno}: target token {entry.target!r} already mapped on line "
                    f"{seen[entry.target]}; keep one of the lines"
                )
            seen[entry.target] = lineno
            entries.append(entry)
    return entries


def _parse_line(line: str, where: str) -> MapEntry:
    fields = line.split("\t")
    if len(fields) != 3 or not fields[0]:
        raise TokenMapError(
            f"{where}: expected `target<TAB>source<TAB>method`, got {line!r}; "
            f"rebuild the map with make_token_map"
        )
    target, source, method = fields
    if method not in METHODS:
        raise TokenMapError(f"{where}: method {method!r} is not one of {list(METHODS)}")
    if (method == "unmapped") != (source == ""):
        raise TokenMapError(
            f"{where}: token {target!r}: the source must be empty exactly when the method is "
            f"unmapped (got source {source!r}, method {method!r})"
        )
    return MapEntry(target, source or None, method)


def read_token_map(path: Union[str, Path]) -> Dict[str, Optional[str]]:
    """target token -> source token (None when unmapped)."""
    return {e.target: e.source for e in read_token_map_entries(path)}
