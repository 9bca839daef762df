#!/usr/bin/env bash
# LRSpeech on Swahili: 50 paired utterances of one speaker, the rest of the corpus as
# unpaired speech, the Bible as unpaired text, espeak-ng English as the rich-resource language.
#   ./run.sh                          # the shipped 21-minute subset, tiny models (make demo)
#   ./run.sh --db_root /path/to/sw    # the full corpus in the same metadata.tsv layout
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
exec "${lr_root}/egs/TEMPLATE/lr1/lr.sh" --lang_config conf/lang.yaml "$@"
