"""Tests for lrspeech.models.input_limits: the shortest audio an ASR encoder takes, measured
on the model (frontend hop, STFT padding, subsampling), not a constant."""

from pathlib import Path

import pytest
import torch
from espnet.nets.pytorch_backend.transformer.subsampling import TooShortUttError

from lrspeech.data.skips import EMPTY, TOO_SHORT
from lrspeech.models.input_limits import (
    EncoderProbeError,
    InputLimit,
)
from lrspeech.models.input_limits import _FrontendEncoder as FrontendEncoder
from lrspeech.models.input_limits import measure_config_limit, measure_limit, shortest_accepted
from lrspeech.models.tasks import read_config

REPO_CONF = Path(__file__).resolve().parents[2] / "conf" / "asr"


def test_input_limit_reasons():
    limit = InputLimit(960, 16000)
    assert limit.reason(0) == EMPTY and limit.reason(959) == TOO_SHORT
    assert limit.reason(960) is None and limit.min_seconds == pytest.approx(0.06)
    assert "400 samples (0.025 s); the ASR encoder needs at least 960" in limit.describe(400)


def test_shortest_accepted_is_a_binary_search():
    calls = []

    def accepts(n):
        calls.append(n)
        return n >= 1234

    assert shortest_accepted(accepts, 64000) == 1234 and len(calls) <= 18
    with pytest.raises(EncoderProbeError, match="rejects 10 samples"):
        shortest_accepted(lambda n: False, 10)


@pytest.mark.parametrize("input_layer,frames", [("conv2d", 7), ("conv2d6", 11), ("conv2d8", 15)])
def test_the_limit_follows_the_subsampling(input_layer, frames):
    config = read_config(REPO_CONF / "transformer_tiny.yaml")
    config["encoder_conf"]["input_layer"] = input_layer
    limit = measure_config_limit(config)
    hop = config["frontend_conf"]["hop_length"]
    assert limit.min_samples == (frames - 1) * hop  # centred STFT: n // hop + 1 frames
    # ESPnet itself refuses one sample less, for the subsampling's own reason
    model = _built(config)
    for n, ok in ((limit.min_samples, True), (limit.min_samples - 1, False)):
        x = torch.zeros(1, n)
        if ok:
            model.encode(x, torch.tensor([n]))
        else:
            with pytest.raises(TooShortUttError):
                model.encode(x, torch.tensor([n]))


def test_a_longer_hop_needs_more_samples():
    config = read_config(REPO_CONF / "conformer_paper.yaml")
    base = measure_config_limit(config)
    config["frontend_conf"]["hop_length"] = 2 * config["frontend_conf"].get("hop_length", 128)
    assert measure_config_limit(config).min_samples > base.min_samples


def test_measure_limit_restores_training_mode():
    config = read_config(REPO_CONF / "transformer_tiny.yaml")
    model = _built(config)
    model.frontend.train()
    model.training = True
    calls = []
    model.train = lambda: calls.append("train")
    measure_limit(model, 16000)
    assert calls == ["train"]


def _built(config):
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    frontend = frontend_choices.get_class(config.get("frontend", "default"))(
        **config["frontend_conf"])
    encoder = encoder_choices.get_class(config["encoder"])(
        input_size=frontend.output_size(), **config["encoder_conf"])
    model = FrontendEncoder(frontend, encoder)
    model.eval()
    return model
