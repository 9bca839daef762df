"""CTC prefix beam search for ESPnet's `Speech2Text`: CTC-only decoding, with or without an LM.

Usage: python -m lrspeech.bin.asr_inference --model_dir exp/packed/asr --data_dir data/dev \
    --out_dir exp/decode_dev --beam_size 10

Why: lrspeech decodes CTC-only (attention decoders trained on minutes of speech are unreliable:
docs/benchmarks.md, "CTC-only decoding by default"). ESPnet's beam search is label-synchronous:
at every output token it rescores each prefix against the whole utterance, which costs seconds
per utterance even for a tiny model (2.5 s per dev clip of the demo, most of stage 8's time).
The same objective, the prefix with the highest CTC probability summed over its alignments, is
searched here frame by frame (the classic CTC prefix beam search): each frame extends the
`beam_size` best prefixes by the tokens that are not negligible in that frame. It plugs in as
the object `Speech2Text` calls for its search, so ESPnet's own post-processing (ids to text)
runs unchanged, and a hypothesis's score is log P_ctc(y|x) over all its alignments (the forward
algorithm on the chosen y), as ESPnet's CTC prefix score gives at <eos>. Speed and accuracy
against ESPnet's search: docs/benchmarks.md ("CTC prefix search").

With a language model (`Fusion`: shallow fusion, issue 18) the beam is ranked by
log P_ctc(prefix) + lm_weight * log P_lm(prefix) + length_bonus * |prefix| and the LM's
<eos> is added at the end (`fused_beam_search`); lm_weight 0 and length_bonus 0 run the plain
search unchanged.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from lrspeech.errors import InputError

NEG_INF = -math.inf
PRUNE_LOGP = math.log(1e-4)  # tokens less likely than this in a frame do not start a new label


def _logaddexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def prefix_beam_search(logp: np.ndarray, beam: int, blank: int = 0) -> Tuple[List[int], float]:
    """Best label sequence of a (frames x vocabulary) log-posterior matrix and its log P(y|x).

    Each prefix keeps two log probabilities: of its alignments so far that end in blank and
    of those that end in its last label. A repeated label extends the prefix only after a
    blank; otherwise it continues the last label.
    """
    beams: Dict[Tuple[int, ...], List[float]] = {(): [0.0, NEG_INF]}
    for frame in logp:
        frame = frame.tolist()
        tokens = [k for k, v in enumerate(frame) if v >= PRUNE_LOGP and k != blank]
        nxt: Dict[Tuple[int, ...], List[float]] = {}
        for prefix, (p_b, p_nb) in beams.items():
            total = _logaddexp(p_b, p_nb)
            entry = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            entry[0] = _logaddexp(entry[0], total + frame[blank])
            last = prefix[-1] if prefix else None
            if last is not None:  # the last label goes on (no new label)
                entry[1] = _logaddexp(entry[1], p_nb + frame[last])
            for k in tokens:
                ext = nxt.setdefault(prefix + (k,), [NEG_INF, NEG_INF])
                ext[1] = _logaddexp(ext[1], (p_b if k == last else total) + frame[k])
        ranked = sorted(nxt.items(), key=lambda kv: _logaddexp(*kv[1]), reverse=True)
        beams = dict(ranked[:beam])
    best, (p_b, p_nb) = max(beams.items(), key=lambda kv: _logaddexp(*kv[1]))
    return list(best), _logaddexp(p_b, p_nb)


class PrefixScorer(Protocol):
    """A language model as the search sees it (lrspeech.models.lm.LmScorer): `initial()` gives
    the state after <sos> and log P(first token); `advance(states, tokens)` feeds one token to
    each state and gives the new states and log P(next token); `eos` ends a sentence."""

    eos: int

    def initial(self) -> Tuple[Any, np.ndarray]: ...

    def advance(self, states: Sequence[Any],
                tokens: Sequence[int]) -> List[Tuple[Any, np.ndarray]]: ...


@dataclass(frozen=True)
class Fusion:
    """Shallow fusion: score = log P_ctc + lm_weight * log P_lm + length_bonus * |y|."""

    lm: Optional[PrefixScorer] = None
    lm_weight: float = 0.0
    length_bonus: float = 0.0

    @property
    def active(self) -> bool:
        return (self.lm is not None and self.lm_weight != 0.0) or self.length_bonus != 0.0


def fused_beam_search(logp: np.ndarray, beam: int, fusion: Fusion,
                      blank: int = 0) -> Tuple[List[int], float, float]:
    """The CTC prefix beam search ranked by the fused score; returns the best labels, their
    fused score (with the LM's <eos>) and their LM log-probability (0 without an LM).

    Prefixes are nodes of a trie (an int each, so that the beam's dicts hash ints and not
    ever longer tuples). A node keeps its parent, last token, length and LM log-probability;
    a node in the beam also keeps its LM state and the LM's log-probabilities of the next
    token, computed once, when it first enters the beam, for all new nodes of a frame in one
    batch.
    """
    lm = fusion.lm if fusion.lm_weight != 0.0 else None
    w, bonus = fusion.lm_weight, fusion.length_bonus
    parent: List[int] = [-1]
    token: List[int] = [-1]
    length: List[int] = [0]
    lm_sum: List[float] = [0.0]
    children: Dict[Tuple[int, int], int] = {}
    lm_state: Dict[int, Any] = {}
    lm_next: Dict[int, List[float]] = {}
    if lm is not None:
        state, nxt_logp = lm.initial()
        lm_state[0], lm_next[0] = state, nxt_logp.tolist()
    beams: Dict[int, List[float]] = {0: [0.0, NEG_INF]}

    def child(node: int, k: int) -> int:
        key = (node, k)
        c = children.get(key)
        if c is None:
            c = children[key] = len(parent)
            parent.append(node)
            token.append(k)
            length.append(length[node] + 1)
            lm_sum.append(lm_sum[node] + (lm_next[node][k] if lm is not None else 0.0))
        return c

    for frame in logp:
        frame = frame.tolist()
        tokens = [k for k, v in enumerate(frame) if v >= PRUNE_LOGP and k != blank]
        nxt: Dict[int, List[float]] = {}
        for node, (p_b, p_nb) in beams.items():
            total = _logaddexp(p_b, p_nb)
            entry = nxt.setdefault(node, [NEG_INF, NEG_INF])
            entry[0] = _logaddexp(entry[0], total + frame[blank])
            last = token[node] if node else None
            if last is not None:
                entry[1] = _logaddexp(entry[1], p_nb + frame[last])
            for k in tokens:
                ext = nxt.setdefault(child(node, k), [NEG_INF, NEG_INF])
                ext[1] = _logaddexp(ext[1], (p_b if k == last else total) + frame[k])
        ranked = sorted(nxt.items(), key=lambda kv: _logaddexp(*kv[1]) + w * lm_sum[kv[0]]
                        + bonus * length[kv[0]], reverse=True)
        beams = dict(ranked[:beam])
        if lm is not None:
            new = [n for n in beams if n not in lm_state]
            if new:
                stepped = lm.advance([lm_state[parent[n]] for n in new], [token[n] for n in new])
                for n, (state, nxt_logp) in zip(new, stepped):
                    lm_state[n], lm_next[n] = state, nxt_logp.tolist()

    def lm_total(node: int) -> float:
        return lm_sum[node] + (lm_next[node][lm.eos] if lm is not None else 0.0)

    def final(node: int) -> float:
        return _logaddexp(*beams[node]) + w * lm_total(node) + bonus * length[node]

    best = max(beams, key=final)
    labels: List[int] = []
    node = best
    while node:
        labels.append(token[node])
        node = parent[node]
    return labels[::-1], final(best), lm_total(best)


class CtcPrefixSearch(torch.nn.Module):
    """Stands in for `Speech2Text.beam_search` when decoding is CTC-only (with shallow fusion
    of an LM when `fusion` is active)."""

    def __init__(self, ctc: Any, sos: int, eos: int, beam: int, blank: int = 0,
                 fusion: Fusion = Fusion()) -> None:
        super().__init__()
        self.ctc = ctc
        self.sos, self.eos, self.beam, self.blank = sos, eos, beam, blank
        self.fusion = fusion
        self.nn_dict = torch.nn.ModuleDict()  # Speech2Text looks for a decoder in it

    @torch.no_grad()
    def forward(self, x: torch.Tensor, maxlenratio: float = 0.0,
                minlenratio: float = 0.0) -> List[Any]:
        """The best hypothesis for encoder output `x` (frames x dim); length ratios unused.

        Its score is log P_ctc(y|x) over all alignments, plus, with fusion,
        lm_weight * log P_lm(y, <eos>) + length_bonus * |y|.
        """
        from espnet.nets.beam_search import Hypothesis

        logp = self.ctc.log_softmax(x.unsqueeze(0))[0]
        matrix = logp.double().cpu().numpy()
        if self.fusion.active:
            ids, _, lm_logp = fused_beam_search(matrix, self.beam, self.fusion, self.blank)
            extra = self.fusion.lm_weight * lm_logp + self.fusion.length_bonus * len(ids)
        else:
            ids, _ = prefix_beam_search(matrix, self.beam, self.blank)
            extra = 0.0
        yseq = torch.tensor([self.sos, *ids, self.eos], dtype=torch.long)
        return [Hypothesis(yseq=yseq, score=ctc_log_likelihood(logp, ids, self.blank) + extra)]


def ctc_log_likelihood(logp: torch.Tensor, ids: List[int], blank: int = 0) -> torch.Tensor:
    """log P(ids | x) over every alignment (the CTC forward algorithm) of (frames x vocab);
    -inf when the frames are too few for the labels."""
    target = torch.tensor(ids, dtype=torch.long)
    nll = F.ctc_loss(logp.unsqueeze(1), target.unsqueeze(0), [logp.size(0)], [len(ids)],
                     blank=blank, reduction="sum")  # inf where no alignment exists
    return -nll


def use_ctc_prefix_search(speech2text: Any, beam: int, fusion: Fusion = Fusion()) -> Any:
    """Make a CTC-only `Speech2Text` search with `CtcPrefixSearch`; returns it."""
    model = speech2text.asr_model
    if getattr(model, "ctc", None) is None:
        raise InputError("CTC prefix search needs a model with a CTC branch (ctc_weight > 0)")
    speech2text.beam_search = CtcPrefixSearch(model.ctc, model.sos, model.eos, beam,
                                              model.blank_id, fusion)
    return speech2text
