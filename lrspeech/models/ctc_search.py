"""CTC prefix beam search for ESPnet's `Speech2Text`, for CTC-only decoding without an LM.

Usage: python -m lrspeech.bin.asr_inference --model_dir exp/packed/asr --data_dir data/dev \
    --out_dir exp/decode_dev --beam_size 10

Why: lrspeech decodes CTC-only (attention decoders trained on minutes of speech are
unreliable, DESIGN.md). ESPnet's beam search is label-synchronous: at every output token it
rescores each prefix against the whole utterance, which costs seconds per utterance even for
a tiny model (2.5 s per dev clip of the demo, most of stage 8's time). The same objective,
the prefix with the highest CTC probability summed over its alignments, is searched here
frame by frame (the classic CTC prefix beam search): each frame extends the `beam_size` best
prefixes by the tokens that are not negligible in that frame. It plugs in as the object
`Speech2Text` calls for its search, so ESPnet's own post-processing (ids to text) runs
unchanged, and a hypothesis's score is log P_ctc(y|x) over all its alignments (the forward
algorithm on the chosen y), as ESPnet's CTC prefix score gives at <eos>. Speed and accuracy
against ESPnet's search: docs/benchmarks.md ("CTC prefix search").
"""

import math
from typing import Any, Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

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


class CtcPrefixSearch(torch.nn.Module):
    """Stands in for `Speech2Text.beam_search` when decoding is CTC-only without an LM."""

    def __init__(self, ctc: Any, sos: int, eos: int, beam: int, blank: int = 0) -> None:
        super().__init__()
        self.ctc = ctc
        self.sos, self.eos, self.beam, self.blank = sos, eos, beam, blank
        self.nn_dict = torch.nn.ModuleDict()  # Speech2Text looks for a decoder in it

    @torch.no_grad()
    def forward(self, x: torch.Tensor, maxlenratio: float = 0.0,
                minlenratio: float = 0.0) -> List[Any]:
        """The best hypothesis for encoder output `x` (frames x dim); length ratios unused."""
        from espnet.nets.beam_search import Hypothesis

        logp = self.ctc.log_softmax(x.unsqueeze(0))[0]
        ids, _ = prefix_beam_search(logp.double().cpu().numpy(), self.beam, self.blank)
        yseq = torch.tensor([self.sos, *ids, self.eos], dtype=torch.long)
        return [Hypothesis(yseq=yseq, score=ctc_log_likelihood(logp, ids, self.blank))]


def ctc_log_likelihood(logp: torch.Tensor, ids: List[int], blank: int = 0) -> torch.Tensor:
    """log P(ids | x) over every alignment (the CTC forward algorithm) of (frames x vocab);
    -inf when the frames are too few for the labels."""
    target = torch.tensor(ids, dtype=torch.long)
    nll = F.ctc_loss(logp.unsqueeze(1), target.unsqueeze(0), [logp.size(0)], [len(ids)],
                     blank=blank, reduction="sum")  # inf where no alignment exists
    return -nll


def use_ctc_prefix_search(speech2text: Any, beam: int) -> Any:
    """Make a CTC-only `Speech2Text` search with `CtcPrefixSearch`; returns it."""
    model = speech2text.asr_model
    if getattr(model, "ctc", None) is None:
        raise ValueError("CTC prefix search needs a model with a CTC branch (ctc_weight > 0)")
    speech2text.beam_search = CtcPrefixSearch(model.ctc, model.sos, model.eos, beam,
                                              model.blank_id)
    return speech2text
