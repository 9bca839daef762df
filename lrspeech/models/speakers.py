"""Speakers of a multi-speaker TTS: spk2sid maps, speaker embeddings, and "target" resolution.

Usage: python -c "from lrspeech.models.speakers import SpeakerTable as T; \
print(T({'<unk>': 0, 'amina': 1}, target='amina').resolve('target'))"

ESPnet's Transformer-TTS conditions on a speaker id (`tts_conf.spks` + `sids`) and/or a
speaker embedding (`tts_conf.spk_embed_dim` + `spembs`). lrspeech names speakers, not numbers:
`spk2sid` (one `speaker sid` line per speaker, `<unk>` = 0 as in ESPnet's tts.sh) maps names to
ids, and a packed model's meta.json records the map and the *target* speaker, the voice the
recipe builds the final TTS for. So `--speaker target` always means "the voice this model is
for", whichever id it got. Errors list the known speakers, since a typo is the usual cause.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from lrspeech.data.atomic import atomic_file
from lrspeech.data.errors import DataDirError
from lrspeech.data.kaldi_files import parse_mapping, write_mapping
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
UNK_SPEAKER = "<unk>"
TARGET = "target"
MAX_LISTED = 20


class SpeakerError(LrspeechError, ValueError):
    """A speaker name, map or embedding that cannot be used; the message says what to do."""


def read_spk2sid(path: PathLike) -> Dict[str, int]:
    """`speaker sid` lines as a dict; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise SpeakerError(f"{path}: spk2sid not found; write it with write_spk2sid() "
                           "or take it from the training lists (dump/<split>/spk2sid)")
    try:
        table = parse_mapping(path, _sid, "a sid (an integer >= 0)", "fix the line", "speaker")
    except DataDirError as err:
        raise SpeakerError(str(err)) from err
    check_spk2sid(table, str(path))
    return table


def _sid(value: str) -> int:
    if not value.isdigit():
        raise ValueError(value)
    return int(value)


def check_spk2sid(spk2sid: Mapping[str, int], where: str = "spk2sid") -> None:
    """Ids must be distinct non-negative integers (two names on one id is a broken map)."""
    owner: Dict[int, str] = {}
    for spk, sid in spk2sid.items():
        if int(sid) < 0:
            raise SpeakerError(f"{where}: speaker '{spk}' has sid {sid}; sids are >= 0")
        if int(sid) in owner:
            raise SpeakerError(f"{where}: speakers '{owner[int(sid)]}' and '{spk}' share sid "
                               f"{sid}; give each speaker its own id")
        owner[int(sid)] = spk


def write_spk2sid(spk2sid: Mapping[str, int], path: PathLike) -> Path:
    """Write `speaker sid` lines sorted by name (as every Kaldi file, the lists' included),
    atomically."""
    check_spk2sid(spk2sid, str(path))
    write_mapping(path, {spk: int(sid) for spk, sid in spk2sid.items()})
    return Path(path)


def read_speaker_embeddings(path: PathLike) -> Dict[str, np.ndarray]:
    """Speaker name -> embedding vector from an .npz (one 1-D array per speaker)."""
    path = Path(path)
    if not path.is_file():
        raise SpeakerError(f"{path}: speaker embeddings not found; write them with "
                           "write_speaker_embeddings()")
    with np.load(path) as data:
        table = {name: np.asarray(data[name], dtype=np.float32) for name in data.files}
    dims = {v.shape for v in table.values()}
    if len(dims) > 1 or any(len(d) != 1 for d in dims):
        raise SpeakerError(f"{path}: embeddings must all be 1-D with one size, got shapes "
                           f"{sorted(dims)}")
    return table


def write_speaker_embeddings(embeddings: Mapping[str, np.ndarray], path: PathLike) -> Path:
    """Save speaker name -> 1-D embedding as an .npz, atomically."""
    arrays = {str(k): np.asarray(v, dtype=np.float32) for k, v in embeddings.items()}
    if not arrays or len({a.shape for a in arrays.values()}) != 1:
        raise SpeakerError(f"{path}: need one or more embeddings of one 1-D shape")
    with atomic_file(Path(path)) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return Path(path)


def mean_speaker_embeddings(
    utt2spk: Mapping[str, str], utt2emb: Mapping[str, np.ndarray]
) -> Dict[str, np.ndarray]:
    """Per-speaker mean of utterance embeddings (ESPnet's x-vector recipes average them too)."""
    sums: Dict[str, List[np.ndarray]] = {}
    for utt, spk in utt2spk.items():
        if utt not in utt2emb:
            raise SpeakerError(f"utterance '{utt}' of speaker '{spk}' has no embedding; "
                               "extract one or drop the utterance")
        sums.setdefault(spk, []).append(np.asarray(utt2emb[utt], dtype=np.float32))
    return {spk: np.mean(vs, axis=0) for spk, vs in sorted(sums.items())}


@dataclass(frozen=True)
class SpeakerTable:
    """The speakers a model knows: ids, optional embeddings, and the target speaker."""

    spk2sid: Dict[str, int] = field(default_factory=dict)
    target: Optional[str] = None
    embeddings: Dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    where: str = "model"

    def __post_init__(self) -> None:
        check_spk2sid(self.spk2sid, self.where)
        if self.target is not None and self.target not in self.names:
            raise SpeakerError(f"{self.where}: target speaker '{self.target}' is not a known "
                               f"speaker ({self.listing()}); fix target_speaker")

    @classmethod
    def from_meta(cls, meta: Mapping, where: str = "meta.json",
                  embeddings: Optional[Mapping[str, np.ndarray]] = None) -> "SpeakerTable":
        """From a packed model's meta.json content (`speakers`, `target_speaker`)."""
        speakers = {str(k): int(v) for k, v in (meta.get("speakers") or {}).items()}
        return cls(speakers, meta.get("target_speaker"), dict(embeddings or {}), where)

    @property
    def names(self) -> List[str]:
        """Every named speaker (ids first, then embedding-only ones), without `<unk>`."""
        named = sorted(self.spk2sid, key=lambda s: self.spk2sid[s])
        named += sorted(set(self.embeddings) - set(self.spk2sid))
        return [s for s in named if s != UNK_SPEAKER]

    def listing(self) -> str:
        names = self.names
        shown = ", ".join(names[:MAX_LISTED]) or "none"
        more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
        return f"known speakers: {shown}{more}"

    def name_of(self, speaker: str) -> str:
        """A speaker name, or `target` resolved to the target's name; errors list the known."""
        if speaker == TARGET:
            if self.target is None:
                raise SpeakerError(f"{self.where}: no target speaker recorded; pack the model "
                                   "with meta target_speaker, or name a speaker "
                                   f"({self.listing()})")
            return self.target
        if speaker not in self.spk2sid and speaker not in self.embeddings:
            raise SpeakerError(f"{self.where}: unknown speaker '{speaker}'; {self.listing()}, "
                               f"or '{TARGET}'" + (f" (= {self.target})" if self.target else ""))
        return speaker

    def resolve(self, speaker: str) -> Tuple[str, Optional[int]]:
        """(name, sid) of a speaker name or `target`; sid None for an embedding-only speaker."""
        name = self.name_of(speaker)
        return name, self.spk2sid.get(name)

    def embedding(self, speaker: str) -> np.ndarray:
        """The embedding of a speaker name or `target`."""
        name = self.name_of(speaker)
        if name not in self.embeddings:
            have = ", ".join(sorted(self.embeddings)[:MAX_LISTED]) or "none"
            raise SpeakerError(f"{self.where}: speaker '{name}' has no embedding (speakers "
                               f"with embeddings: {have}); add it to spembs.npz")
        return self.embeddings[name]
