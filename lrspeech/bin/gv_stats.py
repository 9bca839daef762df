"""Measure a speaker's global variance for a packed TTS's post-filter (writes MODEL_DIR/gv.npz).

Usage: python -m lrspeech.bin.gv_stats --model_dir exp/packed/tts --data_dir dump/raw/paired_hq

The recordings are analysed with the TTS's own feature extractor (its config.yaml); only the
utterances of `--speaker` count (default `target`: the model's target speaker, from meta.json;
`all` takes every utterance). Synthesis then applies the post-filter by default
(`--postfilter auto` of lrspeech.bin.tts_inference; lrspeech.models.postfilter says what it
does). A recipe's TTS trainings write the file themselves (train_model --gv_data).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads

ALL = "all"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="packed TTS model dir")
    add_recording_args(p, "measure on")
    return p


def add_recording_args(p: argparse.ArgumentParser, verb: str) -> None:
    """--data_dir, --speaker and --max_utts: whose real recordings a CLI `verb`s."""
    p.add_argument("--data_dir", type=Path, nargs="+", required=True,
                   help="data dirs with the speaker's real recordings (no transcript needed)")
    p.add_argument("--speaker", default="target",
                   help="whose utterances count: a speaker name, target (meta.json's "
                        "target_speaker of --model_dir) or all")
    p.add_argument("--max_utts", type=int, default=None,
                   help=f"{verb} the first N utterances only (default: all)")


def speaker_filter(meta: dict, speaker: str) -> Optional[str]:
    """The utt2spk name to keep (None: every utterance)."""
    if speaker == ALL:
        return None
    if speaker == "target":
        return meta.get("target_speaker")
    return speaker


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    a = get_parser().parse_args(argv)
    if a.max_utts is not None and a.max_utts < 1:
        print("gv_stats: error: --max_utts must be >= 1", file=sys.stderr)
        return 2
    from lrspeech.data.atomic import atomic_file
    from lrspeech.models.packing import expect_task, read_yaml
    from lrspeech.models.postfilter import GV_FILE, gv_of_data_dirs

    try:
        meta = expect_task(a.model_dir, "tts")
        config = read_yaml(a.model_dir / "config.yaml")
        stats = gv_of_data_dirs(a.data_dir, config, speaker_filter(meta, a.speaker), a.max_utts)
        with atomic_file(a.model_dir / GV_FILE) as tmp:
            stats.save(tmp)
    except (LrspeechError, OSError) as err:
        print(f"gv_stats: error: {err}", file=sys.stderr)
        return 1
    print(f"{a.model_dir / GV_FILE}: global variance of {stats.n_utts} utterances "
          f"({stats.n_frames} frames), {len(stats.std)} bins, mean std {stats.std.mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
