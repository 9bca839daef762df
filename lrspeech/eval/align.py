"""Edit-distance alignment of a reference and a hypothesis token sequence, with backtrace.

Usage: python -c "from lrspeech.eval.align import align, count; print(count(align('ab', 'axb')))"

Why our own alignment: IR, CER/WER and the sclite-like listing all need the aligned pairs
(which reference word was recognised, which was substituted), not only the distance.
Among the alignments with the fewest errors (substitutions + deletions + insertions, each
costing 1) we take one with the most correct tokens: for ref `a b` and hyp `b a`, "delete a,
keep b, insert a" (1 correct) beats "substitute both" (0 correct), though both cost 2.
Ties left after that are broken towards diagonal moves, then deletions, like sclite.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

CORRECT, SUBSTITUTION, DELETION, INSERTION = "C", "S", "D", "I"


@dataclass(frozen=True)
class AlignedPair:
    """One alignment column: `op` is C, S, D (ref token only) or I (hyp token only)."""

    op: str
    ref: Optional[str]
    hyp: Optional[str]


@dataclass(frozen=True)
class ErrorCounts:
    """Counts of one alignment (or a sum of them); `ref_len` = cor + sub + dels."""

    cor: int = 0
    sub: int = 0
    dels: int = 0
    ins: int = 0

    @property
    def ref_len(self) -> int:
        return self.cor + self.sub + self.dels

    @property
    def hyp_len(self) -> int:
        return self.cor + self.sub + self.ins

    @property
    def errors(self) -> int:
        return self.sub + self.dels + self.ins

    @property
    def rate(self) -> Optional[float]:
        """errors / reference tokens; None when the reference is empty (rate undefined)."""
        return self.errors / self.ref_len if self.ref_len else None

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(
            self.cor + other.cor,
            self.sub + other.sub,
            self.dels + other.dels,
            self.ins + other.ins,
        )

    def to_dict(self) -> dict:
        return {
            "ref_len": self.ref_len,
            "cor": self.cor,
            "sub": self.sub,
            "del": self.dels,
            "ins": self.ins,
            "err": self.errors,
            "rate": self.rate,
        }


Cost = Tuple[int, int]  # (errors, -correct): compared lexicographically


def _cost_table(ref: Sequence[str], hyp: Sequence[str]) -> List[List[Cost]]:
    """DP table: cell [i][j] is the best cost of aligning ref[:i] with hyp[:j]."""
    table = [[(j, 0) for j in range(len(hyp) + 1)]]
    for i in range(1, len(ref) + 1):
        row = [(i, 0)]
        prev = table[i - 1]
        for j in range(1, len(hyp) + 1):
            e, c = prev[j - 1]
            diag = (e, c - 1) if ref[i - 1] == hyp[j - 1] else (e + 1, c)
            up = (prev[j][0] + 1, prev[j][1])
            left = (row[j - 1][0] + 1, row[j - 1][1])
            row.append(min(diag, up, left))
        table.append(row)
    return table


def align(ref: Sequence[str], hyp: Sequence[str]) -> List[AlignedPair]:
    """Align two token sequences; the pairs come in reading order."""
    table = _cost_table(ref, hyp)
    pairs: List[AlignedPair] = []
    i, j = len(ref), len(hyp)
    while i > 0 or j > 0:
        here = table[i][j]
        if i > 0 and j > 0:
            same = ref[i - 1] == hyp[j - 1]
            e, c = table[i - 1][j - 1]
            if here == ((e, c - 1) if same else (e + 1, c)):
                pairs.append(AlignedPair(CORRECT if same else SUBSTITUTION, ref[i - 1], hyp[j - 1]))
                i, j = i - 1, j - 1
                continue
        if i > 0 and here == (table[i - 1][j][0] + 1, table[i - 1][j][1]):
            pairs.append(AlignedPair(DELETION, ref[i - 1], None))
            i -= 1
            continue
        pairs.append(AlignedPair(INSERTION, None, hyp[j - 1]))
        j -= 1
    pairs.reverse()
    return pairs


def count(pairs: Sequence[AlignedPair]) -> ErrorCounts:
    """Count the operations of an alignment."""
    ops = [p.op for p in pairs]
    return ErrorCounts(
        ops.count(CORRECT), ops.count(SUBSTITUTION), ops.count(DELETION), ops.count(INSERTION)
    )
