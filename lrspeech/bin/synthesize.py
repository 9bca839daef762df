"""Speak a sentence with a packed TTS model (stage 9's exp/packed/tts or any packed dir).

Usage: python -m lrspeech.bin.synthesize --model_dir exp/packed/tts --text "Habari za asubuhi" \
    --out habari.wav [--speaker target] [--vocoder auto] [--min_seconds 0.1]

The text goes through the model's own lang.yaml (cleaners, numbers, phonemes), as in training.
"""

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import InputError, LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="packed TTS model dir")
    p.add_argument("--text", required=True, help="the sentence to speak")
    p.add_argument("--out", type=Path, required=True, help="wav file to write")
    p.add_argument("--speaker", default="target", help="a training speaker's name, or target")
    p.add_argument("--vocoder", default="auto",
                   help="auto (HiFi-GAN for a TTS on its features, else world_gl, or world as "
                   "its meta.json says, when the model dir has world.pt, else Griffin-Lim) | "
                   "griffin_lim | hifigan_universal[:<generator .pth.tar>] | world | world_gl "
                   "(WORLD above 500 Hz in voiced frames, Griffin-Lim elsewhere; both need the "
                   "model dir's world.pt: python -m lrspeech.bin.world_source)")
    p.add_argument("--postfilter", default="auto",
                   help="auto (gv when the model dir has gv.npz) | gv[:STRENGTH] | none")
    p.add_argument("--vocoder_config", default=None, help="GAN vocoder config.yaml")
    p.add_argument("--vocoder_file", default=None,
                   help="GAN vocoder checkpoint (default: Griffin-Lim)")
    p.add_argument("--min_seconds", type=float, default=0.1,
                   help="a clip shorter than this fails (no word is that short; a weak model's "
                   "durations can collapse to a frame or two); 0 keeps any non-empty clip")
    return p


def speak(model_dir: Path, text: str, out: Path, speaker: str = "target",
          vocoder_config: Optional[str] = None, vocoder_file: Optional[str] = None,
          min_seconds: float = 0.1, vocoder: str = "auto", postfilter: str = "auto") -> float:
    """Write `text` spoken by the model to `out`; return its duration in seconds."""
    from lrspeech.data.datadir import DataDir
    from lrspeech.models.synthesis import TtsOptions, synthesize_text_dir

    if not text.strip():
        raise InputError("--text is empty; give a sentence to speak")
    options = TtsOptions(speaker=speaker, vocoder=vocoder, vocoder_config=vocoder_config,
                         vocoder_file=vocoder_file, min_seconds=min_seconds,
                         postfilter=postfilter)
    with tempfile.TemporaryDirectory() as tmp:
        DataDir(text={"utt": text}).save(Path(tmp) / "text")
        result = synthesize_text_dir(model_dir, Path(tmp) / "text", Path(tmp) / "out", options)
        if result.failed:
            raise InputError(f"{model_dir}: the synthesis of {text!r} failed "
                             f"({result.failed[0].failed}: {result.failed[0].detail}); the model "
                             "is too weak for this text, or the text is not in its language")
        if not result.records or result.records[0].wav is None:
            raise InputError(f"{model_dir}: nothing was synthesized for {text!r}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.records[0].wav, out)
        return result.records[0].audio_seconds


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    a = get_parser().parse_args(argv)
    try:
        seconds = speak(a.model_dir, a.text, a.out, a.speaker, a.vocoder_config, a.vocoder_file,
                        a.min_seconds, a.vocoder, a.postfilter)
    except (LrspeechError, OSError) as err:
        print(f"synthesize: error: {err}", file=sys.stderr)
        return 1
    print(f"{a.out}: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
