#!/usr/bin/env bash
# The shared LRSpeech stage driver. A language's run.sh sets its options and calls this file.
#
# Usage: ../../TEMPLATE/lr1/lr.sh --lang_config conf/lang.yaml [--stage 1 --stop_stage 9] [options]
#
# Every stage is a few lines that call typed Python CLIs (python -m lrspeech.bin.*). A stage
# writes its outputs aside and marks them complete atomically (exp/.done/*.json); a rerun skips
# what is complete (--force true redoes it), and work interrupted in the middle is redone.
set -euo pipefail

lr_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "${lr_root}/utils/log.sh"

# General
stage=1                 # first stage to run
stop_stage=9            # last stage to run
force=false             # redo stages that are marked complete
nj=2                    # parallel jobs for formatting, decoding and synthesis
ngpu=0                  # GPUs per training process (passed to ESPnet)
num_nodes=1             # nodes per training job: >1 goes through ESPnet's launcher (srun under Slurm)
train_nproc=1           # DDP processes per training on this node (torchrun); --ngpu 0 uses gloo on CPUs
seed=1                  # seed for data sampling and training
fs=16000                # sample rate of every formatted wav
lang_config=conf/lang.yaml                # the target language's text frontend
# Data (stage 1-2)
db_root=""              # corpus folder handed to local/data.sh (empty: its default)
local_data_opts=""      # extra options for local/data.sh
min_dur=1.0             # drop formatted utterances shorter than this (s)
max_dur=16.0            # drop formatted utterances longer than this (s)
trim_db=40              # trim leading/trailing silence below this many dB under the peak
split_unpaired=true     # cut unpaired speech longer than --max_dur at pauses (energy) instead of dropping it
digits=drop             # unpaired sentences with digits lang.yaml's number_normalizer leaves unspoken: drop | keep
                        # (drop: a digit token is never said, so the TTS cannot learn it and garbles it in DT/KD)
# Rich-resource data and pretraining (stage 1, 4)
rich_text="${lr_root}/egs/TEMPLATE/lr1/db/ljspeech_transcripts.tsv.xz"   # text espeak-ng reads as rich-resource speech
rich_lang_config="${lr_root}/conf/lang/en.yaml"                          # frontend of the rich-resource language
rich_espeak=en-us       # espeak-ng voice of the synthetic rich-resource corpus
rich_num_speakers=4     # speakers (voice variants) of the synthetic rich-resource corpus
rich_num_utts=300       # utterances of the synthetic rich-resource corpus
rich_data_dirs=""       # real rich-resource data dirs to add (space-separated)
pretrained_asr=""       # packed ASR model dir: skip ASR pretraining and start from it
pretrained_tts=""       # packed TTS model dir: skip TTS pretraining and start from it
# Models
speech_encoder=whisper-base  # frozen multilingual speech encoder under every ASR (model dir | whisper-base | whisper-small); none: log-mel ASRs
asr_config=""           # ASR training config (default: whisper_ctc_tiny with an encoder, transformer_tiny with none)
tts_config=""           # TTS training config (default: fastspeech2_tiny with ctc, transformer_tiny with attention)
asr_token_type=char     # ASR tokens: char | bpe
tts_token_type=""       # TTS tokens: phn | char (empty: lang.yaml's token_type; char without an espeak-ng voice)
tts_align=ctc           # TTS durations: ctc (ASR forced alignment + FastSpeech2) | attention (Transformer-TTS)
align_min_score=auto    # leave utterances whose CTC alignment score is below this out of TTS training
                        # (auto: the corpus's outliers; measured to drop mismatched pairs, docs/benchmarks.md)
pretrain_epochs=8       # epochs of rich-resource pretraining
finetune_epochs=20      # epochs of fine-tuning on the paired data
train_args=""           # extra ESPnet training arguments for every training (e.g. "--batch_bins 400000")
synth_min_dur=0.1       # a synthesized clip shorter than this (s) is recorded as failed and left out
# Language model of the unpaired text (stage 5): shallow fusion in CTC decoding
use_lm=true             # train it and decode pseudo-labels, dev (beside the plain figures) and the packed ASR with it
lm_config="${lr_root}/conf/lm/lstm_tiny.yaml"  # ESPnet LM config (char LSTM)
lm_epochs=8             # LM training epochs (on the second core, while stage 5 fine-tunes)
lm_weights="0.2 0.4 0.6 0.8"  # LM weights tried on dev (lm_fusion tune)
lm_bonuses="0 0.5 1 2"  # length bonuses tried on dev
dt_label_keep=1.0       # DT: share of the unpaired speech's ASR labels the TTS keeps, best-scored first
                        # (1.0: all; measured: the score barely ranks label quality, docs/benchmarks.md)
# Dual transformation (stage 6)
dt_rounds=2             # rounds of dual transformation
dt_text_per_round=100   # unpaired sentences the TTS reads per round
dt_tts_speakers=3       # voices the TTS reads them in
dt_epochs=6             # training epochs per round and model
dt_vocoder=griffin_lim  # vocoder of the speech the TTS reads for the ASR (auto: the TTS's own best)
dt_eval=true            # log every round's dev CER and IR (judge: --judge, else the fine-tuned ASR)
# Knowledge distillation (stage 7)
kd_tts_sentences=150    # unpaired sentences the TTS teacher synthesizes in the target voice
# KD filter thresholds (attention path): 0 keeps every pair; bench/kd_filter.py found none that
# helps on a small Swahili teacher (docs/benchmarks.md); rerun it on your teacher to choose them.
kd_wcr_min=0.0          # drop synthetic pairs whose word coverage ratio is below this (attention path)
kd_adr_min=0.0          # drop synthetic pairs whose attention diagonal ratio is below this (attention path)
kd_student=fastspeech   # TTS student: fastspeech | transformer
kd_student_init=teacher # TTS student's start: teacher (its weights, when the student has the teacher's config) | scratch
kd_asr_synth_ratio=0.5  # synthetic share of the ASR student's training utterances
kd_epochs=8             # epochs of each student
# Evaluation (stage 8)
judge=""                # IR judge: packed ASR dir or pocketsphinx (empty: the final pipeline ASR)
judge_lm=false          # the judge decodes with its packed LM (default: without, so it does not hear what it expects)
eval_set=dev            # data set the stages are evaluated on
eval_mos=true           # compute MOS proxies (DNSMOS and reference-based)
# Report and packing (stage 9)
pack=best               # models to pack: best (ASR: lowest eval-set ASR CER, TTS: lowest judge CER) | final (the last stage's)
help_message="Usage: lr.sh --lang_config conf/lang.yaml [options]; see each option below"

. "${lr_root}/utils/parse_options.sh"
. ./cmd.sh
py=${LRSPEECH_PYTHON:-${lr_root}/.venv/bin/python}
[ -x "${py}" ] || py=python3
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -f "${lang_config}" ] || die "--lang_config ${lang_config} does not exist; copy conf/lang/TEMPLATE.yaml"
if [ -z "${tts_token_type}" ]; then
    tts_token_type=$("${py}" -c "import sys; from lrspeech.text.lang import LangConfig; c = LangConfig.load(sys.argv[1]); print('phn' if c.token_type == 'phn' and c.espeak_voice else 'char')" "${lang_config}") \
        || die "cannot read ${lang_config}; check it with lrspeech.text.lang.LangConfig.load"
fi
if [ -z "${asr_config}" ]; then
    asr_config="${lr_root}/conf/asr/whisper_ctc_tiny.yaml"
    [ "${speech_encoder}" = none ] && asr_config="${lr_root}/conf/asr/transformer_tiny.yaml"
fi
if [ -z "${tts_config}" ]; then
    case "${tts_align}" in
        ctc) tts_config="${lr_root}/conf/tts/fastspeech2_tiny.yaml" ;;
        attention) tts_config="${lr_root}/conf/tts/transformer_tiny.yaml" ;;
        *) die "--tts_align must be ctc or attention, not '${tts_align}'" ;;
    esac
fi
# check_choice OPTION VALUE A B: stop unless VALUE is A or B.
check_choice() { [ "$2" = "$3" ] || [ "$2" = "$4" ] || die "--$1 must be $3 or $4, not '$2'"; }
check_choice kd_student "${kd_student}" fastspeech transformer
check_choice kd_student_init "${kd_student_init}" teacher scratch
check_choice pack "${pack}" best final
check_choice digits "${digits}" drop keep

done_dir=exp
# Each stage's wall time goes to exp/stage_times.tsv (utils/log.sh), for the report.
LOG_STAGE_TIMES=exp/stage_times.tsv; trap 'log_stage_end $?' EXIT

# is_done NAME INPUTS...: the step NAME completed with these inputs (paths are hashed by
# content, other values as given; values that look like options are kept as plain values).
is_done() {
    [ "${force}" = true ] && return 1
    "${py}" -m lrspeech.bin.stage_marker check --dir "${done_dir}" --name "$1" --inputs $(marker_inputs "${@:2}") >/dev/null 2>&1
}
mark_done() { "${py}" -m lrspeech.bin.stage_marker mark --dir "${done_dir}" --name "$1" --inputs $(marker_inputs "${@:2}"); }
# marker_inputs VALUES...: one word per value, so that spaces and leading dashes survive argparse.
marker_inputs() {
    local a
    for a in "$@"; do
        if [ -e "${a}" ]; then printf '%s\n' "${a}"; else printf 'value:%s\n' "$(printf '%s' "${a}" | sha1sum | cut -c1-16)"; fi
    done
}
lr() { "${py}" -m "lrspeech.bin.$1" "${@:2}"; }

# Paths every stage shares.
raw=dump/raw              # formatted audio (stage 2)
tok=dump/token            # token lists, token maps, speaker ids (stage 3)
paired_sets="paired_hq"; [ -d data/paired_lq ] && paired_sets+=" paired_lq"
paired_dirs=""; for d in ${paired_sets}; do paired_dirs+=" ${raw}/${d}"; done

# train TASK OUT EPOCHS "TRAIN_DIRS" VALID LANG_CONFIG TOKENS [train_model options]:
# one packed model in OUT/model, trained through cmd.sh.
train() {
    local task=$1 out=$2 epochs=$3 dirs=$4 valid=$5 lcfg=$6 tokens=$7; shift 7
    local config=${asr_config} ttype=${asr_token_type} enc_opt=()
    if [ "${task}" = tts ]; then config=${tts_config}; ttype=${tts_token_type}; fi
    # An ASR head on the speech encoder trains on its features, cached next to each data dir.
    [ "${task}" = asr ] && [ "${speech_encoder}" != none ] && enc_opt=(--speech_encoder "${speech_encoder}")
    # Done with these inputs: skip. Inputs changed since: start over. No marker: (re)start,
    # resuming an interrupted ESPnet run from its last checkpoint.
    local key inputs=("${config}" "${epochs}" "${train_args}" "${tokens}" "${lcfg}" "${enc_opt[@]}" "$@")
    key="train.$(echo "${out}" | tr '/' '_')"
    for d in ${dirs} "${valid}"; do inputs+=("${d}/wav.scp" "${d}/text"); done
    if [ -f "${out}/model/meta.json" ] && is_done "${key}" "${inputs[@]}"; then
        log "${out}: complete; skipped"; return 0
    fi
    if [ "${force}" = true ] || [ -f "${done_dir}/.done/${key}.json" ]; then
        log "${out}: inputs changed, model missing or --force: training again from the start"
        rm -rf "${out}"
    fi
    log "training ${task} -> ${out} (${epochs} epochs on ${dirs})"
    # How the step's process(es) start: one process through cmd.sh; N DDP processes on this node
    # (torchrun); or ESPnet's launcher over nodes, which submits through cmd.sh (srun per node
    # under Slurm). In every case rank 0 prepares the data and the others wait for it.
    local launch dist_args=()
    if [ "${num_nodes}" -gt 1 ]; then
        launch=("${py}" -m espnet2.bin.launch --cmd "${train_cmd}" --log "${out}/log/train_model.log"
                --ngpu "${ngpu}" --num_nodes "${num_nodes}" --init_file_prefix "${out}/.dist_init_" -- "${py}")
    else
        # shellcheck disable=SC2206
        launch=(${train_cmd} --gpu "${ngpu}" --num-nodes 1 "${out}/log/train_model.log")
        if [ "${train_nproc}" -gt 1 ]; then
            launch+=("${py}" -m torch.distributed.run --standalone --nproc_per_node "${train_nproc}")
            [ "${ngpu}" -eq 0 ] && dist_args=(--dist_backend gloo)
        else
            launch+=("${py}")
        fi
    fi
    mkdir -p "${out}/log"
    # shellcheck disable=SC2086
    "${launch[@]}" -m lrspeech.bin.train_model --task "${task}" --config "${config}" --train ${dirs} \
        --valid "${valid}" --lang_config "${lcfg}" --token_list "${tokens}" --token_type "${ttype}" \
        --out_dir "${out}" --epochs "${epochs}" --seed "${seed}" "${enc_opt[@]}" "$@" -- --ngpu "${ngpu}" "${dist_args[@]}" ${train_args} \
        || die "training ${out} failed; see ${out}/log/train_model.log"
    mark_done "${key}" "${inputs[@]}"
}
# Options a TTS training needs to get durations from an ASR (ctc path) or none (attention path).
tts_align_opts() { [ "${tts_align}" = ctc ] && echo "--align_asr $1 --align_min_score ${align_min_score}"; return 0; }

# lm_opts: asr_inference options for shallow fusion with stage 5's LM and its tuned weights
# (none without --use_lm or before stage 5 made them).
lm_opts() {
    [ "${use_lm}" = true ] && [ -f exp/lm/fusion.json ] || return 0
    "${py}" -c "import json, sys; c = json.load(open(sys.argv[1]))['chosen']; print('--lm exp/lm/model --lm_weight', c['lm_weight'], '--length_bonus', c['length_bonus'])" exp/lm/fusion.json
}

# decode ASR_MODEL DATA_DIR OUT_DIR: ASR hypotheses (OUT/text, OUT/score) over nj jobs, with
# the LM when there is one (lm_opts); clips too short for the ASR's encoder are left out and
# counted in OUT/split/*/skipped.json.
decode() {
    local model=$1 data=$2 out=$3 key
    key="decode.$(echo "${out}" | tr '/' '_')"
    local inputs=("${model}/model.pth" "${data}/wav.scp" "$(lm_opts)")
    [ -f "${out}/text" ] && is_done "${key}" "${inputs[@]}" && return 0
    rm -rf "${out}"
    # shellcheck disable=SC2046
    ${decode_cmd} JOB=1:"${nj}" "${out}/log/decode.JOB.log" "${py}" -m lrspeech.bin.asr_inference \
        --model_dir "${model}" --data_dir "${data}" --out_dir "${out}/split/JOB" \
        --job_index JOB --num_jobs "${nj}" $(lm_opts) || die "decoding ${data} failed; see ${out}/log/decode.*.log"
    cat "${out}"/split/*/score | sort > "${out}/score"
    cat "${out}"/split/*/text | sort > "${out}/text.tmp" && mv "${out}/text.tmp" "${out}/text"
    mark_done "${key}" "${inputs[@]}"
}

# synthesize TTS_MODEL TEXT_DIR OUT_DIR SPEAKER [tts_inference options]: OUT/data (wav.scp, text);
# clips that came out empty or near-empty are listed in OUT/split/*/failed and left out.
synthesize() {
    local model=$1 text=$2 out=$3 spk=$4 key; shift 4
    key="synth.$(echo "${out}" | tr '/' '_')"
    local inputs=("${model}/model.pth" "${text}/text" "${spk}" "${synth_min_dur}" "$@")
    [ -f "${out}/data/wav.scp" ] && is_done "${key}" "${inputs[@]}" && return 0
    rm -rf "${out}"
    ${decode_cmd} JOB=1:"${nj}" "${out}/log/synth.JOB.log" "${py}" -m lrspeech.bin.tts_inference \
        --model_dir "${model}" --text_dir "${text}" --out_dir "${out}/split/JOB" --speaker "${spk}" \
        --job_index JOB --num_jobs "${nj}" --min_seconds "${synth_min_dur}" "$@" \
        || die "synthesis of ${text} failed; see ${out}/log/synth.*.log"
    # Jobs may get no sentence (more jobs than sentences): combine the ones that spoke.
    # shellcheck disable=SC2046
    lr combine_data "${out}/data" $(for d in "${out}"/split/*/; do [ -s "${d}wav.scp" ] && echo "${d}"; done) >/dev/null
    mark_done "${key}" "${inputs[@]}"
}

# round_eval LABEL STAGE_DIR: stage 6's dev figures of one round (judge: dt_judge), once per models.
round_eval() {
    local inputs=("$2/asr/model/model.pth" "$2/tts/model/model.pth" "${dt_judge}")
    if [ -f "exp/dt/eval/$1.json" ] && is_done "dt_eval.$1" "${inputs[@]}"; then log "$(tail -n 1 "exp/dt/eval/$1.log")"; return 0; fi
    eval_stage "$1" "$2" "exp/dt/eval/$1" "${dt_judge}" --mos none --collect "exp/dt/eval/$1.json"
    mark_done "dt_eval.$1" "${inputs[@]}"
}

# eval_stage LABEL STAGE_DIR OUT_DIR JUDGE [eval_stage options]: dev figures of STAGE_DIR's ASR
# and TTS in one process; the log goes to OUT_DIR.log and its summary line to the recipe log.
eval_stage() {
    local label=$1 dir=$2 out=$3 judge_model=$4 judge_opt=(); shift 4
    [ "${judge_lm}" = true ] && judge_opt=(--judge_lm)
    # shellcheck disable=SC2046
    lr eval_stage --stage_dir "${dir}" --data_dir "${raw}/${eval_set}" --judge "${judge_model}" \
        --lang_config "${lang_config}" --out_dir "${out}" --label "${label}" --real_dir "$(dirname "${out}")/real" \
        $(lm_opts) "${judge_opt[@]}" "$@" > "${out}.log" 2>&1 \
        || die "evaluating ${dir} failed; see ${out}.log"
    log "$(tail -n 1 "${out}.log")"
}

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log_stage 1 "Data preparation"
    stage1_inputs=("${db_root}" "${local_data_opts}" "${rich_text}" "${rich_espeak}" "${rich_num_speakers}" "${rich_num_utts}" "${max_dur}")
    if is_done stage1 "${stage1_inputs[@]}"; then
        log "complete; skipped"
    else
        opts=(); [ -n "${db_root}" ] && opts+=(--db_root "${db_root}")
        # LRSPEECH_MAX_DUR: local/data.sh's default --max_paired_dur (stage 2 drops longer clips).
        # shellcheck disable=SC2086
        LRSPEECH_MAX_DUR=${max_dur} local/data.sh "${opts[@]}" ${local_data_opts} --out data
        for d in data/*/; do
            [ "${d}" = data/local/ ] && continue
            "${lr_root}/utils/validate_data_dir.sh" "${d}" || die "${d} is invalid (see above); fix local/data.sh"
        done
        log "synthetic rich-resource corpus: ${rich_num_speakers} '${rich_espeak}' voices, ${rich_num_utts} sentences"
        mkdir -p data/local && xz -dcf "${rich_text}" > data/local/rich_text.tsv
        lr make_espeak_corpus --text data/local/rich_text.tsv --lang "${rich_espeak}" \
            --num_speakers "${rich_num_speakers}" --num_utts "${rich_num_utts}" --fs "${fs}" \
            --seed "${seed}" --nj "${nj}" --out data/rich_synth --wav_dir data/local/rich_synth_wav
        mark_done stage1 "${stage1_inputs[@]}"
    fi
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log_stage 2 "Audio formatting: ${fs} Hz mono, trim ${trim_db} dB, ${min_dur}-${max_dur} s"
    for d in data/*/; do
        set_name=$(basename "${d}"); [ "${set_name}" = local ] && continue
        split=false; [ "${set_name}" = unpaired_speech ] && split=${split_unpaired}
        text_opts=(); [ "${set_name}" = unpaired_text ] && text_opts=("${digits}" "${lang_config}")
        if is_done "stage2.${set_name}" "${d}" "${fs}" "${trim_db}" "${min_dur}" "${max_dur}" "${split}" "${text_opts[@]}"; then
            log "${set_name}: complete; skipped"; continue
        fi
        src=${d}
        if [ "${split}" = true ]; then
            # Long untranscribed recordings (broadcasts, read chapters) become pieces of
            # ${min_dur}-${max_dur} s cut in pauses; shorter ones stay whole.
            src=data/local/${set_name}_split; mkdir -p data/local
            lr segment_data_dir --data_dir "${d}" --out_dir "${src}" --min_len "${min_dur}" \
                --max_len "${max_dur}" > "${src}.json" || die "cutting ${d} at pauses failed (see above)"
            log "${set_name}: cut at pauses: $(tr -d ' \n' < "${src}.json")"
        fi
        lr format_audio --in "${src}" --out "${raw}/${set_name}" --fs "${fs}" --trim_db "${trim_db}" \
            --min_dur "${min_dur}" --max_dur "${max_dur}" --nj "${nj}"
        if [ "${set_name}" = unpaired_text ]; then
            digit_log=$(lr filter_digits --data_dir "${raw}/${set_name}" --lang_config "${lang_config}" --digits "${digits}") \
                || die "checking ${raw}/${set_name} for digits failed (see above)"
            log "${digit_log}"
        fi
        mark_done "stage2.${set_name}" "${d}" "${fs}" "${trim_db}" "${min_dur}" "${max_dur}" "${split}" "${text_opts[@]}"
    done
    # The rich-resource corpus gets a small validation split of its own.
    if ! is_done stage2.rich_split "${raw}/rich_synth"; then
        lr split_data_dir "${raw}/rich_synth" --dev-share 0.1 --seed "${seed}" \
            --train "${raw}/rich_train" --dev "${raw}/rich_valid"
        mark_done stage2.rich_split "${raw}/rich_synth"
    fi
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log_stage 3 "Text frontend: token lists, cross-lingual token maps, speaker ids"
    stage3_inputs=("${lang_config}" "${rich_lang_config}" "${tts_token_type}" "${eval_set}" "${raw}/unpaired_text/text"
                   "${raw}/${eval_set}/text" "${raw}/rich_synth/text" "${raw}/unpaired_speech/utt2spk")
    for d in ${paired_sets}; do stage3_inputs+=("${raw}/${d}/text" "${raw}/${d}/utt2spk"); done
    if is_done stage3 "${stage3_inputs[@]}"; then
        log "complete; skipped"
    else
        mkdir -p "${tok}/text"
        # Target vocabulary: every text the recipe trains on or is measured on.
        for d in ${paired_sets} unpaired_text ${eval_set}; do cat "${raw}/${d}/text"; done > "${tok}/text/target"
        for side in target rich; do
            lcfg=${lang_config}; src=${tok}/text/target
            [ "${side}" = rich ] && lcfg=${rich_lang_config} && src=${raw}/rich_synth/text
            lr tokenize_text --lang_config "${lcfg}" --in "${src}" --out "${tok}/text/${side}.tts" --token_type "${tts_token_type}"
            lr tokenize_text --lang_config "${lcfg}" --in "${src}" --out "${tok}/text/${side}.asr" --token_type char --punctuation strip
            lr make_token_list --out "${tok}/${side}_tts_tokens.txt" "${tok}/text/${side}.tts"
            lr make_token_list --out "${tok}/${side}_asr_tokens.txt" "${tok}/text/${side}.asr"
        done
        for t in tts asr; do
            ttype=${tts_token_type}; [ "${t}" = asr ] && ttype=char
            lr make_token_map --target_token_list "${tok}/target_${t}_tokens.txt" \
                --source_token_list "${tok}/rich_${t}_tokens.txt" --token_type "${ttype}" \
                --target_lang_config "${lang_config}" --source_lang_config "${rich_lang_config}" \
                --out "${tok}/token_map_${t}.tsv"
        done
        # TTS speaker ids: <unk>=0, then every speaker of the paired data and the unpaired speech.
        for d in ${paired_sets} unpaired_speech; do cat "${raw}/${d}/utt2spk"; done | awk '{print $2}' | sort -u \
            | awk 'BEGIN{print "<unk> 0"} {print $1, NR}' > "${tok}/spk2sid"
        awk '{print $2}' "${raw}/paired_hq/utt2spk" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR==1{print $2}' > "${tok}/target_speaker"
        mark_done stage3 "${stage3_inputs[@]}"
    fi
fi
target_speaker=$(cat "${tok}/target_speaker" 2>/dev/null || true)
asr_tokens=${tok}/target_asr_tokens.txt; tts_tokens=${tok}/target_tts_tokens.txt

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log_stage 4 "Rich-resource pretraining (ASR: speech encoder ${speech_encoder} + a CTC head on the rich-resource corpus)"
    rich_sets="${raw}/rich_train"; for d in ${rich_data_dirs}; do rich_sets+=" ${d}"; done
    if [ -n "${pretrained_asr}" ]; then
        log "ASR: starting from --pretrained_asr ${pretrained_asr}"
    else
        train asr exp/pretrain/asr "${pretrain_epochs}" "${rich_sets}" "${raw}/rich_valid" \
            "${rich_lang_config}" "${tok}/rich_asr_tokens.txt"
    fi
    if [ -n "${pretrained_tts}" ]; then
        log "TTS: starting from --pretrained_tts ${pretrained_tts}"
    else
        # shellcheck disable=SC2046
        train tts exp/pretrain/tts "${pretrain_epochs}" "${rich_sets}" "${raw}/rich_valid" \
            "${rich_lang_config}" "${tok}/rich_tts_tokens.txt" \
            $(tts_align_opts "${pretrained_asr:-exp/pretrain/asr/model}")
    fi
fi
pre_asr=${pretrained_asr:-exp/pretrain/asr/model}
pre_tts=${pretrained_tts:-exp/pretrain/tts/model}

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    log_stage 5 "Fine-tuning on the paired data (${paired_sets}) through the token maps"
    for t in asr tts; do
        src=${pre_asr}; [ "${t}" = tts ] && src=${pre_tts}
        cfg=${asr_config}; [ "${t}" = tts ] && cfg=${tts_config}
        init=exp/finetune/${t}_init.pth
        set_opt=(); [ "${t}" = tts ] && set_opt=(--set "tts_conf.spks=$(wc -l < "${tok}/spk2sid")")
        [ "${t}" = asr ] && [ "${speech_encoder}" != none ] && set_opt=(--set "frontend_conf.speech_encoder=${speech_encoder}")
        # Rebuilt whenever the pretrained model or the target's tokens change (not only when missing).
        init_inputs=("${src}/config.yaml" "${src}/model.pth" "${src}/tokens.txt" "${cfg}" "${tok}/target_${t}_tokens.txt" "${tok}/token_map_${t}.tsv" "${set_opt[@]}")
        if [ ! -f "${init}" ] || ! is_done "init_${t}" "${init_inputs[@]}"; then
            lr transfer_init --task "${t}" --src_config "${src}/config.yaml" --src_ckpt "${src}/model.pth" \
                --src_tokens "${src}/tokens.txt" --tgt_config "${cfg}" --tgt_tokens "${tok}/target_${t}_tokens.txt" \
                --token_map "${tok}/token_map_${t}.tsv" --out "${init}" "${set_opt[@]}"
            mark_done "init_${t}" "${init_inputs[@]}"
        fi
    done
    # The LM of the unpaired text trains on the second core meanwhile (it needs only stage 3's
    # token list); its weights are tuned on dev with the fine-tuned ASR below.
    lm_pid=""
    lm_inputs=("${raw}/unpaired_text/text" "${raw}/${eval_set}/text" "${lang_config}" "${asr_tokens}" "${lm_config}" "${lm_epochs}" "${seed}")
    if [ "${use_lm}" = true ] && ! { [ -f exp/lm/model/meta.json ] && is_done lm "${lm_inputs[@]}"; }; then
        mkdir -p exp/lm
        log "training the LM of ${raw}/unpaired_text in the background (log: exp/lm/train.log)"
        lr lm_train --text "${raw}/unpaired_text" --exclude "${raw}/${eval_set}" --lang_config "${lang_config}" \
            --token_list "${asr_tokens}" --config "${lm_config}" --out_dir exp/lm --epochs "${lm_epochs}" \
            --seed "${seed}" > exp/lm/train.log 2>&1 &
        lm_pid=$!
    fi
    train asr exp/finetune/asr "${finetune_epochs}" "${paired_dirs}" "${raw}/${eval_set}" \
        "${lang_config}" "${asr_tokens}" --init exp/finetune/asr_init.pth
    # shellcheck disable=SC2046
    train tts exp/finetune/tts "${finetune_epochs}" "${paired_dirs}" "${raw}/${eval_set}" \
        "${lang_config}" "${tts_tokens}" --init exp/finetune/tts_init.pth --spk2sid "${tok}/spk2sid" \
        --target_speaker "${target_speaker}" $(tts_align_opts exp/finetune/asr/model)
    if [ -n "${lm_pid}" ]; then
        wait "${lm_pid}" || die "LM training failed; see exp/lm/train.log"
        mark_done lm "${lm_inputs[@]}"
        log "$(tail -n 1 exp/lm/train.log)"
    fi
    if [ "${use_lm}" = true ]; then
        fusion_inputs=(exp/finetune/asr/model/model.pth exp/lm/model/model.pth "${raw}/${eval_set}/text" "${lm_weights}" "${lm_bonuses}")
        if ! { [ -f exp/lm/fusion.json ] && is_done lm_fusion "${fusion_inputs[@]}"; }; then
            # shellcheck disable=SC2086
            lr lm_fusion tune --asr_dir exp/finetune/asr/model --lm_dir exp/lm/model --data_dir "${raw}/${eval_set}" \
                --lang_config "${lang_config}" --weights ${lm_weights} --bonuses ${lm_bonuses} --out exp/lm/fusion.json \
                > exp/lm/fusion.log 2>&1 || die "tuning the LM weights failed; see exp/lm/fusion.log"
            mark_done lm_fusion "${fusion_inputs[@]}"
        fi
        log "LM: $(tail -n 1 exp/lm/fusion.log)"
    fi
fi

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log_stage 6 "Dual transformation: ${dt_rounds} rounds"
    prev=exp/finetune
    voices=$(awk 'NR>1{print $1}' "${tok}/spk2sid" | head -n "${dt_tts_speakers}" | paste -sd, -)
    # Every round's dev figures are judged by the same ASR, so they compare with round 0's.
    dt_judge=${judge:-exp/finetune/asr/model}
    mkdir -p exp/dt/eval
    [ "${dt_eval}" = true ] && [ "${dt_rounds}" -gt 0 ] && round_eval round0 exp/finetune
    for r in $(seq 1 "${dt_rounds}"); do
        rd=exp/dt/round${r}
        log "round ${r}: ASR(r-1) labels the unpaired speech, TTS(r-1) reads ${dt_text_per_round} sentences in voices ${voices}"
        pseudo_inputs=("${prev}/asr/model/model.pth" "${prev}/tts/model/model.pth" "${dt_text_per_round}" "${voices}" "${seed}" "${synth_min_dur}" "${dt_label_keep}" "${dt_vocoder}" "$(lm_opts)")
        if ! is_done "dt_round${r}_pseudo" "${pseudo_inputs[@]}"; then
            rm -rf "${rd}"/{asr_hyp,dev_hyp,labels.json,tts_pairs,text,text_*,spk_*,synth_*,asr_pairs}
        fi
        decode "${prev}/asr/model" "${raw}/unpaired_speech" "${rd}/asr_hyp"
        decode "${prev}/asr/model" "${raw}/${eval_set}" "${rd}/dev_hyp"  # what the labels are worth
        labels=$(lr make_pseudo_data asr_pairs --speech_dir "${raw}/unpaired_speech" --hyp_dir "${rd}/asr_hyp" \
            --keep_share "${dt_label_keep}" --dev_dir "${raw}/${eval_set}" --dev_hyp_dir "${rd}/dev_hyp" \
            --lang_config "${lang_config}" --report "${rd}/labels.json" --out "${rd}/tts_pairs") \
            || die "round ${r}: the ASR labels of the unpaired speech are unusable (see above)"
        log "round ${r}: $(grep '^labels kept' <<< "${labels}")"
        lr make_pseudo_data sample_text --text_dir "${raw}/unpaired_text" --n "${dt_text_per_round}" \
            --seed "$((seed * 1000 + r))" --speakers "${voices}" --out "${rd}/text"
        IFS=, read -r -a vlist <<< "${voices}"
        for v in "${vlist[@]}"; do
            echo "${v}" > "${rd}/spk_${v}"
            lr subset_data_dir --spk-list "${rd}/spk_${v}" "${rd}/text" "${rd}/text_${v}" >/dev/null
            synthesize "${prev}/tts/model" "${rd}/text_${v}" "${rd}/synth_${v}" "${v}" --vocoder "${dt_vocoder}"
        done
        # shellcheck disable=SC2046
        lr combine_data "${rd}/asr_pairs" $(for v in "${vlist[@]}"; do echo "${rd}/synth_${v}/data"; done) >/dev/null
        mark_done "dt_round${r}_pseudo" "${pseudo_inputs[@]}"
        train asr "${rd}/asr" "${dt_epochs}" "${paired_dirs} ${rd}/asr_pairs" "${raw}/${eval_set}" \
            "${lang_config}" "${asr_tokens}" --init "${prev}/asr/model"
        # shellcheck disable=SC2046
        train tts "${rd}/tts" "${dt_epochs}" "${paired_dirs} ${rd}/tts_pairs" "${raw}/${eval_set}" \
            "${lang_config}" "${tts_tokens}" --init "${prev}/tts/model" --spk2sid "${tok}/spk2sid" \
            --target_speaker "${target_speaker}" $(tts_align_opts "${rd}/asr/model")
        [ "${dt_eval}" = true ] && round_eval "round${r}" "${rd}"
        prev=${rd}
    done
fi
last_dt=exp/finetune; [ "${dt_rounds}" -gt 0 ] && last_dt=exp/dt/round${dt_rounds}

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    log_stage 7 "Knowledge distillation: TTS teacher -> ${kd_student} student, ASR student"
    kd=exp/kd
    kd_inputs=("${last_dt}/tts/model/model.pth" "${kd_tts_sentences}" "${kd_wcr_min}" "${kd_adr_min}" "${seed}" "${synth_min_dur}")
    if ! is_done kd_teacher "${kd_inputs[@]}"; then rm -rf "${kd}"/{text,teacher,tts_pairs,filter_report.json}; fi
    lr make_pseudo_data sample_text --text_dir "${raw}/unpaired_text" --n "${kd_tts_sentences}" \
        --seed "$((seed * 1000 + 999))" --speakers "${target_speaker}" --out "${kd}/text"
    synthesize "${last_dt}/tts/model" "${kd}/text" "${kd}/teacher" target --attention_scores
    # shellcheck disable=SC2046
    lr filter_synthetic --synth_dir "${kd}/teacher/data" --att_dir $(ls -d "${kd}"/teacher/split/*/att_ws 2>/dev/null) \
        --lang_config "${lang_config}" --token_type "${tts_token_type}" --wcr_min "${kd_wcr_min}" \
        --adr_min "${kd_adr_min}" --out "${kd}/tts_pairs" --report "${kd}/filter_report.json"
    mark_done kd_teacher "${kd_inputs[@]}"
    student_cfg=${tts_config}
    [ "${kd_student}" = fastspeech ] && [ "${tts_align}" = attention ] && student_cfg="${lr_root}/conf/tts/fastspeech_tiny.yaml"
    # A student with the teacher's architecture starts from the teacher's weights (a few CPU
    # epochs from scratch leave it far behind its teacher); another architecture from scratch.
    student_init=()
    if [ "${kd_student_init}" = teacher ] && [ "${student_cfg}" = "${tts_config}" ]; then
        student_init=(--init "${last_dt}/tts/model")
    elif [ "${kd_student_init}" = teacher ]; then
        log "TTS student: ${student_cfg} is not the teacher's config; it trains from scratch"
    fi
    # shellcheck disable=SC2046
    tts_config=${student_cfg} train tts "${kd}/tts" "${kd_epochs}" "${paired_dirs} ${kd}/tts_pairs" "${raw}/${eval_set}" \
        "${lang_config}" "${tts_tokens}" --spk2sid "${tok}/spk2sid" --target_speaker "${target_speaker}" \
        "${student_init[@]}" $(tts_align_opts "${last_dt}/asr/model")
    # ASR: the teacher (the last ASR) labels the unpaired speech afresh; the synthetic speech is
    # the last round's multi-speaker TTS speech (without rounds: the TTS teacher's).
    kd_asr_inputs=("${last_dt}/asr/model/model.pth" "${raw}/unpaired_speech/wav.scp" "$(lm_opts)")
    if ! is_done kd_asr_pseudo "${kd_asr_inputs[@]}"; then rm -rf "${kd}"/{asr_hyp,speech_pairs}; fi
    decode "${last_dt}/asr/model" "${raw}/unpaired_speech" "${kd}/asr_hyp"
    lr make_pseudo_data asr_pairs --speech_dir "${raw}/unpaired_speech" --hyp_dir "${kd}/asr_hyp" --out "${kd}/speech_pairs"
    mark_done kd_asr_pseudo "${kd_asr_inputs[@]}"
    kd_synth=${kd}/tts_pairs; [ -d "${last_dt}/asr_pairs" ] && kd_synth=${last_dt}/asr_pairs
    lr make_pseudo_data mix --real ${paired_dirs} "${kd}/speech_pairs" --synth "${kd_synth}" \
        --ratio "${kd_asr_synth_ratio}" --seed "${seed}" --out "${kd}/asr_train"
    train asr "${kd}/asr" "${kd_epochs}" "${kd}/asr_train" "${raw}/${eval_set}" "${lang_config}" "${asr_tokens}" \
        --init "${last_dt}/asr/model"
fi

# The recipe's stages with models, in order: label, dir, what they trained on.
model_stages=("finetune:exp/finetune:paired data, rich-resource init")
for r in $(seq 1 "${dt_rounds}"); do model_stages+=("dt_round${r}:exp/dt/round${r}:+ dual transformation round ${r}"); done
model_stages+=("kd:exp/kd:+ knowledge distillation (${kd_student} student)")

if [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 8 ]; then
    final_asr=exp/kd/asr/model; [ -f "${final_asr}/meta.json" ] || final_asr=${last_dt}/asr/model
    judge_dir=${judge:-${final_asr}}
    log_stage 8 "Evaluation on ${eval_set} (IR judge: ${judge_dir})"
    ev=exp/eval
    mkdir -p "${ev}"
    for entry in "${model_stages[@]}"; do
        IFS=: read -r label dir data_desc <<< "${entry}"
        [ -f "${dir}/asr/model/meta.json" ] && [ -f "${dir}/tts/model/meta.json" ] || { log "${label}: no models; skipped"; continue; }
        out=${ev}/${label}
        ev_inputs=("${dir}/asr/model/model.pth" "${dir}/tts/model/model.pth" "${judge_dir}" "$(lm_opts)" "${judge_lm}"
                   "${eval_set}" "${raw}/${eval_set}/wav.scp" "${raw}/${eval_set}/text" "${eval_mos}")
        if is_done "stage8.${label}" "${ev_inputs[@]}"; then
            log "${label}: complete; skipped"; continue
        fi
        mos=all; [ "${eval_mos}" = true ] || mos=reference
        eval_stage "${label}" "${dir}" "${out}" "${judge_dir}" --collect "${ev}/${label}.json" \
            --data "${data_desc}" --mos "${mos}"
        mark_done "stage8.${label}" "${ev_inputs[@]}"
    done
fi

if [ "${stage}" -le 9 ] && [ "${stop_stage}" -ge 9 ]; then
    log_stage 9 "Report and packed models"
    results=(); declare -A stage_dirs=()
    for entry in "${model_stages[@]}"; do
        IFS=: read -r label dir _ <<< "${entry}"
        [ -f "exp/eval/${label}.json" ] && { results+=("exp/eval/${label}.json"); stage_dirs[${label}]=${dir}; }
    done
    [ "${#results[@]}" -gt 0 ] || die "no evaluation results in exp/eval; run stage 8 first"
    # The stages to pack: the last evaluated one, or the best on the eval set (chosen on the
    # same set the report shows, so the packed models' figures there are optimistic).
    last_label=$(basename "${results[-1]}" .json)
    asr_label=${last_label} tts_label=${last_label}
    if [ "${pack}" = best ]; then
        best=$(lr make_report --results "${results[@]}" --best asr_cer judge_cer) || die "choosing the models to pack failed (see above)"
        read -r asr_label tts_label <<< "${best}"
    fi
    # The report marks them, plots the DT rounds' dev figures and shows the stage wall times.
    report_opts=(--packed "${asr_label}" "${tts_label}")
    rounds=(); for r in $(seq 0 "${dt_rounds}"); do [ -f "exp/dt/eval/round${r}.json" ] && rounds+=("exp/dt/eval/round${r}.json"); done
    [ "${#rounds[@]}" -gt 0 ] && report_opts+=(--rounds "${rounds[@]}")
    [ -f exp/stage_times.tsv ] && report_opts+=(--times exp/stage_times.tsv)
    lr make_report --results "${results[@]}" --out_dir exp/report --title "lrspeech: $(basename "$(dirname "$(pwd -P)")")/$(basename "$(pwd -P)")" "${report_opts[@]}"
    rm -rf exp/packed.tmp && mkdir -p exp/packed.tmp
    cp -r "${stage_dirs[${asr_label}]}/asr/model" exp/packed.tmp/asr && cp -r "${stage_dirs[${tts_label}]}/tts/model" exp/packed.tmp/tts
    if [ "${use_lm}" = true ] && [ -f exp/lm/fusion.json ]; then
        lr lm_fusion attach --asr_dir exp/packed.tmp/asr --lm_dir exp/lm/model --fusion exp/lm/fusion.json >/dev/null \
            || die "packing the LM with the ASR failed (see above)"
    fi
    printf '{"pack": "%s", "asr": "%s", "tts": "%s"}\n' "${pack}" "${asr_label}" "${tts_label}" > exp/packed.tmp/packed.json
    rm -rf exp/packed && mv exp/packed.tmp exp/packed
    log "report: $(pwd)/exp/report/report.html (and report.md)"
    log "models: $(pwd)/exp/packed/asr (${asr_label}) and $(pwd)/exp/packed/tts (${tts_label}), --pack ${pack} (python -m lrspeech.bin.synthesize --model_dir exp/packed/tts --text '...' --out x.wav)"
    log "samples: $(ls "$(pwd)"/exp/eval/"${tts_label}"/tts/data/wav/*.wav 2>/dev/null | head -n 3 | tr '\n' ' ' || true)"
fi
