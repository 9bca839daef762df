"""NISQA-TTS naturalness MOS from a weights file the user provides (never downloaded).

Usage: python -c "from lrspeech.eval.nisqa import NisqaTTS; print(NisqaTTS('nisqa_tts.tar').args)"

NISQA (Mittag et al., Interspeech 2021) scores a 48-band mel spectrogram cut into
overlapping 15-frame segments: a small CNN embeds each segment, self-attention layers
relate the segments, and attention pooling gives one MOS. The published NISQA-TTS weights
are licensed for non-commercial use only, so this module only loads them from a path the
user gives. The checkpoint is a torch file holding `args` (the architecture and mel
settings) and `model_state_dict`; the parameter names below follow that layout, and a
file that does not match is rejected with the names that differ. Only the configuration
NISQA-TTS uses is built: CNN `adapt`, time dependency `self_att` then `skip`, pooling `att`.
"""

import copy
import logging
import math
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrspeech.data.audio import resample
from lrspeech.eval.features import mel_filterbank, stft_power
from lrspeech.eval.inputs import EvalInputError

logger = logging.getLogger(__name__)

SUPPORTED = {"cnn_model": "adapt", "td": "self_att", "td_2": "skip", "pool": "att"}


class AdaptCNN(nn.Module):
    """Segment embedding: six conv layers with adaptive max pooling to fixed sizes."""

    def __init__(self, a: Dict[str, Any]) -> None:
        super().__init__()
        k = a["cnn_kernel_size"]
        k = (k, k) if isinstance(k, int) else tuple(k)
        self.pool_1, self.pool_2, self.pool_3 = (tuple(a[f"cnn_pool_{i}"]) for i in (1, 2, 3))
        c1, c2, c3 = a["cnn_c_out_1"], a["cnn_c_out_2"], a["cnn_c_out_3"]
        pad = (1, 0) if k[1] == 1 else (1, 1)
        self.conv1 = nn.Conv2d(1, c1, k, padding=pad)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, k, padding=pad)
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, c3, k, padding=pad)
        self.bn3 = nn.BatchNorm2d(c3)
        self.conv4 = nn.Conv2d(c3, c3, k, padding=pad)
        self.bn4 = nn.BatchNorm2d(c3)
        self.conv5 = nn.Conv2d(c3, c3, k, padding=pad)
        self.bn5 = nn.BatchNorm2d(c3)
        self.conv6 = nn.Conv2d(c3, c3, (k[0], self.pool_3[1]), padding=(1, 0))
        self.bn6 = nn.BatchNorm2d(c3)
        self.dropout = nn.Dropout2d(a.get("cnn_dropout", 0.0))
        fc_out = a.get("cnn_fc_out_h")
        self.fc = nn.Linear(c3 * self.pool_3[0], fc_out) if fc_out else None
        self.fan_out = fc_out or c3 * self.pool_3[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_max_pool2d(F.relu(self.bn1(self.conv1(x))), self.pool_1)
        x = F.adaptive_max_pool2d(F.relu(self.bn2(self.conv2(x))), self.pool_2)
        x = F.relu(self.bn3(self.conv3(self.dropout(x))))
        x = F.relu(self.bn4(self.conv4(self.dropout(x))))
        x = F.adaptive_max_pool2d(x, self.pool_3)
        x = F.relu(self.bn5(self.conv5(self.dropout(x))))
        x = F.relu(self.bn6(self.conv6(self.dropout(x))))
        x = x.reshape(-1, self.conv6.out_channels * self.pool_3[0])
        return self.fc(x) if self.fc is not None else x


class Framewise(nn.Module):
    """Applies the CNN to every segment of every clip."""

    def __init__(self, a: Dict[str, Any]) -> None:
        super().__init__()
        self.model = AdaptCNN(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[:2]
        return self.model(x.reshape(b * n, *x.shape[2:])).reshape(b, n, -1)


class SelfAttentionLayer(nn.Module):
    """Post-norm transformer encoder layer (attention, then feed-forward)."""

    def __init__(self, d_model: int, nhead: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        src = self.norm1(
            src + self.dropout1(self.self_attn(src, src, src, key_padding_mask=pad_mask)[0])
        )
        ff = self.linear2(self.dropout(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout2(ff))


class PositionalEncoding(nn.Module):
    """Sinusoidal positions added to (time, batch, d) inputs."""

    def __init__(self, d_model: int, dropout: float, max_len: int = 5000) -> None:
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(pos * div)
        pe[:, 0, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.size(0)])


class SelfAttention(nn.Module):
    """Linear projection, layer norm, optional positions, then N self-attention layers."""

    def __init__(self, input_size: int, a: Dict[str, Any]) -> None:
        super().__init__()
        d, drop = a["td_sa_d_model"], a.get("td_sa_dropout", 0.0)
        layer = SelfAttentionLayer(d, a["td_sa_nhead"], a["td_sa_h"], drop)
        self.linear = nn.Linear(input_size, d)
        self.norm1 = nn.LayerNorm(d)
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(a["td_sa_num_layers"]))
        self.pos_encoder = PositionalEncoding(d, drop) if a.get("td_sa_pos_enc") else nn.Identity()

    def forward(self, x: torch.Tensor, n_wins: torch.Tensor) -> torch.Tensor:
        pad_mask = torch.arange(x.shape[1])[None, :] >= n_wins[:, None]
        out = self.pos_encoder(self.norm1(self.linear(x).transpose(0, 1)))
        for layer in self.layers:
            out = layer(out, pad_mask)
        return out.transpose(0, 1)


class TimeDependency(nn.Module):
    def __init__(self, input_size: int, a: Dict[str, Any]) -> None:
        super().__init__()
        self.model = SelfAttention(input_size, a)
        self.fan_out = a["td_sa_d_model"]

    def forward(self, x: torch.Tensor, n_wins: torch.Tensor) -> torch.Tensor:
        return self.model(x, n_wins)


class PoolAtt(nn.Module):
    """Attention pooling over segments (padding masked), then a linear output."""

    def __init__(self, d_input: int, att_h: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_input, att_h)
        self.linear2 = nn.Linear(att_h, 1)
        self.linear3 = nn.Linear(d_input, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, n_wins: torch.Tensor) -> torch.Tensor:
        att = self.linear2(self.dropout(F.relu(self.linear1(x)))).transpose(2, 1)
        valid = torch.arange(att.shape[2])[None, :] < n_wins[:, None]
        att = att.masked_fill(~valid.unsqueeze(1), float("-inf")).softmax(dim=2)
        return self.linear3(torch.bmm(att, x).squeeze(1))


class Pooling(nn.Module):
    def __init__(self, d_input: int, a: Dict[str, Any]) -> None:
        super().__init__()
        self.model = PoolAtt(d_input, a["pool_att_h"], a.get("pool_att_dropout", 0.0))

    def forward(self, x: torch.Tensor, n_wins: torch.Tensor) -> torch.Tensor:
        return self.model(x, n_wins)


class NisqaModel(nn.Module):
    """CNN over segments -> self-attention -> attention pooling -> MOS."""

    def __init__(self, args: Dict[str, Any]) -> None:
        super().__init__()
        self.cnn = Framewise(args)
        self.time_dependency = TimeDependency(self.cnn.model.fan_out, args)
        self.pool = Pooling(self.time_dependency.fan_out, args)

    def forward(self, x: torch.Tensor, n_wins: torch.Tensor) -> torch.Tensor:
        return self.pool(self.time_dependency(self.cnn(x), n_wins), n_wins)


def mel_db(x: np.ndarray, sr: int, a: Dict[str, Any]) -> np.ndarray:
    """(n_mels, frames) amplitude mel spectrogram in dB (ref 1, floor 1e-4, top 80 dB)."""
    hop = int(sr * a.get("ms_hop_length", 0.01))
    win = int(sr * a.get("ms_win_length", 0.02))
    n_fft = a.get("ms_n_fft", 4096)
    # fmax may lie above Nyquist (20 kHz on 16 kHz audio): the top bands then stay empty,
    # exactly as in the features the model was trained on.
    fb = mel_filterbank(sr, n_fft, a.get("ms_n_mels", 48), 0.0, float(a.get("ms_fmax", 20e3)))
    mel = fb @ np.sqrt(stft_power(x, n_fft, hop, win))
    db = 20.0 * np.log10(np.maximum(mel, 1e-4))
    return np.maximum(db, db.max() - 80.0)


def segments(spec: np.ndarray, seg_length: int, seg_hop: int) -> torch.Tensor:
    """(n_segments, 1, n_mels, seg_length) overlapping segments of a spectrogram."""
    if spec.shape[1] < seg_length:
        spec = np.pad(spec, ((0, 0), (0, seg_length - spec.shape[1])), mode="edge")
    starts = np.arange(0, spec.shape[1] - seg_length + 1, seg_hop)
    segs = np.stack([spec[:, s : s + seg_length] for s in starts])
    return torch.from_numpy(segs[:, None].astype(np.float32))


class NisqaTTS:
    """Load NISQA-TTS weights from `path`; call on (audio, sr) for a naturalness MOS."""

    def __init__(self, path: Union[str, Path]) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: NISQA-TTS weights not found; download nisqa_tts.tar yourself "
                "(non-commercial licence) and pass its path, or leave the option empty to skip"
            )
        ckpt = self._read(path)
        self.args = dict(ckpt["args"])
        self._check_args(path)
        self.model = NisqaModel(self.args)
        self._load_weights(path, ckpt["model_state_dict"])
        self.model.eval()

    def _load_weights(self, path: Path, state: Dict[str, torch.Tensor]) -> None:
        fix = "give the NISQA-TTS weights file (nisqa_tts.tar)"
        try:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shape mismatches
            msg = str(err).splitlines()[1:3]
            raise EvalInputError(
                f"{path}: weights do not fit the NISQA-TTS architecture ({' '.join(msg)}); {fix}"
            ) from err
        unexpected = [k for k in unexpected if not k.endswith("pos_encoder.pe")]
        if missing or unexpected:
            raise EvalInputError(
                f"{path}: weights do not fit the NISQA-TTS architecture (missing: "
                f"{list(missing)[:5]}, unexpected: {list(unexpected)[:5]}); {fix}"
            )

    @staticmethod
    def _read(path: Path) -> Dict[str, Any]:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise EvalInputError(
                f"{path}: cannot be read as a torch checkpoint ({err}); give the NISQA-TTS "
                "weights file (nisqa_tts.tar)"
            ) from err
        if not isinstance(ckpt, dict) or "args" not in ckpt or "model_state_dict" not in ckpt:
            raise EvalInputError(
                f"{path}: not a NISQA checkpoint (needs the keys 'args' and "
                "'model_state_dict'); give the NISQA-TTS weights file (nisqa_tts.tar)"
            )
        return ckpt

    def _check_args(self, path: Path) -> None:
        for key, want in SUPPORTED.items():
            if self.args.get(key, want) != want:
                raise EvalInputError(
                    f"{path}: {key}={self.args.get(key)!r} is not supported (NISQA-TTS uses "
                    f"{key}={want!r}); give the NISQA-TTS weights file"
                )

    def __call__(self, audio: np.ndarray, sr: int) -> float:
        target = self.args.get("ms_sr") or sr
        x = resample(np.asarray(audio, dtype=np.float32), sr, int(target))
        spec = mel_db(x, int(target), self.args)
        segs = segments(
            spec, self.args.get("ms_seg_length", 15), self.args.get("ms_seg_hop_length", 1)
        )
        n = torch.tensor([segs.shape[0]])
        with torch.no_grad():
            return float(self.model(segs[None], n).reshape(-1)[0])
