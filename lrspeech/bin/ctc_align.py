"""CTC forced alignment of a data dir with an ASR: TTS durations, scores, word timings.

Usage: python -m lrspeech.bin.ctc_align --asr_model exp/asr --data_dir data/paired_hq \
    --tts_config conf/tts/fastspeech2_tiny.yaml --tts_text dump/tts/paired_hq/text \
    --out_dir exp/align/paired_hq --lists_dir dump/tts_fs2/paired_hq

Writes into --out_dir: `durations` (`utt d1 ... dN d_eos`, TTS frames, FastSpeech2's format),
`scores` (mean log posterior per ASR frame of the best CTC path), `ctm` (word timings),
`tokens` (the TTS tokens the durations count), `frames.yaml` and `report.json` (counts,
skipped utterances with reasons, score distribution). With --lists_dir it also writes the
FastSpeech2 training lists, leaving out utterances below --min_score, and with --tts_config
their token-averaged pitch/energy (train with lrspeech.pipeline.durations.fastspeech2_data_args).
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads

if TYPE_CHECKING:
    from lrspeech.pipeline.durations import Transcripts


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--asr_model", type=Path, required=True,
                   help="packed ASR dir (meta.json) or ESPnet ASR exp dir (config.yaml + *.pth)")
    p.add_argument("--data_dir", type=Path, required=True, help="Kaldi-style data dir to align")
    p.add_argument("--out_dir", type=Path, required=True, help="where durations, scores, ... go")
    grid = p.add_mutually_exclusive_group(required=True)
    grid.add_argument("--tts_config", type=Path,
                      help="TTS config whose feats_extract_conf gives fs/hop")
    grid.add_argument("--fs", type=int, help="TTS sample rate (with --hop_length)")
    p.add_argument("--hop_length", type=int, default=256, help="TTS hop in samples (with --fs)")
    p.add_argument("--asr_text", type=Path, help="pre-tokenized transcripts in the ASR's units")
    p.add_argument("--tts_text", type=Path,
                   help="pre-tokenized TTS transcripts (default: the ASR tokens)")
    p.add_argument("--lang_config", type=Path,
                   help="conf/lang/*.yaml: clean data_dir/text before the ASR tokenizes it")
    p.add_argument("--unk_policy", choices=("unk", "drop"), default="unk",
                   help="tokens the ASR cannot emit: align as <unk>, or drop them")
    p.add_argument("--min_pause", type=float, default=0.08, help="shortest pause in seconds")
    p.add_argument("--chunk_s", type=float, default=60.0, help="encode longer audio in windows")
    p.add_argument("--lists_dir", type=Path, help="also write FastSpeech2 training lists here")
    p.add_argument("--min_score", default="auto",
                   help="with --lists_dir: keep scores >= this; 'auto' (outliers out) or 'none'")
    p.add_argument("--spk2sid", type=Path, help="with --lists_dir: speaker ids of the training set")
    p.add_argument("--no_sids", action="store_true", help="with --lists_dir: single speaker lists")
    return p


def transcripts_from_args(args: argparse.Namespace, text: Dict[str, str]) -> "Transcripts":
    """The Transcripts (ASR/TTS token sources, cleaner) the options describe."""
    from lrspeech.pipeline.durations import read_token_file

    clean = None
    if args.lang_config is not None:
        from lrspeech.text.cleaners import clean_text
        from lrspeech.text.lang import LangConfig

        cfg = LangConfig.load(args.lang_config)
        clean = lambda t: clean_text(t, cfg)  # noqa: E731
    from lrspeech.pipeline.durations import Transcripts

    return Transcripts(
        text=text,
        asr=read_token_file(args.asr_text) if args.asr_text else None,
        tts=read_token_file(args.tts_text) if args.tts_text else None,
        clean=clean,
    )


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = get_parser().parse_args(argv)
    from lrspeech.data.datadir import DataDir
    from lrspeech.pipeline.align import CtcAligner
    from lrspeech.pipeline.durations import TtsFrames, align_data_dir, prepare_fastspeech2_inputs

    try:
        frames = (TtsFrames.from_tts_config(args.tts_config) if args.tts_config
                  else TtsFrames(args.fs, args.hop_length))
        aligner = CtcAligner.from_model(args.asr_model, unk_policy=args.unk_policy,
                                        chunk_s=args.chunk_s)
        transcripts = transcripts_from_args(args, DataDir.load(args.data_dir).text)
        report = align_data_dir(aligner, args.data_dir, args.out_dir, frames, transcripts,
                                args.min_pause)
        summary = {"align": report.summary()}
        if args.lists_dir is not None:
            min_score = None if args.min_score == "none" else args.min_score
            prep = prepare_fastspeech2_inputs(args.data_dir, args.out_dir, args.lists_dir,
                                              min_score, not args.no_sids, args.spk2sid,
                                              args.tts_config)
            summary["fastspeech2_inputs"] = prep.summary()
    except (LrspeechError, OSError) as err:
        print(f"ctc_align: error: {err}", file=sys.stderr)
        return 1
    for key in ("skipped_reasons", "unk_tokens", "dropped_tokens"):  # in report.json
        summary["align"].pop(key)
    summary["align"]["score"].pop("histogram", None)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
