"""The run report: Markdown and a self-contained HTML page, one table row per stage.

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report

Input: one JSON file per stage (in the order the stages ran), written by the recipe or by
`collect_stage_result`. Schema (every key except `stage` may be absent or null):

    {
      "stage": "finetune",                   # row label
      "data": "paired_hq 46 utts",           # what the stage trained on
      "ir": 0.81, "sentence_ir": 0.52,       # intelligibility rate (fractions)
      "judge": "pocketsphinx",               # the judge that gave the IR
      "judge_cer": 0.12,                     # judge CER on the synthesized dev set
      "asr_cer": 0.21, "asr_wer": 0.48,      # the stage's ASR on the real dev set
      "asr_lm_cer": 0.18, "asr_lm_wer": 0.35,   # the same, decoded with the LM (shallow fusion)
      "mos": {"dnsmos_ovrl": {"mean": 3.1, "ci95": 0.1}, "mcd": 6.4},   # number or {mean, ci95}
      "attention": {"wcr": 0.6, "adr": 0.9, "focus_rate": 0.7},         # TTS dev set means
      "samples": [{"utt": "sw_0017", "text": "...", "wav": "synth/sw_0017.wav",
                   "att": "att/sw_0017.npy",   # att: (frames, tokens) or stacked heads
                   "real_wav": "dump/raw/dev/wav/sw_0017.wav"}],   # the real recording
      "skipped": {"dt_round1/asr_hyp": {"too_short": 2}, "eval/ir": {"empty": 1}},
      "real": {"judge": "pocketsphinx", "ir": 0.93, "sentence_ir": 0.7, "judge_cer": 0.04,
               "mos": {"dnsmos_ovrl": {"mean": 3.2, "ci95": 0.1}}}
    }

`skipped` counts the clips each step of the stage left out because they were empty or shorter
than an ASR encoder takes (lrspeech.data.skips); the table shows their total per stage.
`real` holds the same judge's figures on the real dev recordings: the report's reference row
and the dashed line in every plot, what a stage's TTS would score if it spoke like the
speaker. Besides the stages, the report takes the dual-transformation rounds' result files
(same schema; a plot of their dev figures), the recipe's stage wall times
(lrspeech.eval.stage_times) and the labels of the packed stages.

Relative sample paths are read from the working dir, else next to the JSON file. The
HTML embeds every image and audio clip (base64), so it can be mailed or archived as one
file; the Markdown links the PNGs and WAVs written to `<out_dir>/img/` and `<out_dir>/audio/`.
"""

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lrspeech.data.kaldi_files import read_mapping
from lrspeech.errors import LrspeechError
from lrspeech.eval.pages import Sample

logger = logging.getLogger(__name__)

RATE_COLUMNS = (
    ("ir", "IR"),
    ("sentence_ir", "sent. IR"),
    ("judge_cer", "judge CER"),
    ("asr_cer", "ASR CER"),
    ("asr_wer", "ASR WER"),
    ("asr_lm_cer", "ASR CER +LM"),
    ("asr_lm_wer", "ASR WER +LM"),
)
ATT_COLUMNS = (("wcr", "WCR"), ("adr", "ADR"))
REAL_KEYS = ("ir", "sentence_ir", "judge_cer")  # the judge's figures on the real recordings
SKIPPED_HEADER = "skipped clips"
PACKED_HEADER = "packed"
REAL_LABEL = "real recordings"


class ReportError(LrspeechError, ValueError):
    """A stage result file that cannot be used; names the file and the fix."""


@dataclass
class StageResult:
    """One stage's row and samples; `real`: the judge on the real recordings (a row too)."""

    stage: str
    data: str = ""
    values: Dict[str, Optional[float]] = field(default_factory=dict)
    mos: Dict[str, Tuple[Optional[float], Optional[float]]] = field(default_factory=dict)
    samples: List[Sample] = field(default_factory=list)
    source: Optional[Path] = None
    skipped: Dict[str, Dict[str, int]] = field(default_factory=dict)
    judge: str = ""
    real: Optional["StageResult"] = None

    @property
    def skipped_total(self) -> Dict[str, int]:
        total: Dict[str, int] = {}
        for counts in self.skipped.values():
            for reason, n in counts.items():
                total[reason] = total.get(reason, 0) + n
        return dict(sorted(total.items()))


def _resolve(value: Optional[str], base: Path) -> Optional[Path]:
    if not value:
        return None
    p = Path(value)
    return p if p.is_absolute() or p.exists() else base / p


def _number(path: Path, key: str, value: Any) -> Optional[float]:
    """A finite number, or None for null and NaN (no value: shown as a dash)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError(f"{path}: '{key}' must be a number or null, got {value!r}; fix the file")
    return None if math.isnan(value) else float(value)


def _mos_entry(path: Path, name: str, value: Any) -> Tuple[Optional[float], Optional[float]]:
    if isinstance(value, dict):
        return _number(path, f"mos.{name}.mean", value.get("mean")), _number(
            path, f"mos.{name}.ci95", value.get("ci95")
        )
    return _number(path, f"mos.{name}", value), None


def _samples(data: Dict[str, Any], path: Path) -> List[Sample]:
    samples = []
    for i, s in enumerate(data.get("samples") or []):
        if not isinstance(s, dict) or not s.get("utt"):
            raise ReportError(f"{path}: samples[{i}] needs an 'utt' id; fix the file")
        samples.append(Sample(str(s["utt"]), _resolve(s.get("wav"), path.parent),
                              _resolve(s.get("att"), path.parent), str(s.get("text") or ""),
                              _resolve(s.get("real_wav"), path.parent)))
    return samples


def _real(data: Dict[str, Any], path: Path) -> Optional[StageResult]:
    real = data.get("real")
    if real is None:
        return None
    if not isinstance(real, dict):
        raise ReportError(f"{path}: 'real' must be an object (the judge on the real recordings); "
                          "regenerate the file (eval_stage --collect)")
    values = {k: _number(path, f"real.{k}", real.get(k)) for k in REAL_KEYS}
    mos = {n: _mos_entry(path, f"real.{n}", v) for n, v in (real.get("mos") or {}).items()}
    if all(v is None for v in values.values()) and not mos:
        return None
    return StageResult(REAL_LABEL, "the real dev recordings, same judge", values, mos,
                       source=path, judge=str(real.get("judge") or ""))


def parse_stage(data: Dict[str, Any], path: Path) -> StageResult:
    """Validate one stage JSON object (see the module docstring)."""
    if not isinstance(data, dict) or not isinstance(data.get("stage"), str) or not data["stage"]:
        raise ReportError(f"{path}: needs a non-empty string 'stage' (the row label); add it")
    values = {k: _number(path, k, data.get(k)) for k, _ in RATE_COLUMNS}
    att = data.get("attention") or {}
    values.update({k: _number(path, f"attention.{k}", att.get(k)) for k, _ in ATT_COLUMNS})
    mos = {n: _mos_entry(path, n, v) for n, v in (data.get("mos") or {}).items()}
    skipped = data.get("skipped") or {}
    if not isinstance(skipped, dict) or not all(
        isinstance(c, dict) and all(isinstance(n, int) for n in c.values())
        for c in skipped.values()
    ):
        raise ReportError(f"{path}: 'skipped' must map step names to {{reason: count}}; "
                          "regenerate the file (make_report --collect)")
    return StageResult(data["stage"], str(data.get("data") or ""), values, mos,
                       _samples(data, path), path, skipped, str(data.get("judge") or ""),
                       _real(data, path))


def load_stage(path: Path) -> StageResult:
    """Read one stage result JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ReportError(
            f"{path}: stage result not found; run the evaluation stage first"
        ) from err
    except json.JSONDecodeError as err:
        raise ReportError(
            f"{path}:{err.lineno}: not valid JSON ({err.msg}); fix or regenerate it"
        ) from err
    return parse_stage(data, path)


def reference(stages: Sequence[StageResult]) -> Optional[StageResult]:
    """The real recordings' row: the last stage's `real` (stage 8 judges every stage with one
    judge, so they agree; a stage that disagrees was judged otherwise and is named)."""
    reals = [s for s in stages if s.real is not None]
    if not reals:
        return None
    ref = reals[-1].real
    for s in reals[:-1]:
        if (s.real.values, s.real.judge) != (ref.values, ref.judge):
            logger.warning("%s: its real-recording figures (judge %s) differ from %s's (judge "
                           "%s); the reference row shows the latter", s.source, s.real.judge,
                           reals[-1].stage, ref.judge)
    return ref


LOWER_IS_BETTER = ("judge_cer", "asr_cer", "asr_wer", "asr_lm_cer", "asr_lm_wer")


def best_stage(stages: Sequence[StageResult], metric: str) -> StageResult:
    """The stage with the lowest `metric` (an error rate); a tie goes to the later stage.

    Stages without the value are passed over; none having it is an error naming the files.
    """
    if metric not in LOWER_IS_BETTER:
        raise ReportError(f"cannot pick a best stage by '{metric}'; use one of {LOWER_IS_BETTER}")
    scored = [(st.values.get(metric), i, st) for i, st in enumerate(stages)]
    scored = [(v, i, st) for v, i, st in scored if v is not None]
    if not scored:
        files = ", ".join(str(st.source) for st in stages) or "(no files)"
        raise ReportError(f"no stage result has '{metric}' ({files}); rerun the evaluation stage")
    return min(scored, key=lambda t: (t[0], -t[1]))[2]


def packed_marks(stages: Sequence[StageResult], packed: Dict[str, str]) -> List[str]:
    """Per stage, which packed models came from it ("ASR + TTS", "TTS", ""); `packed` maps
    asr/tts to a stage label, which must be one of the stages."""
    labels = [s.stage for s in stages]
    for task, label in packed.items():
        if label not in labels:
            raise ReportError(f"the packed {task.upper()} stage '{label}' is not among the "
                              f"stage results ({', '.join(labels)}); pass one of them")
    return [" + ".join(t.upper() for t in ("asr", "tts") if packed.get(t) == label)
            for label in labels]


def _fmt(value: Optional[float], pct: bool) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def _fmt_mos(entry: Optional[Tuple[Optional[float], Optional[float]]]) -> str:
    if entry is None or entry[0] is None:
        return "–"
    return f"{entry[0]:.2f}" if entry[1] is None else f"{entry[0]:.2f} ± {entry[1]:.2f}"


def columns(stages: Sequence[StageResult]) -> Tuple[List[Tuple[str, str]], List[str]]:
    """The (key, header) rate columns and the MOS names some stage has a value for."""
    rate_cols = [(k, h) for k, h in RATE_COLUMNS + ATT_COLUMNS
                 if any(s.values.get(k) is not None for s in stages)]
    mos_names: List[str] = []
    for s in stages:
        mos_names += [n for n in s.mos if n not in mos_names]
    return rate_cols, mos_names


def table(
    stages: Sequence[StageResult], ref: Optional[StageResult] = None,
    packed: Optional[Dict[str, str]] = None,
) -> Tuple[List[str], List[List[str]]]:
    """Header and rows of the stage table (only columns some stage has a value for); `ref`
    (the real recordings) is the last row, `packed` adds a column marking the packed stages."""
    rate_cols, mos_names = columns(stages)
    with_skips = any(s.skipped_total for s in stages)
    marks = packed_marks(stages, packed) if packed is not None else None
    header = ["stage", "data"] + ([PACKED_HEADER] if marks is not None else [])
    header += [h for _, h in rate_cols] + mos_names + ([SKIPPED_HEADER] if with_skips else [])
    rows = []
    for i, s in enumerate(list(stages) + ([ref] if ref is not None else [])):
        real_row = i >= len(stages)
        row = [s.stage, s.data] + ([] if marks is None else ["" if real_row else marks[i]])
        row += [_fmt(s.values.get(k), k not in ("wcr", "adr")) for k, _ in rate_cols]
        row += [_fmt_mos(s.mos.get(n)) for n in mos_names]
        row += [("" if real_row else _fmt_skips(s.skipped_total))] if with_skips else []
        rows.append(row)
    return header, rows


def _fmt_skips(total: Dict[str, int]) -> str:
    if not total:
        return "0"
    return f"{sum(total.values())} (" + ", ".join(f"{r} {n}" for r, n in total.items()) + ")"


def _read_json(path: Optional[Path]) -> Dict[str, Any]:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ReportError(f"{path}: not found; run the evaluation that writes it first") from err
    except json.JSONDecodeError as err:
        raise ReportError(
            f"{path}:{err.lineno}: not valid JSON ({err.msg}); regenerate it"
        ) from err


def dev_recordings(dev_dir: Path) -> Dict[str, Dict[str, str]]:
    """utt -> {"text": its sentence, "real_wav": absolute path of its recording} of a dev data
    dir, what a sample shows beside the synthesized clip. A recording is named only for a
    plain-file wav.scp entry: a dir with segments, or a piped entry, has no file to show."""
    out: Dict[str, Dict[str, str]] = {}
    dev_dir = Path(dev_dir)
    if (dev_dir / "text").is_file():
        for utt, text in read_mapping(dev_dir / "text", "utterance", allow_empty=True).items():
            out.setdefault(utt, {})["text"] = text
    if (dev_dir / "segments").exists() or not (dev_dir / "wav.scp").is_file():
        return out
    for utt, spec in read_mapping(dev_dir / "wav.scp", "utterance").items():
        if not spec.endswith("|"):
            out.setdefault(utt, {})["real_wav"] = str(Path(spec).resolve())
    return out


def _mos_means(mos: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    metrics = mos.get("metrics", {})
    return {n: {"mean": m.get("mean"), "ci95": m.get("ci95")} for n, m in metrics.items()}


def collect_stage_result(
    stage: str,
    data: str = "",
    ir_json: Optional[Path] = None,
    score_json: Optional[Path] = None,
    mos_json: Optional[Path] = None,
    attention: Optional[Dict[str, float]] = None,
    samples: Sequence[Dict[str, str]] = (),
    skipped: Optional[Dict[str, Dict[str, int]]] = None,
    score_lm_json: Optional[Path] = None,
    real_ir_json: Optional[Path] = None,
    real_mos_json: Optional[Path] = None,
) -> Dict[str, Any]:
    """One stage's result object from the files eval_ir, score_asr and eval_mos write
    (`score_lm_json`: score_asr's of the decoding with the LM; `real_*`: eval_ir's and
    eval_mos's on the real dev recordings, the report's reference)."""
    ir, score, mos = _read_json(ir_json), _read_json(score_json), _read_json(mos_json)
    out: Dict[str, Any] = {"stage": stage, "data": data}
    for key in ("ir", "sentence_ir", "judge", "judge_cer"):
        out[key] = ir.get(key)
    out["asr_cer"], out["asr_wer"] = score.get("cer"), score.get("wer")
    if score_lm_json is not None:
        lm = _read_json(score_lm_json)
        out["asr_lm_cer"], out["asr_lm_wer"] = lm.get("cer"), lm.get("wer")
    out["mos"] = _mos_means(mos)
    out["attention"] = dict(attention or {})
    out["samples"] = [dict(s) for s in samples]
    out["skipped"] = dict(skipped or {})
    if real_ir_json is not None or real_mos_json is not None:
        real_ir = _read_json(real_ir_json)
        out["real"] = {k: real_ir.get(k) for k in ("judge",) + REAL_KEYS}
        out["real"]["mos"] = _mos_means(_read_json(real_mos_json))
    return out
