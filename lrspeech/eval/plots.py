"""Figures of the run report as PNG bytes: per-stage bars, attention maps, mel spectrograms.

Usage: python -c "from lrspeech.eval.plots import stage_bars as b; print(b(['a'], {'IR': [1]}, {}))"

matplotlib runs on the Agg backend (no display on cluster nodes) and every figure is
closed after rendering, so a report with many samples does not accumulate memory.
"""

import io
import math
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from lrspeech.eval.features import log_mel  # noqa: E402

DPI = 90


def _png(fig: "plt.Figure") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def stage_bars(
    stages: Sequence[str],
    values: Dict[str, List[Optional[float]]],
    errors: Dict[str, List[Optional[float]]],
) -> bytes:
    """One bar panel per metric, one bar per stage; missing values are left blank."""
    names = list(values)
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    x = np.arange(len(stages))
    for ax, name in zip(axes.flat, names):
        vals = [np.nan if v is None else v for v in values[name]]
        err = [0.0 if e is None else e for e in errors.get(name, [None] * len(stages))]
        ax.bar(x, vals, yerr=err, color="#4c72b0", capsize=3)
        ax.set_title(name)
        ax.set_xticks(x)
        ax.set_xticklabels(stages, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def attention_map(att: np.ndarray, title: str = "") -> bytes:
    """Attention (frames x tokens) drawn with tokens on the y axis, frames on the x axis."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.imshow(
        np.asarray(att).T, aspect="auto", origin="lower", interpolation="nearest", cmap="viridis"
    )
    ax.set_xlabel("decoder frame")
    ax.set_ylabel("input token")
    ax.set_title(title, fontsize=9)
    return _png(fig)


def mel_spectrogram(audio: np.ndarray, sr: int, title: str = "") -> bytes:
    """80-band log mel spectrogram of a clip (10 ms hop)."""
    mel = log_mel(audio, sr, n_mels=80)
    fig, ax = plt.subplots(figsize=(6, 2.6))
    extent = (0.0, len(audio) / sr, 0, mel.shape[0])
    low = mel.max() - 80.0 / (10.0 / np.log(10.0))  # show the top 80 dB
    ax.imshow(mel, aspect="auto", origin="lower", extent=extent, cmap="magma", vmin=low)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel band")
    ax.set_title(title, fontsize=9)
    return _png(fig)
