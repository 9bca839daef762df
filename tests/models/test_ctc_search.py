"""lrspeech.models.ctc_search: CTC prefix beam search, against brute force and ESPnet's search."""

import itertools
import math

import numpy as np
import pytest
import torch

from lrspeech.data.audio import load_audio
from lrspeech.models.ctc_search import CtcPrefixSearch, ctc_log_likelihood, prefix_beam_search
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
