"""MixSpeech: mixup of input features for low-resource ASR (Meng et al., ICASSP 2021).

Usage: python -m lrspeech.bin.asr_train --config conf/asr/transformer_tiny.yaml --model mixspeech \
    --model_conf mix_alpha=0.5 --model_conf mix_share=0.15 ...

A share of each training batch is replaced by mixtures of two utterances of the same batch,
X_mix = l * X_i + (1 - l) * X_j with l ~ Beta(alpha, alpha), and the model learns to recognise
both transcripts: loss = l * L(X_mix, Y_i) + (1 - l) * L(X_mix, Y_j), where L is ESPnet's
hybrid loss ctc_weight * L_ctc + (1 - ctc_weight) * L_att. The encoder runs once on the batch.

Where the mixing sits: ESPnet's `encode()` runs frontend -> SpecAugment -> normalisation ->
(pre)encoder. MixSpeech mixes the *normalised* features, right before the (pre)encoder, via a
forward pre-hook active only inside `forward()` in training mode. So SpecAugment masks each
source utterance independently before mixing, and both sources are on the same (normalised)
scale when they are added. Both sources are zero-padded and a mixed utterance takes the
longer of the two lengths (of the sources with nonzero weight). Evaluation and decoding
(`Speech2Text`) never mix. For a CTC head on a frozen speech encoder (the recipe's default,
conf/asr/whisper_ctc_tiny.yaml) the features are the encoder's output, cached per data dir:
MixSpeech then mixes normalised Whisper features, not log-mel spectra.

One l is drawn per batch; the number of mixed utterances is share * batch size, rounded
stochastically so the expected share is exact for small batches. Each mixed utterance is paired
with another utterance of the batch (a random permutation without fixed points). Losses of the
unmixed and mixed sub-batches are combined in proportion to their utterance counts, which
equals the per-utterance mean for ESPnet's (batch-averaged) CTC and attention losses.
`stats` carries `mix_lambda` and `mix_share` so ESPnet's reporter logs them.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

LOSS_KEYS = ("loss", "loss_ctc", "loss_att", "acc")


@dataclass(frozen=True)
class MixPlan:
    """Which utterances of a batch are mixed, with whom, and with which weight l."""

    lam: float
    mixed: torch.Tensor  # (B,) bool
    partner: torch.Tensor  # (B,) long: index j paired with utterance i

    @property
    def share(self) -> float:
        return float(self.mixed.float().mean()) if self.mixed.numel() else 0.0


def mix_features(
    feats: torch.Tensor, lengths: torch.Tensor, plan: MixPlan
) -> Tuple[torch.Tensor, torch.Tensor]:
    """X_mix = l*X_i + (1-l)*X_partner(i) for mixed i, both sources zero-padded.

    A mixed utterance lasts as long as the longer of its sources with a nonzero weight; its
    frames beyond that keep X_i's padding, as unmixed utterances do (ESPnet's utterance MVN
    leaves nonzero padding, which convolutional subsampling sees). So l = 1 gives back X_i
    exactly.
    """
    clean = feats.masked_fill(make_pad_mask(lengths, feats, 1), 0.0)
    mix = plan.lam * clean + (1.0 - plan.lam) * clean[plan.partner]
    own = lengths if plan.lam > 0.0 else torch.zeros_like(lengths)
    other = lengths[plan.partner] if plan.lam < 1.0 else torch.zeros_like(lengths)
    new_lengths = torch.where(plan.mixed, torch.maximum(own, other), lengths)
    view = (-1,) + (1,) * (feats.dim() - 1)
    use_mix = plan.mixed.view(view) & ~make_pad_mask(new_lengths, feats, 1)
    return torch.where(use_mix, mix, feats), new_lengths


def derangement(n: int, device: torch.device) -> torch.Tensor:
    """A random permutation of range(n) without fixed points (identity for n == 1)."""
    order = torch.randperm(n, device=device)
    partner = torch.empty_like(order)
    partner[order] = order.roll(-1)
    return partner


class MixSpeechASRModel(ESPnetASRModel):
    """ESPnet's hybrid CTC/attention ASR model trained with MixSpeech."""

    def __init__(self, *args, mix_alpha: float = 0.5, mix_share: float = 0.15, **kwargs):
        super().__init__(*args, **kwargs)
        if mix_alpha <= 0:
            raise InputError(f"model_conf.mix_alpha must be > 0 (Beta(a, a)); got {mix_alpha}")
        if not 0.0 <= mix_share <= 1.0:
            raise InputError(f"model_conf.mix_share must be in [0, 1]; got {mix_share}")
        if self.use_transducer_decoder or self.use_linear_decoder or self.interctc_weight > 0:
            raise InputError(
                "model: mixspeech supports the hybrid CTC/attention model only "
                "(no transducer or linear decoder, interctc_weight 0); use model: espnet"
            )
        self.mix_alpha = mix_alpha
        self.mix_share = mix_share

    def draw_mix_plan(self, batch_size: int, device: torch.device) -> MixPlan:
        """Sample l ~ Beta(a, a), the mixed utterances and their partners (torch's RNG)."""
        alpha = torch.tensor(float(self.mix_alpha))
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        expected = self.mix_share * batch_size
        n_mix = int(expected) + int(torch.rand(()) < expected - int(expected))
        mixed = torch.zeros(batch_size, dtype=torch.bool, device=device)
        mixed[torch.randperm(batch_size, device=device)[:n_mix]] = True
        return MixPlan(lam=lam, mixed=mixed, partner=derangement(batch_size, device))

    @contextmanager
    def _mixing(self, plan: MixPlan) -> Iterator[None]:
        """Mix the normalised features on their way into the (pre)encoder."""
        target = self.preencoder if self.preencoder is not None else self.encoder

        def hook(module: torch.nn.Module, args: Tuple) -> Tuple:
            feats, lengths = mix_features(args[0], args[1], plan)
            return (feats, lengths) + tuple(args[2:])

        handle = target.register_forward_pre_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    def _losses(
        self, enc: torch.Tensor, enc_lens: torch.Tensor, ys: torch.Tensor, ys_lens: torch.Tensor
    ) -> Dict[str, Optional[torch.Tensor]]:
        """ESPnet's hybrid loss of one (sub-)batch, through ESPnet's own loss methods."""
        loss_ctc = loss_att = acc = None
        if self.ctc_weight > 0.0:
            loss_ctc, _ = self._calc_ctc_loss(enc, enc_lens, ys, ys_lens)
        if self.ctc_weight < 1.0:
            loss_att, acc, _, _ = self._calc_att_loss(enc, enc_lens, ys, ys_lens)
        if loss_ctc is None:
            loss = loss_att
        elif loss_att is None:
            loss = loss_ctc
        else:
            loss = self.ctc_weight * loss_ctc + (1 - self.ctc_weight) * loss_att
        return {"loss": loss, "loss_ctc": loss_ctc, "loss_att": loss_att, "acc": acc}

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        batch_size = speech.shape[0]
        plan = self.draw_mix_plan(batch_size, speech.device) if self.training else None
        if plan is None or not bool(plan.mixed.any()):
            loss, stats, weight = super().forward(speech, speech_lengths, text, text_lengths)
            stats["mix_lambda"] = torch.tensor(1.0, device=loss.device)
            stats["mix_share"] = torch.tensor(0.0, device=loss.device)
            return loss, stats, weight

        text = text.clone()
        text[text == -1] = self.ignore_id
        text = text[:, : text_lengths.max()]
        with self._mixing(plan):
            enc, enc_lens = self.encode(speech, speech_lengths)
        totals = self._combine(self._terms(plan, enc, enc_lens, text, text_lengths), batch_size)
        logger.debug("MixSpeech: l=%.3f share=%.3f", plan.lam, plan.share)
        stats = {
            "loss_ctc": _detach(totals["loss_ctc"]),
            "cer_ctc": None,
            "loss_att": _detach(totals["loss_att"]),
            "acc": totals["acc"],
            "cer": None,
            "wer": None,
            "loss": totals["loss"].detach(),
            "mix_lambda": torch.tensor(plan.lam),
            "mix_share": torch.tensor(plan.share),
        }
        return force_gatherable((totals["loss"], stats, batch_size), totals["loss"].device)

    def _terms(
        self,
        plan: MixPlan,
        enc: torch.Tensor,
        enc_lens: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
    ) -> List[Tuple[int, float, Dict[str, Optional[torch.Tensor]]]]:
        """(utterance count, weight, losses): unmixed vs Y, mixed vs Y_i (l), mixed vs Y_j (1-l)."""
        terms = []
        kept, mixed = ~plan.mixed, plan.mixed
        if bool(kept.any()):
            losses = self._losses(enc[kept], enc_lens[kept], text[kept], text_lengths[kept])
            terms.append((int(kept.sum()), 1.0, losses))
        n_mixed = int(mixed.sum())
        ys_j, ys_j_lens = text[plan.partner][mixed], text_lengths[plan.partner][mixed]
        for weight, ys, ys_lens in (
            (plan.lam, text[mixed], text_lengths[mixed]),
            (1.0 - plan.lam, ys_j, ys_j_lens),
        ):
            if weight > 0.0:
                losses = self._losses(enc[mixed], enc_lens[mixed], ys, ys_lens)
                terms.append((n_mixed, weight, losses))
        return terms

    @staticmethod
    def _combine(terms: List[Tuple[int, float, Dict]], batch_size: int) -> Dict:
        """Sum of count/B * weight * value per loss key (None where a branch is off)."""
        totals: Dict = {}
        for key in LOSS_KEYS:
            values = [(n * w / batch_size, d[key]) for n, w, d in terms if d[key] is not None]
            totals[key] = sum(c * v for c, v in values) if values else None
        return totals


def _detach(value: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return value.detach() if isinstance(value, torch.Tensor) else value
