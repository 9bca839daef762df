"""A packed ESPnet language model as a prefix scorer for shallow fusion in CTC decoding.

Usage: python -c "from lrspeech.models.lm import load_lm; lm = load_lm('exp/lm/model'); \
print(lm.perplexity([[5, 3, 4]]))"

The LM is ESPnet's (`espnet2.tasks.lm.LMTask`, a character LSTM by default: conf/lm/),
trained on the unpaired text tokenized exactly as the ASR's transcripts, over the ASR's own
token list, so that a token id means the same to both (`check_tokens`). The CTC prefix search
(`lrspeech.models.ctc_search`) asks it for log P(next token | prefix) once per prefix that
enters its beam, in batches (`advance`); `<sos/eos>` starts a sentence and ends it.
A packed LM dir (`python -m lrspeech.bin.lm_train`) holds config.yaml, model.pth, tokens.txt
and meta.json (task `lm`, the token list's SHA-256, the dev perplexity, the sentences used).
"""

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from lrspeech.errors import LrspeechError
from lrspeech.models.packing import MODEL, PackError, _ResolvedConfig, expect_task
from lrspeech.models.tasks import get_task

PathLike = Union[str, Path]
LM_DIR = "lm"  # a packed ASR's LM lives in <asr model dir>/lm


class LmMismatchError(LrspeechError, ValueError):
    """An LM whose tokens are not the ASR's."""


def token_digest(tokens: Sequence[str]) -> str:
    """SHA-256 of a token list (one token per line), as meta.json records it."""
    return hashlib.sha256("".join(f"{t}\n" for t in tokens).encode("utf-8")).hexdigest()


class LmScorer:
    """log P(next token | prefix) from a packed ESPnet LM, batched over prefixes."""

    def __init__(self, model_dir: PathLike, device: str = "cpu") -> None:
        self.model_dir = Path(model_dir)
        self.meta = expect_task(self.model_dir, "lm")
        task = get_task("lm")
        with _ResolvedConfig(self.model_dir) as config:
            model, args = task.build_model_from_file(str(config), str(self.model_dir / MODEL),
                                                     device)
        model.eval()
        self.lm = model.lm
        self.tokens: List[str] = list(args.token_list)
        self.eos = len(self.tokens) - 1
        self.device = device
        self._lstm = NumpyLstm.of(self.lm) if device == "cpu" else None

    def initial(self) -> Tuple[Any, np.ndarray]:
        """The state after <sos> and the log-probabilities of the first token."""
        return self.advance([None], [self.eos])[0]

    @torch.no_grad()
    def advance(self, states: Sequence[Any], tokens: Sequence[int]) -> List[Tuple[Any, np.ndarray]]:
        """Feed token[i] to the LM in state[i]; the new states and next-token log-probs."""
        if self._lstm is not None:
            return self._lstm.step(states, tokens)
        ys = torch.tensor(list(tokens), dtype=torch.long, device=self.device).view(-1, 1)
        logp, new_states = self.lm.batch_score(ys, list(states), None)
        rows = logp.double().cpu().numpy()
        return [(s, rows[i]) for i, s in enumerate(new_states)]

    def log_prob(self, ids: Sequence[int]) -> float:
        """log P(ids, <eos>) under the LM (natural log)."""
        state, logp = self.initial()
        total = 0.0
        for k in ids:
            total += float(logp[k])
            state, logp = self.advance([state], [k])[0]
        return total + float(logp[self.eos])

    def perplexity(self, sentences: Sequence[Sequence[int]]) -> float:
        """Per-token perplexity (each sentence's <eos> counted) of token-id sentences."""
        nll, n = 0.0, 0
        for ids in sentences:
            nll -= self.log_prob(ids)
            n += len(ids) + 1
        return math.exp(nll / max(n, 1))


class NumpyLstm:
    """One step of ESPnet's `SequentialRNNLM` (LSTM) in numpy, for decoding on CPU.

    The search asks for a handful of prefixes per frame, thousands of times per utterance;
    torch's per-call overhead (about 1.3 ms per batched step, measured) then costs 10x the
    search itself, while the same arithmetic in numpy takes a small fraction of it. The
    weights are the model's own (gates in PyTorch's order: input, forget, cell, output);
    the equality with the torch model is tested.
    """

    def __init__(self, embed: np.ndarray, layers: List[Tuple[np.ndarray, np.ndarray]],
                 out_w: np.ndarray, out_b: np.ndarray) -> None:
        self.layers, self.out_w, self.out_b = layers, out_w, out_b
        self.hidden = h = layers[0][0].shape[1] // 4
        w0, b0 = layers[0]
        # The first layer's input projection of every token, once: a step then multiplies
        # only the recurrent part.
        self.token_gates = embed @ w0[:-h] + b0
        self.recurrent = [w0[-h:]] + [w[-h:] for w, _ in layers[1:]]

    @classmethod
    def of(cls, lm: Any) -> Optional["NumpyLstm"]:
        """The numpy twin of an ESPnet LSTM LM; None for other LMs (torch steps them)."""
        rnn = getattr(lm, "rnn", None)
        if not isinstance(rnn, torch.nn.LSTM) or rnn.bidirectional or rnn.proj_size:
            return None

        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float32)

        layers = []
        for i in range(rnn.num_layers):
            w = np.concatenate([arr(getattr(rnn, f"weight_ih_l{i}")),
                                arr(getattr(rnn, f"weight_hh_l{i}"))], axis=1)
            b = arr(getattr(rnn, f"bias_ih_l{i}")) + arr(getattr(rnn, f"bias_hh_l{i}"))
            layers.append((w.T.copy(), b))
        return cls(arr(lm.encoder.weight), layers, arr(lm.decoder.weight).T.copy(),
                   arr(lm.decoder.bias))

    def step(self, states: Sequence[Any], tokens: Sequence[int]) -> List[Tuple[Any, np.ndarray]]:
        n, h = len(tokens), self.hidden
        x = None
        new_h, new_c = [], []
        for i, (w, b) in enumerate(self.layers):
            if i == 0:
                g = self.token_gates[np.asarray(tokens, dtype=np.int64)]
            else:
                g = x @ w[:-h] + b
            if states[0] is None:
                cp = np.zeros((n, h), dtype=np.float32)
            else:
                g = g + np.stack([s[0][i] for s in states]) @ self.recurrent[i]
                cp = np.stack([s[1][i] for s in states])
            gi, gf, gg, go = (g[:, k * h:(k + 1) * h] for k in range(4))
            c = _sigmoid(gf) * cp + _sigmoid(gi) * np.tanh(gg)
            x = _sigmoid(go) * np.tanh(c)
            new_h.append(x)
            new_c.append(c)
        logits = (x @ self.out_w + self.out_b).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return [((tuple(hl[j] for hl in new_h), tuple(cl[j] for cl in new_c)), logp[j])
                for j in range(n)]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def check_tokens(lm: LmScorer, asr_tokens: Sequence[str], where: str) -> None:
    """Refuse an LM whose token list differs from the ASR's (ids would mean other tokens)."""
    if list(asr_tokens) != lm.tokens:
        differ = sorted(set(asr_tokens) ^ set(lm.tokens))[:5]
        raise LmMismatchError(
            f"{lm.model_dir}: its token list ({len(lm.tokens)} tokens) is not the ASR's of "
            f"{where} ({len(asr_tokens)} tokens; differing e.g. {differ or 'in order'}); train "
            f"the LM on the ASR's token list: python -m lrspeech.bin.lm_train --token_list "
            f"<the ASR's tokens.txt> ...")


def load_lm(model_dir: PathLike, device: str = "cpu") -> LmScorer:
    """The packed LM of `model_dir`; errors say how to make one."""
    if not (Path(model_dir) / "meta.json").is_file():
        raise PackError(f"{model_dir}: no packed LM there (meta.json missing); train one with "
                        "python -m lrspeech.bin.lm_train")
    return LmScorer(model_dir, device)


def attach_lm(asr_dir: PathLike, lm_dir: PathLike, weight: float, length_bonus: float,
              tuning: Optional[Dict[str, Any]] = None) -> Path:
    """Copy a packed LM into a packed ASR dir (`<asr_dir>/lm`) and record the fusion weights
    in the ASR's meta.json, so that loading the ASR decodes with them; returns the ASR dir."""
    from lrspeech.data.atomic import atomic_write_text
    from lrspeech.models.packing import read_meta

    asr_dir, lm_dir = Path(asr_dir), Path(lm_dir)
    meta = expect_task(asr_dir, "asr")
    lm_meta = expect_task(lm_dir, "lm")
    from lrspeech.text.token_list import read_token_list

    asr_tokens = read_token_list(asr_dir / "tokens.txt")
    if lm_meta.get("tokens_sha256") != token_digest(asr_tokens):
        raise LmMismatchError(f"{lm_dir}: trained on another token list than the ASR of "
                              f"{asr_dir}; train the LM on {asr_dir / 'tokens.txt'}")
    tmp = asr_dir / f"{LM_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(lm_dir, tmp)
    shutil.rmtree(asr_dir / LM_DIR, ignore_errors=True)
    tmp.rename(asr_dir / LM_DIR)
    meta["lm"] = {"weight": float(weight), "length_bonus": float(length_bonus),
                  "tokens_sha256": lm_meta["tokens_sha256"],
                  "dev_perplexity": lm_meta.get("dev_perplexity"),
                  "sentences": lm_meta.get("sentences"), **({"tuning": tuning} if tuning else {})}
    atomic_write_text(asr_dir / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    read_meta(asr_dir)
    return asr_dir
