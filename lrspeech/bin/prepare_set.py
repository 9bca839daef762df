"""Stage 2 of the recipe for one data set: cut long unpaired speech at pauses, format the audio,
drop unspoken-digit sentences from the unpaired text.

Usage: python -m lrspeech.bin.prepare_set --in data/unpaired_speech --out dump/raw/unpaired_speech \
    --fs 16000 --trim_db 40 --min_dur 1 --max_dur 16 --nj 2 \
    [--split_dir data/local/unpaired_speech_split] [--digits drop --lang_config conf/lang.yaml]

With --split_dir, recordings longer than --max_dur are cut in pauses into pieces of
--min_dur..--max_dur s there first (lrspeech.pipeline.segment); shorter ones stay whole. Then
every clip is resampled, trimmed and length-filtered into --out (lrspeech.pipeline.
format_audio). With --digits, sentences whose digits lang.yaml's number normalizer leaves
unspoken are dropped (drop) or counted (keep) (lrspeech.text.digits). One summary line per
step is printed.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.bin import filter_digits
from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.errors import InputError
from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir
from lrspeech.pipeline.segment import SegmentConfig, split_at_pauses
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--in", dest="src", type=Path, required=True, help="input data dir")
    p.add_argument("--out", type=Path, required=True, help="formatted data dir")
    p.add_argument("--fs", type=int, required=True)
    p.add_argument("--trim_db", type=float, required=True)
    p.add_argument("--min_dur", type=float, required=True)
    p.add_argument("--max_dur", type=float, required=True)
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--split_dir", type=Path, default=None,
                   help="cut recordings longer than --max_dur at pauses into this dir first")
    p.add_argument("--digits", choices=("drop", "keep"), default=None,
                   help="check the text for unspoken digits (needs --lang_config)")
    p.add_argument("--lang_config", type=Path, default=None)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    limit_threads()
    setup_logging()

    def body() -> int:
        src = a.src
        if a.split_dir is not None:
            cfg = SegmentConfig(min_len=a.min_dur, max_len=a.max_dur)
            summary = split_at_pauses(a.src, a.split_dir, cfg).summary()
            atomic_write_text(a.split_dir.with_name(a.split_dir.name + ".json"),
                              json.dumps(summary, indent=2) + "\n")
            print(f"{a.src.name}: cut at pauses: {json.dumps(summary, separators=(',', ':'))}")
            src = a.split_dir
        trim = a.trim_db if a.trim_db > 0 else None
        counts = format_data_dir(src, a.out, FormatOptions(fs=a.fs, trim_db=trim, min_dur=a.min_dur,
                                                           max_dur=a.max_dur, nj=a.nj))
        print(f"{a.out.name}: formatted: {json.dumps(counts)}")
        if a.digits is not None:
            if a.lang_config is None:
                raise InputError("--digits needs --lang_config (the number normalizer)")
            if filter_digits.main(["--data_dir", str(a.out), "--lang_config", str(a.lang_config),
                                   "--digits", a.digits]) != 0:
                raise InputError(f"checking {a.out} for digits failed (see above)")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
