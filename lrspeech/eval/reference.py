"""Reference-based quality of synthesized speech against the real recording of the sentence.

Usage: python -c "from lrspeech.eval.reference import *; print(dtw_path(np.ones((3, 4))))"

Metrics (both signals resampled to 16 kHz, leading/trailing silence trimmed first, since
synthesized and recorded clips pad differently):

- `mcd`: mel-cepstral distortion in dB after DTW. Mel-cepstra c1..c24 come from a 40-band
  log mel spectrum (25 ms windows, 5 ms hop) through a DCT (`features.mel_cepstrum`);
  frames are aligned by dynamic time warping on their Euclidean distance, and
  MCD = 10 / ln 10 * sqrt(2 * sum_d (c_d - c'_d)^2), averaged over the aligned frame pairs.
- `logf0_rmse`: RMSE of natural-log F0 (WORLD's DIO + StoneMask via pyworld) over aligned
  frames voiced in both; `vuv_error`: share of aligned frames whose voicing differs.
- `stoi` (pystoi) and `pesq` (ITU-T P.862.2 wide band, `pesq`): both compare signals sample
  by sample, so the synthesized clip is first warped onto the recording's timeline by
  overlap-adding its frames along the DTW path.

pyworld, pystoi and pesq are optional: a missing one skips its metrics with one message.
"""

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from lrspeech.data.audio import resample, trim_silence
from lrspeech.eval.extras import optional_import
from lrspeech.eval.features import log_mel, mel_cepstrum

logger = logging.getLogger(__name__)

MCD_CONST = 10.0 / np.log(10.0)
METRICS = ("mcd", "logf0_rmse", "vuv_error", "stoi", "pesq")


@dataclass(frozen=True)
class RefConfig:
    """Analysis settings of the reference-based metrics."""

    sr: int = 16000
    frame_s: float = 0.025
    hop_s: float = 0.005
    n_mels: int = 40
    n_coeffs: int = 24
    trim_db: Optional[float] = 40.0
    f0_floor: float = 60.0
    f0_ceil: float = 500.0

    @property
    def hop(self) -> int:
        return int(round(self.hop_s * self.sr))


def dtw_path(cost: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic path through an (N, M) cost matrix, steps (1,1), (1,0), (0,1).

    Each row is computed at once: with a_j = c[i, j] + min(D[i-1, j-1], D[i-1, j]), the
    recursion D[i, j] = min(a_j, D[i, j-1] + c[i, j]) is a prefix minimum of a_j - C_j
    plus C_j, where C is the cumulative sum of the row's costs.
    """
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        prev = acc[i - 1]
        a = cost[i] + np.minimum(np.concatenate([[np.inf], prev[:-1]]), prev)
        csum = np.cumsum(cost[i])
        acc[i] = csum + np.minimum.accumulate(a - csum)
    return _backtrace(acc)


def _backtrace(acc: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path: List[Tuple[int, int]] = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            step = int(np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]))
            i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        path.append((i, j))
    path.reverse()
    arr = np.array(path)
    return arr[:, 0], arr[:, 1]


def mcep(x: np.ndarray, cfg: RefConfig) -> np.ndarray:
    """(frames, n_coeffs) mel-cepstra of a 16 kHz signal."""
    return mel_cepstrum(log_mel(x, cfg.sr, cfg.n_mels, cfg.frame_s, cfg.hop_s), cfg.n_coeffs)


def mcd_dtw(
    syn: np.ndarray, ref: np.ndarray, cfg: RefConfig
) -> Tuple[float, np.ndarray, np.ndarray]:
    """(MCD in dB, ref frame indices, syn frame indices) of two prepared 16 kHz signals."""
    from scipy.spatial.distance import cdist

    c_syn, c_ref = mcep(syn, cfg), mcep(ref, cfg)
    # Frame-to-frame Euclidean distances without a (ref, syn, coeff) temporary: that array is
    # hundreds of MB for 10-s clips and made MCD the slowest MOS proxy.
    dist = cdist(c_ref, c_syn)
    pi, pj = dtw_path(dist)
    mcd = float(np.mean(MCD_CONST * np.sqrt(2.0) * dist[pi, pj]))
    return mcd, pi, pj


def world_f0(x: np.ndarray, cfg: RefConfig, pyworld) -> np.ndarray:
    """F0 per 5 ms frame (0 where unvoiced) with DIO refined by StoneMask."""
    xd = np.ascontiguousarray(x, dtype=np.float64)
    period = cfg.hop_s * 1000.0
    f0, t = pyworld.dio(xd, cfg.sr, f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=period)
    return pyworld.stonemask(xd, f0, t, cfg.sr)


def f0_errors(
    f0_syn: np.ndarray, f0_ref: np.ndarray, pi: np.ndarray, pj: np.ndarray
) -> Dict[str, Optional[float]]:
    """log-F0 RMSE over frames voiced in both, and the voicing disagreement rate."""
    pi = np.minimum(pi, len(f0_ref) - 1)
    pj = np.minimum(pj, len(f0_syn) - 1)
    r, s = f0_ref[pi], f0_syn[pj]
    both = (r > 0) & (s > 0)
    rmse = float(np.sqrt(np.mean((np.log(r[both]) - np.log(s[both])) ** 2))) if both.any() else None
    return {"logf0_rmse": rmse, "vuv_error": float(np.mean((r > 0) != (s > 0)))}


def warp_to_reference(
    syn: np.ndarray, n_ref: int, pi: np.ndarray, pj: np.ndarray, hop: int
) -> np.ndarray:
    """`syn` re-timed onto the reference: Hann-windowed frames overlap-added along the path."""
    win = 4 * hop
    window = np.hanning(win + 2)[1:-1]
    src = np.pad(syn, (win, win))
    out = np.zeros(n_ref + 2 * win)
    norm = np.zeros_like(out)
    first_j = {}
    for i, j in zip(pi.tolist(), pj.tolist()):
        first_j.setdefault(i, j)
    for i, j in first_j.items():
        a, b = i * hop + win // 2, j * hop + win // 2
        out[a : a + win] += window * src[b : b + win]
        norm[a : a + win] += window
    return (out / np.maximum(norm, 1e-8))[win : win + n_ref].astype(np.float32)


class ReferenceScorer:
    """Scores (synthesized, recorded) pairs; optional packages are resolved once."""

    def __init__(self, cfg: RefConfig = RefConfig()) -> None:
        self.cfg = cfg
        self._pyworld = optional_import("pyworld", "log-F0 RMSE and V/UV error")
        self._stoi = optional_import("pystoi", "STOI")
        self._pesq = optional_import("pesq", "PESQ")

    @property
    def metrics(self) -> List[str]:
        """Names of the metrics this scorer can compute with the installed packages."""
        names = ["mcd"]
        names += ["logf0_rmse", "vuv_error"] if self._pyworld else []
        names += ["stoi"] if self._stoi else []
        names += ["pesq"] if self._pesq else []
        return names

    def _prepare(self, x: np.ndarray, sr: int) -> np.ndarray:
        y = resample(np.asarray(x, dtype=np.float32), sr, self.cfg.sr)
        if self.cfg.trim_db is not None:
            y = trim_silence(y, self.cfg.sr, self.cfg.trim_db)
        if len(y) < 4 * self.cfg.hop:
            raise ValueError(f"clip is shorter than {4 * self.cfg.hop_s:.3f} s after trimming")
        return y

    def __call__(
        self, syn: np.ndarray, sr_syn: int, ref: np.ndarray, sr_ref: int
    ) -> Dict[str, Optional[float]]:
        s, r = self._prepare(syn, sr_syn), self._prepare(ref, sr_ref)
        mcd, pi, pj = mcd_dtw(s, r, self.cfg)
        out: Dict[str, Optional[float]] = {"mcd": mcd}
        if self._pyworld:
            out.update(
                f0_errors(
                    world_f0(s, self.cfg, self._pyworld),
                    world_f0(r, self.cfg, self._pyworld),
                    pi,
                    pj,
                )
            )
        if self._stoi or self._pesq:
            warped = warp_to_reference(s, len(r), pi, pj, self.cfg.hop)
            if self._stoi:
                out["stoi"] = float(self._stoi.stoi(r, warped, self.cfg.sr, extended=False))
            if self._pesq:
                out["pesq"] = self._pesq_score(r, warped)
        return out

    def _pesq_score(self, ref: np.ndarray, deg: np.ndarray) -> Optional[float]:
        try:
            return float(self._pesq.pesq(self.cfg.sr, ref, deg, "wb"))
        except Exception as err:  # pesq raises its own types for silent or odd input
            logger.warning("PESQ failed on this pair (%s); recorded as missing", err)
            return None
