"""FastSpeech attention through torch's SDPA: the same function, only for FastSpeech models."""

import argparse
import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from lrspeech.models.fused_attention import FusedAttentionTTSTask, fuse_attention
from lrspeech.models.tasks import build_model, get_task, read_config

REPO = Path(__file__).resolve().parents[2]
FS2_TINY = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
TRANSFORMER_TINY = REPO / "conf" / "tts" / "transformer_tiny.yaml"
TOKENS = ["<blank>", "<unk>", "a", "b", "c", "d", "e", "<sos/eos>"]


def attention_layers(model: torch.nn.Module):
    from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention

    return [m for m in model.modules() if isinstance(m, MultiHeadedAttention)]


def fastspeech2() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("tts", FS2_TINY, token_list=TOKENS).eval()


def padded_batch() -> dict:
    """Two utterances of 5 and 3 tokens, 1.0 s and 0.75 s of a chirp, durations that fit."""
    rate, hop = 16000, 256
    t = np.arange(rate) / rate
    wave = 0.3 * np.sin(2 * np.pi * (120 + 80 * t) * t)
    lengths = [rate, 3 * rate // 4]
    speech = torch.zeros(2, rate)
    for i, n in enumerate(lengths):
        speech[i, :n] = torch.from_numpy(wave[:n]).float()
    frames = [n // hop + 1 for n in lengths]  # 63, 47
    durations = torch.tensor([[10, 12, 14, 10, 12, 5], [15, 15, 12, 5, 0, 0]])
    assert durations.sum(1).tolist() == frames
    return {"text": torch.tensor([[2, 3, 4, 5, 6], [4, 2, 3, 0, 0]]),
            "text_lengths": torch.tensor([5, 3]),
            "speech": speech, "speech_lengths": torch.tensor(lengths),
            "durations": durations, "durations_lengths": torch.tensor([6, 4])}


def test_fused_fastspeech2_computes_the_same_loss_and_gradients():
    plain = fastspeech2()
    fused = copy.deepcopy(plain)
    assert fuse_attention(fused) == 4  # 2 encoder and 2 decoder self-attention layers
    assert all(m.use_sdpa for m in attention_layers(fused))
    assert not any(m.use_sdpa for m in attention_layers(plain))
    batch = padded_batch()
    losses = []
    for model in (plain, fused):
        loss, stats, _ = model(**batch)
        loss.backward()
        losses.append(loss)
    assert losses[1].item() == pytest.approx(losses[0].item(), rel=1e-5)
    # the fused layers really ran: ESPnet's path keeps the weights, SDPA does not return them
    assert all(m.attn is not None for m in attention_layers(plain))
    assert all(m.attn is None for m in attention_layers(fused))
    grads = [torch.cat([p.grad.flatten() for p in m.parameters() if p.grad is not None])
             for m in (plain, fused)]
    assert grads[0].norm() > 0
    assert (grads[1] - grads[0]).norm() <= 1e-5 * grads[0].norm()


def test_fused_fastspeech2_synthesizes_the_same_features():
    plain = fastspeech2()
    fused = copy.deepcopy(plain)
    fuse_attention(fused)
    text = torch.tensor([2, 3, 4, 5, 6, 2, 3])
    with torch.no_grad():
        a = plain.tts.inference(text)["feat_gen"]
        b = fused.tts.inference(text)["feat_gen"]
    assert a.shape == b.shape and a.shape[0] > 0
    assert torch.allclose(a, b, atol=1e-5)


def test_models_that_read_attention_weights_are_left_alone():
    torch.manual_seed(0)
    transformer = build_model("tts", TRANSFORMER_TINY, token_list=TOKENS)  # guided attention loss
    assert fuse_attention(transformer) == 0
    assert not any(m.use_sdpa for m in attention_layers(transformer))


def task_args(**changes) -> argparse.Namespace:
    task = get_task("tts")
    args = vars(task.get_parser().parse_args([]))
    args.update(read_config(FS2_TINY), token_list=TOKENS, normalize=None, pitch_normalize=None,
                energy_normalize=None, **changes)
    return argparse.Namespace(**args)


def test_the_training_task_fuses_unless_asked_not_to_or_plotting():
    assert get_task("tts") is FusedAttentionTTSTask
    assert task_args().fused_attention is True  # the task's own option, on by default
    trained = FusedAttentionTTSTask.build_model(task_args(num_att_plot=0))
    assert all(m.use_sdpa for m in attention_layers(trained))
    plotted = FusedAttentionTTSTask.build_model(task_args(num_att_plot=3))
    assert not any(m.use_sdpa for m in attention_layers(plotted))
    off = FusedAttentionTTSTask.build_model(task_args(num_att_plot=0, fused_attention=False))
    assert not any(m.use_sdpa for m in attention_layers(off))
    parsed = FusedAttentionTTSTask.get_parser().parse_args(["--fused_attention", "false"])
    assert parsed.fused_attention is False
