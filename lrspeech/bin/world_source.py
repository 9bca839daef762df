"""Train a packed TTS's WORLD source model on the speaker's recordings (MODEL_DIR/world.pt).

Usage: python -m lrspeech.bin.world_source --model_dir exp/packed/tts \
    --data_dir dump/raw/paired_hq dump/raw/unpaired_speech
       python -m lrspeech.bin.world_source --config conf/tts/fastspeech2_tiny.yaml \
    --data_dir dump/raw/paired_hq --speaker sw_35d --out exp/world/world.pt

The recordings are analysed with the TTS's own feature extractor (its config.yaml) and with
WORLD's F0 analysis (DIO + StoneMask in the TTS's own pitch range); a small network learns to
read voicing and F0 from the features (lrspeech.models.world_vocoder says what and why). No
transcript is needed, so untranscribed speech of the speaker counts. Only the utterances of
`--speaker` are used (default `target`: meta.json's target speaker; `all`: every utterance).
Synthesis then takes `--vocoder world` or `world_gl` (lrspeech.bin.synthesize, tts_inference,
eval_stage), and `--vocoder auto` picks world_gl (WORLD above 500 Hz in voiced frames,
Griffin-Lim elsewhere; or world when meta.json's world_vocoder says so) for a TTS without
HiFi-GAN features whose dir has world.pt.
The model depends on the features, not on the TTS: with `--config` (a TTS training config) it
is written to `--out`, and any TTS trained on those features packs it (train_model
`--world_source`; lr.sh does it with `--tts_vocoder world_gl`, its default, or `world`).
"""

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional

from lrspeech.bin.gv_stats import add_recording_args, speaker_filter
from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--model_dir", type=Path,
                       help="packed TTS model dir (writes world.pt there)")
    where.add_argument("--config", type=Path,
                       help="a TTS config whose features the model reads (with --out)")
    p.add_argument("--out", type=Path, default=None, help="with --config: the file to write")
    add_recording_args(p, "train on")
    p.add_argument("--epochs", type=int, default=8, help="passes over the frames")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    a = get_parser().parse_args(argv)
    for name in ("max_utts", "epochs"):
        value = getattr(a, name)
        if value is not None and value < 1:
            print(f"world_source: error: --{name} must be >= 1, not {value}", file=sys.stderr)
            return 2
    if (a.config is None) != (a.out is None):
        print("world_source: error: --out goes with --config (with --model_dir the model is "
              "written to MODEL_DIR/world.pt)", file=sys.stderr)
        return 2
    if a.config is not None and a.speaker == "target":
        print("world_source: error: with --config there is no meta.json to name the target "
              "speaker; give --speaker NAME (or all)", file=sys.stderr)
        return 2
    from lrspeech.data.atomic import atomic_file
    from lrspeech.models.packing import expect_task, read_yaml
    from lrspeech.models.world_vocoder import WORLD_FILE, describe, source_of_data_dirs

    start = time.perf_counter()
    try:
        if a.model_dir is not None:
            meta, config = expect_task(a.model_dir, "tts"), read_yaml(a.model_dir / "config.yaml")
            out = a.model_dir / WORLD_FILE
        else:
            meta, config, out = {}, read_yaml(a.config), a.out
        source = source_of_data_dirs(a.data_dir, config, speaker_filter(meta, a.speaker),
                                     a.max_utts, a.epochs, a.seed)
        with atomic_file(out) as tmp:
            source.save(tmp)
    except (LrspeechError, OSError) as err:
        print(f"world_source: error: {err}", file=sys.stderr)
        return 1
    summary = {**describe(source), "seconds": round(time.perf_counter() - start, 1)}
    print(f"{out}: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
