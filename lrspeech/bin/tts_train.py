"""Train (or collect stats for) an ESPnet TTS model with lrspeech's models registered.

Usage: python -m lrspeech.bin.tts_train --config conf/tts/transformer_tiny.yaml \
    --output_dir exp/tts ...   (ESPnet's tts_train arguments; --help)

Thin wrapper over `espnet2.tasks.tts.TTSTask.main` (through lrspeech's subclass, which runs
FastSpeech attention fused: lrspeech.models.fused_attention, `--fused_attention false` to
opt out): every ESPnet argument passes through (`--collect_stats true` included). It limits
OpenMP threads first (small VMs train several times faster) and checks the model names in
`--config`, so a typo is reported with the file and the known choices.
"""

import sys
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def main(argv: Optional[List[str]] = None) -> None:
    limit_threads()
    from lrspeech.models.tasks import run_task

    try:
        run_task("tts", sys.argv[1:] if argv is None else argv)
    except LrspeechError as err:
        sys.exit(f"tts_train: error: {err}")


if __name__ == "__main__":
    main()
