"""lrspeech.models.ctc_search: CTC prefix beam search, against brute force and ESPnet's search."""

import itertools
import math

import numpy as np
import pytest
import torch

from lrspeech.data.audio import load_audio
from lrspeech.models.ctc_search import (
    CtcPrefixSearch,
    Fusion,
    ctc_log_likelihood,
    fused_beam_search,
    prefix_beam_search,
)
from lrspeech.models.packing import load_asr, pack_model


def log_posteriors(probs) -> np.ndarray:
    return np.log(np.asarray(probs, dtype=np.float64))


def test_the_best_label_sequence_is_not_the_best_path():
    # Best path: blank blank (0.36). Best sequence: "a" (aa + a- + -a = 0.16 + 0.24 + 0.24).
    logp = log_posteriors([[0.6, 0.4], [0.6, 0.4]])
    ids, score = prefix_beam_search(logp, beam=4)
    assert ids == [1] and score == pytest.approx(math.log(0.64))
    # A repeated label needs a blank between its two occurrences.
    logp = log_posteriors([[0.05, 0.9, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05]])
    ids, _ = prefix_beam_search(logp, beam=4)
    assert ids == [1, 1]


def test_matches_brute_force_on_random_posteriors():
    rng = np.random.default_rng(0)
    for _ in range(20):
        frames, vocab = 6, 3
        probs = rng.dirichlet(np.ones(vocab), size=frames)
        logp = torch.from_numpy(np.log(probs))
        best, best_lp = None, -math.inf
        for n in range(frames + 1):
            for seq in itertools.product(range(1, vocab), repeat=n):
                lp = float(ctc_log_likelihood(logp, list(seq)))
                if lp > best_lp:
                    best, best_lp = list(seq), lp
        ids, score = prefix_beam_search(logp.numpy(), beam=64)
        assert ids == best
        assert score == pytest.approx(best_lp, abs=1e-3)  # nothing pruned at this size


@pytest.fixture(scope="module")
def packed_asr(micro_asr, tmp_path_factory):
    root = tmp_path_factory.mktemp("ctc_search_asr")
    return pack_model(micro_asr.exp_dir, None, root / "asr", meta={"token_type": "char"})


def test_load_asr_searches_ctc_only_with_it_and_scores_exactly(packed_asr, micro_asr, sw_rows):
    from espnet2.bin.asr_inference import Speech2Text

    s2t = load_asr(packed_asr)
    assert isinstance(s2t.beam_search, CtcPrefixSearch) and s2t.beam_search.beam == 10
    joint = load_asr(packed_asr, ctc_weight=0.5, beam_size=2)
    assert not isinstance(joint.beam_search, CtcPrefixSearch)
    assert not isinstance(load_asr(packed_asr, espnet_search=True).beam_search, CtcPrefixSearch)
    espnet = Speech2Text(asr_train_config=str(micro_asr.config),
                         asr_model_file=str(micro_asr.checkpoint), ctc_weight=1.0,
                         beam_size=10, lm_weight=0.0)
    model = s2t.asr_model
    for row in sw_rows[:3]:
        x, _ = load_audio(row["audio"])
        with torch.no_grad():
            enc, _ = model.encode(torch.from_numpy(x)[None], torch.tensor([len(x)]))
            logp = model.ctc.log_softmax(enc)[0]
        text, tokens, ids, hyp = s2t(x)[0]
        assert float(hyp.score) == pytest.approx(float(ctc_log_likelihood(logp, ids)), abs=1e-4)
        assert text == s2t.tokenizer.tokens2text(tokens)
        # The same objective as ESPnet's search, searched at least as well.
        other = espnet(x)[0]
        assert float(ctc_log_likelihood(logp, ids)) >= float(
            ctc_log_likelihood(logp, other[2])) - 1e-4


# ---------------------------------------------------------------- shallow fusion (issue 18)


class BigramLM:
    """A constructed LM: log P(next | last token) from a table; row `eos` starts a sentence."""

    def __init__(self, table: np.ndarray) -> None:
        self.table, self.eos = np.log(table), table.shape[0] - 1
        self.steps = 0

    def initial(self):
        return self.eos, self.table[self.eos]

    def advance(self, states, tokens):
        self.steps += 1
        return [(k, self.table[k]) for k in tokens]

    def log_prob(self, ids) -> float:
        prev, total = self.eos, 0.0
        for k in [*ids, self.eos]:
            total += self.table[prev, k]
            prev = k
        return total


def test_fusion_changes_the_best_path_toward_what_the_lm_expects():
    # CTC slightly prefers label 1; the LM strongly prefers label 2 after <sos>.
    logp = log_posteriors([[0.1, 0.46, 0.44, 0.0001], [0.8, 0.1, 0.0999, 0.0001]])
    table = np.full((4, 4), 0.25)
    table[3] = [0.01, 0.09, 0.8, 0.1]
    lm = BigramLM(table)
    assert prefix_beam_search(logp, beam=4)[0] == [1]
    ids, score, lm_logp = fused_beam_search(logp, 4, Fusion(lm, 0.5, 0.0))
    assert ids == [2]
    assert lm_logp == pytest.approx(lm.log_prob([2]))
    ctc = float(ctc_log_likelihood(torch.from_numpy(logp), [2]))
    assert score == pytest.approx(ctc + 0.5 * lm_logp)
    # Weight 0 and no bonus: the plain search's answer, on any posteriors.
    rng = np.random.default_rng(1)
    for _ in range(10):
        m = np.log(rng.dirichlet(np.ones(4), size=8))
        assert fused_beam_search(m, 6, Fusion(lm, 0.0, 0.0))[0] == prefix_beam_search(m, 6)[0]
    assert not Fusion(lm, 0.0, 0.0).active and Fusion(None, 0.0, 1.0).active


def test_fused_search_matches_brute_force_on_random_posteriors_and_lms():
    rng = np.random.default_rng(0)
    for trial in range(15):
        frames, vocab = 5, 4  # blank, two labels, <eos> (never emitted by CTC)
        probs = rng.dirichlet(np.ones(vocab - 1), size=frames)
        probs = np.concatenate([probs, np.full((frames, 1), 1e-9)], axis=1)
        logp = np.log(probs / probs.sum(axis=1, keepdims=True))
        lm = BigramLM(rng.dirichlet(np.ones(vocab), size=vocab))
        w, bonus = [0.3, 1.0, 2.0][trial % 3], [0.0, 0.5][trial % 2]
        best, best_score = None, -math.inf
        for n in range(frames + 1):
            for seq in itertools.product((1, 2), repeat=n):
                ctc = float(ctc_log_likelihood(torch.from_numpy(logp), list(seq)))
                s = ctc + w * lm.log_prob(seq) + bonus * n
                if s > best_score:
                    best, best_score = list(seq), s
        ids, score, _ = fused_beam_search(logp, 64, Fusion(lm, w, bonus))
        assert ids == best and score == pytest.approx(best_score)


def test_the_lm_is_asked_once_per_prefix_that_enters_the_beam():
    rng = np.random.default_rng(2)
    logp = np.log(rng.dirichlet(np.ones(5), size=30))
    lm = BigramLM(rng.dirichlet(np.ones(5), size=5))
    fused_beam_search(logp, 4, Fusion(lm, 0.5, 0.0))
    assert 0 < lm.steps <= 30  # one batched call per frame at most
    # A length bonus alone lengthens the output; no LM is needed for it.
    plain = prefix_beam_search(logp, 4)[0]
    longer = fused_beam_search(logp, 4, Fusion(None, 0.0, 5.0))[0]
    assert len(longer) > len(plain)
