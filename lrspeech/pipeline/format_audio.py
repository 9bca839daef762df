"""Stage 2: write a data dir's audio as mono wavs at the recipe rate, trimmed and duration-filtered.

Usage: python -m lrspeech.bin.format_audio --in data/paired_hq --out dump/raw/paired_hq \
    --fs 16000 --trim_db 40 --min_dur 1 --max_dur 16

Segments are cut out, so the output has no `segments` file: every utterance is one wav under
`<out>/wav/`. Utterances outside [min_dur, max_dur] after trimming are dropped and counted;
text-only dirs are copied as they are. The output dir appears only when complete.
"""

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from lrspeech.data.atomic import atomic_dir
from lrspeech.data.audio import AudioError, load_audio, write_wav
from lrspeech.data.datadir import DataDir, datadir_files
from lrspeech.errors import InputError
from lrspeech.progress import progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormatOptions:
    """How stage 2 formats audio."""

    fs: int = 16000
    trim_db: Optional[float] = 40.0
    min_dur: float = 0.5
    max_dur: float = 20.0
    nj: int = 1


@dataclass(frozen=True)
class _Job:
    utt: str
    spec: str
    start: float
    end: Optional[float]
    out_wav: str


def _format_one(job: _Job, opts: FormatOptions) -> Tuple[str, Optional[float], Optional[str]]:
    """Write one utterance; return (utt, duration or None, error message or None)."""
    try:
        x, sr = load_audio(job.spec, opts.fs, opts.trim_db, job.start, job.end)
    except AudioError as err:
        return job.utt, None, str(err)
    dur = len(x) / sr
    if not opts.min_dur <= dur <= opts.max_dur:
        return job.utt, dur, None
    write_wav(Path(job.out_wav), x, sr)
    return job.utt, dur, None


def _jobs(dd: DataDir, wav_dir: Path) -> List[_Job]:
    jobs = []
    for utt in dd.audio_utt_ids:
        spec, start, end = dd.audio_of(utt)
        jobs.append(_Job(utt, spec, start, end, str(wav_dir / f"{utt}.wav")))
    return jobs


def _run(
    jobs: List[_Job], opts: FormatOptions, desc: str
) -> List[Tuple[str, Optional[float], Optional[str]]]:
    if opts.nj <= 1:
        return [_format_one(j, opts) for j in progress(jobs, desc=desc, unit="utt")]
    with ProcessPoolExecutor(opts.nj) as pool:
        futures = pool.map(_format_one, jobs, [opts] * len(jobs), chunksize=4)
        return list(progress(futures, total=len(jobs), desc=desc, unit="utt"))


def _select(dd: DataDir, kept: Dict[str, float], wav_dir: Path) -> DataDir:
    """The formatted dir: one wav per kept utterance, transcripts and speakers carried over."""
    keep = sorted(kept)
    return DataDir(
        wav_scp={u: str(wav_dir / f"{u}.wav") for u in keep},
        text={u: dd.text[u] for u in keep if u in dd.text},
        utt2spk={u: dd.utt2spk[u] for u in keep if u in dd.utt2spk},
        utt2dur={u: round(kept[u], 6) for u in keep},
        utt2lang={u: dd.utt2lang[u] for u in keep if u in dd.utt2lang},
    )


def format_data_dir(src: Path, dst: Path, opts: FormatOptions) -> Dict[str, int]:
    """Format `src` into `dst`; return counts of kept, too short, too long and unreadable."""
    dd = DataDir.load(src)
    dst = Path(dst).resolve()
    if not dd.has_audio:
        dd.save(dst)
        return {"kept": len(dd.text), "too_short": 0, "too_long": 0, "unreadable": 0}
    counts = {"kept": 0, "too_short": 0, "too_long": 0, "unreadable": 0}
    with atomic_dir(dst) as tmp:
        wav_dir = Path(tmp) / "wav"
        wav_dir.mkdir(parents=True)
        kept: Dict[str, float] = {}
        for utt, dur, err in _run(_jobs(dd, wav_dir), opts, f"format {Path(src).name}"):
            if err:
                counts["unreadable"] += 1
                logger.warning("%s: dropped utterance '%s': %s", src, utt, err)
            elif dur < opts.min_dur:
                counts["too_short"] += 1
            elif dur > opts.max_dur:
                counts["too_long"] += 1
            else:
                kept[utt] = dur
        counts["kept"] = len(kept)
        if not kept:
            raise InputError(
                f"{src}: no utterance left after formatting ({counts}); widen --min_dur/--max_dur "
                f"(now {opts.min_dur}-{opts.max_dur} s) or check the audio"
            )
        for name, content in datadir_files(_select(dd, kept, dst / "wav")).items():
            (Path(tmp) / name).write_text(content, encoding="utf-8")
    logger.info("%s -> %s: %s", src, dst, counts)
    return counts
