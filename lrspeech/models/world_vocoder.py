"""WORLD vocoder for a log-mel TTS: the speaker's own source model, a harmonic-plus-noise output.

Usage: python -m lrspeech.bin.world_source --model_dir exp/packed/tts \
           --data_dir dump/raw/paired_hq dump/raw/unpaired_speech
       python -m lrspeech.bin.synthesize --model_dir exp/packed/tts --text "Habari" \
           --out habari.wav --vocoder world

Griffin-Lim guesses a phase for an over-smoothed spectrogram and renders it as a flat, phasey
buzz; on the demo's TTS, DNSMOS OVRL stays near 1.4 whatever the TTS learns, and even the real
recordings' own features score only 2.45 through it. WORLD (Morise et al. 2016, the `pyworld`
package) instead excites a spectral envelope with pulses at a fundamental frequency, mixed
with noise by a band aperiodicity: speech with clean harmonics wherever the features say
"voiced". It needs three things per frame, all taken from the TTS's log-mel features:

- the spectral envelope: each mel band's amplitude (the log10 mel value over its Slaney filter's
  weight sum) interpolated in log amplitude over the linear FFT bins on the mel scale
  (`MelEnvelope`; through ESPnet's pseudo-inverse instead, the real recordings' own features
  read 5 points worse to the judge and score 0.2 DNSMOS lower, docs/benchmarks.md);
- F0 and voicing: a small network (`SourceNet`, frames with 3 neighbours each side in, a voicing
  logit and a normalized log F0 out) trained in seconds on the target speaker's recordings,
  labelled by WORLD's own DIO + StoneMask analysis (`train_source`; `world.pt` in the packed
  TTS dir, written by lrspeech.bin.world_source). The vocoder then needs nothing from the TTS
  but its features, like any other;
- aperiodicity: 1 - P(voiced) in every band, and at least 0.3 above 4 kHz.

The output level follows the features: the waveform is scaled so that its own log-mel (the
TTS's extractor) has the input's mean. Measured in docs/benchmarks.md ("A WORLD vocoder"):
against Griffin-Lim, DNSMOS OVRL 1.65 -> 2.69 on the full Swahili corpus's final TTS and
1.45 -> 2.62 on the demo's, for 3-4 points of an independent judge's CER. `WorldGriffinLim`
(`--vocoder world_gl`, lr.sh's default --tts_vocoder) keeps WORLD's harmonics above 500 Hz in
voiced frames and Griffin-Lim's rendering elsewhere: DNSMOS 2.73 on that TTS with the judge's
CER of Griffin-Lim (+0.1 point).
"""

import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from lrspeech.errors import LrspeechError
from lrspeech.models.vocoder import NumpyVocoder

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
WORLD_FILE = "world.pt"
CONTEXT = 3  # neighbouring frames each side the source network sees
HIDDEN = 128
VOICED_FLOOR = 0.2  # frames below this P(voiced) get no pulses at all
HIGH_BAND_HZ = 4000.0  # above it, at least HIGH_BAND_APERIODICITY noise
HIGH_BAND_APERIODICITY = 0.3
F0_RANGE = (60.0, 500.0)  # Hz, for a TTS config without a dio pitch extractor
HYBRID_CROSSOVER_HZ = 500.0  # WorldGriffinLim: WORLD above it (in voiced frames), Griffin-Lim below
HYBRID_WIDTH_HZ = 300.0  # the width of the crossover's sigmoid
INSTALL = "pip install pyworld (ESPnet's FastSpeech2 pitch extractor needs it too)"


class WorldError(LrspeechError, ValueError):
    """A WORLD vocoder that cannot be built or does not fit the TTS; the message says the fix."""


@dataclass(frozen=True)
class MelSettings:
    """The log-mel analysis of a TTS (ESPnet fbank), as the envelope inversion needs it."""

    fs: int
    n_fft: int
    n_shift: int
    n_mels: int
    fmin: float
    fmax: float

    @classmethod
    def from_tts_config(cls, config: Mapping[str, Any], where: str) -> "MelSettings":
        """From a TTS config.yaml; an error for features this vocoder cannot read."""
        name = config.get("feats_extract")
        conf = dict(config.get("feats_extract_conf") or {})
        bad = []
        if name != "fbank":
            bad.append(f"feats_extract is {name!r}, not fbank")
        if conf.get("log_base", 10.0) != 10.0:
            bad.append(f"log_base is {conf.get('log_base')}, not 10")
        if conf.get("htk", False):
            bad.append("htk mel scale")
        if bad:
            raise WorldError(f"{where}: the WORLD vocoder reads ESPnet's log10 Slaney fbank "
                             f"features, and this TTS's differ ({'; '.join(bad)}); use "
                             "--vocoder griffin_lim")
        fs = int(conf.get("fs", 16000))
        n_fft = int(conf.get("n_fft", 1024))
        return cls(fs=fs, n_fft=n_fft, n_shift=int(conf.get("hop_length", 256)),
                   n_mels=int(conf.get("n_mels", 80)), fmin=float(conf.get("fmin") or 0.0),
                   fmax=float(conf.get("fmax") or fs / 2))

    @property
    def frame_period_ms(self) -> float:
        return 1000.0 * self.n_shift / self.fs


def _pyworld() -> Any:
    try:
        import pyworld
    except ImportError as err:
        raise WorldError(f"the WORLD vocoder needs the pyworld package: {INSTALL}") from err
    return pyworld


class MelEnvelope:
    """Log-mel frames -> WORLD power spectral envelope (frames x n_fft/2+1)."""

    def __init__(self, mel: MelSettings) -> None:
        import librosa

        basis = librosa.filters.mel(sr=mel.fs, n_fft=mel.n_fft, n_mels=mel.n_mels,
                                    fmin=mel.fmin, fmax=mel.fmax)
        self.weight = basis.sum(axis=1).astype(np.float64)  # each band's gain on a flat spectrum
        centres = librosa.mel_frequencies(n_mels=mel.n_mels + 2, fmin=mel.fmin, fmax=mel.fmax)
        self.centres = librosa.hz_to_mel(centres[1:-1])
        self.bins = librosa.hz_to_mel(np.linspace(0.0, mel.fs / 2.0, mel.n_fft // 2 + 1))
        self.n_fft = mel.n_fft

    def __call__(self, logmel: np.ndarray) -> np.ndarray:
        log_amp = np.asarray(logmel, dtype=np.float64) * np.log(10.0) - np.log(self.weight)
        env = np.stack([np.interp(self.bins, self.centres, row) for row in log_amp])
        return np.exp(2.0 * env) / self.n_fft


def context_frames(x: np.ndarray, context: int = CONTEXT) -> np.ndarray:
    """Each frame with its `context` neighbours each side (edges repeated): frames x bins*(2c+1)."""
    pad = np.pad(x, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([pad[i:i + len(x)] for i in range(2 * context + 1)], axis=1)


def analyse_f0(wav: np.ndarray, mel: MelSettings, frames: int,
               f0_range: Tuple[float, float] = F0_RANGE) -> np.ndarray:
    """WORLD's F0 (DIO + StoneMask; 0 where unvoiced) at the features' frame times."""
    pw = _pyworld()
    x = np.ascontiguousarray(wav, dtype=np.float64)
    f0, t = pw.dio(x, mel.fs, f0_floor=f0_range[0], f0_ceil=f0_range[1],
                   frame_period=mel.frame_period_ms)
    f0 = pw.stonemask(x, f0, t, mel.fs)
    if len(f0) < frames:
        f0 = np.pad(f0, (0, frames - len(f0)))
    return f0[:frames]


def _source_net(n_in: int) -> Any:
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_in, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(HIDDEN, 2))


@dataclass
class WorldSource:
    """The speaker's source model: log-mel frames -> (P(voiced), F0 in Hz)."""

    net: Any
    mean: np.ndarray  # input standardization (bins * (2 * CONTEXT + 1),)
    std: np.ndarray
    lf0_mean: float  # log F0 of voiced training frames
    lf0_std: float
    features: Mapping[str, Any]  # the TTS feature settings it was trained on
    n_utts: int
    n_frames: int
    voiced_share: float
    train_accuracy: float

    def predict(self, logmel: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(P(voiced), F0 Hz) per frame."""
        import torch

        x = (context_frames(np.asarray(logmel, dtype=np.float32)) - self.mean) / self.std
        with torch.no_grad():
            out = self.net(torch.as_tensor(x, dtype=torch.float32)).numpy()
        voiced = 1.0 / (1.0 + np.exp(-out[:, 0]))
        return voiced, np.exp(out[:, 1] * self.lf0_std + self.lf0_mean)

    def save(self, path: PathLike) -> None:
        import torch

        torch.save({"state_dict": self.net.state_dict(), "mean": torch.from_numpy(self.mean),
                    "std": torch.from_numpy(self.std), "lf0_mean": self.lf0_mean,
                    "lf0_std": self.lf0_std,
                    "features": json.dumps(dict(self.features), sort_keys=True),
                    "n_utts": self.n_utts, "n_frames": self.n_frames,
                    "voiced_share": self.voiced_share, "train_accuracy": self.train_accuracy},
                   str(path))

    @classmethod
    def load(cls, path: PathLike) -> "WorldSource":
        import torch

        path = Path(path)
        try:
            z = torch.load(str(path), map_location="cpu", weights_only=True)
            mean, std = z["mean"].numpy(), z["std"].numpy()
            net = _source_net(len(mean))
            net.load_state_dict(z["state_dict"])
            return cls(net=net.eval(), mean=mean, std=std, lf0_mean=float(z["lf0_mean"]),
                       lf0_std=float(z["lf0_std"]), features=json.loads(z["features"]),
                       n_utts=int(z["n_utts"]), n_frames=int(z["n_frames"]),
                       voiced_share=float(z["voiced_share"]),
                       train_accuracy=float(z["train_accuracy"]))
        except (OSError, KeyError, RuntimeError, ValueError, TypeError, EOFError,
                pickle.UnpicklingError) as err:
            why = (str(err).splitlines() or [""])[0][:120]
            raise WorldError(f"{path}: not a WORLD source model ({type(err).__name__}: {why}); "
                             "train it again with python -m lrspeech.bin.world_source") from err


def train_source(recordings: Iterable[Tuple[np.ndarray, np.ndarray]], mel: MelSettings,
                 features: Mapping[str, Any], f0_range: Tuple[float, float] = F0_RANGE,
                 epochs: int = 8, seed: int = 0) -> WorldSource:
    """Fit a WorldSource on (audio, log-mel) pairs of one speaker's real recordings."""
    import torch

    xs: List[np.ndarray] = []
    f0s: List[np.ndarray] = []
    for wav, logmel in recordings:
        if len(logmel) < 2:
            continue
        xs.append(context_frames(np.asarray(logmel, dtype=np.float32)))
        f0s.append(analyse_f0(wav, mel, len(logmel), f0_range))
    if not xs:
        raise WorldError("no recording of at least 2 frames to train the WORLD source model on; "
                         "give data dirs with the speaker's real recordings")
    x, f0 = np.concatenate(xs), np.concatenate(f0s)
    voiced = f0 > 0
    if voiced.sum() < 10 or (~voiced).sum() < 10:
        raise WorldError(f"the recordings have {int(voiced.sum())} voiced and "
                         f"{int((~voiced).sum())} unvoiced frames: too few of one kind to learn "
                         "voicing; give more of the speaker's speech")
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-5
    lf0 = np.log(np.where(voiced, f0, 1.0))
    lf0_mean, lf0_std = float(lf0[voiced].mean()), float(lf0[voiced].std() + 1e-5)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = _source_net(x.shape[1])
    inputs = torch.as_tensor((x - mean) / std, dtype=torch.float32)
    v = torch.as_tensor(voiced, dtype=torch.float32)
    target = torch.as_tensor((lf0 - lf0_mean) / lf0_std, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=gen)
        for i in range(0, len(order), 256):
            b = order[i:i + 256]
            out = net(inputs[b])
            bce = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], v[b])
            mse = (v[b] * (out[:, 1] - target[b]) ** 2).sum() / v[b].sum().clamp_min(1.0)
            opt.zero_grad()
            (bce + mse).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float(((net(inputs)[:, 0] > 0).numpy() == voiced).mean())
    return WorldSource(net=net, mean=mean.astype(np.float32), std=std.astype(np.float32),
                       lf0_mean=lf0_mean, lf0_std=lf0_std, features=dict(features),
                       n_utts=len(xs), n_frames=len(x), voiced_share=float(voiced.mean()),
                       train_accuracy=acc)


def f0_range_of(tts_config: Mapping[str, Any]) -> Tuple[float, float]:
    """The TTS's own DIO range (pitch_extract_conf f0min/f0max), else F0_RANGE."""
    conf = dict(tts_config.get("pitch_extract_conf") or {})
    if tts_config.get("pitch_extract") == "dio" and "f0min" in conf and "f0max" in conf:
        return float(conf["f0min"]), float(conf["f0max"])
    return F0_RANGE


def source_of_data_dirs(data_dirs: Iterable[PathLike], tts_config: Mapping[str, Any],
                        speaker: Optional[str] = None, max_utts: Optional[int] = None,
                        epochs: int = 8, seed: int = 0) -> WorldSource:
    """A WorldSource trained on data dirs' recordings (one speaker's), with the TTS's features."""
    from lrspeech.models.postfilter import feature_settings, speaker_recordings

    mel = MelSettings.from_tts_config(tts_config, "the TTS config")
    recordings = speaker_recordings(data_dirs, tts_config, speaker, max_utts,
                                    "train the WORLD source model on")
    return train_source(((wav, feats) for _, wav, feats in recordings), mel,
                        feature_settings(tts_config), f0_range_of(tts_config), epochs, seed)


class WorldVocoder(NumpyVocoder):
    """Log-mel frames (torch or numpy, frames x bins, log10) -> waveform, with WORLD."""

    def __init__(self, source: WorldSource, mel: MelSettings, extractor: Any = None) -> None:
        """`extractor`: the TTS's feature extractor, to match the output level to the input."""
        self.source, self.mel, self.extractor = source, mel, extractor
        self.fs = mel.fs
        self.envelope = MelEnvelope(mel)
        self.high_bin = int(np.ceil(HIGH_BAND_HZ * mel.n_fft / mel.fs))

    def waveform(self, logmel: np.ndarray) -> np.ndarray:
        logmel = np.asarray(logmel, dtype=np.float32)
        return self.render(logmel, *self.source.predict(logmel))

    def render(self, logmel: np.ndarray, voiced: np.ndarray, f0: np.ndarray) -> np.ndarray:
        """The waveform of float32 log-mel frames with the source model's (P(voiced), F0)."""
        pw = _pyworld()
        sp = np.ascontiguousarray(self.envelope(logmel))
        ap = np.repeat((1.0 - voiced.astype(np.float64))[:, None], sp.shape[1], axis=1)
        ap[:, self.high_bin:] = np.maximum(ap[:, self.high_bin:], HIGH_BAND_APERIODICITY)
        f0 = np.where(voiced > VOICED_FLOOR, f0, 0.0).astype(np.float64)
        y = pw.synthesize(np.ascontiguousarray(f0), sp, np.ascontiguousarray(ap), self.mel.fs,
                          frame_period=self.mel.frame_period_ms)
        return (y * self._gain(y, logmel)).astype(np.float32)

    def _gain(self, y: np.ndarray, logmel: np.ndarray) -> float:
        """The amplitude factor that gives `y`'s log-mel the mean of `logmel` (1 without an
        extractor)."""
        import torch

        if self.extractor is None or not len(y):
            return 1.0
        with torch.no_grad():
            out, _ = self.extractor(torch.as_tensor(y, dtype=torch.float32)[None],
                                    torch.tensor([len(y)]))
        return float(10.0 ** (float(np.mean(logmel)) - float(out[0].numpy().mean())))


class WorldGriffinLim(NumpyVocoder):
    """WORLD's harmonics above a crossover frequency in voiced frames, Griffin-Lim elsewhere.

    Both vocoders read the same features; their short-time spectra (the TTS's FFT, hop and
    window) are mixed with a weight w(f, t) = sigmoid((f - crossover) / width) * v(t), v the
    source model's P(voiced) averaged over 3 frames: below the crossover and in unvoiced frames
    the output is Griffin-Lim's, in voiced frames above it WORLD's. Measured on the demo's TTS
    (docs/benchmarks.md): WORLD alone scores DNSMOS OVRL 2.6 but an independent judge reads it
    3-4 points worse than Griffin-Lim; WORLD in voiced frames above 500 Hz scores 2.4 and reads
    like Griffin-Lim (0.3 points), since what the judge loses with WORLD is its rendering of the
    lowest band, and what DNSMOS gains is its harmonics from 500 Hz to 2 kHz.
    """

    def __init__(self, world: "WorldVocoder", griffin_lim: Any,
                 crossover_hz: float = HYBRID_CROSSOVER_HZ,
                 width_hz: float = HYBRID_WIDTH_HZ) -> None:
        """`griffin_lim`: lrspeech.models.griffin_lim.SeededGriffinLim of the same TTS."""
        self.world, self.griffin_lim = world, griffin_lim
        self.crossover_hz, self.width_hz = float(crossover_hz), float(width_hz)
        self.fs = world.fs
        p = griffin_lim.params
        self.n_fft, self.hop = int(p["n_fft"]), int(p["n_shift"])
        self.win = int(p["win_length"] or p["n_fft"])
        self.window = p["window"]

    def weights(self, voiced: np.ndarray, frames: int) -> np.ndarray:
        """(n_fft // 2 + 1, frames) share of WORLD in each bin of each frame, from the source
        model's P(voiced) per frame."""
        v = np.convolve(voiced, np.ones(3) / 3.0, mode="same")
        v = np.pad(v, (0, max(0, frames - len(v))), mode="edge")[:frames]
        freqs = np.linspace(0.0, self.fs / 2.0, self.n_fft // 2 + 1)
        band = 1.0 / (1.0 + np.exp(-(freqs - self.crossover_hz) / self.width_hz))
        return band[:, None] * v[None, :]

    def _stft(self, y: np.ndarray, frames: int) -> np.ndarray:
        import librosa

        spec = librosa.stft(np.asarray(y, dtype=np.float64), n_fft=self.n_fft,
                            hop_length=self.hop, win_length=self.win, window=self.window)
        if spec.shape[1] >= frames:
            return spec[:, :frames]
        return np.pad(spec, ((0, 0), (0, frames - spec.shape[1])))

    def waveform(self, logmel: np.ndarray) -> np.ndarray:
        import librosa

        logmel = np.asarray(logmel, dtype=np.float32)
        frames = len(logmel)
        voiced, f0 = self.world.source.predict(logmel)  # once, for WORLD and the mix
        gl = self.griffin_lim.waveform(logmel)
        mix = self.weights(voiced, frames)
        spec = mix * self._stft(self.world.render(logmel, voiced, f0), frames) \
            + (1.0 - mix) * self._stft(gl, frames)
        y = librosa.istft(spec, hop_length=self.hop, win_length=self.win, window=self.window,
                          n_fft=self.n_fft, length=len(gl))
        return np.asarray(y, dtype=np.float32)


def check_source(source: WorldSource, tts_config: Mapping[str, Any], where: str) -> None:
    """Refuse a source model trained on other features than the TTS's."""
    from lrspeech.models.postfilter import settings_differ

    differ = settings_differ(source.features, tts_config)
    if differ:
        raise WorldError(f"{where}: the WORLD source model was trained on other features than "
                         f"this TTS's ({', '.join(differ)} differ); train it again with python "
                         "-m lrspeech.bin.world_source on this model")


def load_world(model_dir: PathLike, tts_config: Mapping[str, Any],
               vocoder: str = "world") -> WorldVocoder:
    """The WORLD vocoder of a packed TTS dir (its world.pt), checked against its features;
    `vocoder`: the --vocoder asked for (world or world_gl), for the messages."""
    from lrspeech.models.postfilter import feature_extractor

    model_dir = Path(model_dir)
    mel = MelSettings.from_tts_config(tts_config, str(model_dir / "config.yaml"))
    path = model_dir / WORLD_FILE
    if not path.is_file():
        raise WorldError(f"{model_dir}: --vocoder {vocoder} needs {WORLD_FILE}, the speaker's "
                         "source model; train it with python -m lrspeech.bin.world_source "
                         f"--model_dir {model_dir} --data_dir <the speaker's recordings>")
    _pyworld()
    source = WorldSource.load(path)
    check_source(source, tts_config, str(path))
    logger.info("%s: WORLD vocoder (source model of %d utterances, voicing accuracy %.3f)",
                model_dir, source.n_utts, source.train_accuracy)
    extractor, _ = feature_extractor(tts_config)
    return WorldVocoder(source, mel, extractor)


def describe(source: WorldSource) -> Dict[str, Any]:
    """What world_source prints and records."""
    return {"utterances": source.n_utts, "frames": source.n_frames,
            "voiced_share": round(source.voiced_share, 4),
            "train_voicing_accuracy": round(source.train_accuracy, 4),
            "f0_median_hz": round(float(np.exp(source.lf0_mean)), 1)}
