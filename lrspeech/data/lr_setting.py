"""Build LRSpeech's data setting from a corpus in the metadata.tsv layout.

Usage: python -m lrspeech.bin.prepare_lr_data --metadata db/sw_mini/metadata.tsv \
    --unpaired_text db/text/bible_nt.tsv.xz --n_paired 50 --out data

Writes, each as a Kaldi-style data dir:
- `paired_hq`: `n_paired` train utterances of the target speaker (seeded choice among those
  of at most `max_paired_dur` seconds, so that the recipe's duration filter keeps them all;
  durations come from the `duration_s` column, or are measured when it is not filled in);
- `unpaired_speech`: the rest of the train split, with NO `text` (transcripts withheld from
  every training stage; they are never written);
- `unpaired_text`: sentences of a `id<TAB>text` (or plain, one per line) file, `.xz` allowed;
- `dev`: the `val` split (override with `dev_split`).
"""

import logging
from pathlib import Path
from typing import Dict, List, Optional

from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import compute_utt2dur, restrict, seeded_order
from lrspeech.data.sentences import read_sentences
from lrspeech.errors import InputError

logger = logging.getLogger(__name__)


def target_speaker(dd: DataDir) -> str:
    """The speaker with the most utterances (ties: first by name)."""
    counts: Dict[str, int] = {}
    for spk in dd.utt2spk.values():
        counts[spk] = counts.get(spk, 0) + 1
    return sorted(counts, key=lambda s: (-counts[s], s))[0]


def _durations(dd: DataDir, utts: List[str]) -> Dict[str, float]:
    """The utterances' durations: metadata's duration_s, else measured from the audio."""
    if all(u in dd.utt2dur for u in utts):
        return dd.utt2dur
    logger.info("duration_s is not filled in for every row: measuring %d clips", len(utts))
    return compute_utt2dur(restrict(dd, utts)).utt2dur


def build_setting(
    metadata: Path,
    text_file: Path,
    n_paired: int,
    out: Path,
    seed: int = 1,
    dev_split: str = "val",
    max_text: Optional[int] = None,
    max_paired_dur: Optional[float] = None,
) -> Dict[str, int]:
    """Write paired_hq, unpaired_speech, unpaired_text and dev under `out`; return their sizes."""
    train = datadir_from_metadata(metadata, split="train")
    spk = target_speaker(train)
    own = [u for u in train.utt_ids if train.utt2spk[u] == spk]
    if len(own) <= n_paired:
        raise InputError(
            f"{metadata}: speaker '{spk}' has {len(own)} train utterances; need more than "
            f"--n_paired {n_paired} to leave unpaired speech (lower --n_paired)"
        )
    if max_paired_dur:
        durations = _durations(train, own)
        own = [u for u in own if durations[u] <= max_paired_dur]
        if len(own) < n_paired:
            raise InputError(
                f"{metadata}: speaker '{spk}' has {len(own)} train utterances of at most "
                f"{max_paired_dur} s; lower --n_paired or raise --max_paired_dur")
    paired = seeded_order(own, seed)[:n_paired]
    rest = [u for u in train.utt_ids if u not in set(paired)]
    unpaired = restrict(train, rest)
    unpaired.text = {}
    dirs = {
        "paired_hq": restrict(train, paired),
        "unpaired_speech": unpaired,
        "unpaired_text": DataDir(
            text={f"text-{s.id}": s.text for s in read_sentences(text_file, max_text)}
        ),
        "dev": datadir_from_metadata(metadata, split=dev_split),
    }
    for name, dd in dirs.items():
        dd.save(out / name)
    sizes = {name: len(dd.utt_ids) for name, dd in dirs.items()}
    logger.info("LRSpeech setting in %s (target speaker %s): %s", out, spk, sizes)
    return sizes
