"""Global-variance post-filter: give a TTS's over-smoothed features the variance of real speech.

Usage: python -m lrspeech.bin.gv_stats --model_dir exp/kd/tts/model --data_dir dump/raw/paired_hq

A FastSpeech2 trained with an L1/L2 loss on a few dozen sentences predicts the mean of what it
has heard: its log-mel features vary over time far less than the speaker's real ones (on the
Swahili distilled TTS, 1.3-5.5x less per mel bin), which a vocoder renders as a flat, noisy,
buzzing spectrum. The classic remedy of statistical parametric synthesis (Toda and Tokuda's
global variance; here its post-filter form, as in Silen et al. 2012) scales each bin's
deviation from the utterance's own mean so that its standard deviation over time matches the
average per-utterance standard deviation of the speaker's real recordings:

    y[t, b] = mean_b(x) + (x[t, b] - mean_b(x)) * (gv[b] / std_b(x)) ** strength

`gv` (one value per bin) is measured on real clips with the TTS's own feature extractor and
stored in the packed model dir as `gv.npz` (`write_gv`); synthesis applies it on the way to the
vocoder (`GvVocoder`, selected by lrspeech.models.packing.load_tts's `postfilter`). The features
the TTS writes (`--write_feats`) are its own, unfiltered.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np

from lrspeech.errors import InputError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
GV_FILE = "gv.npz"
NONE, GV, AUTO = "none", "gv", "auto"
MAX_SCALE = 8.0  # a bin's scale is kept within [1/8, 8]: a near-constant bin is not blown up
MIN_FRAMES = 2  # an utterance shorter than this has no variance to scale


class PostfilterError(InputError):
    """A post-filter that cannot be applied (unknown name, no statistics, other features)."""


@dataclass(frozen=True)
class GvStats:
    """Per-bin global variance (as a standard deviation) of a speaker's real features."""

    std: np.ndarray  # (bins,): mean over utterances of each bin's std over time
    n_utts: int
    n_frames: int
    features: Mapping[str, Any]  # the extractor's settings the statistics were measured with

    def save(self, path: PathLike) -> None:
        with open(path, "wb") as f:
            np.savez(f, std=self.std.astype(np.float32), n_utts=self.n_utts,
                     n_frames=self.n_frames,
                     features=np.array(json.dumps(dict(self.features), sort_keys=True)))

    @classmethod
    def load(cls, path: PathLike) -> "GvStats":
        path = Path(path)
        try:
            with np.load(path) as z:
                std = np.asarray(z["std"], dtype=np.float32)
                n_utts, n_frames = int(z["n_utts"]), int(z["n_frames"])
                features = json.loads(str(z["features"]))
        except (OSError, KeyError, ValueError) as err:
            raise PostfilterError(f"{path}: not a GV statistics file ({err}); write it again "
                                  "with python -m lrspeech.bin.gv_stats") from err
        return cls(std=std, n_utts=n_utts, n_frames=n_frames, features=features)


def parse_postfilter(spec: Optional[str]) -> Tuple[str, float]:
    """('none'|'gv'|'auto', strength) from 'none', 'gv', 'gv:<strength>' or 'auto'."""
    name, _, value = (spec or NONE).partition(":")
    if name not in (NONE, GV, AUTO) or (value and name != GV):
        raise PostfilterError(f"postfilter {spec!r}: use none, auto (gv when the model has "
                              f"{GV_FILE}) or gv[:STRENGTH]")
    try:
        strength = float(value) if value else 1.0
    except ValueError:
        raise PostfilterError(f"postfilter {spec!r}: the strength after 'gv:' must be a "
                              "number, e.g. gv:0.75") from None
    if not 0.0 < strength <= 2.0:
        raise PostfilterError(f"postfilter {spec!r}: strength must be in (0, 2]")
    return name, strength


def measure_gv(feats: Iterable[np.ndarray], features: Mapping[str, Any]) -> GvStats:
    """GvStats of real utterances' features (each frames x bins)."""
    stds, frames = [], 0
    for x in feats:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < MIN_FRAMES:
            continue
        stds.append(x.std(axis=0))
        frames += x.shape[0]
    if not stds:
        raise PostfilterError("no utterance of at least 2 frames to measure the global "
                              "variance on; give a data dir with the speaker's real recordings")
    if len({s.shape for s in stds}) > 1:
        sizes = sorted({s.shape[0] for s in stds})
        raise PostfilterError(f"utterances with different feature sizes: {sizes}")
    return GvStats(std=np.mean(stds, axis=0).astype(np.float32), n_utts=len(stds),
                   n_frames=frames, features=dict(features))


def apply_gv(x: Any, gv: np.ndarray, strength: float = 1.0) -> Any:
    """`x` (frames x bins, numpy or torch) with each bin's spread over time scaled towards `gv`."""
    import torch

    if x.shape[0] < MIN_FRAMES:
        return x
    if isinstance(x, np.ndarray):
        return apply_gv(torch.from_numpy(x), gv, strength).numpy()
    if x.shape[-1] != len(gv):
        raise PostfilterError(f"features have {x.shape[-1]} bins, the GV statistics "
                              f"{len(gv)}; measure them with this TTS's features")
    target = torch.as_tensor(gv, dtype=x.dtype, device=x.device)
    mean = x.mean(dim=0, keepdim=True)
    std = x.std(dim=0, unbiased=False).clamp_min(1e-5)
    scale = ((target / std) ** strength).clamp(1.0 / MAX_SCALE, MAX_SCALE)
    return mean + (x - mean) * scale


class GvVocoder:
    """A vocoder that applies the GV post-filter to the features it is given."""

    def __init__(self, vocoder: Any, stats: GvStats, strength: float = 1.0) -> None:
        self.vocoder, self.stats, self.strength = vocoder, stats, strength

    def __call__(self, feats: Any) -> Any:
        return self.vocoder(apply_gv(feats, self.stats.std, self.strength))

    @property
    def fs(self) -> Optional[int]:
        return getattr(self.vocoder, "fs", None)


def feature_extractor(tts_config: Mapping[str, Any]) -> Tuple[Any, Dict[str, Any]]:
    """The TTS config's ESPnet feature extractor (module, settings)."""
    from espnet2.tasks.tts import feats_extractor_choices

    name = tts_config.get("feats_extract")
    conf = dict(tts_config.get("feats_extract_conf") or {})
    if name is None:
        raise PostfilterError("the TTS config has no feats_extract: its features cannot be "
                              "measured on real speech")
    return feats_extractor_choices.get_class(name)(**conf), feature_settings(tts_config)


def feature_settings(tts_config: Mapping[str, Any]) -> Dict[str, Any]:
    """The settings GvStats.features records for a TTS config."""
    return {"name": tts_config.get("feats_extract"),
            **dict(tts_config.get("feats_extract_conf") or {})}


def settings_differ(recorded: Mapping[str, Any], tts_config: Mapping[str, Any]) -> List[str]:
    """The feature settings (feature_settings) in which `recorded`, the settings a file was made
    with, differs from the TTS config's; [] when they are the same."""
    want = json.loads(json.dumps(feature_settings(tts_config), sort_keys=True))
    return sorted(k for k in set(want) | set(recorded) if want.get(k) != recorded.get(k))


def check_features(stats: GvStats, tts_config: Mapping[str, Any], where: str) -> None:
    """Refuse statistics measured with other features than the TTS's."""
    differ = settings_differ(stats.features, tts_config)
    if differ:
        raise PostfilterError(
            f"{where}: the GV statistics were measured with other features than this TTS's "
            f"({', '.join(differ)} differ); measure them again with python -m "
            "lrspeech.bin.gv_stats on this model"
        )


def gv_of_data_dirs(data_dirs: Iterable[PathLike], tts_config: Mapping[str, Any],
                    speaker: Optional[str] = None, max_utts: Optional[int] = None) -> GvStats:
    """GvStats of data dirs' recordings (one speaker's, when given), with the TTS's extractor.

    `max_utts` takes the first that many utterances (all when None).
    """
    recordings = speaker_recordings(data_dirs, tts_config, speaker, max_utts,
                                    "measure the global variance on")
    return measure_gv((feats for _, _, feats in recordings), feature_settings(tts_config))


def speaker_recordings(data_dirs: Iterable[PathLike], tts_config: Mapping[str, Any],
                       speaker: Optional[str] = None, max_utts: Optional[int] = None,
                       purpose: str = "analyse") -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    """(utt, audio at the TTS's rate, the TTS's features of it) of data dirs' recordings.

    Only `speaker`'s utterances when given; the first `max_utts` (all when None). An error
    names the dirs and their speakers when none is left (`purpose` says what it was for).
    """
    from lrspeech.data.datadir import DataDir

    data_dirs = [Path(d) for d in data_dirs]
    dirs = [DataDir.load(d) for d in data_dirs]
    utts = [(dd, u) for dd in dirs for u in dd.audio_utt_ids
            if speaker is None or dd.utt2spk.get(u) == speaker]
    if not utts:
        who = f" of speaker '{speaker}'" if speaker else ""
        names = sorted({s for dd in dirs for s in dd.speakers})
        raise PostfilterError(
            f"{', '.join(str(d) for d in data_dirs)}: no utterance{who} with audio to {purpose} "
            f"(speakers there: {', '.join(names) or 'none'}); give the data dirs of the "
            "speaker's real recordings"
        )
    return _features_of(utts[:max_utts], tts_config)


def _features_of(utts: List[Tuple[Any, str]],
                 tts_config: Mapping[str, Any]) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
    import torch

    from lrspeech.data.audio import load_audio

    extractor, settings = feature_extractor(tts_config)
    fs = int(settings.get("fs", 16000))
    for dd, utt in utts:
        spec, start, end = dd.audio_of(utt)
        wav, _ = load_audio(spec, fs, start=start, end=end)
        x = torch.as_tensor(wav, dtype=torch.float32)[None]
        with torch.no_grad():
            out, _ = extractor(x, torch.tensor([x.shape[1]]))
        yield utt, np.asarray(wav, dtype=np.float32), out[0].numpy()
