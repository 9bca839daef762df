"""Pack a trained ESPnet model into a self-contained model dir (docs/CONTRACTS.md).

Usage: python -m lrspeech.bin.pack_model --exp_dir exp/finetune/tts/exp --out_dir exp/packed/tts \
    --lang_config conf/lang.yaml --token_type phn --spk2sid dump/token/spk2sid \
    --target_speaker sw_35d

Without --checkpoint the model the recipe would pack for the exp dir's task is packed: a TTS's
last epoch (latest.pth), an ASR's or LM's best (valid.loss.ave.pth, valid.loss.best.pth,
another *.best.pth, or the last epoch). Paths in config.yaml become relative to the packed dir.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", type=Path, required=True,
                   help="ESPnet exp dir (with config.yaml), or a config.yaml")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="model .pth (default: a TTS's latest.pth, an ASR's or LM's best)")
    p.add_argument("--out_dir", type=Path, required=True, help="packed model dir to write")
    p.add_argument("--lang_config", type=Path, default=None,
                   help="the language's lang.yaml (needed to synthesize raw text)")
    p.add_argument("--token_type", default=None,
                   help="lrspeech token type for meta.json (phn|char|bpe; default: config's)")
    p.add_argument("--spk2sid", type=Path, default=None,
                   help="tts: `speaker sid` map the model was trained with")
    p.add_argument("--target_speaker", default=None, help="tts: the voice 'target' names")
    p.add_argument("--speaker_embeddings", type=Path, default=None,
                   help="tts with spk_embed_dim: .npz of speaker name -> embedding")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("lrspeech").setLevel(logging.INFO)  # ESPnet logs whole models at INFO
    a = get_parser().parse_args(argv)
    from lrspeech.models.packing import pack_model
    from lrspeech.models.speakers import read_spk2sid

    try:
        meta = {"token_type": a.token_type, "target_speaker": a.target_speaker}
        if a.spk2sid is not None:
            meta["speakers"] = read_spk2sid(a.spk2sid)
        meta = {k: v for k, v in meta.items() if v is not None}
        out = pack_model(a.exp_dir, a.checkpoint, a.out_dir, lang_config=a.lang_config,
                         meta=meta, speaker_embeddings=a.speaker_embeddings)
    except (LrspeechError, OSError) as err:
        print(f"pack_model: error: {err}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
