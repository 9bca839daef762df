"""MixSpeech: feature mixing, the l-weighted loss on a fixed real batch, training and decoding."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from espnet2.asr.espnet_model import ESPnetASRModel

from lrspeech.models.espnet_train import TrainedExp, train
from lrspeech.models.mixspeech import MixPlan, MixSpeechASRModel, derangement, mix_features
from lrspeech.models.tasks import build_model

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
NO_DROPOUT = {
    "normalize": "utterance_mvn",
    "encoder_conf.dropout_rate": 0.0,
    "encoder_conf.positional_dropout_rate": 0.0,
    "encoder_conf.attention_dropout_rate": 0.0,
    "decoder_conf.dropout_rate": 0.0,
    "decoder_conf.positional_dropout_rate": 0.0,
    "decoder_conf.self_attention_dropout_rate": 0.0,
    "decoder_conf.src_attention_dropout_rate": 0.0,
}


def char_tokens(texts):
    chars = sorted({c for t in texts for c in t.replace(" ", "")})
    return ["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]


@pytest.fixture(scope="module")
def batch(an4_rows):
    """Three real AN4 clips of different lengths and their character ids."""
    rows = [r for r in an4_rows if r["id"] in ("an46-mmap-b", "an443-mmxg-b", "an409-fcaw-b")]
    tokens = char_tokens([r["text"] for r in an4_rows])
    waves = [sf.read(r["audio"], dtype="float32")[0] for r in rows]
    ids = [[tokens.index(c) for c in r["text"]] for r in rows]
    speech = torch.zeros(len(waves), max(len(w) for w in waves))
    text = torch.full((len(ids), max(len(i) for i in ids)), -1, dtype=torch.long)
    for b, (w, i) in enumerate(zip(waves, ids)):
        speech[b, : len(w)] = torch.from_numpy(w)
        text[b, : len(i)] = torch.tensor(i)
    return tokens, {
        "speech": speech,
        "speech_lengths": torch.tensor([len(w) for w in waves]),
        "text": text,
        "text_lengths": torch.tensor([len(i) for i in ids]),
    }


def make_model(tokens, **model_conf):
    overrides = {**NO_DROPOUT, "model": "mixspeech"}
    overrides.update({f"model_conf.{k}": v for k, v in model_conf.items()})
    torch.manual_seed(0)
    model = build_model("asr", CONFIG, tokens, overrides)
    model.train()
    return model


def copy_batch(batch):
    return {k: v.clone() for k, v in batch.items()}


def by_hand(model, batch, plan):
    """loss = mean_b [w_b L(X_mix_b, Y_b) + (1 - w_b) L(X_mix_b, Y_partner(b))], per utterance."""
    feats, lens = model._extract_feats(batch["speech"], batch["speech_lengths"])
    feats, lens = model.normalize(feats, lens)
    x = feats.clone()
    for b in range(len(x)):
        x[b, lens[b]:] = 0.0  # zero-pad both sources
    mixed, mixed_lens = feats.clone(), lens.clone()  # unmixed: untouched, padding included
    for b in range(len(x)):
        if plan.mixed[b]:
            p = int(plan.partner[b])
            n = max(lens[b], lens[p]) if plan.lam < 1 else lens[b]
            mixed[b, :n] = plan.lam * x[b, :n] + (1 - plan.lam) * x[p, :n]
            mixed_lens[b] = n
    enc, enc_lens, _ = model.encoder(mixed, mixed_lens)
    total = 0.0
    for b in range(len(x)):
        w = plan.lam if plan.mixed[b] else 1.0
        for weight, target in ((w, b), (1 - w, int(plan.partner[b]))):
            if weight == 0:
                continue
            ys = batch["text"][target : target + 1, : batch["text_lengths"][target]]
            ys_lens = batch["text_lengths"][target : target + 1]
            ctc = model.ctc(enc[b : b + 1], enc_lens[b : b + 1], ys, ys_lens)
            att = model._calc_att_loss(enc[b : b + 1], enc_lens[b : b + 1], ys, ys_lens)[0]
            loss = model.ctc_weight * ctc + (1 - model.ctc_weight) * att
            total = total + weight * loss
    return total / len(x)


def fixed_plan(model, plan):
    model.draw_mix_plan = lambda batch_size, device: plan


def test_mix_features_weights_pads_and_takes_longer_length():
    feats = torch.tensor([[[1.0], [2.0], [9.0]], [[10.0], [20.0], [30.0]]])  # 9.0 is padding
    lengths = torch.tensor([2, 3])
    plan = MixPlan(lam=0.25, mixed=torch.tensor([True, False]), partner=torch.tensor([1, 0]))
    mixed, new_lengths = mix_features(feats, lengths, plan)
    assert mixed[0, :, 0].tolist() == [0.25 * 1 + 0.75 * 10, 0.25 * 2 + 0.75 * 20, 0.75 * 30]
    assert mixed[1, :, 0].tolist() == [10.0, 20.0, 30.0]  # not mixed
    assert new_lengths.tolist() == [3, 3]
    whole = MixPlan(lam=1.0, mixed=torch.tensor([True, True]), partner=torch.tensor([1, 0]))
    same, same_lengths = mix_features(feats, lengths, whole)
    assert same_lengths.tolist() == [2, 3]  # l = 1: the partner adds nothing, not even length
    assert torch.equal(same, feats)  # padding (9.0) kept as unmixed utterances keep it


def test_derangement_has_no_fixed_points():
    torch.manual_seed(1)
    for n in (2, 3, 8):
        for _ in range(20):
            partner = derangement(n, torch.device("cpu"))
            assert sorted(partner.tolist()) == list(range(n))
            assert all(partner[i] != i for i in range(n))


def test_draw_mix_plan_share_and_lambda(batch):
    tokens, _ = batch
    model = make_model(tokens, mix_share=0.15, mix_alpha=0.5)
    torch.manual_seed(2)
    plans = [model.draw_mix_plan(8, torch.device("cpu")) for _ in range(2000)]
    shares = np.array([p.share for p in plans])
    lams = np.array([p.lam for p in plans])
    assert abs(shares.mean() - 0.15) < 0.01
    assert set(np.round(shares * 8).astype(int)) <= {1, 2}  # 1.2 utterances: 1 or 2
    assert 0.0 < lams.min() and lams.max() < 1.0
    assert abs(lams.mean() - 0.5) < 0.03
    assert np.mean((lams < 0.1) | (lams > 0.9)) > 0.3  # Beta(0.5, 0.5) is U-shaped


def test_loss_is_the_lambda_weighted_sum(batch):
    tokens, data = batch
    model = make_model(tokens)
    plan = MixPlan(lam=0.3, mixed=torch.tensor([True, True, False]),
                   partner=torch.tensor([1, 2, 0]))
    fixed_plan(model, plan)
    loss, stats, weight = model(**copy_batch(data))
    expected = by_hand(model, copy_batch(data), plan)
    assert torch.allclose(loss, expected, rtol=1e-4), (loss, expected)
    assert float(stats["mix_lambda"]) == pytest.approx(0.3)
    assert float(stats["mix_share"]) == pytest.approx(2 / 3)
    assert int(weight) == 3
    loss.backward()
    assert model.encoder.encoders[0].feed_forward.w_1.weight.grad.abs().sum() > 0


def test_loss_differs_from_the_unmixed_loss(batch):
    tokens, data = batch
    model = make_model(tokens)
    fixed_plan(model, MixPlan(lam=0.3, mixed=torch.ones(3, dtype=torch.bool),
                              partner=torch.tensor([1, 2, 0])))
    mixed_loss = model(**copy_batch(data))[0].item()
    plain_loss = ESPnetASRModel.forward(model, **copy_batch(data))[0].item()
    assert abs(mixed_loss - plain_loss) > 1e-3


def test_lambda_one_equals_the_plain_loss(batch):
    tokens, data = batch
    model = make_model(tokens)
    fixed_plan(model, MixPlan(lam=1.0, mixed=torch.ones(3, dtype=torch.bool),
                              partner=torch.tensor([1, 2, 0])))
    loss, stats, _ = model(**copy_batch(data))
    plain, plain_stats, _ = ESPnetASRModel.forward(model, **copy_batch(data))
    assert torch.allclose(loss, plain, rtol=1e-5)
    assert torch.allclose(stats["loss_ctc"], plain_stats["loss_ctc"], rtol=1e-5)
    assert torch.allclose(stats["loss_att"], plain_stats["loss_att"], rtol=1e-5)


def test_share_zero_equals_the_plain_loss(batch):
    tokens, data = batch
    model = make_model(tokens, mix_share=0.0)
    loss, stats, _ = model(**copy_batch(data))
    plain = ESPnetASRModel.forward(model, **copy_batch(data))[0]
    assert torch.equal(loss, plain)
    assert float(stats["mix_share"]) == 0.0 and float(stats["mix_lambda"]) == 1.0


def test_eval_mode_never_mixes(batch):
    tokens, data = batch
    model = make_model(tokens, mix_share=1.0)
    model.eval()
    model.draw_mix_plan = lambda *a: pytest.fail("eval must not draw a mixing plan")
    with torch.no_grad():
        loss, stats, _ = model(**copy_batch(data))
        plain = ESPnetASRModel.forward(model, **copy_batch(data))[0]
    assert torch.equal(loss, plain)


@pytest.mark.parametrize("conf, message", [
    ({"mix_alpha": 0.0}, "model_conf.mix_alpha must be > 0"),
    ({"mix_share": 1.5}, "model_conf.mix_share must be in [0, 1]"),
    ({"interctc_weight": 0.3}, "supports the hybrid CTC/attention model only"),
])
def test_bad_model_conf(batch, conf, message):
    tokens, _ = batch
    with pytest.raises(ValueError) as err:
        make_model(tokens, **conf)
    assert message in str(err.value)


DECODE = """
import json, sys
import lrspeech
import soundfile as sf
from espnet2.bin.asr_inference import Speech2Text
s2t = Speech2Text(asr_train_config=sys.argv[1], asr_model_file=sys.argv[2], beam_size=2,
                  ctc_weight=0.5, maxlenratio=0.3, nbest=1)
wave, sr = sf.read(sys.argv[3], dtype="float32")
text = s2t(wave)[0][0]
print(json.dumps({"model": type(s2t.asr_model).__name__, "text": text}))
"""


def test_mixspeech_trains_and_decodes_with_speech2text_after_import_lrspeech(
    micro_asr, tmp_path, an4_rows
):
    exp = train(
        "asr", CONFIG, micro_asr.train_dir, micro_asr.valid_dir, micro_asr.stats_file.parents[1],
        tmp_path / "exp_mix", micro_asr.token_list, "char",
        extra_args=["--model", "mixspeech", "--model_conf", "mix_share=0.5",
                    "--max_epoch", "1", "--num_iters_per_epoch", "2", "--num_att_plot", "0",
                    "--use_tensorboard", "false"],
    )
    trained = TrainedExp.load(exp)
    config = (exp / "config.yaml").read_text(encoding="utf-8")
    assert "model: mixspeech" in config and "mix_share: 0.5" in config
    assert (exp / "images" / "mix_lambda.png").is_file()  # the reporter saw l
    assert (exp / "images" / "mix_share.png").is_file()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", DECODE, str(trained.config), str(trained.checkpoint),
         an4_rows[0]["audio"]],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model"] == MixSpeechASRModel.__name__
    assert isinstance(result["text"], str)
