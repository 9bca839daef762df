"""sclite-like `result.txt` (aligned REF/HYP lines with S/D/I marks and a summary) + `score.json`.

Usage: python -m lrspeech.bin.score_asr --ref data/dev/text --hyp exp/dev/text --out_dir exp/dev

The listing follows sclite's `pralign` conventions that people read by eye: errors in upper
case, `***` where a side has no token, one column per alignment pair, and an `Eval:` line
with S, D or I under each error. Both files are written through a temporary file and a
rename, so a stage that finds them can trust them.
"""

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from lrspeech.data.atomic import atomic_write_text
from lrspeech.eval.align import CORRECT, AlignedPair, ErrorCounts
from lrspeech.eval.scoring import CorpusScore, UttScore, percent

GAP = "***"


def _cell(token: Optional[str], op: str) -> str:
    if token is None:
        return GAP
    return token if op == CORRECT else token.upper()


def alignment_lines(pairs: Sequence[AlignedPair]) -> Tuple[str, str, str]:
    """REF, HYP and Eval lines of an alignment, columns padded to the same width."""
    ref, hyp, ev = [], [], []
    for p in pairs:
        r, h = _cell(p.ref, p.op), _cell(p.hyp, p.op)
        width = max(len(r), len(h), 1)
        ref.append(r.ljust(width))
        hyp.append(h.ljust(width))
        ev.append(("" if p.op == CORRECT else p.op).ljust(width))
    return (
        "REF:  " + " ".join(ref).rstrip(),
        "HYP:  " + " ".join(hyp).rstrip(),
        ("Eval: " + " ".join(ev)).rstrip(),
    )


def _counts_line(c: ErrorCounts) -> str:
    return f"Scores: (#C #S #D #I) {c.cor} {c.sub} {c.dels} {c.ins}"


def utterance_block(u: UttScore) -> List[str]:
    """The per-utterance block: id, word counts and alignment, char counts and alignment."""
    lines = [f"id: ({u.utt})", _counts_line(u.word)]
    lines += alignment_lines(u.words)
    lines += ["Chars: " + _counts_line(u.char)]
    lines += alignment_lines(u.chars)
    return lines + [""]


def summary_block(score: CorpusScore) -> List[str]:
    """Totals for words and characters, in sclite's Sum/Avg style (percentages of ref tokens)."""
    head = f"| {'unit':<5} | {'#Snt':>5} {'#Tok':>7} | {'Corr':>7} {'Sub':>7} {'Del':>7} "
    head += f"{'Ins':>7} {'Err':>7} {'S.Err':>7} |"
    rule = "," + "-" * (len(head) - 2) + "."
    lines = [rule, head, "|" + "-" * (len(head) - 2) + "|"]
    for name, c in (("word", score.word), ("char", score.char)):
        n = c.ref_len

        def pct(x: int) -> str:
            return f"{100.0 * x / n:6.1f}" if n else "   n/a"

        ser = score.sentence_error_rate
        s_err = f"{100.0 * ser:6.1f}" if name == "word" and ser is not None else ""
        lines.append(
            f"| {name:<5} | {len(score.utts):>5} {n:>7} | {pct(c.cor):>7} {pct(c.sub):>7} "
            f"{pct(c.dels):>7} {pct(c.ins):>7} {pct(c.errors):>7} {s_err:>7} |"
        )
    lines.append("`" + "-" * (len(head) - 2) + "'")
    lines.append(f"WER {percent(score.wer)}  CER {percent(score.cer)}  ({len(score.utts)} utts)")
    if score.missing:
        lines.append(f"{len(score.missing)} utterance(s) had no hypothesis (all deletions)")
    return lines


def format_result(score: CorpusScore, title: str = "") -> str:
    """The whole result.txt: a title, one block per utterance, then the summary."""
    lines = [title, ""] if title else []
    for u in score.utts:
        lines += utterance_block(u)
    lines += summary_block(score)
    return "\n".join(lines) + "\n"


def write_score_files(
    score: CorpusScore, out_dir: Path, title: str = "", meta: Optional[Dict[str, object]] = None
) -> Tuple[Path, Path]:
    """Write `result.txt` and `score.json` into `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result, js = out_dir / "result.txt", out_dir / "score.json"
    atomic_write_text(result, format_result(score, title))
    data = dict(meta or {})
    data.update(score.to_dict())
    atomic_write_text(js, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return result, js
