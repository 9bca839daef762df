"""Train (or collect stats for) an ESPnet ASR model with lrspeech's models registered.

Usage: python -m lrspeech.bin.asr_train --config conf/asr/transformer_tiny.yaml \
    --model mixspeech --output_dir exp/asr ...   (ESPnet's asr_train arguments; --help)

Thin wrapper over `espnet2.tasks.asr.ASRTask.main`: every ESPnet argument passes through
(`--collect_stats true` included). It limits OpenMP threads first (small VMs train several
times faster), registers `mixspeech`, and checks the model names in `--config` so a typo is
reported with the file and the known choices.
"""

import sys
from typing import List, Optional

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads


def main(argv: Optional[List[str]] = None) -> None:
    limit_threads()
    from lrspeech.models.tasks import run_task

    try:
        run_task("asr", sys.argv[1:] if argv is None else argv)
    except LrspeechError as err:
        sys.exit(f"asr_train: error: {err}")


if __name__ == "__main__":
    main()
