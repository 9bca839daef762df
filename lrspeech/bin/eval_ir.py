"""Intelligibility rate (IR) of synthesized speech with a judge ASR.

Usage: python -m lrspeech.bin.eval_ir --judge pocketsphinx --text data/dev --wav_dir S --out_dir O

`--judge` is `pocketsphinx` (English) or a packed ESPnet ASR dir. `--text` is a data dir (or
its `text` file) with the sentences that were synthesized; `--wav_dir` is a data dir with
wav.scp or a folder of `<utt>.wav`. Writes `<out_dir>/ir.json` and `<out_dir>/ir_utts.tsv`
and prints IR, sentence IR and the judge's CER.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.eval.inputs import EvalInputError, audio_set, read_text
from lrspeech.eval.ir import DEFAULT_PAD_S, evaluate_ir, write_ir
from lrspeech.eval.judge import make_judge
from lrspeech.eval.scoring import percent
from lrspeech.runtime import limit_threads
from lrspeech.text.lang import LangConfig


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.eval_ir", description=__doc__.split("\n")[0]
    )
    p.add_argument("--judge", required=True, help="`pocketsphinx` or a packed ESPnet ASR model dir")
    p.add_argument(
        "--text", type=Path, required=True, help="data dir (or text file) of the sentences"
    )
    p.add_argument(
        "--wav_dir",
        type=Path,
        required=True,
        help="synthesized audio: data dir or <utt>.wav folder",
    )
    p.add_argument("--out_dir", type=Path, required=True, help="where ir.json and ir_utts.tsv go")
    p.add_argument(
        "--lang_config", type=Path, default=None, help="conf/lang/<iso>.yaml (number expansion)"
    )
    p.add_argument(
        "--pad_s", type=float, default=DEFAULT_PAD_S, help="silence added at both ends (s)"
    )
    p.add_argument(
        "--skip_missing",
        action="store_true",
        help="score only texts that have audio (default: a missing clip counts as unintelligible)",
    )
    p.add_argument("--device", default="cpu", help="device of an ESPnet judge (cpu, cuda)")
    p.add_argument("--judge_lm", action="store_true",
                   help="let an ESPnet judge decode with its packed LM (default: without, so "
                   "that it does not hear the words the text makes it expect)")
    return p


def check_inputs(text: Path, wav_dir: Path) -> tuple:
    """Texts and audio; synthesized utterances without a text are an error naming them."""
    texts, audio = read_text(text), audio_set(wav_dir)
    extra = sorted(set(audio) - set(texts))
    if extra:
        raise EvalInputError(
            f"{wav_dir}: utterance '{extra[0]}' (and {len(extra) - 1} more) has no text in {text}; "
            "give the text dir the audio was synthesized from"
        )
    return texts, audio


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limit_threads()
    try:
        cfg = LangConfig.load(args.lang_config) if args.lang_config else None
        texts, audio = check_inputs(args.text, args.wav_dir)
        kwargs = {} if args.judge == "pocketsphinx" else {"device": args.device,
                                                          "use_lm": args.judge_lm}
        judge = make_judge(args.judge, **kwargs)
        result = evaluate_ir(judge, texts, audio, cfg, args.pad_s, args.skip_missing)
    except (LrspeechError, OSError) as err:
        print(f"eval_ir: error: {err}", file=sys.stderr)
        return 1
    meta = {
        "text": str(args.text),
        "wav_dir": str(args.wav_dir),
        "pad_s": args.pad_s,
        "judge_lm": bool(args.judge_lm),
        "skip_missing": args.skip_missing,
    }
    write_ir(result, args.out_dir, meta)
    print(
        f"IR {percent(result.ir)}  sentence IR {percent(result.sentence_ir)}  judge CER "
        f"{percent(result.score.cer)}  ({len(result.score.utts)} utts, judge {result.judge})"
        f" -> {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
