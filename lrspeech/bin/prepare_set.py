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
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import List, Optional

from lrspeech.bin import filter_digits, format_audio, segment_data_dir
from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.errors import InputError


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
    setup_logging()

    def body() -> int:
        src = a.src
        if a.split_dir is not None:
            report = a.split_dir.with_name(a.split_dir.name + ".json")
            report.parent.mkdir(parents=True, exist_ok=True)
            with open(report, "w", encoding="utf-8") as out, redirect_stdout(out):
                if segment_data_dir.main(["--data_dir", str(a.src), "--out_dir", str(a.split_dir),
                                          "--min_len", str(a.min_dur), "--max_len",
                                          str(a.max_dur)]) != 0:
                    raise InputError(f"cutting {a.src} at pauses failed (see above)")
            summary = json.loads(report.read_text(encoding="utf-8"))
            print(f"{a.src.name}: cut at pauses: {json.dumps(summary, separators=(',', ':'))}")
            src = a.split_dir
        formatted = io.StringIO()
        with redirect_stdout(formatted):
            rc = format_audio.main(["--in", str(src), "--out", str(a.out), "--fs", str(a.fs),
                                    "--trim_db", str(a.trim_db), "--min_dur", str(a.min_dur),
                                    "--max_dur", str(a.max_dur), "--nj", str(a.nj)])
        if rc != 0:
            raise InputError(f"formatting the audio of {src} failed (see above)")
        print(f"{a.out.name}: formatted: {formatted.getvalue().strip()}")
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
