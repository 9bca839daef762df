"""lrspeech.models.lm: the numpy LSTM step equals ESPnet's LM; token lists are checked."""

import numpy as np
import pytest
import torch
from espnet2.lm.seq_rnn_lm import SequentialRNNLM

from lrspeech.models.lm import LmMismatchError, NumpyLstm, check_tokens, token_digest


@pytest.mark.parametrize("nlayers", [1, 2])
def test_numpy_step_equals_espnet_batch_score(nlayers):
    torch.manual_seed(0)
    lm = SequentialRNNLM(vocab_size=9, unit=16, nhid=12, nlayers=nlayers, rnn_type="lstm").eval()
    twin = NumpyLstm.of(lm)
    assert twin is not None
    rng = np.random.default_rng(0)
    states_t, states_n = [None, None, None], [None, None, None]
    for _ in range(4):
        tokens = rng.integers(1, 9, size=3).tolist()
        with torch.no_grad():
            logp_t, states_t = lm.batch_score(torch.tensor(tokens).view(-1, 1), states_t, None)
        out = twin.step(states_n, tokens)
        states_n = [s for s, _ in out]
        got = np.stack([row for _, row in out])
        np.testing.assert_allclose(got, logp_t.numpy(), atol=1e-5)
    gru = SequentialRNNLM(vocab_size=9, unit=8, nlayers=1, rnn_type="gru")
    assert NumpyLstm.of(gru) is None  # other LMs are stepped by torch


def test_token_lists_must_match():
    class Fake:
        model_dir = "exp/lm/model"
        tokens = ["<blank>", "<unk>", "a", "<space>", "<sos/eos>"]

    check_tokens(Fake(), list(Fake.tokens), "exp/asr")
    with pytest.raises(LmMismatchError, match="not the ASR's.*lm_train --token_list"):
        check_tokens(Fake(), ["<blank>", "<unk>", "b", "<space>", "<sos/eos>"], "exp/asr")
    assert token_digest(["a", "b"]) != token_digest(["b", "a"])
