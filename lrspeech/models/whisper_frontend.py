"""ESPnet frontend `whisper_ct2`: raw 16 kHz audio in, frozen Whisper encoder features out.

Usage: python -c "from lrspeech.models.whisper_frontend import WhisperFrontend as F; \
print(F(speech_encoder='whisper-base').output_size())"

Why: an ASR head trains on cached encoder features (lrspeech.pipeline.encoder_features, fast
epochs), but everything that runs a trained ASR (Speech2Text, the CTC aligner, the IR judge,
`transcribe`) gives it raw audio. Packing such a head swaps its `input_size` for this frontend
(registered into ESPnet's `frontend_choices` as `whisper_ct2`; ESPnet's own `whisper` frontend
runs the openai-whisper package in torch), so the packed model is an ordinary
raw-audio ESPnet ASR. The frontend has no trainable parameters; it checks that the encoder it
finds is the one the head was trained on (`sha256`, `dim`) and stops with a clear error if not.
"""

from typing import Any, Optional, Tuple

import numpy as np
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend

from lrspeech.errors import InputError
from lrspeech.models.speech_encoder import DEFAULT_ENCODER, SAMPLE_RATE, SpeechEncoder

WHISPER_FRONTEND = "whisper_ct2"


class WhisperFrontend(AbsFrontend):
    """Whisper encoder features (50 per second) of each waveform in a batch."""

    def __init__(self, fs: Any = SAMPLE_RATE, speech_encoder: str = DEFAULT_ENCODER,
                 sha256: Optional[str] = None, dim: Optional[int] = None, bucket_s: float = 1.0,
                 compute_type: str = "int8") -> None:
        super().__init__()
        rate = int(str(fs)[:-1]) * 1000 if str(fs).endswith("k") else int(fs)
        if rate != SAMPLE_RATE:
            raise InputError(f"the {WHISPER_FRONTEND} frontend reads {SAMPLE_RATE} Hz audio, "
                             f"not {rate}: resample it first")
        self.fs = rate
        self.encoder = SpeechEncoder.load(speech_encoder, compute_type=compute_type,
                                          bucket_s=bucket_s)
        self.encoder.check(sha256, dim, f"frontend {WHISPER_FRONTEND} ({speech_encoder})")
        self.hop_length = self.encoder.hop  # samples per output frame (the CTC aligner reads it)

    def output_size(self) -> int:
        return self.encoder.dim

    def forward(self, input: torch.Tensor, input_lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        wavs = [input[i, : int(n)].detach().cpu().numpy().astype(np.float32)
                for i, n in enumerate(input_lengths)]
        if any(len(w) == 0 for w in wavs):
            raise InputError(f"the {WHISPER_FRONTEND} frontend cannot encode an empty clip")
        feats = self.encoder.encode_many(wavs)
        lengths = torch.tensor([len(f) for f in feats], dtype=torch.long)
        out = torch.zeros(len(feats), int(lengths.max()), self.encoder.dim)
        for i, f in enumerate(feats):
            out[i, : len(f)] = torch.from_numpy(f)
        return out.to(input.device), lengths.to(input.device)
