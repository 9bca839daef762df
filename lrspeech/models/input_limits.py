"""The shortest audio an ASR encoder takes, measured on the model itself.

Usage: python -c "from lrspeech.models.input_limits import InputLimit; \
print(InputLimit(1408, 16000).reason(300))"

Why: an ESPnet encoder's convolutional subsampling needs a minimum number of feature frames
(Conv2dSubsampling more than 6, the 6x and 8x variants more than 10 and 14), and a frontend
with centred reflect-padded STFT needs more samples than half its FFT window. A synthesized or
pseudo-labelled clip below that crashes the encoder (TooShortUttError). The limit depends on
the frontend's hop and window and on the encoder's subsampling, so it is not a constant: it is
found by encoding quiet noise of growing length (a binary search of about 15 short encodes)
and taking the shortest input the model accepts. Every step that feeds audio to an ASR checks
clips against it and leaves out the ones below (lrspeech.data.skips).
"""

import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

from lrspeech.data.skips import EMPTY, TOO_SHORT
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

PROBE_SECONDS = 4.0  # a length every ASR must take; the search runs below it


class EncoderProbeError(LrspeechError, RuntimeError):
    """The encoder rejected even the longest probe: the model itself is broken."""


@dataclass(frozen=True)
class InputLimit:
    """Fewest samples (at `sample_rate`) the encoder takes."""

    min_samples: int
    sample_rate: int

    @property
    def min_seconds(self) -> float:
        return self.min_samples / self.sample_rate

    def reason(self, n_samples: int) -> Optional[str]:
        """`empty`, `too_short`, or None when a clip of `n_samples` can be encoded."""
        if n_samples <= 0:
            return EMPTY
        if n_samples < self.min_samples:
            return TOO_SHORT
        return None

    def describe(self, n_samples: int) -> str:
        """Why a clip of `n_samples` is left out, for logs and skip records."""
        return (f"{n_samples} samples ({n_samples / self.sample_rate:.3f} s); the ASR encoder "
                f"needs at least {self.min_samples} ({self.min_seconds:.3f} s) for its "
                "frontend and subsampling")


def shortest_accepted(accepts: Callable[[int], bool], upper: int) -> int:
    """Smallest n in [1, upper] with `accepts(n)`, for a monotone `accepts` (binary search)."""
    if not accepts(upper):
        raise EncoderProbeError(f"the encoder rejects {upper} samples of audio")
    lo, hi = 0, upper  # accepts(lo) is False (nothing to encode), accepts(hi) is True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if accepts(mid):
            hi = mid
        else:
            lo = mid
    return hi


def encodes(asr_model: Any, n_samples: int) -> bool:
    """Whether `asr_model.encode` takes `n_samples` of quiet noise and gives >= 1 frame."""
    import torch

    noise = np.random.default_rng(n_samples).normal(0.0, 1e-3, n_samples).astype(np.float32)
    speech = torch.from_numpy(noise)[None]
    lengths = torch.tensor([n_samples], dtype=torch.long)
    try:
        with torch.no_grad():
            enc, enc_lens = asr_model.encode(speech, lengths)
    except Exception:  # noqa: BLE001 - any refusal (TooShortUttError, STFT padding) means "no"
        return False
    return int(enc_lens[0]) >= 1


def measure_limit(asr_model: Any, sample_rate: int) -> InputLimit:
    """The InputLimit of an ESPnet ASR model (`Speech2Text.asr_model`) at `sample_rate`."""
    was_training = bool(getattr(asr_model, "training", False))
    if hasattr(asr_model, "eval"):
        asr_model.eval()
    try:
        n = shortest_accepted(lambda k: encodes(asr_model, k), int(PROBE_SECONDS * sample_rate))
    except EncoderProbeError as err:
        raise EncoderProbeError(f"{err} ({PROBE_SECONDS} s at {sample_rate} Hz); the ASR model "
                                "cannot encode audio at all: check its config and checkpoint"
                                ) from err
    finally:
        if was_training:
            asr_model.train()
    limit = InputLimit(n, sample_rate)
    logger.debug("ASR encoder takes clips of >= %d samples (%.3f s)", n, limit.min_seconds)
    return limit


class _FrontendEncoder:
    """Frontend + encoder of an ASR config, built untrained: enough to measure the limit."""

    def __init__(self, frontend: Any, encoder: Any) -> None:
        self.frontend, self.encoder, self.training = frontend, encoder, False

    def eval(self) -> None:
        self.frontend.eval()
        self.encoder.eval()

    def encode(self, speech: Any, lengths: Any) -> Any:
        feats, feat_lens = self.frontend(speech, lengths)
        out = self.encoder(feats, feat_lens)
        return out[0], out[1]


def measure_config_limit(config: Mapping[str, Any]) -> InputLimit:
    """The InputLimit of the ASR an ESPnet training config describes (frontend + encoder).

    For training data, before any model exists: the limit depends only on the architecture.
    """
    from espnet2.tasks.asr import encoder_choices, frontend_choices

    frontend_name = config.get("frontend") or "default"
    frontend_conf = dict(config.get("frontend_conf") or {})
    frontend = frontend_choices.get_class(frontend_name)(**frontend_conf)
    encoder = encoder_choices.get_class(config["encoder"])(
        input_size=frontend.output_size(), **dict(config.get("encoder_conf") or {}))
    from lrspeech.models.packing import sample_rate_of

    return measure_limit(_FrontendEncoder(frontend, encoder), sample_rate_of(config))
