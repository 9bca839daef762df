"""Token-averaged pitch and energy of FastSpeech2 training lists, computed once before training.

Usage: python -c "from lrspeech.pipeline.pitch_energy import fastspeech2_data_args as a; \
print(a('exp/finetune/tts/dump/train', 'exp/finetune/tts/dump/valid'))"

ESPnet's FastSpeech2 extracts them from the waveform at every training step unless the data
gives them (pyworld's DIO made a tiny model's steps about 3x slower on CPU). They are computed
here with the extractors of the TTS config (ESPnet's own classes, so the values are those
training would compute) and fed to ESPnet as `<name>.scp` + npy files of the lists dir
(`fastspeech2_data_args`).
"""

from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np
import yaml

from lrspeech.pipeline.durations import TtsFrames

PITCH_ENERGY = ("pitch", "energy")


def write_pitch_energy(
    lists_dir: Union[str, Path],
    tts_config: Union[str, Path],
    wav_scp: Mapping[str, str],
    durations: Mapping[str, Sequence[int]],
) -> List[str]:
    """Pitch and energy of every utterance of `durations` (audio from `wav_scp`) into
    `lists_dir/<name>.scp` and `lists_dir/data_<name>/`; returns the names written (those the
    config extracts)."""
    from espnet2.tasks.tts import energy_extractor_choices, pitch_extractor_choices

    lists_dir = Path(lists_dir)
    conf = yaml.safe_load(Path(tts_config).read_text(encoding="utf-8")) or {}
    frames = TtsFrames.from_tts_config(tts_config)
    choices = {"pitch": pitch_extractor_choices, "energy": energy_extractor_choices}
    written = []
    for name in PITCH_ENERGY:
        if conf.get(f"{name}_extract") is None:
            continue
        kwargs = dict(conf.get(f"{name}_extract_conf") or {})
        tts_conf = conf.get("tts_conf") or {}
        kwargs.setdefault("reduction_factor", tts_conf.get("reduction_factor", 1))
        extractor = choices[name].get_class(conf[f"{name}_extract"])(**kwargs)
        _write_feature(lists_dir, name, extractor, frames, wav_scp, durations)
        written.append(name)
    return written


def _write_feature(lists_dir: Path, name: str, extractor: Any, frames: TtsFrames,
                   wav_scp: Mapping[str, str], durations: Mapping[str, Sequence[int]]) -> None:
    """One extractor's values: npy files in `data_<name>/` (whole or not at all), then the scp."""
    import torch

    from lrspeech.data.atomic import atomic_dir, atomic_write_text
    from lrspeech.data.audio import load_audio
    from lrspeech.progress import progress

    scp: Dict[str, str] = {}
    with atomic_dir(lists_dir / f"data_{name}") as tmp:
        for utt in progress(sorted(durations), desc=f"{name} of {lists_dir}", unit="utt"):
            wav, _ = load_audio(wav_scp[utt])
            d = torch.tensor(list(durations[utt]))[None]
            with torch.no_grad():
                value, _ = extractor(
                    torch.from_numpy(wav)[None], torch.tensor([len(wav)]),
                    feats_lengths=torch.tensor([frames.n_frames(len(wav))]),
                    durations=d, durations_lengths=torch.tensor([d.shape[1]]),
                )
            np.save(tmp / f"{utt}.npy", value[0].numpy())
            scp[utt] = str((lists_dir / f"data_{name}" / f"{utt}.npy").resolve())
    atomic_write_text(lists_dir / f"{name}.scp", "".join(f"{u} {p}\n" for u, p in scp.items()))


def fastspeech2_data_args(train_dir: Union[str, Path], valid_dir: Union[str, Path]) -> List[str]:
    """ESPnet arguments that feed the precomputed pitch/energy of train and valid lists."""
    args: List[str] = []
    for split, folder in (("train", Path(train_dir)), ("valid", Path(valid_dir))):
        for name in PITCH_ENERGY:
            if (folder / f"{name}.scp").is_file():
                entry = f"{folder}/{name}.scp,{name},npy"
                args += [f"--{split}_data_path_and_name_and_type", entry]
    return args
