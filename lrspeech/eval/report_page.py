"""Assemble the run report: the stage table, plots with the real-recording reference, the
dual-transformation rounds, stage wall times and the samples, into report.md and report.html.

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report \
    --rounds exp/dt/eval/round*.json --times exp/stage_times.tsv --packed dt_round2 kd

Why a reference everywhere: a newcomer reads "IR 4%" as a result unless the same judge's
figure on the real recordings of the speaker stands beside it. The stage results carry it
(`real`, see lrspeech.eval.report); here it becomes a row and a dashed line.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from lrspeech.data.atomic import atomic_write_bytes, atomic_write_text
from lrspeech.eval.pages import (
    SampleGroup,
    Section,
    html_page,
    markdown,
    render_group,
    write_files,
)
from lrspeech.eval.plots import Panel, round_lines, stage_bars
from lrspeech.eval.report import (
    ATT_COLUMNS,
    RATE_COLUMNS,
    ReportError,
    StageResult,
    columns,
    load_stage,
    reference,
    table,
)
from lrspeech.eval.stage_times import read_stage_times, times_table

logger = logging.getLogger(__name__)

PERCENT = {k for k, _ in RATE_COLUMNS}
REAL_MOS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")  # no reference needed


@dataclass
class ReportInputs:
    """What the page shows besides the stages: DT rounds, stage times, packed stage labels."""

    rounds: Sequence[Path] = ()
    times: Optional[Path] = None
    packed: Optional[Dict[str, str]] = None


def stage_panels(stages: Sequence[StageResult], ref: Optional[StageResult],
                 packed: Optional[Dict[str, str]] = None) -> List[Panel]:
    """One panel per metric some stage has; the real recordings' value (if any) as reference,
    the packed ASR's stage highlighted in ASR panels and the packed TTS's in the others."""
    labels = [s.stage for s in stages]
    packed = packed or {}
    panels = []
    rate_cols, mos_names = columns(stages)
    for key, head in rate_cols:
        task = "asr" if key.startswith("asr_") else "tts"
        hl = labels.index(packed[task]) if packed.get(task) in labels else None
        panels.append(Panel(head, [s.values.get(key) for s in stages],
                            reference=ref.values.get(key) if ref else None, highlight=hl,
                            percent=key in PERCENT))
    hl = labels.index(packed["tts"]) if packed.get("tts") in labels else None
    for name in mos_names:
        mean = [s.mos.get(name, (None, None))[0] for s in stages]
        ci = [s.mos.get(name, (None, None))[1] for s in stages]
        real = ref.mos.get(name, (None, None))[0] if ref else None
        panels.append(Panel(name, mean, ci, real, hl))
    return panels


def round_panels(rounds: Sequence[StageResult], ref: Optional[StageResult]) -> List[Panel]:
    """The rounds' dev figures (ASR and judge error rates, IR), one panel per metric."""
    rate_cols, _ = columns(rounds)
    return [Panel(head, [r.values.get(key) for r in rounds],
                  reference=ref.values.get(key) if ref else None, percent=True)
            for key, head in rate_cols if (key, head) not in ATT_COLUMNS]


def sample_groups(stages: Sequence[StageResult], max_samples: int) -> List[SampleGroup]:
    """The first `max_samples` samples of each stage, grouped by sentence (first seen first)."""
    entries: Dict[str, List] = {}
    for s in stages:
        for smp in s.samples[:max_samples]:
            entries.setdefault(smp.utt, []).append((s.stage, smp))
    return [render_group(utt, e) for utt, e in entries.items()]


STAGES_NOTE = (
    "One row per stage, on the dev set. IR (share of words the judge ASR recognizes), "
    "sentence IR and judge CER: the judge transcribing the stage's synthesized speech of the "
    "dev sentences. ASR CER/WER: the stage's own ASR on the real dev recordings. The shaded "
    "row '{real}' is the same judge on the real recordings of the same sentences: the figure "
    "a TTS speaking like the speaker would get, the dashed line in the plots.{packed}")


def _stage_sections(stages: List[StageResult], packed: Optional[Dict[str, str]]
                    ) -> List[Section]:
    ref = reference(stages)
    header, rows = table(stages, ref, packed)
    packed_note = (" 'packed': the stage whose model stage 9 packed in exp/packed (orange in "
                   "the plots)." if packed else "")
    note = STAGES_NOTE.format(real=ref.stage if ref else "real recordings", packed=packed_note)
    if ref is None:
        note += " (No stage result has the real-recording figures: rerun stage 8.)"
    sections = [Section("Stages", note, header, rows, [len(stages)] if ref else [])]
    panels = stage_panels(stages, ref, packed)
    if panels:
        png = stage_bars([s.stage for s in stages], panels)
        sections.append(Section("Metrics per stage", image=("stages.png", png)))
    return sections


def _round_section(paths: Sequence[Path]) -> List[Section]:
    if not paths:
        return []
    rounds = [load_stage(p) for p in paths]
    ref = reference(rounds)
    header, rows = table(rounds, ref)
    judge = rounds[-1].judge or "the fine-tuned ASR"
    note = (f"Dev figures after each dual-transformation round (round0: the fine-tuned models "
            f"it starts from), all judged by {judge}; the dashed line: the same judge on the "
            "real recordings.")
    panels = round_panels(rounds, ref)
    image = ("rounds.png", round_lines([r.stage for r in rounds], panels)) if panels else None
    return [Section("Dual transformation rounds", note, header, rows,
                    [len(rounds)] if ref else [], image)]


def _times_section(path: Optional[Path]) -> List[Section]:
    if path is None or not Path(path).is_file():
        return []
    times = read_stage_times(path)
    if not times:
        return []
    header, rows = times_table(times)
    note = (f"Wall time of each recipe stage ({path}); a stage run again counts every run. "
            "A stage still running when the report was made (stage 9) is not listed.")
    return [Section("Stage wall times", note, header, rows)]


def write_report(
    results: Sequence[Path], out_dir: Path, title: str = "lrspeech run report",
    max_samples: int = 3, extra: Optional[ReportInputs] = None,
) -> Tuple[Path, Path]:
    """Build `report.md` (+ `img/`, `audio/`) and the self-contained `report.html`."""
    if not results:
        raise ReportError("no stage result files given; pass --results exp/eval/*.json")
    extra = extra or ReportInputs()
    stages = [load_stage(Path(p)) for p in results]
    out_dir = Path(out_dir)
    sections = (_stage_sections(stages, extra.packed) + _round_section(extra.rounds)
                + _times_section(extra.times))
    for sec in sections:
        if sec.image:
            atomic_write_bytes(out_dir / "img" / sec.image[0], sec.image[1])
    groups = sample_groups(stages, max_samples)
    links = write_files(out_dir, groups)
    paths = (out_dir / "report.md", out_dir / "report.html")
    atomic_write_text(paths[0], markdown(title, sections, groups, links))
    atomic_write_text(paths[1], html_page(title, sections, groups))
    logger.info("report: %s and %s (%d stages, %d sentences)", *paths, len(stages), len(groups))
    return paths
