"""Transcribe audio files with a packed ASR model (stage 9's exp/packed/asr or any packed dir).

Usage: python -m lrspeech.bin.transcribe --model_dir exp/packed/asr recording.wav [more.flac ...]

Prints one `file<TAB>transcript` line per file. Any rate is resampled to the model's; the
transcript is in the model's normalized form (lower case, numbers as words). A file that is
empty or shorter than the ASR encoder takes is skipped with a warning that names it.
A model dir with a packed LM decodes with it (shallow fusion; `--lm_weight 0`: without it).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from lrspeech.bin.asr_inference import add_lm_options
from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads

logger = logging.getLogger("lrspeech.transcribe")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="packed ASR model dir")
    p.add_argument("audio", type=Path, nargs="+", help="wav/flac files")
    p.add_argument("--beam_size", type=int, default=10,
                   help="beam of the search (CTC only: lrspeech's prefix search)")
    p.add_argument("--ctc_weight", type=float, default=1.0, help="1.0: CTC-only decoding")
    add_lm_options(p)
    return p


def transcribe(model_dir: Path, files: List[Path], beam_size: int = 10,
               ctc_weight: float = 1.0, lm: Optional[Path] = None,
               lm_weight: Optional[float] = None,
               length_bonus: Optional[float] = None) -> List[Tuple[Path, str]]:
    """(file, transcript) for each file, decoded with the packed model (and its packed LM,
    unless lm_weight is 0)."""
    from lrspeech.data.audio import AudioError, load_audio, resample
    from lrspeech.data.errors import EMPTY_AUDIO
    from lrspeech.models.asr_decode import hypothesis_text
    from lrspeech.models.input_limits import measure_limit
    from lrspeech.models.packing import load_asr, model_sample_rate

    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"no such audio file: {', '.join(missing)}")
    s2t = load_asr(model_dir, beam_size=beam_size, ctc_weight=ctc_weight, lm=lm,
                   lm_weight=lm_weight, length_bonus=length_bonus)
    rate = model_sample_rate(s2t)
    token_type = str(s2t.asr_train_args.token_type)
    limit = measure_limit(s2t.asr_model, rate)
    out = []
    for f in files:
        try:
            x, sr = load_audio(f)
        except AudioError as err:
            if err.kind != EMPTY_AUDIO:
                raise
            logger.warning("%s; skipped", err)
            continue
        speech = resample(x, sr, rate)
        short = limit.reason(len(speech))
        if short is not None:
            logger.warning("%s: %s: %s; skipped", f, short, limit.describe(len(speech)))
            continue
        text, tokens, _, _ = s2t(speech)[0]
        out.append((f, hypothesis_text(text, tokens, token_type)))
    return out


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    a = get_parser().parse_args(argv)
    try:
        results = transcribe(a.model_dir, a.audio, a.beam_size, a.ctc_weight, a.lm,
                             a.lm_weight, a.length_bonus)
    except (LrspeechError, OSError) as err:
        print(f"transcribe: error: {err}", file=sys.stderr)
        return 1
    for f, text in results:
        print(f"{f}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
