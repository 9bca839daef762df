"""Knowledge distillation (LRSpeech, stage 7): the students' data, configs and starting points.

Usage: python -c "from lrspeech.pipeline.distillation import text_seed; print(text_seed(1))"

The TTS teacher (the last TTS) reads unpaired text in the target voice; the filtered pairs
train the TTS student, beside the real speech the teacher trained on (lr.sh's `--kd_tts_real
labelled`: the paired data and the last round's labelled unpaired speech; `paired`: the paired
data only). The ASR teacher (the last ASR) labels the unpaired speech afresh; the
ASR student trains on the real pairs, those labels and a share of synthetic speech. The
decisions this module holds:

- the seed of the teacher's text sample: `seed * 1000 + 999` (never a DT round's);
- the TTS student's config: the teacher's, except a FastSpeech student of an attention
  (Transformer-TTS) teacher, which gets the FastSpeech config;
- its start: the teacher's weights when it has the teacher's config and `--kd_student_init
  teacher` (a few CPU epochs from scratch leave it far behind its teacher), else scratch;
- the ASR student's synthetic speech: the last DT round's multi-voice speech when there were
  rounds, else the TTS teacher's.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from lrspeech.data.datadir import DataDir
from lrspeech.errors import InputError
from lrspeech.pipeline import pseudo
from lrspeech.pipeline.dual_transformation import ROUND_SEED_STRIDE

STUDENTS = ("fastspeech", "transformer")
INITS = ("teacher", "scratch")


def text_seed(seed: int) -> int:
    """The seed of the TTS teacher's text sample for the recipe's `seed`."""
    return seed * ROUND_SEED_STRIDE + ROUND_SEED_STRIDE - 1


@dataclass(frozen=True)
class Student:
    """The TTS student's config, its start (None: scratch) and why, in words."""

    config: str
    init: Optional[str]
    why: str


def tts_student(kd_student: str, kd_student_init: str, tts_align: str, tts_config: str,
                fastspeech_config: str, teacher: str) -> Student:
    """The TTS student's config and start (see the module docstring)."""
    if kd_student not in STUDENTS:
        raise InputError(f"--kd_student {kd_student!r}: use one of {', '.join(STUDENTS)}")
    if kd_student_init not in INITS:
        raise InputError(f"--kd_student_init {kd_student_init!r}: use one of {', '.join(INITS)}")
    config = tts_config
    if kd_student == "fastspeech" and tts_align == "attention":
        config = fastspeech_config
    if kd_student_init == "scratch":
        return Student(config, None, "from scratch (--kd_student_init scratch)")
    if config != tts_config:
        return Student(config, None, f"from scratch: {config} is not the teacher's config")
    return Student(config, teacher, f"from its teacher {teacher}")


def synthetic_source(last_dt: Path, kd_dir: Path) -> Path:
    """The ASR student's synthetic pairs: the last DT round's (multi-voice) speech when there
    was a round, else the TTS teacher's filtered pairs."""
    return last_dt / "asr_pairs" if (last_dt / "asr_pairs").is_dir() else kd_dir / "tts_pairs"


def asr_student_data(real: Sequence[Path], speech_dir: Path, hyp_dir: Path, synth: Path,
                     ratio: float, seed: int, out_dir: Path) -> DataDir:
    """speech_pairs (the unpaired speech with the teacher's labels, all kept) and asr_train
    (real pairs + those + synthetic pairs making up `ratio` of it) under `out_dir`."""
    if not real:
        raise InputError("the ASR student needs at least one real paired data dir")
    labelled = pseudo.asr_pairs(speech_dir, hyp_dir)
    labelled.save(out_dir / "speech_pairs")
    mixed = pseudo.mix([*(DataDir.load(d) for d in real), labelled], DataDir.load(synth),
                       ratio, seed)
    mixed.save(out_dir / "asr_train")
    return mixed
