"""Dual transformation (LRSpeech, stage 6): what one round reads, in which voices, with which seed.

Usage: python -c "from lrspeech.pipeline.dual_transformation import *; print(round_seed(1, 2))"

In round r, the ASR of round r-1 labels the unpaired speech (pairs the TTS trains on) and the
TTS of round r-1 reads a sample of the unpaired text in several voices (pairs the ASR trains
on). The decisions this module holds:

- the voices: the first `n` speakers of the TTS's speaker table (spk2sid order, `<unk>` left
  out), so the ASR hears more than the target voice;
- the seed of round r's text sample: `seed * 1000 + r`, a new sample every round, the same on
  a rerun;
- which labels the TTS keeps: the best-scored `keep_share` of the non-empty hypotheses,
  measured on dev with the same ASR (labels.json);
- the ASR's synthetic pairs: every voice's synthesis that produced speech, combined; the round's
  ASR trains on the paired data plus all of them (`all`, LRSpeech's) or a seeded share that
  makes up a given ratio of its training utterances (`--dt_asr_synth_ratio`, chosen by
  bench/dt_mix.py).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import combine, restrict
from lrspeech.errors import InputError
from lrspeech.models.speakers import read_spk2sid
from lrspeech.pipeline import pseudo

ROUND_SEED_STRIDE = 1000  # round r samples with seed * 1000 + r (distillation uses + 999)
UNKNOWN_SPEAKER = "<unk>"


def voices(spk2sid: Path, n: int) -> List[str]:
    """The first `n` speakers of `spk2sid` by id (without `<unk>`), the voices the TTS reads in."""
    if n < 1:
        raise InputError(f"--dt_tts_speakers {n}: the TTS must read in at least one voice")
    table = read_spk2sid(spk2sid)
    ordered = [s for s, _ in sorted(table.items(), key=lambda kv: kv[1]) if s != UNKNOWN_SPEAKER]
    if not ordered:
        raise InputError(f"{spk2sid}: no speaker besides {UNKNOWN_SPEAKER}; rerun stage 3")
    return ordered[:n]


def round_seed(seed: int, round_index: int) -> int:
    """The text-sampling seed of round `round_index` (1-based) for the recipe's `seed`."""
    if not 1 <= round_index < ROUND_SEED_STRIDE - 1:
        raise InputError(f"round {round_index}: rounds are numbered 1..{ROUND_SEED_STRIDE - 2}")
    return seed * ROUND_SEED_STRIDE + round_index


@dataclass(frozen=True)
class RoundData:
    """Where one round's data went: the TTS's pairs, the text per voice, the label summary."""

    tts_pairs: Path
    text_per_voice: List[Path]
    labels: Optional[pseudo.LabelFilter]


def text_dir_of(out_dir: Path, voice: str) -> Path:
    """The text dir voice `voice` reads in round dir `out_dir`."""
    return out_dir / f"text_{voice}"


def prepare_round(
    out_dir: Path, round_index: int, seed: int, voice_list: Sequence[str], speech_dir: Path,
    hyp_dir: Path, text_dir: Path, n_text: int, keep_share: Optional[float] = None,
    dev_dir: Optional[Path] = None, dev_hyp_dir: Optional[Path] = None,
    lang_config: Optional[Path] = None,
) -> RoundData:
    """Write round `round_index`'s data under `out_dir`: tts_pairs (the unpaired speech with the
    ASR's labels), labels.json (with a dev set), text (the seeded sample, voices in turn) and
    text_<voice> per voice."""
    if (dev_dir is None) != (dev_hyp_dir is None):
        raise InputError("dev_dir and dev_hyp_dir go together (dev and its decoding)")
    threshold = pseudo.pairs_threshold(speech_dir, hyp_dir, None, keep_share)
    pairs = pseudo.asr_pairs(speech_dir, hyp_dir, threshold)
    labels = None
    if dev_dir is not None and dev_hyp_dir is not None:
        labels = pseudo.label_filter(threshold, pairs, hyp_dir, dev_dir, dev_hyp_dir, lang_config)
        atomic_write_text(out_dir / "labels.json", json.dumps(labels.to_dict(), indent=2) + "\n")
    pairs.save(out_dir / "tts_pairs")
    text = pseudo.sample_text(text_dir, n_text, round_seed(seed, round_index), list(voice_list))
    text.save(out_dir / "text")
    per_voice = []
    for voice in voice_list:
        utts = [u for u, s in text.utt2spk.items() if s == voice]
        restrict(text, utts).save(text_dir_of(out_dir, voice))
        per_voice.append(text_dir_of(out_dir, voice))
    return RoundData(out_dir / "tts_pairs", per_voice, labels)


def synthetic_pairs(synth_dirs: Sequence[Path], out: Path) -> DataDir:
    """The ASR's pairs of a round: the synthesized data dirs that hold speech, combined."""
    spoke = [DataDir.load(d) for d in synth_dirs if (d / "wav.scp").is_file()
             and (d / "wav.scp").stat().st_size > 0]
    if not spoke:
        raise InputError(f"no synthesis produced speech ({', '.join(map(str, synth_dirs))}); "
                         "the TTS is too weak: fine-tune it longer (--finetune_epochs)")
    dd = combine(spoke) if len(spoke) > 1 else spoke[0]
    dd.save(out)
    return dd


ALL = "all"  # the synthetic ratio that keeps every synthetic pair (LRSpeech's round)


def parse_ratio(text: str) -> Optional[float]:
    """`all` -> None (every synthetic pair), else a synthetic share in [0, 1)."""
    if text.strip() == ALL:
        return None
    try:
        ratio = float(text)
    except ValueError:
        raise InputError(f"--dt_asr_synth_ratio {text!r}: give `{ALL}` or a share in [0, 1)")
    if not 0.0 <= ratio < 1.0:
        raise InputError(f"--dt_asr_synth_ratio {text}: give `{ALL}` or a share in [0, 1)")
    return ratio


def asr_synthetic(real_dirs: Sequence[Path], pairs: Path, ratio_text: str, seed: int,
                  out: Path) -> DataDir:
    """The synthetic pairs the round's ASR trains on beside `real_dirs`: all of `pairs`
    (`all`) or the seeded share that makes up the ratio of its training utterances; written to
    `out`. Ratio 0 trains on the real pairs alone: the recipe does not call this."""
    ratio = parse_ratio(ratio_text)
    synth = DataDir.load(pairs)
    if ratio is None:
        ids = list(synth.audio_utt_ids)
    else:
        n_real = sum(len(DataDir.load(d).audio_utt_ids) for d in real_dirs)
        ids = pseudo.synthetic_share(n_real, synth, ratio, seed)
    if not ids:
        raise InputError(f"--dt_asr_synth_ratio {ratio_text}: no synthetic pair of {pairs} for the "
                         "ASR; give 0 to train it on the real pairs alone, or a larger share")
    dd = restrict(synth, ids)
    dd.save(out)
    return dd
