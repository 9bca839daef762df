"""Figures of the run report as PNG bytes: per-stage bars, attention maps, mel spectrograms.

Usage: python -c "from lrspeech.eval.plots import Panel, stage_bars as b; print(b(['a'], \
[Panel('IR', [0.2], reference=0.9, percent=True)])[:8])"

matplotlib runs on the Agg backend (no display on cluster nodes) and every figure is
closed after rendering, so a report with many samples does not accumulate memory.
"""

import io
import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from lrspeech.eval.features import log_mel  # noqa: E402

DPI = 90


def _png(fig: "plt.Figure") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@dataclass
class Panel:
    """One metric's panel: a value per stage (or round), and what to draw beside the bars.

    `reference` is the same metric on the real recordings (a dashed line); `highlight` the
    index of the stage whose model was packed (its bar is drawn in another colour);
    `percent`: the values are fractions shown as percentages.
    """

    name: str
    values: List[Optional[float]]
    errors: List[Optional[float]] = field(default_factory=list)
    reference: Optional[float] = None
    highlight: Optional[int] = None
    percent: bool = False


BAR, PACKED, REAL = "#4c72b0", "#dd8452", "#c44e52"


def _grid(n: int) -> Tuple["plt.Figure", List["plt.Axes"]]:
    cols = min(3, max(1, n))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, list(axes.flat)[:n]


def _fmt(value: Optional[float], percent: bool) -> str:
    if value is None:
        return ""
    return f"{100 * value:.1f}%" if percent else f"{value:.2f}"


def _decorate(ax: "plt.Axes", panel: Panel, labels: Sequence[str]) -> None:
    """Reference line, a y range from 0 with room for the labels, titles and ticks."""
    tops = [v + (e or 0.0) for v, e in zip(panel.values, panel.errors or [None] * len(labels))
            if v is not None]
    if panel.reference is not None:
        ax.axhline(panel.reference, ls="--", lw=1.3, color=REAL)
        ax.annotate(f"real {_fmt(panel.reference, panel.percent)}", (1.0, panel.reference),
                    xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7,
                    color=REAL, bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})
        tops.append(panel.reference)
    top = max(tops, default=0.0)
    ax.set_ylim(0.0, 1.18 * top if top > 0 else (0.05 if panel.percent else 1.0))
    if panel.percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(panel.name)
    ax.set_xticks(np.arange(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def _legend(fig: "plt.Figure", panels: Sequence[Panel], packed: bool) -> None:
    handles = []
    if any(p.reference is not None for p in panels):
        handles.append(Line2D([], [], ls="--", color=REAL, label="real recordings, same judge"))
    if packed and any(p.highlight is not None for p in panels):
        handles.append(Patch(color=PACKED, label="packed model"))
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles),
                   bbox_to_anchor=(0.5, 1.0), frameon=False)


def stage_bars(stages: Sequence[str], panels: Sequence[Panel]) -> bytes:
    """One bar panel per metric, one bar per stage; missing values are left blank."""
    fig, axes = _grid(len(panels))
    x = np.arange(len(stages))
    for ax, panel in zip(axes, panels):
        vals = [np.nan if v is None else v for v in panel.values]
        err = [0.0 if e is None else e for e in panel.errors] or None
        colors = [PACKED if i == panel.highlight else BAR for i in range(len(stages))]
        bars = ax.bar(x, vals, yerr=err, color=colors, capsize=3)
        ax.bar_label(bars, [_fmt(v, panel.percent) for v in panel.values], fontsize=7)
        _decorate(ax, panel, stages)
    fig.tight_layout()
    _legend(fig, panels, packed=True)
    return _png(fig)


def round_lines(rounds: Sequence[str], panels: Sequence[Panel]) -> bytes:
    """One line panel per metric over the dual-transformation rounds (round 0: fine-tuned)."""
    fig, axes = _grid(len(panels))
    for ax, panel in zip(axes, panels):
        vals = [np.nan if v is None else v for v in panel.values]
        ax.plot(np.arange(len(rounds)), vals, marker="o", color=BAR)
        _decorate(ax, panel, rounds)
    fig.tight_layout()
    _legend(fig, panels, packed=False)
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


def mel_spectrogram(audio: np.ndarray, sr: int, title: str = "",
                    xmax: Optional[float] = None) -> bytes:
    """80-band log mel spectrogram of a clip (10 ms hop); `xmax` (s) sets a common time axis,
    so that clips of one sentence line up."""
    mel = log_mel(audio, sr, n_mels=80)
    fig, ax = plt.subplots(figsize=(6, 2.6))
    extent = (0.0, len(audio) / sr, 0, mel.shape[0])
    low = mel.max() - 80.0 / (10.0 / np.log(10.0))  # show the top 80 dB
    ax.imshow(mel, aspect="auto", origin="lower", extent=extent, cmap="magma", vmin=low)
    ax.set_xlim(0.0, max(xmax or 0.0, extent[1]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel band")
    ax.set_title(title, fontsize=9)
    return _png(fig)
