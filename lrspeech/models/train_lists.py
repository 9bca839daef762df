"""ESPnet training lists (wav.scp, text, speaker ids) and token lists, from Kaldi data dirs.

Usage: python -c "from lrspeech.models.train_lists import write_train_lists as w; \
w('data/train', 'dump/train', with_sids=True)"

A recipe stage writes, before collect_stats and training (lrspeech.models.espnet_train):

    tr = write_train_lists("data/train", "dump/train", text="dump/train.tok", with_sids=True)
    cv = write_train_lists("data/valid", "dump/valid", text="dump/valid.tok", with_sids=True,
                           spk2sid=tr / "spk2sid")
    write_token_list(tr / "text", "dump/tokens.txt", token_type="word")

Why a lists dir and not the data dir itself: ESPnet reads every line of each file it is given,
so the lists hold exactly the utterances that have both audio and a transcript (anything else
is an error naming the line to fix), and speaker names become the integer ids ESPnet embeds
(`<unk>` = 0, as in ESPnet's tts.sh). Each lists dir is written completely or not at all.
"""

import logging
from collections import Counter
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Union

from lrspeech.data.atomic import atomic_dir
from lrspeech.data.kaldi_files import Entry, read_mapping, read_mapping_entries, write_mapping
from lrspeech.errors import LrspeechError
from lrspeech.models.speakers import UNK_SPEAKER, read_spk2sid
from lrspeech.models.tasks import ConfigError
from lrspeech.text import token_list as tl

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
SpeakerIds = Optional[Union[PathLike, Mapping[str, int]]]
FEATS = "feats.scp"  # a lists dir with it trains on those features, not on wav.scp's audio
LIST_FILES = ("wav.scp", "text", "utt2spk", "utt2sid", "spk2sid", "durations", FEATS)
FIX_DIR = "add it or run utils/fix_data_dir.sh"


class DataListError(LrspeechError, ValueError):
    """A data dir that cannot become ESPnet training lists; the message says how to fix it."""


def write_train_lists(
    data_dir: PathLike,
    out_dir: PathLike,
    text: Optional[PathLike] = None,
    with_sids: bool = False,
    spk2sid: SpeakerIds = None,
    extra_files: Sequence[str] = ("durations",),
) -> Path:
    """Write ESPnet-ready lists (wav.scp, text[, utt2spk, utt2sid, spk2sid]) into `out_dir`.

    `text` is the (tokenized) text file to train on; default `data_dir/text`. With
    `with_sids`, speaker ids come from `data_dir/utt2spk`: `spk2sid` (a map or a file, e.g. the
    training set's, for a valid set) or, if not given, a new map with `<unk>` = 0 and this
    dir's speakers numbered 1..N in sorted order. Files in `extra_files` present in the data
    dir (e.g. teacher `durations`) are copied for the utterances kept.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    text_path = Path(text) if text is not None else data_dir / "text"
    wav = _load_wav_scp(data_dir)
    texts = _load_paired_text(text_path, wav, data_dir)
    tables: Dict[str, Mapping[str, object]] = {
        "wav.scp": {u: wav[u].value for u in texts},
        "text": texts,
    }
    if with_sids:
        tables.update(_speaker_tables(data_dir, texts, spk2sid))
    for name in extra_files:
        if (data_dir / name).is_file():
            tables[name] = _subset(read_mapping(data_dir / name, "utterance"), texts,
                                   data_dir / name)
    _write_dir_atomically(out_dir, tables)
    logger.info("wrote %d utterances of %s to %s", len(texts), data_dir, out_dir)
    return out_dir


def write_lists(
    out_dir: PathLike,
    wav_scp: Mapping[str, str],
    text: Mapping[str, str],
    utt2spk: Optional[Mapping[str, str]] = None,
    spk2sid: SpeakerIds = None,
    extra: Optional[Mapping[str, Mapping[str, object]]] = None,
) -> Path:
    """`write_train_lists` from tables in memory: the lists of the utterances of `text`.

    With `utt2spk`, speaker ids as `with_sids` gives them; `extra` tables (e.g. `durations`)
    are written for the same utterances. A step that built its data in memory writes only the
    files ESPnet reads, not a data dir to read back.
    """
    out_dir = Path(out_dir)
    if not text:
        raise DataListError(f"{out_dir}: no utterances; nothing to train on")
    tables: Dict[str, Mapping[str, object]] = {
        "wav.scp": _subset(wav_scp, text, out_dir / "wav.scp"),
        "text": dict(text),
    }
    if utt2spk is not None:
        tables.update(_sid_tables(_subset(utt2spk, text, out_dir / "utt2spk"), spk2sid,
                                  out_dir / "utt2spk"))
    for name, table in (extra or {}).items():
        tables[name] = _subset(table, text, out_dir / name)
    _write_dir_atomically(out_dir, tables)
    logger.info("wrote %d utterances to %s", len(text), out_dir)
    return out_dir


def _load_wav_scp(data_dir: Path) -> Dict[str, Entry]:
    if (data_dir / "segments").is_file():
        raise DataListError(
            f"{data_dir}/segments: ESPnet training lists need one audio file per utterance; "
            "run the audio formatting stage (stage 2) first, which cuts the segments"
        )
    if not (data_dir / "wav.scp").is_file():
        raise DataListError(f"{data_dir}/wav.scp: missing; a training data dir needs audio")
    return read_mapping_entries(data_dir / "wav.scp", "utterance")


def _load_paired_text(text_path: Path, wav: Mapping[str, Entry], data_dir: Path) -> Dict[str, str]:
    """The transcripts, which must pair one to one with the audio (no empty one)."""
    if not text_path.is_file():
        raise DataListError(f"{text_path}: missing; a training data dir needs transcripts")
    texts = read_mapping_entries(text_path, "utterance")
    for utt, entry in texts.items():
        if utt not in wav:
            raise DataListError(
                f"{text_path}:{entry.line}: utterance '{utt}' has no audio in "
                f"{data_dir}/wav.scp; {FIX_DIR}"
            )
    missing = sorted(set(wav) - set(texts))
    if missing:
        raise DataListError(
            f"{data_dir}/wav.scp:{wav[missing[0]].line}: utterance '{missing[0]}' "
            f"({len(missing)} in all) has no transcript in {text_path}; {FIX_DIR}"
        )
    if not texts:
        raise DataListError(f"{text_path}: no utterances; nothing to train on")
    return {utt: entry.value for utt, entry in texts.items()}


def _speaker_tables(
    data_dir: Path, texts: Mapping[str, str], spk2sid: SpeakerIds
) -> Dict[str, Mapping[str, object]]:
    utt2spk_path = data_dir / "utt2spk"
    if not utt2spk_path.is_file():
        raise DataListError(f"{utt2spk_path}: missing; speaker ids (with_sids) need utt2spk")
    utt2spk = _subset(read_mapping(utt2spk_path, "utterance"), texts, utt2spk_path)
    return _sid_tables(utt2spk, spk2sid, utt2spk_path)


def _sid_tables(
    utt2spk: Mapping[str, str], spk2sid: SpeakerIds, where: Path
) -> Dict[str, Mapping[str, object]]:
    sids = _speaker_ids(utt2spk, spk2sid)
    unknown = sorted({s for s in utt2spk.values() if s not in sids})
    if unknown:
        logger.warning("%s: speakers %s are not in spk2sid; they get sid 0 (%s)",
                       where, ", ".join(unknown[:5]), UNK_SPEAKER)
    utt2sid = {u: sids.get(s, 0) for u, s in utt2spk.items()}
    return {"utt2spk": dict(utt2spk), "utt2sid": utt2sid, "spk2sid": sids}


def _speaker_ids(utt2spk: Mapping[str, str], spk2sid: SpeakerIds) -> Dict[str, int]:
    if spk2sid is None:
        speakers = sorted(set(utt2spk.values()) - {UNK_SPEAKER})
        return {UNK_SPEAKER: 0, **{s: i for i, s in enumerate(speakers, 1)}}
    if isinstance(spk2sid, Mapping):
        return {str(k): int(v) for k, v in spk2sid.items()}
    return read_spk2sid(spk2sid)


def _subset(table: Mapping[str, object], utts: Mapping[str, str], path: Path) -> Dict[str, object]:
    missing = [u for u in utts if u not in table]
    if missing:
        raise DataListError(
            f"{path}: utterance '{missing[0]}' ({len(missing)} in all) is missing; {FIX_DIR}"
        )
    return {u: table[u] for u in utts}


def _write_dir_atomically(out_dir: Path, tables: Mapping[str, Mapping[str, object]]) -> None:
    with atomic_dir(out_dir, replace=LIST_FILES + tuple(tables)) as tmp:
        for name, table in tables.items():
            write_mapping(tmp / name, table)


# ---------------------------------------------------------------- token lists


def char_counts(text_file: Path) -> Counter:
    """Character counts of a plain text file as ESPnet's char tokenizer sees it (<space>)."""
    counts: Counter = Counter()
    for value in read_mapping(text_file, "utterance").values():
        counts.update(tl.SPACE if c == " " else c for c in value)
    return counts


def write_token_list(
    text_file: PathLike, out: PathLike, token_type: str = "word", extra: Sequence[str] = ()
) -> Path:
    """ESPnet token list of a text file: <blank>, <unk>, tokens by count, <sos/eos>.

    `word`/`phn`: the text is pre-tokenized (lrspeech.text's format), tokens split on
    whitespace; `char`: plain text, one token per character. BPE lists come from lrspeech.text.
    """
    text_file, out = Path(text_file), Path(out)
    if token_type == "char":
        counts = char_counts(text_file)
    elif token_type in ("word", "phn"):
        counts = tl.count_tokens([text_file])
    else:
        raise ConfigError(
            f"token_type {token_type!r}: build the list with lrspeech.bin.make_token_list "
            "(bpe) or use 'word' (pre-tokenized text) or 'char'"
        )
    tl.write_token_list(tl.build_token_list(counts, extra=extra), out)
    return out
