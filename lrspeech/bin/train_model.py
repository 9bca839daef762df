"""Train one recipe model from data dirs and pack it (see lrspeech.pipeline.training).

Usage: python -m lrspeech.bin.train_model --task tts --config conf/tts/fastspeech2_tiny.yaml \
    --train dump/raw/paired_hq --valid dump/raw/dev --lang_config conf/lang.yaml \
    --token_type phn --token_list dump/token/tts_tokens.txt --spk2sid dump/token/spk2sid \
    --durations exp/finetune/tts_durations --out_dir exp/finetune/tts --epochs 20 \
    --init exp/finetune/tts_init.pth -- --batch_size 8

A FastSpeech/FastSpeech2 config trains on the durations of the ctc_align step run before it
(lrspeech.bin.ctc_align, same --train and --valid dirs); other configs take no --durations.

Arguments after `--` go to ESPnet's trainer unchanged (e.g. --ngpu 1, --num_workers 2).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.models.vocoder import WORLD_GL, WORLD_VOCODERS
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--task", choices=("asr", "tts"), required=True)
    p.add_argument(
        "--config", type=Path, required=True, help="ESPnet training config (conf/asr|tts/*.yaml)"
    )
    p.add_argument(
        "--train", type=Path, nargs="+", required=True, help="training data dirs (combined)"
    )
    p.add_argument("--valid", type=Path, required=True, help="validation data dir")
    p.add_argument("--lang_config", type=Path, required=True, help="the language's lang.yaml")
    p.add_argument(
        "--token_list", type=Path, required=True, help="ESPnet token list (fixed across stages)"
    )
    p.add_argument(
        "--token_type",
        default=None,
        help="asr: char|bpe (default char); tts: phn|char (default phn)",
    )
    p.add_argument(
        "--bpemodel", type=Path, default=None, help="sentencepiece model for --token_type bpe"
    )
    p.add_argument(
        "--out_dir",
        type=Path,
        required=True,
        help="step dir; the packed model goes to out_dir/model",
    )
    p.add_argument("--epochs", type=int, required=True, help="ESPnet --max_epoch")
    p.add_argument(
        "--init", type=Path, default=None, help=".pth, exp dir or packed model dir to start from"
    )
    p.add_argument(
        "--spk2sid", type=Path, default=None, help="tts: speaker -> id map shared by the recipe"
    )
    p.add_argument(
        "--target_speaker", default=None, help="tts: the voice the recipe calls 'target'"
    )
    p.add_argument(
        "--durations",
        type=Path,
        default=None,
        help="FastSpeech/FastSpeech2 TTS: the lrspeech.bin.ctc_align output dir of the same "
        "--train/--valid dirs (utterances without durations are left out)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--speech_encoder", default=None,
                   help="asr on the whisper_ct2 frontend: the encoder (model dir, whisper-base, "
                        "whisper-small) instead of the config's")
    p.add_argument("--inference_model", default=None,
                   help="the exp dir's model to pack, as ESPnet's tts.sh names it: latest.pth "
                        "(the last epoch), <N>epoch.pth, valid.loss.best.pth, ..., or 'best' "
                        "(valid.loss.ave, else valid.loss.best); default: latest.pth for a tts, "
                        "best for an asr")
    p.add_argument("--gv_data", type=Path, nargs="+", default=None,
                   help="tts: data dirs with the target speaker's real recordings; their global "
                        "variance is packed as gv.npz for the synthesis post-filter "
                        "(lrspeech.models.postfilter); only --target_speaker's utterances count")
    p.add_argument("--world_source", type=Path, default=None,
                   help="tts: a WORLD source model (lrspeech.bin.world_source --out) to pack as "
                        "world.pt; --vocoder auto then synthesizes with --world_vocoder")
    p.add_argument("--world_vocoder", choices=WORLD_VOCODERS, default=WORLD_GL,
                   help="tts with --world_source: what --vocoder auto runs with world.pt: "
                        "world_gl (WORLD above 500 Hz in voiced frames, Griffin-Lim elsewhere) "
                        "or world (recorded in meta.json)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    a = get_parser().parse_args(own)
    from lrspeech.pipeline.training import TrainStep, run_step

    step = TrainStep(
        task=a.task,
        config=a.config,
        train_dirs=a.train,
        valid_dir=a.valid,
        lang_config=a.lang_config,
        token_list=a.token_list,
        out_dir=a.out_dir,
        epochs=a.epochs,
        token_type=a.token_type or ("char" if a.task == "asr" else "phn"),
        bpemodel=a.bpemodel,
        init=a.init,
        spk2sid=a.spk2sid,
        target_speaker=a.target_speaker,
        durations=a.durations,
        seed=a.seed,
        extra_args=extra,
        encoder_spec=a.speech_encoder,
        inference_model=a.inference_model,
        gv_data=a.gv_data,
        world_source=a.world_source,
        world_vocoder=a.world_vocoder,
    )
    try:
        packed = run_step(step)
    except (LrspeechError, OSError) as err:
        print(f"train_model: error: {err}", file=sys.stderr)
        return 1
    print(packed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
