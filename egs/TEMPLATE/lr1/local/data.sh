#!/usr/bin/env bash
# Stage 1 of a new language: write the LRSpeech data dirs under --out (default data/).
#
# Usage: local/data.sh [--db_root /path/to/corpus] [--n_paired 50] [--max_paired_dur 16] --out data
#
# What to fill in. Write these Kaldi-style dirs (wav.scp, text, utt2spk; see docs/tutorial.md):
#   <out>/paired_hq        a few dozen transcribed utterances of the target speaker
#   <out>/paired_lq        (optional) transcribed speech of other speakers, lower quality
#   <out>/unpaired_speech  untranscribed speech (wav.scp + utt2spk, NO text file)
#   <out>/unpaired_text    sentences of the language (text only: `id sentence`)
#   <out>/dev              transcribed held-out utterances of the target speaker
# If your corpus is in the metadata.tsv layout (id, audio, text, speaker, duration_s, split),
# the line below does it all; otherwise write the files yourself and keep the names.
set -euo pipefail
db_root=db                # corpus folder with metadata.tsv
unpaired_text=db/text.tsv # sentences: id<TAB>text or one per line (.xz allowed)
n_paired=50               # paired utterances of the target speaker
max_paired_dur=${LRSPEECH_MAX_DUR:-16}  # choose them among clips this short (s; 0: any):
                          # lr.sh passes its --max_dur (stage 2 drops longer clips) as the default
out=data                  # where the data dirs go
. "$(dirname "$0")/../path.sh"
. "${lr_root}/utils/parse_options.sh"
"${LRSPEECH_PYTHON}" -m lrspeech.bin.prepare_lr_data --metadata "${db_root}/metadata.tsv" \
    --unpaired_text "${unpaired_text}" --n_paired "${n_paired}" \
    --max_paired_dur "${max_paired_dur}" --out "${out}"
