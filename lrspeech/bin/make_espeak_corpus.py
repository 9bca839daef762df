"""Make a multi-speaker synthetic corpus (Kaldi-style data dir) from a text file with espeak-ng.

Usage:
    python -m lrspeech.bin.make_espeak_corpus --text <(printf 'Habari yako?\\nAsante sana.\\n') \\
        --lang sw --num_speakers 2 --fs 16000 --out /tmp/rich_sw

More options: --num_utts M (a seeded sample), --seed S, --nj J (espeak-ng processes).
The text file holds one sentence per line, or `id<TAB>text` lines. List the languages with
`espeak-ng --voices`. The same --seed gives the same speakers, sentences and audio.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.pipeline.espeak_corpus import EspeakCorpusConfig, make_espeak_corpus


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.make_espeak_corpus",
        description="Synthesize a multi-speaker corpus with espeak-ng voice variants.",
    )
    parser.add_argument("--text", type=Path, required=True, help="sentences: lines or id<TAB>text")
    parser.add_argument("--lang", required=True, help="espeak-ng voice, e.g. en-us, sw, de")
    parser.add_argument("--out", type=Path, required=True, help="output data dir")
    parser.add_argument(
        "--wav_dir", type=Path, default=None,
        help="where the wavs go (default: <out>/wav); give a lasting folder outside --out when "
        "the data dir is moved later, as wav.scp holds absolute paths",
    )
    parser.add_argument("--num_speakers", type=int, default=4, help="synthetic speakers")
    parser.add_argument(
        "--num_utts", type=int, default=None, help="utterances in all (default: every sentence)"
    )
    parser.add_argument("--fs", type=int, default=16000, help="sample rate of the wavs (Hz)")
    parser.add_argument("--seed", type=int, default=0, help="seed for voices and sentences")
    parser.add_argument("--nj", type=int, default=1, help="espeak-ng processes at once")
    parser.add_argument(
        "--pitch_range", type=int, nargs=2, default=(30, 70), metavar=("LOW", "HIGH"),
        help="espeak-ng pitch (-p, 0..99) range across speakers",
    )
    parser.add_argument(
        "--speed_range", type=int, nargs=2, default=(145, 185), metavar=("LOW", "HIGH"),
        help="espeak-ng speed (-s, words/min) range across speakers",
    )
    parser.add_argument(
        "--spk_prefix", default=None, help="speaker id prefix (default: espeak-<lang>-)"
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = EspeakCorpusConfig(
            lang=args.lang, num_speakers=args.num_speakers, num_utts=args.num_utts, fs=args.fs,
            seed=args.seed, nj=args.nj, pitch_range=tuple(args.pitch_range),
            speed_range=tuple(args.speed_range), spk_prefix=args.spk_prefix,
        )
        dd = make_espeak_corpus(args.text, args.out, cfg, wav_dir=args.wav_dir)
    except (LrspeechError, OSError) as err:
        print(f"make_espeak_corpus: error: {err}", file=sys.stderr)
        return 1
    hours = sum(dd.utt2dur.values()) / 3600
    print(f"{args.out}: {len(dd.wav_scp)} utterances, {len(dd.speakers)} speakers, {hours:.3f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
