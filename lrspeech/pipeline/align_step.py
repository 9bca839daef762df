"""The ctc_align recipe step: a TTS's training data aligned by an ASR, one durations dir out.

Usage: python -m lrspeech.bin.ctc_align --asr_model exp/finetune/asr/model \
    --train dump/raw/paired_hq --valid dump/raw/dev --tts_config conf/tts/fastspeech2_tiny.yaml \
    --lang_config conf/lang.yaml --token_type phn --token_list dump/token/target_tts_tokens.txt \
    --min_score auto --out_dir exp/finetune/tts_durations

It runs before a duration-based TTS trains (`train_model --durations DIR`) and takes the same
data: the training dirs (aligned as one) and the validation dir. The ASR aligns the scoring
normalization of each transcript (the text it was trained on); the durations count the TTS's
own tokens of the same transcript. Aligned utterances below the `--min_score` threshold
(`lrspeech.pipeline.align_scores`; auto: the corpus' outliers) are left out, like those that
cannot be aligned. The dir is written whole or not at all:

    out_dir/align.json          settings, and per split the counts and the threshold chosen
    out_dir/train/, valid/      align dirs (lrspeech.pipeline.duration_files): durations of
                                the kept utterances; scores, tokens, ctm of every aligned one;
                                report.json; skipped.json (what was left out, and why)
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from lrspeech.data.atomic import atomic_dir
from lrspeech.errors import InputError
from lrspeech.pipeline.align_data import AlignReport, Transcripts, align_utterances, write_align_dir
from lrspeech.pipeline.durations import DEFAULT_MIN_PAUSE_S, WORD_SPLITS, TtsFrames
from lrspeech.pipeline.train_data import load_combined, tts_tokens

logger = logging.getLogger(__name__)

ALIGN_JSON = "align.json"
SPLITS = ("train", "valid")


@dataclass
class AlignStep:
    """Inputs of the ctc_align step (the CLI's arguments)."""

    asr_model: Path  # packed ASR dir or ESPnet exp dir
    train_dirs: Sequence[Path]
    out_dir: Path
    frames: TtsFrames  # the TTS's frame grid (its config's feats_extract_conf)
    valid_dir: Optional[Path] = None
    lang_config: Optional[Path] = None  # normalizes the ASR's transcripts; the TTS tokenizer
    token_type: Optional[str] = None  # TTS tokens (phn | char); None: the ASR's own tokens
    token_list: Optional[Path] = None  # with token_type: the TTS's token list
    min_score: Optional[str] = "auto"  # None: keep every aligned utterance
    unk_policy: str = "unk"
    min_pause_s: float = DEFAULT_MIN_PAUSE_S
    chunk_s: float = 60.0
    word_split: str = "letters"  # how a word's frames go to its TTS tokens (durations.py)

    @property
    def splits(self) -> Dict[str, List[Path]]:
        out = {"train": [Path(d) for d in self.train_dirs]}
        if self.valid_dir is not None:
            out["valid"] = [Path(self.valid_dir)]
        return out

    def check(self) -> None:
        """Refuse option combinations that cannot work, before the ASR is loaded."""
        if self.token_type is not None and (self.token_list is None or self.lang_config is None):
            raise InputError(f"--token_type {self.token_type}: the TTS tokens also need "
                             "--token_list and --lang_config (the TTS's own)")
        if self.token_type is None and self.token_list is not None:
            raise InputError("--token_list: give --token_type (phn | char) with it")
        if self.word_split not in WORD_SPLITS:
            raise InputError(f"--word_split {self.word_split}: use one of {', '.join(WORD_SPLITS)}")


def transcripts(step: AlignStep, dirs: Sequence[Path], text: Dict[str, str]) -> Transcripts:
    """The ASR's text (normalized as it was trained on) and the TTS tokens of the dirs."""
    clean: Optional[Callable[[str], str]] = None
    tts = None
    if step.lang_config is not None:
        from lrspeech.text.cleaners import normalize_for_scoring
        from lrspeech.text.lang import LangConfig

        cfg = LangConfig.load(step.lang_config)
        clean = lambda t: normalize_for_scoring(t, cfg)  # noqa: E731
        if step.token_type is not None:
            tts = tts_tokens(dirs, cfg, step.token_type, Path(step.token_list))
    return Transcripts(text=text, tts=tts, clean=clean)


def cached_features(aligner: Any, dirs: Sequence[Path]) -> Dict[str, str]:
    """utt -> ark entry of the dirs' encoder-feature caches that are current for the aligner's
    speech encoder (the ASR head's training left them there); none for an audio-frontend ASR.
    The aligner reads those instead of encoding the audio again; a missing or stale cache is
    not built here (the audio is encoded as usual)."""
    encoder = getattr(aligner, "speech_encoder", None)
    if encoder is None:
        return {}
    from lrspeech.data.datadir import DataDir
    from lrspeech.pipeline.encoder_features import cache_dir, is_current, read_scp, wanted_meta

    out: Dict[str, str] = {}
    for d in dirs:
        cache = cache_dir(d, encoder.name)
        if is_current(cache, wanted_meta(DataDir.load(Path(d)), encoder)):
            out.update(read_scp(cache))
            logger.info("%s: cached %s features read instead of the audio", d, encoder.name)
    return out


def run_align_step(step: AlignStep, aligner: Any = None) -> Dict[str, AlignReport]:
    """Align every split, choose each one's threshold, write the durations dir."""
    step.check()
    data = {split: load_combined(dirs) for split, dirs in step.splits.items()}
    texts = {split: transcripts(step, step.splits[split], dd.text) for split, dd in data.items()}
    if aligner is None:
        from lrspeech.pipeline.align import CtcAligner

        aligner = CtcAligner.from_model(step.asr_model, unk_policy=step.unk_policy,
                                        chunk_s=step.chunk_s)
    reports = {}
    for split, dd in data.items():
        feats = cached_features(aligner, step.splits[split])
        report = align_utterances(aligner, dd, step.frames, texts[split], step.min_pause_s,
                                  feats, step.word_split)
        selection = report.select(step.min_score)
        logger.info("%s: aligned %d of %d utterances, kept %d (min score %s: %s)", dd.name,
                    len(report.results), len(dd.audio_utt_ids), len(selection.kept),
                    step.min_score, selection.summary()["threshold"])
        reports[split] = report
    with atomic_dir(Path(step.out_dir), replace=(*SPLITS, ALIGN_JSON)) as tmp:
        for split, report in reports.items():
            write_align_dir(tmp / split, report, step.frames)
        (tmp / ALIGN_JSON).write_text(json.dumps(_record(step, reports), indent=2) + "\n",
                                      encoding="utf-8")
    return reports


def _record(step: AlignStep, reports: Dict[str, AlignReport]) -> Dict[str, Any]:
    """align.json: what the dir was made from, and per split what was kept and left out."""
    splits = {}
    for split, report in reports.items():
        summary = report.summary()
        splits[split] = {
            "data_dirs": [str(Path(d).resolve()) for d in step.splits[split]],
            "utterances": summary["utterances"],
            "aligned": summary["aligned"],
            **summary["selection"],
            "left_out_counts": report.left_out().counts,
        }
    return {
        "asr_model": str(step.asr_model),
        "frames": {"fs": step.frames.fs, "hop_length": step.frames.hop_length},
        "lang_config": None if step.lang_config is None else str(step.lang_config),
        "token_type": step.token_type,
        "token_list": None if step.token_list is None else str(step.token_list),
        "word_split": step.word_split,
        "splits": splits,
    }


def read_record(durations_dir: Path) -> Dict[str, Any]:
    """A durations dir's align.json; a dir that is not ctc_align's output is named."""
    path = Path(durations_dir) / ALIGN_JSON
    if not path.is_file():
        raise InputError(f"{path}: missing; {durations_dir} is not an output of "
                         "lrspeech.bin.ctc_align (run it first, with the same data)")
    return json.loads(path.read_text(encoding="utf-8"))
