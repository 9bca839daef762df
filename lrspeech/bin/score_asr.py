"""Score ASR hypotheses against references: CER and WER with S/D/I, sclite-like listing.

Usage: python -m lrspeech.bin.score_asr --ref data/dev/text --hyp exp/dev/text --out_dir exp/dev

Writes `<out_dir>/result.txt` (aligned REF/HYP per utterance with S/D/I marks, then a
summary) and `<out_dir>/score.json`, and prints the totals. Both texts are normalized with
`normalize_for_scoring` (numbers expanded with the language config when given).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.eval.inputs import EvalInputError, read_text_entries
from lrspeech.eval.sclite import write_score_files
from lrspeech.eval.scoring import percent, score_corpus
from lrspeech.runtime import limit_threads
from lrspeech.text.lang import LangConfig


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrspeech.bin.score_asr", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--ref", type=Path, required=True, help="reference Kaldi text file (utt transcript)"
    )
    p.add_argument(
        "--hyp", type=Path, required=True, help="hypothesis Kaldi text file (decoder output)"
    )
    p.add_argument("--out_dir", type=Path, required=True, help="where result.txt and score.json go")
    p.add_argument(
        "--lang_config", type=Path, default=None, help="conf/lang/<iso>.yaml (number expansion)"
    )
    return p


def check_ids(ref: Path, hyp: Path) -> tuple:
    """Read both files; a hypothesis id missing from the reference names its line."""
    refs, hyps = read_text_entries(ref), read_text_entries(hyp)
    for utt, entry in hyps.items():
        if utt not in refs:
            raise EvalInputError(
                f"{hyp}:{entry.line}: utterance '{utt}' is not in the reference {ref}; "
                "score against the text of the data dir that was decoded"
            )
    return {u: e.value for u, e in refs.items()}, {u: e.value for u, e in hyps.items()}


def main(argv: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limit_threads()
    try:
        cfg = LangConfig.load(args.lang_config) if args.lang_config else None
        refs, hyps = check_ids(args.ref, args.hyp)
        score = score_corpus(refs, hyps, cfg)
    except (LrspeechError, OSError) as err:
        print(f"score_asr: error: {err}", file=sys.stderr)
        return 1
    meta = {"ref": str(args.ref), "hyp": str(args.hyp)}
    result, js = write_score_files(score, args.out_dir, f"REF {args.ref}  HYP {args.hyp}", meta)
    totals = f"WER {percent(score.wer)}  CER {percent(score.cer)}  ({len(score.utts)} utts)"
    print(f"{totals} -> {result}, {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
