"""ESPnet training lists for FastSpeech2 from a data dir and the durations ctc_align wrote for it.

Usage: python -c "from lrspeech.data.datadir import DataDir; \
from lrspeech.pipeline.fastspeech2_lists import write_fastspeech2_lists as w; \
print(w(DataDir.load('data/paired_hq'), 'exp/finetune/tts_durations/train', 'dump/fs2/train') \
.summary())"

An utterance goes into the lists when the align dir has durations for it (ctc_align left out
the ones it could not align or that scored below the threshold) and they fit its TTS tokens and
audio: one per token plus `<sos/eos>`, summing to the audio's frames at the TTS rate. The others
are left out and counted per reason, never fatal, unless nothing is left.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Union

from lrspeech.data.datadir import DataDir
from lrspeech.data.skips import SKIPPED_JSON, Skips
from lrspeech.errors import InputError
from lrspeech.pipeline import duration_files as files
from lrspeech.pipeline.durations import TtsFrames

logger = logging.getLogger(__name__)

NO_DURATIONS = "no_durations"  # skip reason: the align dir has no durations for it
DURATIONS_MISMATCH = "durations_mismatch"  # they do not fit its tokens or audio


@dataclass
class ListsReport:
    """Which utterances went into the FastSpeech2 lists, and why the others did not."""

    lists_dir: Path
    kept: List[str] = field(default_factory=list)
    left_out: Skips = field(default_factory=Skips)
    by_alignment: Set[str] = field(default_factory=set)  # left out already by ctc_align

    @property
    def own_skips(self) -> Skips:
        """What these lists left out beyond what the alignment step had (its skipped.json
        counts those): the skip record of this step, so that a stage counts each clip once."""
        keep = [u for u in self.left_out.reasons if u not in self.by_alignment]
        return Skips(reasons={u: self.left_out.reasons[u] for u in keep},
                     details={u: self.left_out.details[u] for u in keep})

    def summary(self) -> Dict[str, Any]:
        return {"lists_dir": str(self.lists_dir), "kept": len(self.kept),
                "left_out": len(self.left_out), "left_out_counts": self.left_out.counts}


def check_frames(
    utt: str, spec: str, durations: Sequence[int], tokens: Sequence[str], frames: TtsFrames
) -> Optional[str]:
    """Why an utterance's durations do not fit its tokens or audio, or None."""
    from lrspeech.data.audio import AudioError, audio_info

    if len(durations) != len(tokens) + 1:
        return (
            f"utterance '{utt}': {len(durations)} durations for {len(tokens)} tokens + <sos/eos>; "
            f"{files.REALIGN} with this TTS text"
        )
    try:
        info = audio_info(spec)
    except AudioError as err:
        return f"utterance '{utt}': {err}"
    if info.sample_rate != frames.fs:
        return (
            f"utterance '{utt}': audio is {info.sample_rate} Hz but the durations are for "
            f"{frames.fs} Hz; format the data dir at the TTS rate (stage 2) and realign"
        )
    want = frames.n_frames(info.frames)
    if sum(durations) != want:
        return (
            f"utterance '{utt}': durations sum to {sum(durations)} frames but its audio has {want} "
            f"at hop {frames.hop_length}; realign this data dir with lrspeech.bin.ctc_align"
        )
    return None


def check_grid(align_dir: Path, tts_config: Union[str, Path]) -> TtsFrames:
    """The align dir's frame grid, which must be the one the TTS config reads."""
    frames = files.read_frames(align_dir)
    wanted = TtsFrames.from_tts_config(tts_config)
    if frames != wanted:
        raise InputError(
            f"{align_dir}: durations are counted at {frames.fs} Hz, hop {frames.hop_length}, but "
            f"{tts_config} reads {wanted.fs} Hz, hop {wanted.hop_length}; {files.REALIGN} "
            f"with --tts_config {tts_config}"
        )
    return frames


def write_fastspeech2_lists(
    dd: DataDir,
    align_dir: Union[str, Path],
    lists_dir: Union[str, Path],
    spk2sid: Optional[Union[str, Path, Mapping[str, int]]] = None,
    with_sids: bool = True,
    tts_config: Optional[Union[str, Path]] = None,
) -> ListsReport:
    """Lists (`wav.scp`, `text` = the align dir's TTS tokens, `durations`, and with
    `with_sids` `utt2spk`/`utt2sid`/`spk2sid`) of the utterances of `dd` that have fitting
    durations in `align_dir`; with `tts_config` also their pitch and energy
    (`lrspeech.pipeline.pitch_energy`). Raises InputError when nothing is left to train on.
    """
    from lrspeech.models.train_lists import write_lists
    from lrspeech.pipeline.pitch_energy import write_pitch_energy

    align_dir, lists_dir = Path(align_dir), Path(lists_dir)
    if dd.has_segments:
        raise InputError(
            f"{dd.name}/segments: FastSpeech2 lists need one audio file per utterance; run the "
            "audio formatting stage (stage 2), which cuts the segments, and align its output"
        )
    frames = check_grid(align_dir, tts_config) if tts_config else files.read_frames(align_dir)
    durations = files.read_durations(align_dir / files.DURATIONS)
    tokens = files.read_token_file(align_dir / files.TOKENS)
    report = _select(dd, align_dir, durations, tokens, frames, ListsReport(lists_dir))
    if not report.kept:
        raise InputError(
            f"{align_dir}: no utterance of {dd.name} is left for FastSpeech2 "
            f"({report.left_out.summary()}); check the alignment report "
            f"({align_dir / files.REPORT})"
        )
    write_lists(lists_dir, dd.wav_scp, {u: " ".join(tokens[u]) for u in report.kept},
                utt2spk=dd.utt2spk if with_sids else None, spk2sid=spk2sid,
                extra={files.DURATIONS: {u: files.durations_text(durations[u])
                                         for u in report.kept}})
    if tts_config is not None:
        write_pitch_energy(lists_dir, tts_config, dd.wav_scp,
                           {u: durations[u] for u in report.kept})
    report.left_out.log(f"FastSpeech2 lists {lists_dir}")
    logger.info("FastSpeech2 lists %s: %d utterances", lists_dir, len(report.kept))
    return report


def _select(dd: DataDir, align_dir: Path, durations: Mapping[str, List[int]],
            tokens: Mapping[str, List[str]], frames: TtsFrames, report: ListsReport
            ) -> ListsReport:
    """Sort every utterance of `dd` into kept or left out (with its reason)."""
    why = _align_reasons(align_dir)
    for utt in dd.audio_utt_ids:
        if utt not in durations or utt not in tokens:
            report.left_out.add(utt, NO_DURATIONS, why.get(utt, f"not in {align_dir}"))
            if utt in why:
                report.by_alignment.add(utt)
            continue
        reason = check_frames(utt, dd.audio_of(utt)[0], durations[utt], tokens[utt], frames)
        if reason is None:
            report.kept.append(utt)
        else:
            report.left_out.add(utt, DURATIONS_MISMATCH, reason)
    return report


def _align_reasons(align_dir: Path) -> Dict[str, str]:
    """Why ctc_align left utterances out (its skipped.json), to say so again here."""
    path = align_dir / SKIPPED_JSON
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("utts") or {})
