#!/usr/bin/env bash
# LRSpeech on Swahili: 50 paired utterances of one speaker, the rest of the corpus as
# unpaired speech, the Bible as unpaired text, espeak-ng English as the rich-resource language.
#   ./run.sh                          # the shipped 21-minute subset, tiny models (make demo)
#   ./run.sh --db_root /path/to/sw    # the full corpus in the same metadata.tsv layout
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
# Budget of the demo: stages 1-9 in about 30 minutes on 2 CPU cores (docs/benchmarks.md has the
# per-stage times). No per-round DT evaluation: stage 8 evaluates the same rounds (with the final
# judge). The TTS trains longer than the ASR: its pretraining on the rich-resource corpus keeps
# paying off in the fine-tuned TTS up to 24-40 epochs (10 s each), and it fine-tunes 30 epochs
# while the ASR's best dev loss comes by epoch 8 (docs/benchmarks.md). ESPnet's per-epoch plots
# of every training (exp/*/exp/images; 1.4-2.5 s an epoch) are left out: TensorBoard logs stay.
# Options given on the command line come later and win.
demo_budget=(--pretrain_epochs 4 --pretrain_tts_epochs 24 --finetune_epochs 10 --finetune_tts_epochs 30
             --dt_text_per_round 40 --dt_epochs 3 --kd_tts_sentences 80 --kd_epochs 3 --lm_epochs 4 --dt_eval false
             --train_args "--use_matplotlib false")
exec "${lr_root}/egs/TEMPLATE/lr1/lr.sh" --lang_config conf/lang.yaml "${demo_budget[@]}" "$@"
