"""DNSMOS P.835 (SIG, BAK, OVRL) and P.808 MOS from the ONNX models in the `speechmos` wheel.

Usage: python -c "from lrspeech.eval.dnsmos import Dnsmos; print(Dnsmos()([.1] * 8000, 8000))"

Why not `speechmos.dnsmos.run`: it lets onnxruntime spawn a thread per core (the recipe
runs several evaluators side by side) and computes the P.808 features with librosa, whose
first call compiles for seconds. The models, the 9.01 s input window slid by 1 s, the
looping of short clips to fill one window and the polynomial calibration of the raw scores
are DNSMOS's (Reddy et al., ICASSP 2022); the features come from `lrspeech.eval.features`.
Input is resampled to 16 kHz. Scores are means over the windows of the clip.
"""

import logging
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from lrspeech.data.audio import resample
from lrspeech.eval.features import mel_power

logger = logging.getLogger(__name__)

SR = 16000
WINDOW_S = 9.01
HOP_S = 1.0
P808_N_FFT, P808_HOP, P808_MELS = 321, 160, 120
# Calibration polynomials (highest power first) of the non-personalized P.835 model.
POLY_SIG = (-0.08397278, 1.22083953, 0.0052439)
POLY_BAK = (-0.13166888, 1.60915514, -0.39604546)
POLY_OVR = (-0.06766283, 1.11546468, 0.04602535)
KEYS = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")


def model_paths() -> Tuple[Path, Path]:
    """(P.835 model, P.808 model) inside the installed speechmos package."""
    import speechmos

    root = Path(speechmos.__file__).resolve().parent / "dnsmos_models"
    return root / "sig_bak_ovr.onnx", root / "model_v8.onnx"


def p808_features(segment: np.ndarray) -> np.ndarray:
    """(1, frames, 120) input of the P.808 model: mel power in dB relative to its max, scaled."""
    mel = mel_power(segment[:-P808_HOP], SR, P808_N_FFT, P808_HOP, P808_MELS)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db -= 10.0 * np.log10(max(float(mel.max()), 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return ((db + 40.0) / 40.0).T[None].astype(np.float32)


def windows(x: np.ndarray) -> list:
    """The 9.01 s windows of a clip, hop 1 s; short clips are looped to fill one."""
    need = int(WINDOW_S * SR)
    while len(x) < need:
        x = np.concatenate([x, x])
    n = int(np.floor(len(x) / SR) - WINDOW_S) + 1
    return [x[int(i * HOP_S * SR) : int(i * HOP_S * SR) + need] for i in range(max(n, 1))]


class Dnsmos:
    """Loads both ONNX sessions once (single-threaded); call it on (audio, sr)."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = threads
        p835, p808 = model_paths()
        providers = ["CPUExecutionProvider"]
        self._p835 = ort.InferenceSession(str(p835), opts, providers=providers)
        self._p808 = ort.InferenceSession(str(p808), opts, providers=providers)

    def _window_scores(self, seg: np.ndarray) -> Tuple[float, float, float, float]:
        sig, bak, ovr = self._p835.run(None, {"input_1": seg[None].astype(np.float32)})[0][0]
        p808 = self._p808.run(None, {"input_1": p808_features(seg)})[0][0][0]
        return (
            float(np.polyval(POLY_SIG, sig)),
            float(np.polyval(POLY_BAK, bak)),
            float(np.polyval(POLY_OVR, ovr)),
            float(p808),
        )

    def __call__(self, audio: np.ndarray, sr: int) -> Dict[str, float]:
        x = resample(np.asarray(audio, dtype=np.float32), sr, SR)
        if len(x) == 0:
            raise ValueError("DNSMOS needs a non-empty clip")
        x = np.clip(x, -1.0, 1.0)
        scores = np.array([self._window_scores(seg) for seg in windows(x)])
        return dict(zip(KEYS, (float(v) for v in scores.mean(axis=0))))
