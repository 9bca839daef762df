#!/usr/bin/env bash
# Stage 1 for Swahili: LRSpeech's data setting from a corpus in the metadata.tsv layout.
#
# Usage: local/data.sh [--db_root db/sw_mini] [--n_paired 50] [--max_paired_dur 16] [--sw_synth true] --out data
#
# paired_hq: n_paired utterances of the target speaker; unpaired_speech: the rest of the train
# split, transcripts withheld; unpaired_text: Swahili Bible verses; dev: the val split.
# With --sw_synth true, espeak-ng Swahili in several voices is added as paired_lq
# (low-quality multi-speaker paired data).
set -euo pipefail
db_root=db/sw_mini                             # corpus folder with metadata.tsv
unpaired_text=db/text/bible_nt.tsv.xz          # Swahili sentences (id<TAB>text)
n_paired=50                                    # paired utterances of the target speaker
max_paired_dur=${LRSPEECH_MAX_DUR:-16}         # choose them among clips this short (s); lr.sh passes its --max_dur
max_text=0                                     # keep at most this many sentences (0: all)
sw_synth=false                                 # add espeak-ng Swahili multi-voice speech as paired_lq
sw_synth_utts=200                              # utterances of that synthetic set
out=data                                       # where the data dirs go
. "$(dirname "$0")/../path.sh"
. "${lr_root}/utils/parse_options.sh"
max_opt=(); [ "${max_text}" -gt 0 ] && max_opt=(--max_text "${max_text}")
"${LRSPEECH_PYTHON}" -m lrspeech.bin.prepare_lr_data --metadata "${db_root}/metadata.tsv" \
    --unpaired_text "${unpaired_text}" --n_paired "${n_paired}" \
    --max_paired_dur "${max_paired_dur}" --out "${out}" "${max_opt[@]}"
if [ "${sw_synth}" = true ]; then
    mkdir -p "${out}/local"
    xz -dcf "${unpaired_text}" | tail -n "${sw_synth_utts}" > "${out}/local/sw_synth_text.tsv"
    "${LRSPEECH_PYTHON}" -m lrspeech.bin.make_espeak_corpus --text "${out}/local/sw_synth_text.tsv" \
        --lang sw --num_speakers 4 --fs 16000 --spk_prefix swsynth --out "${out}/paired_lq" \
        --wav_dir "${out}/local/paired_lq_wav"
fi
