"""Packing (stage 9): which stage's ASR and TTS the recipe hands out, copied with the LM.

Usage: python -m lrspeech.bin.pack_stages --results exp/eval/kd.json --stage_dirs kd=exp/kd --out x

`pack best` picks the ASR with the lowest eval-set ASR CER and the TTS with the lowest judge
CER (a tie goes to the later stage); `pack final` the last evaluated stage's. When the packed
ASR carries the LM (it then decodes with it by default), its CER is the one with the LM, if
every stage has that figure. The choice is
made on the set the report shows, so the packed models' figures there are optimistic. The
packed dir (`asr`, `tts`, `packed.json`) is built aside and put in place in one step; with an
LM and its tuned weights, the packed ASR carries them (lm_fusion attach).
"""

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

from lrspeech.data.atomic import atomic_dir
from lrspeech.errors import InputError
from lrspeech.eval.report import StageResult, best_stage, load_stage
from lrspeech.models.lm import attach_lm
from lrspeech.pipeline.lm import read_fusion

logger = logging.getLogger(__name__)
PACKS = ("best", "final")


@dataclass(frozen=True)
class Choice:
    """The stage label each packed model comes from."""

    pack: str
    asr: str
    tts: str

    def to_dict(self) -> Dict[str, str]:
        return {"pack": self.pack, "asr": self.asr, "tts": self.tts}


def choose(results: Sequence[Path], pack: str, with_lm: bool = False) -> Choice:
    """The stages to pack from the stage results (eval_stage --collect files, in stage order).

    `with_lm`: the packed ASR decodes with the LM, so `best` compares the stages' CER with
    the LM (`asr_lm_cer`) when every stage has it, else their CER without.
    """
    if pack not in PACKS:
        raise InputError(f"--pack {pack!r}: use one of {', '.join(PACKS)}")
    if not results:
        raise InputError("no evaluation results to choose from; run stage 8 first")
    stages = [load_stage(Path(r)) for r in results]
    if pack == "final":
        return Choice(pack, stages[-1].stage, stages[-1].stage)
    return Choice(pack, best_stage(stages, asr_metric(stages, with_lm)).stage,
                  best_stage(stages, "judge_cer").stage)


def asr_metric(stages: Sequence[StageResult], with_lm: bool) -> str:
    """What `best` compares the ASRs by: their CER with the LM when it is packed and every
    stage was decoded with it, else without."""
    if with_lm and all(st.values.get("asr_lm_cer") is not None for st in stages):
        return "asr_lm_cer"
    if with_lm:
        logger.warning("not every stage has a CER with the LM; the ASR is chosen by its CER "
                       "without it")
    return "asr_cer"


def pack_models(choice: Choice, stage_dirs: Dict[str, Path], out: Path,
                lm_dir: Optional[Path] = None, fusion: Optional[Path] = None) -> Path:
    """Copy the chosen stages' `asr/model` and `tts/model` into `out` (asr, tts, packed.json),
    the LM into the ASR when `lm_dir` and its tuning `fusion` are given; atomic."""
    for task, label in (("asr", choice.asr), ("tts", choice.tts)):
        if label not in stage_dirs:
            raise InputError(f"stage {label!r} was chosen for the {task} but has no --stage_dirs "
                             f"entry (have: {', '.join(sorted(stage_dirs))})")
        if not (stage_dirs[label] / task / "model" / "meta.json").is_file():
            raise InputError(f"{stage_dirs[label]}/{task}/model: no packed model; rerun its stage")
    if (lm_dir is None) != (fusion is None):
        raise InputError("an LM is packed with its tuned weights: give both lm_dir and fusion")
    with atomic_dir(out, carry_over=False) as tmp:
        shutil.copytree(stage_dirs[choice.asr] / "asr" / "model", tmp / "asr")
        shutil.copytree(stage_dirs[choice.tts] / "tts" / "model", tmp / "tts")
        if lm_dir is not None and fusion is not None:
            weight, bonus, tuning = read_fusion(fusion)
            attach_lm(tmp / "asr", lm_dir, weight, bonus, tuning)
        (tmp / "packed.json").write_text(json.dumps(choice.to_dict()) + "\n", encoding="utf-8")
    return out
