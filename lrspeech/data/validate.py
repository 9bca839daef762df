"""Validate a Kaldi-style data dir and report every problem at once.

Usage: python -m lrspeech.bin.validate_data_dir data/paired_hq --expected-sr 16000

Checks: file encoding, blank/duplicate/unsorted lines, malformed values (file level, see
`lrspeech.data.datadir`); empty transcripts; missing, unreadable, truncated or zero-length
audio and an unexpected sample rate (when the caller states one); ids in text but not in
wav.scp/segments and the reverse; utterances missing from (or extra in) utt2spk, utt2dur,
utt2lang; segments pointing to unknown recordings or past their end; spk2utt disagreeing
with utt2spk. All problems are collected and raised as one `DataDirError`.
"""

import logging
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from lrspeech.data.audio import AudioError, AudioInfo, check_audio, is_pipe
from lrspeech.data.datadir import (
    SEGMENTS,
    SPK2UTT,
    TEXT,
    UTT2DUR,
    UTT2LANG,
    UTT2SPK,
    WAV_SCP,
    DataDir,
    LineNumbers,
    read_datadir,
    read_spk2utt,
)
from lrspeech.data.errors import (
    EMPTY_AUDIO,
    EMPTY_TEXT,
    MISSING_AUDIO,
    MISSING_FILE,
    NOT_IN_AUDIO,
    NOT_IN_FILE,
    NOT_IN_TEXT,
    OTHER,
    SAMPLE_RATE,
    SEGMENT_RANGE,
    SPK_MISMATCH,
    STRAY_RECORDING,
    UNKNOWN_RECORDING,
    DataDirError,
    Problem,
)
from lrspeech.errors import InputError
from lrspeech.progress import progress

__all__ = ["AUDIO_CHECKS", "DataDirError", "Problem", "find_problems", "validate_data_dir"]

logger = logging.getLogger(__name__)

AUDIO_CHECKS = ("none", "header", "full")
SEGMENT_TOLERANCE_S = 0.05
FIX_DROP = "or run utils/fix_data_dir.sh to drop it"


class _Checker:
    """Collects problems about one data dir, with line numbers from its files."""

    def __init__(self, dd: DataDir, lines: LineNumbers) -> None:
        self.dd, self.lines = dd, lines
        self.problems: List[Problem] = []
        self.root = dd.path if dd.path is not None else Path(".")

    def add(self, name: str, key: Optional[str], message: str, fix: str, kind: str,
            noun: str = "utterance") -> None:
        line = self.lines.get(name, {}).get(key) if key is not None else None
        self.problems.append(Problem(str(self.root / name), line, key, message, fix, kind, noun))

    @property
    def audio_file(self) -> str:
        return SEGMENTS if self.dd.has_segments else WAV_SCP


def find_problems(
    path: Path, audio_check: str = "full", expected_sr: Optional[int] = None,
    expected_kind: Optional[str] = None,
) -> Tuple[DataDir, List[Problem]]:
    """Read `path` and return it with every problem found (an empty list when valid).

    `audio_check`: "none" (paths only), "header" (open each file, check wav sizes) or "full"
    (decode every sample: also catches truncated FLAC). `expected_kind`: "paired",
    "text-only" or "speech-only" when the caller needs one.
    """
    if audio_check not in AUDIO_CHECKS:
        raise InputError(f"audio_check must be one of {AUDIO_CHECKS}, got {audio_check!r}")
    dd, problems, lines = read_datadir(Path(path))
    c = _Checker(dd, lines)
    c.problems.extend(problems)
    _check_kind(c, expected_kind)
    _check_text(c)
    infos = _check_audio(c, audio_check, expected_sr)
    _check_segments(c, infos)
    _check_pairing(c)
    for name, table in ((UTT2SPK, dd.utt2spk), (UTT2DUR, dd.utt2dur), (UTT2LANG, dd.utt2lang)):
        if table:
            _check_coverage(c, name, table)
    _check_durations(c)
    _check_spk2utt(c, Path(path))
    return dd, c.problems


def validate_data_dir(
    path: Path, audio_check: str = "full", expected_sr: Optional[int] = None,
    expected_kind: Optional[str] = None,
) -> DataDir:
    """Return the dir when valid; else raise one DataDirError listing all problems."""
    dd, problems = find_problems(path, audio_check, expected_sr, expected_kind)
    if problems:
        raise DataDirError(problems)
    logger.info("%s: valid %s dir, %d utterances", path, dd.kind, len(dd.utt_ids))
    return dd


def _check_kind(c: _Checker, expected: Optional[str]) -> None:
    if not c.dd.utt_ids:
        c.add("", None, "holds no utterances", "fill wav.scp and/or text", MISSING_FILE)
    elif expected is not None and c.dd.kind != expected:
        needs = {"paired": "wav.scp and text", "text-only": "text without wav.scp",
                 "speech-only": "wav.scp without text"}.get(expected, expected)
        c.add("", None, f"is a {c.dd.kind} dir but a {expected} dir is needed",
              f"give it {needs}", OTHER)


def _check_text(c: _Checker) -> None:
    for utt, words in c.dd.text.items():
        if not words.strip():
            c.add(TEXT, utt, "has an empty transcript",
                  f"write its transcript {FIX_DROP}", EMPTY_TEXT)


def _check_audio(
    c: _Checker, audio_check: str, expected_sr: Optional[int]
) -> Dict[str, AudioInfo]:
    """Check each wav.scp entry; return the info of the readable ones."""
    noun = "recording" if c.dd.has_segments else "utterance"
    infos: Dict[str, AudioInfo] = {}
    items = sorted(c.dd.wav_scp.items())
    for key, spec in progress(items, desc="checking audio", disable=len(items) < 100):
        if not spec.strip():
            c.add(WAV_SCP, key, "has no audio path", f"add it {FIX_DROP}", MISSING_AUDIO, noun)
            continue
        try:
            info = _probe(spec, audio_check)
        except AudioError as err:
            c.add(WAV_SCP, key, f"audio {err.spec} {err.message}", err.fix, err.kind, noun)
            continue
        if info is None:
            continue
        infos[key] = info
        if expected_sr is not None and info.sample_rate != expected_sr:
            msg = f"audio {spec} has sample rate {info.sample_rate} Hz, expected {expected_sr}"
            fix = f"resample it to {expected_sr} Hz (the audio formatting stage does) {FIX_DROP}"
            c.add(WAV_SCP, key, msg, fix, SAMPLE_RATE, noun)
    return infos


def _probe(spec: str, audio_check: str) -> Optional[AudioInfo]:
    """AudioInfo of a spec under the chosen check level (None when not opened).

    Relative paths are relative to the working dir, as in Kaldi (the recipe dir).
    """
    if audio_check == "none":
        if not is_pipe(spec) and not Path(spec).is_file():
            raise AudioError(spec, "audio file does not exist",
                             "correct the path in wav.scp", MISSING_AUDIO)
        return None
    return check_audio(spec, decode=audio_check == "full")


def _check_segments(c: _Checker, infos: Dict[str, AudioInfo]) -> None:
    dd = c.dd
    if not dd.has_segments:
        return
    used = set()
    for utt, seg in dd.segments.items():
        used.add(seg.recording)
        if seg.recording not in dd.wav_scp:
            c.add(SEGMENTS, utt, f"points to recording '{seg.recording}', which is not in wav.scp",
                  f"add the recording to wav.scp {FIX_DROP}", UNKNOWN_RECORDING)
        elif seg.recording in infos:
            length = infos[seg.recording].duration
            if seg.end > length + SEGMENT_TOLERANCE_S:
                c.add(SEGMENTS, utt, f"ends at {seg.end} s, after its recording ({length:.3f} s)",
                      f"fix the end time {FIX_DROP}", SEGMENT_RANGE)
    for rec in sorted(set(dd.wav_scp) - used):
        c.add(WAV_SCP, rec, "is used by no line of segments",
              "add its segments or run utils/fix_data_dir.sh to drop it", STRAY_RECORDING,
              "recording")


def _check_pairing(c: _Checker) -> None:
    """Every transcript has audio and every audio a transcript (paired dirs only)."""
    dd = c.dd
    if not (dd.text and dd.has_audio):
        return
    audio = set(dd.audio_utt_ids)
    for utt in sorted(set(dd.text) - audio):
        c.add(TEXT, utt, f"has no audio in {c.audio_file}",
              f"add it to {c.audio_file} {FIX_DROP}", NOT_IN_AUDIO)
    for utt in sorted(audio - set(dd.text)):
        c.add(c.audio_file, utt, "has no transcript in text", f"add it to text {FIX_DROP}",
              NOT_IN_TEXT)


def _main_ids(c: _Checker) -> Tuple[str, List[str]]:
    """The file that defines the utterances (segments, wav.scp, else text) and its ids."""
    if c.dd.has_audio:
        return c.audio_file, c.dd.audio_utt_ids
    return TEXT, sorted(c.dd.text)


def _check_coverage(c: _Checker, name: str, table: Dict[str, object]) -> None:
    """An optional per-utterance file, once present, must cover exactly the utterances."""
    where, main = _main_ids(c)
    for utt in main:
        if utt not in table:
            c.add(where, utt, f"is missing from {name}", f"add it to {name} {FIX_DROP}",
                  NOT_IN_FILE)
    known = set(main) | set(c.dd.text)
    sources = where if where == TEXT or not c.dd.text else f"{where} or {TEXT}"
    for utt in sorted(set(table) - known):
        c.add(name, utt, f"is in {name} but not in {sources}",
              f"delete the line or add the utterance {FIX_DROP}", NOT_IN_FILE)


def _check_durations(c: _Checker) -> None:
    for utt, dur in c.dd.utt2dur.items():
        if dur <= 0:
            c.add(UTT2DUR, utt, f"has duration {dur} s (zero-length audio)",
                  f"check its audio and recompute utt2dur {FIX_DROP}", EMPTY_AUDIO)


def _check_spk2utt(c: _Checker, path: Path) -> None:
    """spk2utt, when present, must be exactly utt2spk inverted."""
    if not (path / SPK2UTT).is_file():
        return
    fix = "regenerate spk2utt from utt2spk with utils/fix_data_dir.sh"
    if not (path / UTT2SPK).is_file():
        c.add(UTT2SPK, None, "is missing while spk2utt exists",
              "run utils/fix_data_dir.sh to write it from spk2utt", MISSING_FILE)
        return
    listed, problems, lines = read_spk2utt(path / SPK2UTT)
    c.problems.extend(problems)
    c.lines[SPK2UTT] = lines
    expected = c.dd.spk2utt
    for spk in sorted(set(listed) | set(expected)):
        got, want = set(listed.get(spk, [])), set(expected.get(spk, []))
        if got == want:
            continue
        parts = []
        if got - want:
            parts.append(f"lists {_few(got - want)} that utt2spk does not map to it")
        if want - got:
            parts.append(f"misses {_few(want - got)} that utt2spk maps to it")
        c.add(SPK2UTT, spk, " and ".join(parts), fix, SPK_MISMATCH, "speaker")


def _few(ids: Iterable[str], n: int = 3) -> str:
    ids = sorted(ids)
    shown = ", ".join(f"'{i}'" for i in ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")
