"""Pure operations on data dirs: combine, subset, split, measure durations.

Usage: python -m lrspeech.bin.subset_data_dir data/x data/x_100 --random 100  # CLI over ops

None of these functions changes its input; each returns new DataDirs. Seeded selections rank
utterances by SHA-256 of `seed` and the id, so they are identical on every run, machine and
Python version, and adding utterances to a dir does not reshuffle the ones already chosen.
"""

import hashlib
import logging
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from lrspeech.data.audio import AudioError, audio_info
from lrspeech.data.datadir import UTT2DUR, WAV_SCP, DataDir, Segment
from lrspeech.data.errors import BAD_VALUE, CONFLICT, DUPLICATE, MISSING_FILE, DataDirError, Problem
from lrspeech.errors import InputError
from lrspeech.progress import progress

logger = logging.getLogger(__name__)

OPTIONAL_FIELDS = ("utt2spk", "utt2dur", "utt2lang")
FIX_DUR = "run utils/compute_utt2dur.sh on the dir first"


def _problem(dd: DataDir, utt: Optional[str], message: str, fix: str, kind: str = BAD_VALUE,
             file: str = "") -> Problem:
    where = f"{dd.name}/{file}" if file else dd.name
    return Problem(where, None, utt, message, fix, kind)


def restrict(dd: DataDir, keep: Iterable[str]) -> DataDir:
    """The dir limited to the utterances in `keep` (and the recordings they use)."""
    keep = set(keep)
    segments = {u: s for u, s in dd.segments.items() if u in keep}
    if dd.has_segments:
        recordings = {s.recording for s in segments.values()}
        wav_scp = {r: v for r, v in dd.wav_scp.items() if r in recordings}
    else:
        wav_scp = {u: v for u, v in dd.wav_scp.items() if u in keep}
    return DataDir(
        wav_scp=wav_scp,
        text={u: v for u, v in dd.text.items() if u in keep},
        utt2spk={u: v for u, v in dd.utt2spk.items() if u in keep},
        segments=segments,
        utt2dur={u: v for u, v in dd.utt2dur.items() if u in keep},
        utt2lang={u: v for u, v in dd.utt2lang.items() if u in keep},
    )


def seeded_order(ids: Iterable[str], seed: int) -> List[str]:
    """`ids` in a pseudo-random order fixed by `seed` (SHA-256 ranks, not Python's RNG)."""
    return sorted(ids, key=lambda u: hashlib.sha256(f"{seed}\0{u}".encode("utf-8")).digest())


# ----------------------------------------------------------------------------- combine


def combine(dirs: Sequence[DataDir]) -> DataDir:
    """Union of dirs of the same kind; utterance ids must be unique across them.

    Optional files (utt2spk, utt2dur, utt2lang) are kept only when every dir has them. A dir
    without segments is given whole-recording segments (from utt2dur) when others have them.
    """
    dirs = [d for d in dirs if d.utt_ids]
    if not dirs:
        raise InputError("combine: no non-empty data dirs given")
    _check_same_kind(dirs)
    if any(d.has_segments for d in dirs):
        dirs = [_with_segments(d) for d in dirs]
    out = DataDir()
    problems: List[Problem] = []
    owner: Dict[str, str] = {}
    for d in dirs:
        problems += _merge(out, d, owner)
    if problems:
        raise DataDirError(problems)
    for name in OPTIONAL_FIELDS:
        if not all(getattr(d, name) for d in dirs):
            if any(getattr(d, name) for d in dirs):
                logger.warning("combine: dropped %s, which only some of the dirs have", name)
            setattr(out, name, {})
    return out


def _check_same_kind(dirs: Sequence[DataDir]) -> None:
    kinds = {d.kind for d in dirs}
    if len(kinds) > 1:
        listing = ", ".join(f"{d.name} ({d.kind})" for d in dirs)
        msg = f"mixes dirs of different kinds: {listing}"
        fix = "combine dirs of one kind; to pool speech, drop the text of the paired ones first"
        raise DataDirError([Problem("combine", None, None, msg, fix, BAD_VALUE)])


def _with_segments(dd: DataDir) -> DataDir:
    """A dir without segments rewritten with one whole-recording segment per utterance."""
    if dd.has_segments or not dd.wav_scp:
        return dd
    missing = [u for u in dd.wav_scp if u not in dd.utt2dur]
    if missing:
        msg = "has no segments and no utt2dur, but the other dirs have segments"
        raise DataDirError([_problem(dd, missing[0], msg, FIX_DUR, MISSING_FILE, UTT2DUR)])
    segments = {u: Segment(u, 0.0, dd.utt2dur[u]) for u in dd.wav_scp}
    return dd.copy(segments=segments)


def _merge(out: DataDir, d: DataDir, owner: Dict[str, str]) -> List[Problem]:
    """Add dir `d` into `out`; problems for ids already there and clashing recordings."""
    problems = []
    for utt in d.utt_ids:
        if utt in owner:
            msg = f"is also in {owner[utt]}"
            fix = "make the ids unique before combining (e.g. prefix them with the corpus name)"
            problems.append(_problem(d, utt, msg, fix, DUPLICATE))
        owner[utt] = d.name
    for rec, spec in d.wav_scp.items():
        if rec in out.wav_scp and out.wav_scp[rec] != spec and d.has_segments:
            msg = f"is recording {spec!r} here but {out.wav_scp[rec]!r} in an earlier dir"
            problems.append(_problem(d, rec, msg, "rename one of the recordings", CONFLICT,
                                     WAV_SCP))
    if not problems:
        for name in ("wav_scp", "text", "segments") + OPTIONAL_FIELDS:
            getattr(out, name).update(getattr(d, name))
    return problems


# ----------------------------------------------------------------------------- subsets


def subset_by_ids(dd: DataDir, ids: Iterable[str], strict: bool = True) -> DataDir:
    """The utterances named in `ids`; unknown ids raise (or are skipped if not `strict`)."""
    ids = list(ids)
    known = set(dd.utt_ids)
    unknown = [u for u in ids if u not in known]
    if unknown and strict:
        fix = "correct the id list (or allow unknown ids: --ignore-missing)"
        raise DataDirError([_problem(dd, u, "is not in the dir", fix) for u in unknown])
    return restrict(dd, (u for u in ids if u in known))


def subset_random(dd: DataDir, n: int, seed: int = 0) -> DataDir:
    """`n` utterances chosen by `seed` (the same ones on every run and machine)."""
    ids = dd.utt_ids
    if not 0 < n <= len(ids):
        raise InputError(f"{dd.name}: cannot pick {n} of its {len(ids)} utterances; "
                         f"ask for 1..{len(ids)}")
    return restrict(dd, seeded_order(ids, seed)[:n])


def subset_by_speakers(dd: DataDir, speakers: Iterable[str], strict: bool = True) -> DataDir:
    """All utterances of the given speakers (needs utt2spk)."""
    if not dd.utt2spk:
        fix = "write utt2spk (utterance id and speaker id per line)"
        raise DataDirError([_problem(dd, None, "has no utt2spk", fix, MISSING_FILE, "utt2spk")])
    wanted: Set[str] = set(speakers)
    unknown = sorted(wanted - set(dd.speakers))
    if unknown and strict:
        fix = f"use speakers of the dir ({', '.join(dd.speakers[:5])}...) or --ignore-missing"
        raise DataDirError([Problem(f"{dd.name}/utt2spk", None, s, "is not a speaker of the dir",
                                    fix, BAD_VALUE, "speaker") for s in unknown])
    return restrict(dd, (u for u, s in dd.utt2spk.items() if s in wanted))


# ----------------------------------------------------------------------------- splits


def split_n(dd: DataDir, n: int, by_speaker: bool = False) -> List[DataDir]:
    """`n` parts for parallel jobs: contiguous in id order, sizes within one of each other.

    With `by_speaker`, each speaker's utterances stay in one part (sizes then vary).
    """
    ids = dd.utt_ids
    if n < 1 or n > len(ids):
        raise InputError(f"{dd.name}: cannot split {len(ids)} utterances into {n} parts; "
                         f"use 1..{len(ids)} parts")
    if not by_speaker:
        sizes = [len(ids) // n + (k < len(ids) % n) for k in range(n)]  # larger parts first
        bounds = [sum(sizes[:k]) for k in range(n + 1)]
        return [restrict(dd, ids[bounds[k]:bounds[k + 1]]) for k in range(n)]
    return [restrict(dd, part) for part in _speaker_parts(dd, n)]


def _speaker_parts(dd: DataDir, n: int) -> List[List[str]]:
    """Contiguous groups of whole speakers; a part closes once the next speaker's middle
    would pass its share of the utterances, or when the speakers left just fill the parts."""
    if not dd.utt2spk:
        raise InputError(f"{dd.name}: has no utt2spk, so it cannot be split by speaker")
    spk2utt = dd.spk2utt
    spks = sorted(spk2utt)
    if len(spks) < n:
        raise InputError(f"{dd.name}: {len(spks)} speakers cannot fill {n} parts; use at most "
                         f"{len(spks)} parts or split per utterance")
    total = sum(len(u) for u in spk2utt.values())
    parts: List[List[str]] = [[]]
    done = 0
    for i, spk in enumerate(spks[:-1]):
        parts[-1].extend(spk2utt[spk])
        done += len(spk2utt[spk])
        k = len(parts) - 1
        if k == n - 1:
            continue
        must_close = len(spks) - i - 1 == n - k - 1
        if must_close or done + len(spk2utt[spks[i + 1]]) / 2 > (k + 1) * total / n:
            parts.append([])
    parts[-1].extend(spk2utt[spks[-1]])
    return parts


def split_share(dd: DataDir, share: float, seed: int = 0) -> Tuple[DataDir, DataDir]:
    """(train, dev): dev holds round(share * N) utterances chosen by `seed`."""
    ids = dd.utt_ids
    n_dev = round(share * len(ids))
    if not 0 < share < 1 or not 0 < n_dev < len(ids):
        raise InputError(f"{dd.name}: a dev share of {share} of {len(ids)} utterances gives "
                         f"{n_dev} dev utterances; choose a share giving 1..{len(ids) - 1}")
    dev = set(seeded_order(ids, seed)[:n_dev])
    return restrict(dd, (u for u in ids if u not in dev)), restrict(dd, dev)


# ----------------------------------------------------------------------------- durations


def compute_utt2dur(dd: DataDir) -> DataDir:
    """The dir with utt2dur measured: from segments, audio headers, or decoding pipes."""
    if not dd.has_audio:
        fix = "durations need audio; a text-only dir has none"
        raise DataDirError([_problem(dd, None, "has no wav.scp", fix, MISSING_FILE, WAV_SCP)])
    if dd.has_segments:
        return dd.copy(utt2dur={u: s.duration for u, s in dd.segments.items()})
    durations: Dict[str, float] = {}
    problems: List[Problem] = []
    ids = sorted(dd.wav_scp)
    for utt in progress(ids, desc="measuring durations", disable=len(ids) < 100):
        try:
            durations[utt] = audio_info(dd.wav_scp[utt]).duration
        except AudioError as err:
            problems.append(_problem(dd, utt, f"audio {err.spec} {err.message}", err.fix,
                                     err.kind, WAV_SCP))
    if problems:
        raise DataDirError(problems)
    return dd.copy(utt2dur=durations)
