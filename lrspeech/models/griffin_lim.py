"""Griffin-Lim from a fixed starting phase: the same features give the same waveform every run.

Usage: python -c "from lrspeech.models.griffin_lim import SeededGriffinLim; help(SeededGriffinLim)"

ESPnet's `Spectrogram2Waveform` (what `Text2Speech` runs when it has no vocoder) calls
`librosa.griffinlim` without a random state. Since librosa 0.10 that draws the initial phase from
a fresh `np.random.default_rng()`, which ESPnet's `always_fix_seed` does not reach: two runs of
the same TTS on the same sentence gave waveforms differing by more than the signal's own peak,
and the judge's CER of one dev evaluation moved by 1.5 points between runs (docs/benchmarks.md,
"Stage 8's evaluations side by side"). `SeededGriffinLim` takes the same settings from the
ESPnet object (log-mel to linear magnitude, FFT, hop, window, iterations) and starts every call
from the phase of one seed.
"""

from typing import Any

import numpy as np

from lrspeech.models.vocoder import NumpyVocoder

GL_SEED = 0


class SeededGriffinLim(NumpyVocoder):
    """Log-mel frames (torch or numpy, frames x bins) -> waveform, as ESPnet's Griffin-Lim does,
    from a fixed random initial phase."""

    def __init__(self, espnet_gl: Any, seed: int = GL_SEED) -> None:
        """`espnet_gl`: an `espnet2.utils.griffin_lim.Spectrogram2Waveform` (its settings)."""
        self.logmel2linear = espnet_gl.logmel2linear
        self.params = dict(espnet_gl.params)
        self.fs = espnet_gl.fs
        self.seed = seed

    def __repr__(self) -> str:
        return f"SeededGriffinLim(seed={self.seed}, {self.params})"

    def magnitude(self, feats: np.ndarray) -> np.ndarray:
        """(frames, n_fft // 2 + 1) linear magnitude of log-mel (or linear) frames."""
        feats = np.asarray(feats, dtype=np.float64)
        return self.logmel2linear(feats) if self.logmel2linear is not None else feats

    def waveform(self, feats: np.ndarray) -> np.ndarray:
        import librosa

        spc = self.magnitude(feats).T
        p = self.params
        y = librosa.griffinlim(S=np.abs(spc), n_iter=p["n_iter"], hop_length=p["n_shift"],
                               win_length=p["win_length"], window=p["window"],
                               center=spc.shape[1] > 1,
                               random_state=np.random.RandomState(self.seed))
        return np.asarray(y, dtype=np.float32)
