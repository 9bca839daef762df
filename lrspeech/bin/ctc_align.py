"""CTC forced alignment of a TTS's training data with an ASR: durations, scores, word timings.

Usage: python -m lrspeech.bin.ctc_align --asr_model exp/finetune/asr/model \
    --train dump/raw/paired_hq --valid dump/raw/dev --tts_config conf/tts/fastspeech2_tiny.yaml \
    --lang_config conf/lang.yaml --token_type phn --token_list dump/token/target_tts_tokens.txt \
    --min_score auto --out_dir exp/finetune/tts_durations

The recipe step before a duration-based TTS (FastSpeech2) trains on the same --train and
--valid dirs: `train_model --durations DIR`. Writes DIR whole or not at all:
`DIR/{train,valid}/` with `durations` (`utt d1 ... dN d_eos`, TTS frames, of the utterances
kept), `scores` (mean log posterior per ASR frame of the best CTC path), `tokens` (the TTS
tokens the durations count), `ctm` (word timings), `frames.yaml`, `report.json` and
`skipped.json` (left out: not aligned, or below --min_score), and `DIR/align.json`
(settings, counts, the threshold chosen). See lrspeech.pipeline.align_step.

Without --token_type the durations count the ASR's own tokens; `--fs 16000` instead of
--tts_config gives word timings for any frame grid (`DIR/train/ctm`, for segment_data_dir).
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--asr_model", type=Path, required=True,
                   help="packed ASR dir (meta.json) or ESPnet ASR exp dir (config.yaml + *.pth)")
    p.add_argument("--train", type=Path, nargs="+", required=True,
                   help="training data dirs (aligned as one, as train_model combines them)")
    p.add_argument("--valid", type=Path, default=None, help="validation data dir")
    p.add_argument("--out_dir", type=Path, required=True, help="the durations dir to write")
    grid = p.add_mutually_exclusive_group(required=True)
    grid.add_argument("--tts_config", type=Path,
                      help="TTS config whose feats_extract_conf gives fs/hop")
    grid.add_argument("--fs", type=int, help="TTS sample rate (with --hop_length)")
    p.add_argument("--hop_length", type=int, default=256, help="TTS hop in samples (with --fs)")
    p.add_argument("--lang_config", type=Path, default=None,
                   help="the language's lang.yaml: normalizes the transcripts the ASR aligns, "
                        "and tokenizes the TTS's")
    p.add_argument("--token_type", default=None,
                   help="the TTS's tokens (phn | char, as train_model's); default: the ASR's")
    p.add_argument("--token_list", type=Path, default=None,
                   help="the TTS's token list (with --token_type)")
    p.add_argument("--min_score", default="auto",
                   help="leave aligned utterances below this score out: a number (<= 0), "
                        "'auto' (the corpus' outliers) or 'none'")
    p.add_argument("--unk_policy", choices=("unk", "drop"), default="unk",
                   help="tokens the ASR cannot emit: align as <unk>, or drop them")
    p.add_argument("--min_pause", type=float, default=0.08, help="shortest pause in seconds")
    p.add_argument("--chunk_s", type=float, default=60.0, help="encode longer audio in windows")
    p.add_argument("--word_split", default="letters",
                   help="a word's frames over its TTS tokens: cut where the ASR's letters "
                        "between them are (letters), or in equal shares (even)")
    return p


def step_from_args(args: argparse.Namespace) -> Any:
    from lrspeech.pipeline.align_step import AlignStep
    from lrspeech.pipeline.durations import TtsFrames

    frames = (TtsFrames.from_tts_config(args.tts_config) if args.tts_config
              else TtsFrames(args.fs, args.hop_length))
    return AlignStep(
        asr_model=args.asr_model, train_dirs=args.train, out_dir=args.out_dir, frames=frames,
        valid_dir=args.valid, lang_config=args.lang_config, token_type=args.token_type,
        token_list=args.token_list, min_score=None if args.min_score == "none" else args.min_score,
        unk_policy=args.unk_policy, min_pause_s=args.min_pause, chunk_s=args.chunk_s,
        word_split=args.word_split,
    )


def printed_summary(reports: Dict[str, Any]) -> Dict[str, Any]:
    """Counts per split; the long lists are in each split's report.json."""
    out = {}
    for split, report in reports.items():
        summary = report.summary()
        for key in ("skipped_reasons", "unk_tokens", "dropped_tokens"):
            summary.pop(key)
        summary["score"].pop("histogram", None)
        out[split] = summary
    return out


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = get_parser().parse_args(argv)
    from lrspeech.pipeline.align_step import run_align_step

    try:
        reports = run_align_step(step_from_args(args))
    except (LrspeechError, OSError) as err:
        print(f"ctc_align: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(printed_summary(reports), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
