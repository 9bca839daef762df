"""The README's headline table from bench/ablation.py runs: baseline, final, topline, gap recovered.

Usage: python bench/headline.py Swahili=/tmp/bench/abl_sw Suba=/tmp/bench/abl_sxb

One line per language, read from each ablation work dir's results.json: dev ASR CER and TTS
judge CER of the paired-only baseline, of the final LRSpeech row (the last before the topline:
knowledge distillation) and of the fully supervised topline, and the share of the
baseline-to-topline gap the final row recovers. A run whose topline is still training gets
the baseline and final figures with the topline and gaps pending (the TTS side alone while only
the topline's ASR is evaluated); one with fewer rows, a line that says which rows it has so
far.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HEAD = ["| language | ASR CER %: baseline / final / topline | gap recovered (ASR) | "
        "TTS judge CER %: baseline / final / topline | gap recovered (TTS) |",
        "|---|---|---|---|---|"]
FINAL = "kd"  # bench/ablation.py's last LRSpeech row


def pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def line(language: str, rows: Sequence[Dict[str, object]]) -> str:
    """The language's table line; a partial line while its run lacks the baseline or topline."""
    names = [str(r["row"]) for r in rows]
    if len(rows) >= 2 and names[0] == "baseline" and names[-1] == FINAL:  # topline training
        base, final = rows[0], rows[-1]
        trios = [f"{pct(base[k])} / {pct(final[k])} / pending"  # type: ignore[arg-type]
                 for k in ("asr_cer", "judge_cer")]
        return f"| {language} | {trios[0]} | pending | {trios[1]} | pending |"
    if len(rows) < 3 or names[0] != "baseline" or names[-2:] != [FINAL, "topline"]:
        return (f"| {language} | partial: {', '.join(names) or 'no row'} evaluated so far "
                "| | | |")
    base, final, top = rows[0], rows[-2], rows[-1]

    def cells(key: str) -> Tuple[str, str]:
        gap = final.get(f"gap_{key}")
        if top[key] is None:  # the topline's TTS still training (its ASR evaluated alone)
            return f"{pct(base[key])} / {pct(final[key])} / pending", "pending"  # type: ignore
        trio = " / ".join(pct(r[key]) for r in (base, final, top))  # type: ignore[arg-type]
        return trio, "n/a" if gap is None else f"{100 * gap:.0f}%"  # type: ignore[operator]

    (asr, asr_gap), (tts, tts_gap) = cells("asr_cer"), cells("judge_cer")
    return f"| {language} | {asr} | {asr_gap} | {tts} | {tts_gap} |"


def table(runs: Sequence[Tuple[str, Path]]) -> str:
    out: List[str] = list(HEAD)
    for language, work in runs:
        path = work / "results.json"
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"] if path.is_file() else []
        out.append(line(language, rows))
    return "\n".join(out) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="LANGUAGE=ABLATION_WORK_DIR")
    a = p.parse_args(argv)
    runs = []
    for spec in a.runs:
        language, eq, work = spec.partition("=")
        if not eq or not language or not work:
            p.error(f"{spec!r}: give LANGUAGE=ABLATION_WORK_DIR")
        runs.append((language, Path(work)))
    print(table(runs), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
