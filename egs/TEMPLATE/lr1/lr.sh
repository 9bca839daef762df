#!/usr/bin/env bash
# The shared LRSpeech stage driver. A language's run.sh sets its options and calls this file.
#
# Usage: ../../TEMPLATE/lr1/lr.sh --lang_config conf/lang.yaml [--stage 1 --stop_stage 9] [options]
#
# Every stage is a few steps that call typed Python CLIs (python -m lrspeech.bin.*). A step is
# declared once (steps.sh: `step NAME --after STEPS --outputs PATHS -- INPUTS`); its marker
# (exp/.done/NAME.json) fingerprints its inputs and its upstream steps' markers, so a change
# anywhere above reruns everything below it, a rerun skips what is complete (--force true
# redoes it), and a step interrupted in the middle is redone from scratch.
set -euo pipefail

lr_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
. "${lr_root}/utils/log.sh"

# General
stage=1                 # first stage to run
stop_stage=9            # last stage to run
force=false             # redo steps that are marked complete
dry_run=false           # only say which steps would run and why; nothing runs or is deleted
nj=2                    # parallel jobs for formatting, decoding, synthesis, stage 8's evaluations; with 2, each TTS trains in a lane
                        # beside the ASR's next work (stages 4-7, docs/stages.md "What runs side by side")
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
align_word_split=letters  # a word's frames over its TTS tokens: letters (cut where the ASR's letters between them are)
                          # | even (equal shares); measured: letters reads better, docs/benchmarks.md
asr_inference_model=best       # ASR model each training packs: best (valid.loss.ave, else valid.loss.best) | latest.pth | <N>epoch.pth | any model file ESPnet kept
tts_inference_model=latest.pth # TTS model each training packs, as asr_inference_model (latest.pth: the last epoch;
                               # measured: FastSpeech2's best valid loss often keeps epoch 1-2, which the judge reads worse, docs/benchmarks.md)
tts_postfilter=gv       # gv: each TTS packs the target speaker's global variance (gv.npz), and its dev
                        # and packed synthesis scale the features to it (measured: DNSMOS up, docs/benchmarks.md) | none
tts_vocoder=world_gl    # vocoder of the dev evaluation, the distillation teacher's speech and the packed TTS
                        # (--vocoder auto): world_gl (WORLD's harmonics above 500 Hz in voiced frames, Griffin-Lim
                        # elsewhere) | world | griffin_lim (world_gl and world: each TTS packs a WORLD source model trained
                        # on the target speaker's paired and unpaired speech). Measured against Griffin-Lim: DNSMOS +0.9-1.1;
                        # an independent judge's CER the same on the full corpus, +1.5 (n.s.) on the demo; world: +3-4
                        # (docs/benchmarks.md)
pretrain_epochs=8       # epochs of rich-resource pretraining
pretrain_tts_epochs=""  # epochs of the TTS's rich-resource pretraining (empty: pretrain_epochs); a better
                        # start for the TTS's fine-tuning at little cost (docs/benchmarks.md)
finetune_epochs=20      # epochs of fine-tuning on the paired data
finetune_tts_epochs=""  # epochs of the TTS's fine-tuning (empty: finetune_epochs); FastSpeech2 on a few
                        # dozen clips keeps improving long after the ASR has peaked (docs/benchmarks.md)
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
dt_tts_epochs=""        # epochs of each round's TTS (empty: dt_epochs); with --nj 2 it trains beside the next
                        # round's ASR work, so longer costs little wall time (docs/benchmarks.md)
dt_vocoder=griffin_lim  # vocoder of the speech the TTS reads for the ASR (auto: the TTS's own best)
dt_asr_synth_ratio=0    # DT: synthetic share of the round ASR's training utterances: 0 (paired only) | a share in (0, 1) | all (LRSpeech's)
                        # (measured: on the Whisper-encoder ASR the TTS's speech never helps, all of it hurts; docs/benchmarks.md)
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
kd_tts_real=labelled    # real speech the TTS student trains on besides the teacher's: labelled (paired + the last DT round's labelled unpaired speech) | paired
# Evaluation (stage 8)
judge=""                # IR judge: packed ASR dir or pocketsphinx (empty: the final pipeline ASR)
judge_lm=false          # the judge decodes with its packed LM (default: without, so it does not hear what it expects)
eval_set=dev            # data set the stages are evaluated on
eval_mos=true           # compute MOS proxies (DNSMOS and reference-based)
# Report and packing (stage 9)
pack=best               # models to pack: best (ASR: lowest eval-set ASR CER, with the LM when packed; TTS: lowest judge CER) | final (the last stage's)
help_message="Usage: lr.sh --lang_config conf/lang.yaml [options]; see each option below"

. "${lr_root}/utils/parse_options.sh"
. ./cmd.sh
py=${LRSPEECH_PYTHON:-${lr_root}/.venv/bin/python}
[ -x "${py}" ] || py=python3
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -f "${lang_config}" ] || die "--lang_config ${lang_config} does not exist; copy conf/lang/TEMPLATE.yaml"
done_dir=exp
. "${lr_root}/egs/TEMPLATE/lr1/steps.sh"
resolve_defaults; start_run  # steps.sh: defaults, dry run or stage times
raw=dump/raw; tok=dump/token  # formatted audio (stage 2); token lists, maps, speaker ids (stage 3)
shared_paths  # steps.sh: paired_sets, paired_dirs, paired_steps, dev_step, pre_asr_step

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log_stage 1 "Data preparation"
    if step data --outputs data/rich_synth data/local/rich_synth_wav --opts local_data_opts rich_espeak rich_num_speakers \
            rich_num_utts max_dur seed -- local/data.sh "${db_root}" "${rich_text}"; then
        opts=(); [ -n "${db_root}" ] && opts+=(--db_root "${db_root}")
        # LRSPEECH_MAX_DUR: local/data.sh's default --max_paired_dur (stage 2 drops longer clips).
        # shellcheck disable=SC2086
        LRSPEECH_MAX_DUR=${max_dur} local/data.sh "${opts[@]}" ${local_data_opts} --out data
        for d in data/*/; do [ "${d}" = data/local/ ] || "${lr_root}/utils/validate_data_dir.sh" "${d}" || die "${d} is invalid (see above); fix local/data.sh"; done
        log "synthetic rich-resource corpus: ${rich_num_speakers} '${rich_espeak}' voices, ${rich_num_utts} sentences"
        mkdir -p data/local && xz -dcf "${rich_text}" > data/local/rich_text.tsv
        lr make_espeak_corpus --text data/local/rich_text.tsv --lang "${rich_espeak}" \
            --num_speakers "${rich_num_speakers}" --num_utts "${rich_num_utts}" --fs "${fs}" \
            --seed "${seed}" --nj "${nj}" --out data/rich_synth --wav_dir data/local/rich_synth_wav
        step_done data
    fi
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log_stage 2 "Audio formatting: ${fs} Hz mono, trim ${trim_db} dB, ${min_dur}-${max_dur} s"
    for d in data/*/; do
        set_name=$(basename "${d}"); [ "${set_name}" = local ] && continue
        opts=(); [ "${set_name}" = unpaired_text ] && opts=(--digits "${digits}" --lang_config "${lang_config}")
        # Long untranscribed recordings (broadcasts, read chapters) are cut in pauses first.
        split=(); [ "${set_name}" = unpaired_speech ] && [ "${split_unpaired}" = true ] && split=("data/local/${set_name}_split")
        [ "${#split[@]}" -gt 0 ] && opts=(--split_dir "${split[0]}")
        step "format.${set_name}" --after data --outputs "${raw}/${set_name}" "${split[@]}" --opts fs trim_db min_dur max_dur \
            digits -- "${d}" "${#split[@]}" "${lang_config}" || continue
        summary=$(lr prepare_set --in "${d}" --out "${raw}/${set_name}" --fs "${fs}" --trim_db "${trim_db}" \
            --min_dur "${min_dur}" --max_dur "${max_dur}" --nj "${nj}" "${opts[@]}") || die "formatting ${d} failed (see above)"
        while read -r line; do log "${line}"; done <<< "${summary}"
        step_done "format.${set_name}"
    done
    # The rich-resource corpus gets a small validation split of its own.
    if step format.rich_split --after format.rich_synth --outputs "${raw}/rich_train" "${raw}/rich_valid" --opts seed; then
        lr split_data_dir "${raw}/rich_synth" --dev-share 0.1 --seed "${seed}" --train "${raw}/rich_train" --dev "${raw}/rich_valid"
        step_done format.rich_split
    fi
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log_stage 3 "Text frontend: token lists, cross-lingual token maps, speaker ids"
    text_sets="${paired_sets} unpaired_text ${eval_set}"
    # Two steps: pretraining reads only the rich side, so a changed target text leaves it be.
    if step tokens.rich --after format.rich_synth --outputs "${tok}"/{text/rich.tts,text/rich.asr,rich_{tts,asr}_tokens.txt} \
            --opts tts_token_type -- "${rich_lang_config}"; then
        lr text_frontend --part rich --rich_lang_config "${rich_lang_config}" --tts_token_type "${tts_token_type}" \
            --rich_text "${raw}/rich_synth" --out_dir "${tok}" || die "the text frontend failed (see above)"
        step_done tokens.rich
    fi
    # shellcheck disable=SC2046
    if step tokens --after tokens.rich ${paired_steps} format.unpaired_text format.unpaired_speech "${dev_step}" --outputs \
            "${tok}"/{text/target{,.tts,.asr},target_{tts,asr}_tokens.txt,token_map_{tts,asr}.tsv,spk2sid,target_speaker} \
            --opts eval_set -- "${lang_config}"; then
        lr text_frontend --part target --lang_config "${lang_config}" --rich_lang_config "${rich_lang_config}" \
            --tts_token_type "${tts_token_type}" --text $(for d in ${text_sets}; do echo "${raw}/${d}"; done) \
            --speakers ${paired_dirs} "${raw}/unpaired_speech" \
            --target_speaker_from "${raw}/paired_hq" --out_dir "${tok}" || die "the text frontend failed (see above)"
        step_done tokens
    fi
fi
target_speaker=$(cat "${tok}/target_speaker" 2>/dev/null || true)
asr_tokens=${tok}/target_asr_tokens.txt; tts_tokens=${tok}/target_tts_tokens.txt

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log_stage 4 "Rich-resource pretraining (ASR: speech encoder ${speech_encoder} + a CTC head on the rich-resource corpus)"
    rich_sets="${raw}/rich_train"; for d in ${rich_data_dirs}; do rich_sets+=" ${d}"; done
    [ -z "${pretrained_asr}" ] || log "ASR: starting from --pretrained_asr ${pretrained_asr}"
    [ -z "${pretrained_tts}" ] || log "TTS: starting from --pretrained_tts ${pretrained_tts}"
    [ -n "${pretrained_asr}" ] || train asr exp/pretrain/asr "${pretrain_epochs}" "${rich_sets}" "${raw}/rich_valid" \
        "${rich_lang_config}" "${tok}/rich_asr_tokens.txt" "format.rich_split tokens.rich"
    tts_pretrain() {
        # shellcheck disable=SC2046
        train tts exp/pretrain/tts "${pretrain_tts_epochs:-${pretrain_epochs}}" "${rich_sets}" "${raw}/rich_valid" \
            "${rich_lang_config}" "${tok}/rich_tts_tokens.txt" "format.rich_split tokens.rich ${pre_asr_step}" \
            $(tts_align_opts "${pretrained_asr:-exp/pretrain/asr/model}")
    }
    # The TTS pretrains in a lane. With --nj 2 and stage 5 next, the lane goes on into stage 5,
    # beside the ASR's fine-tuning (which needs only the pretrained ASR); stage 5 joins it before
    # the TTS fine-tunes (docs/stages.md "What runs side by side").
    [ -n "${pretrained_tts}" ] || { lane_what="the TTS's pretraining"; in_lane tts_pretrain; }
    { [ "${nj}" -gt 1 ] && [ "${stop_stage}" -ge 5 ]; } || lanes_join
fi
pre_asr=${pretrained_asr:-exp/pretrain/asr/model}; pre_tts=${pretrained_tts:-exp/pretrain/tts/model}

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    beside=""; [ "${#lane_pids[@]}" -gt 0 ] && beside=" (stage 4's TTS pretraining goes on beside the ASR's)"
    log_stage 5 "Fine-tuning on the paired data (${paired_sets}) through the token maps${beside}"
    # init_model asr|tts: the fine-tuning's start, the pretrained model through the token map.
    init_model() {
        local t=$1 src=${pre_asr} cfg=${asr_config} src_step="" set_opt=()
        [ "${t}" = tts ] && { src=${pre_tts}; cfg=${tts_config}; set_opt=(--set "tts_conf.spks=$(wc -l < "${tok}/spk2sid")"); }
        [ "${src}" = "exp/pretrain/${t}/model" ] && src_step=train.exp_pretrain_${t}
        [ "${t}" = asr ] && [ "${speech_encoder}" != none ] && set_opt=(--set "frontend_conf.speech_encoder=${speech_encoder}")
        # shellcheck disable=SC2086
        step "init_${t}" --after tokens ${src_step} --outputs "exp/finetune/${t}_init.pth" --opts seed -- "${src}" "${cfg}" \
            "${tok}/target_${t}_tokens.txt" "${tok}/token_map_${t}.tsv" "${set_opt[@]}" || return 0
        lr transfer_init --task "${t}" --src_config "${src}/config.yaml" --src_ckpt "${src}/model.pth" \
            --src_tokens "${src}/tokens.txt" --tgt_config "${cfg}" --tgt_tokens "${tok}/target_${t}_tokens.txt" \
            --token_map "${tok}/token_map_${t}.tsv" --out "exp/finetune/${t}_init.pth" --seed "${seed}" "${set_opt[@]}" \
            || die "initializing the ${t} from ${src} failed (see above)"
        step_done "init_${t}"
    }
    init_model asr
    # The target speaker's WORLD source model (--tts_vocoder world_gl or world): every TTS below packs it.
    speech_lists=(); for d in ${paired_dirs} "${raw}/unpaired_speech"; do speech_lists+=("${d}/wav.scp" "${d}/utt2spk"); done
    # shellcheck disable=SC2086
    if [ "${tts_vocoder}" != griffin_lim ] && step world --after ${paired_steps} format.unpaired_speech --outputs exp/world \
            --opts seed target_speaker -- "${tts_config}" "${speech_lists[@]}"; then
        # shellcheck disable=SC2086
        lr world_source --config "${tts_config}" --data_dir ${paired_dirs} "${raw}/unpaired_speech" \
            --speaker "${target_speaker}" --seed "${seed}" --out exp/world/world.pt
        step_done world
    fi
    # The LM of the unpaired text trains on the second core (steps.sh): beside the ASR, or, while
    # stage 4's TTS lane holds that core, once the ASR is done.
    [ -n "${beside}" ] || lm_start
    train asr exp/finetune/asr "${finetune_epochs}" "${paired_dirs}" "${raw}/${eval_set}" \
        "${lang_config}" "${asr_tokens}" "init_asr ${paired_steps} ${dev_step}" --init exp/finetune/asr_init.pth
    [ -z "${beside}" ] || lm_start
    lanes_join  # stage 4's TTS pretraining, when it went on in a lane
    init_model tts
    tts_finetune() {
        # shellcheck disable=SC2046
        train tts exp/finetune/tts "${finetune_tts_epochs:-${finetune_epochs}}" "${paired_dirs}" "${raw}/${eval_set}" \
            "${lang_config}" "${tts_tokens}" "init_tts ${paired_steps} ${dev_step} train.exp_finetune_asr" \
            --init exp/finetune/tts_init.pth --spk2sid "${tok}/spk2sid" \
            --target_speaker "${target_speaker}" $(tts_align_opts exp/finetune/asr/model) $(gv_opts) $(world_opts)
    }
    # The TTS fine-tunes in a lane while the LM's weights are tuned with the fine-tuned ASR
    # beside it (--nj 2; with --nj 1 one after the other).
    lane_what="the TTS's fine-tuning"; in_lane tts_finetune; [ "${nj}" -gt 1 ] || lanes_join
    lm_finish  # waits for the LM, then tunes its weights on dev with the fine-tuned ASR
    lanes_join
fi
lm_load  # the LM's decoding options (lm_args) and step (lm_step), once stage 5 made them

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log_stage 6 "Dual transformation: ${dt_rounds} rounds"
    prev=exp/finetune; voices=$(lr dual_transformation voices --spk2sid "${tok}/spk2sid" --n "${dt_tts_speakers}")
    # Every round's dev figures are judged by the same ASR, so they compare with round 0's.
    dt_judge=${judge:-exp/finetune/asr/model}; mkdir -p exp/dt/eval
    [ "${dt_eval}" = true ] && [ "${dt_rounds}" -gt 0 ] && round_eval round0 exp/finetune "train.exp_finetune_asr train.exp_finetune_tts ${lm_step}"
    for r in $(seq 1 "${dt_rounds}"); do
        rd=exp/dt/round${r}; p_asr=$(key train "${prev}/asr"); p_tts=$(key train "${prev}/tts"); IFS=, read -r -a vlist <<< "${voices}"
        # The TTS reads for the ASR in every round whose ASR hears synthetic speech, and in the
        # last round always (stage 7's ASR student hears its speech); with a share of 0 the
        # earlier rounds' synthesis would feed nothing.
        reads="reads ${dt_text_per_round} sentences in voices ${voices}"; synth_round=true
        [ "${dt_asr_synth_ratio}" = 0 ] && [ "${r}" != "${dt_rounds}" ] && { reads="reads nothing (--dt_asr_synth_ratio 0: only the last round's speech feeds stage 7)"; synth_round=false; }
        log "round ${r}: ASR(r-1) labels the unpaired speech, TTS(r-1) ${reads}"
        decode "${prev}/asr/model" "${raw}/unpaired_speech" "${rd}/asr_hyp" "${p_asr} format.unpaired_speech ${lm_step}"
        decode "${prev}/asr/model" "${raw}/${eval_set}" "${rd}/dev_hyp" "${p_asr} ${dev_step} ${lm_step}"  # what the labels are worth
        # shellcheck disable=SC2046
        if step "dt${r}.data" --after "$(key decode "${rd}/asr_hyp")" "$(key decode "${rd}/dev_hyp")" format.unpaired_text tokens \
                --outputs "${rd}/tts_pairs" "${rd}/labels.json" "${rd}/text" $(ls -d "${rd}"/text_* 2>/dev/null) \
                --opts seed dt_text_per_round dt_label_keep -- "${voices}"; then
            labels=$(lr dual_transformation round_data --round "${r}" --seed "${seed}" --voices "${voices}" \
                --speech_dir "${raw}/unpaired_speech" --hyp_dir "${rd}/asr_hyp" --keep_share "${dt_label_keep}" \
                --dev_dir "${raw}/${eval_set}" --dev_hyp_dir "${rd}/dev_hyp" --lang_config "${lang_config}" \
                --text_dir "${raw}/unpaired_text" --n_text "${dt_text_per_round}" --out_dir "${rd}") \
                || die "round ${r}: the ASR labels of the unpaired speech are unusable (see above)"
            log "round ${r}: ${labels}"
            step_done "dt${r}.data"
        fi
        # dt_synth: TTS(r-1) reads the round's sentences in its voices (dtR.asr_pairs).
        dt_synth() {
            local v synth_steps=""
            for v in "${vlist[@]}"; do
                synthesize "${prev}/tts/model" "${rd}/text_${v}" "${rd}/synth_${v}" "${v}" "${p_tts} dt${r}.data" --vocoder "${dt_vocoder}" --postfilter none
                synth_steps+=" $(key synth "${rd}/synth_${v}")"
            done
            # shellcheck disable=SC2086
            if step "dt${r}.asr_pairs" --after ${synth_steps} --outputs "${rd}/asr_pairs" -- "${voices}"; then
                # shellcheck disable=SC2046
                lr dual_transformation asr_pairs --synth $(for v in "${vlist[@]}"; do echo "${rd}/synth_${v}/data"; done) \
                    --out "${rd}/asr_pairs" >/dev/null || die "round ${r}: no synthetic speech for the ASR (see above)"
                step_done "dt${r}.asr_pairs"
            fi
        }
        # dt_tts: the round's TTS, on the paired data and the labelled unpaired speech, with the
        # round's ASR's durations (and the round's dev figures, which need both models).
        dt_tts() {
            # shellcheck disable=SC2046
            train tts "${rd}/tts" "${dt_tts_epochs:-${dt_epochs}}" "${paired_dirs} ${rd}/tts_pairs" "${raw}/${eval_set}" \
                "${lang_config}" "${tts_tokens}" "dt${r}.data ${p_tts} $(key train "${rd}/asr") ${paired_steps} ${dev_step}" \
                --init "${prev}/tts/model" --spk2sid "${tok}/spk2sid" --target_speaker "${target_speaker}" $(tts_align_opts "${rd}/asr/model") $(gv_opts) $(world_opts)
            [ "${dt_eval}" = true ] && round_eval "round${r}" "${rd}" "$(key train "${rd}/asr") $(key train "${rd}/tts") ${lm_step}"
            return 0
        }
        # With --nj 2 the round's TTS trains in a lane, beside the next round's labelling and ASR
        # (which need only this round's ASR); the TTS(r-1) lane is joined before its model is read.
        # An ASR that hears synthetic speech waits for it; one that does not (a share of 0)
        # trains first, and the last round's reading for stage 7 runs beside the round's TTS.
        asr_dirs=${paired_dirs}; asr_step=""
        if [ "${dt_asr_synth_ratio}" != 0 ]; then
            lanes_join; dt_synth
            asr_dirs="${paired_dirs} ${rd}/asr_pairs"; asr_step=dt${r}.asr_pairs  # all: every synthetic pair
            if [ "${dt_asr_synth_ratio}" != all ]; then
                asr_dirs="${paired_dirs} ${rd}/asr_synth"; asr_step=dt${r}.asr_synth
                # shellcheck disable=SC2086
                if step "${asr_step}" --after "dt${r}.asr_pairs" ${paired_steps} --outputs "${rd}/asr_synth" --opts dt_asr_synth_ratio seed; then
                    # shellcheck disable=SC2086
                    lr dual_transformation asr_synthetic --real ${paired_dirs} --pairs "${rd}/asr_pairs" \
                        --ratio "${dt_asr_synth_ratio}" --seed "${seed}" --out "${rd}/asr_synth" || die "round ${r}: see above"
                    step_done "${asr_step}"
                fi
            fi
        fi
        train asr "${rd}/asr" "${dt_epochs}" "${asr_dirs}" "${raw}/${eval_set}" \
            "${lang_config}" "${asr_tokens}" "${asr_step} ${p_asr} ${paired_steps} ${dev_step}" --init "${prev}/asr/model"
        lanes_join  # TTS(r-1), which the round's TTS starts from
        lane_what="round ${r}'s TTS"; in_lane dt_tts; dt_tts_lane=${lane_last}; [ "${nj}" -gt 1 ] || lanes_join
        [ "${dt_asr_synth_ratio}" = 0 ] && [ "${synth_round}" = true ] && dt_synth
        prev=${rd}
    done
    # With stage 7 next, the last TTS's lane goes on into it: the ASR student starts beside it.
    [ "${stop_stage}" -ge 7 ] || lanes_join
fi
last_dt=exp/finetune; [ "${dt_rounds}" -gt 0 ] && last_dt=exp/dt/round${dt_rounds}
last_asr=$(key train "${last_dt}/asr"); last_tts=$(key train "${last_dt}/tts")

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    beside=""; [ "${#lane_pids[@]}" -gt 0 ] && beside=" (round ${dt_rounds}'s TTS goes on beside the ASR student's start)"
    log_stage 7 "Knowledge distillation: TTS teacher -> ${kd_student} student, ASR student${beside}"
    kd=exp/kd; if step kd.text --after format.unpaired_text tokens --outputs "${kd}/text" --opts kd_tts_sentences seed; then
        lr make_pseudo_data sample_text --text_dir "${raw}/unpaired_text" --n "${kd_tts_sentences}" \
            --seed "$(lr distillation text_seed --seed "${seed}")" --speakers "${target_speaker}" --out "${kd}/text"
        step_done kd.text
    fi
    # The two students need nothing of each other: with --nj 2 they train side by side, one
    # per core (in_lane, steps.sh; docs/stages.md "What runs side by side").
    # ASR: the teacher (the last ASR) labels the unpaired speech afresh; the synthetic speech is
    # the last round's multi-speaker TTS speech (without rounds: the TTS teacher's).
    kd_asr_student() {
        decode "${last_dt}/asr/model" "${raw}/unpaired_speech" "${kd}/asr_hyp" "${last_asr} format.unpaired_speech ${lm_step}"
        local synth_step=kd.filter; [ "${dt_rounds}" -gt 0 ] && synth_step=dt${dt_rounds}.asr_pairs
        # shellcheck disable=SC2086
        if step kd.asr_data --after "$(key decode "${kd}/asr_hyp")" "${synth_step}" ${paired_steps} \
                --outputs "${kd}/speech_pairs" "${kd}/asr_train" --opts kd_asr_synth_ratio seed; then
            lr distillation asr_data --real ${paired_dirs} --speech_dir "${raw}/unpaired_speech" --hyp_dir "${kd}/asr_hyp" \
                --last_dt "${last_dt}" --kd_dir "${kd}" --ratio "${kd_asr_synth_ratio}" --seed "${seed}"
            step_done kd.asr_data
        fi
        train asr "${kd}/asr" "${kd_epochs}" "${kd}/asr_train" "${raw}/${eval_set}" "${lang_config}" "${asr_tokens}" \
            "kd.asr_data ${last_asr} ${dev_step}" --init "${last_dt}/asr/model"
    }
    # After dual transformation the ASR student needs no TTS: it starts first, beside the last
    # round's TTS when that still trains (stage 6 leaves its lane running into this stage).
    if [ "${dt_rounds}" -gt 0 ]; then
        lane_what="a distillation student"; in_lane kd_asr_student; [ "${nj}" -gt 1 ] || lanes_join
    fi
    lane_wait "${dt_tts_lane:-}" "round ${dt_rounds}'s TTS"  # the TTS teacher
    synthesize "${last_dt}/tts/model" "${kd}/text" "${kd}/teacher" target "${last_tts} kd.text" --attention_scores --postfilter none
    if step kd.filter --after "$(key synth "${kd}/teacher")" --outputs "${kd}/tts_pairs" "${kd}/filter_report.json" \
            --opts kd_wcr_min kd_adr_min tts_token_type -- "${lang_config}"; then
        # shellcheck disable=SC2046
        lr filter_synthetic --synth_dir "${kd}/teacher/data" --att_dir $(ls -d "${kd}"/teacher/split/*/att_ws 2>/dev/null) \
            --lang_config "${lang_config}" --token_type "${tts_token_type}" --wcr_min "${kd_wcr_min}" \
            --adr_min "${kd_adr_min}" --out "${kd}/tts_pairs" --report "${kd}/filter_report.json"
        step_done kd.filter
    fi
    mapfile -t student < <(lr distillation student --kd_student "${kd_student}" --kd_student_init "${kd_student_init}" \
        --tts_align "${tts_align}" --tts_config "${tts_config}" --fastspeech_config "${lr_root}/conf/tts/fastspeech_tiny.yaml" \
        --teacher "${last_dt}/tts/model")
    [ "${#student[@]}" -eq 3 ] || die "choosing the TTS student failed (see above)"; log "TTS student: ${student[0]}, ${student[2]}"
    student_init=(); [ "${student[1]}" = scratch ] || student_init=(--init "${student[1]}")
    kd_real=${paired_dirs}; kd_real_step=""  # labelled: the teacher's own real training speech stays in
    [ "${kd_tts_real}" = labelled ] && [ "${dt_rounds}" -gt 0 ] && { kd_real="${paired_dirs} ${last_dt}/tts_pairs"; kd_real_step=dt${dt_rounds}.data; }
    kd_tts_student() {
        # shellcheck disable=SC2046
        tts_config=${student[0]} train tts "${kd}/tts" "${kd_epochs}" "${kd_real} ${kd}/tts_pairs" "${raw}/${eval_set}" \
            "${lang_config}" "${tts_tokens}" "kd.filter ${kd_real_step} ${last_tts} ${last_asr} ${paired_steps} ${dev_step}" --spk2sid "${tok}/spk2sid" \
            --target_speaker "${target_speaker}" "${student_init[@]}" $(gv_opts) $(world_opts) \
            $( { [ "${tts_align}" = ctc ] || [ "${kd_student}" = fastspeech ]; } && echo "--align_asr ${last_dt}/asr/model")
    }
    lane_what="a distillation student"; in_lane kd_tts_student
    [ "${dt_rounds}" -gt 0 ] || in_lane kd_asr_student
    lanes_join
fi

# The recipe's stages with models, in order: label, dir, what they trained on.
model_stages=("finetune:exp/finetune:paired data, rich-resource init")
for r in $(seq 1 "${dt_rounds}"); do model_stages+=("dt_round${r}:exp/dt/round${r}:+ dual transformation round ${r}"); done
model_stages+=("kd:exp/kd:+ knowledge distillation (${kd_student} student)")

if [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 8 ]; then
    final_asr=exp/kd/asr/model; [ -f "${final_asr}/meta.json" ] || final_asr=${last_dt}/asr/model
    judge_dir=${judge:-${final_asr}}; judge_step=""; [ -z "${judge}" ] && judge_step=$(key train "$(dirname "${final_asr}")")
    log_stage 8 "Evaluation on ${eval_set} (IR judge: ${judge_dir})"
    ev=exp/eval; mkdir -p "${ev}"; mos=all; [ "${eval_mos}" = true ] || mos=reference
    for entry in "${model_stages[@]}"; do
        IFS=: read -r label dir data_desc <<< "${entry}"
        [ -f "${dir}/asr/model/meta.json" ] && [ -f "${dir}/tts/model/meta.json" ] || { log "${label}: no models; skipped"; continue; }
        # shellcheck disable=SC2086
        step "eval.${label}" --after "$(key train "${dir}/asr")" "$(key train "${dir}/tts")" ${judge_step} ${lm_step} "${dev_step}" \
            --outputs "${ev}/${label}" "${ev}/${label}.json" "${ev}/${label}.log" --opts judge_lm eval_set eval_mos -- \
            "${dir}/asr/model/model.pth" "${dir}/tts/model/model.pth" "${judge_dir}" "${lm_args[*]}" || continue
        lane_what="an evaluation"; in_lane eval_step "${label}" "${dir}" "${ev}/${label}" "${judge_dir}" --collect "${ev}/${label}.json" --data "${data_desc}" --mos "${mos}"
    done
    lanes_join
fi

if [ "${stage}" -le 9 ] && [ "${stop_stage}" -ge 9 ]; then
    log_stage 9 "Report and packed models"
    results=(); dirs=(); evals=""
    for entry in "${model_stages[@]}"; do
        IFS=: read -r label dir _ <<< "${entry}"
        [ -f "exp/eval/${label}.json" ] && { results+=("exp/eval/${label}.json"); dirs+=("${label}=${dir}"); evals+=" eval.${label}"; }
    done
    [ "${#results[@]}" -gt 0 ] || die "no evaluation results in exp/eval; run stage 8 first"
    # shellcheck disable=SC2086
    if step pack --after ${evals} ${lm_step} --outputs exp/report exp/packed --opts pack -- "${dirs[@]}"; then
        # The stages to pack: the last evaluated one, or the best on the eval set (chosen on the
        # same set the report shows, so the packed models' figures there are optimistic).
        opts=(); [ -n "${lm_step}" ] && opts=(--lm exp/lm/model --fusion exp/lm/fusion.json)
        [ -f exp/stage_times.tsv ] && opts+=(--times exp/stage_times.tsv)
        # shellcheck disable=SC2046
        chosen=$(lr pack_stages --results "${results[@]}" --stage_dirs "${dirs[@]}" --pack "${pack}" --out exp/packed \
            --report_dir exp/report --rounds $(ls -v exp/dt/eval/round*.json 2>/dev/null) "${opts[@]}" \
            --title "lrspeech: $(basename "$(dirname "$(pwd -P)")")/$(basename "$(pwd -P)")") || die "packing failed (see above)"
        read -r asr_label tts_label <<< "${chosen}"
        log "report: $(pwd)/exp/report/report.html (and report.md)"
        log "models: $(pwd)/exp/packed/asr (${asr_label}) and $(pwd)/exp/packed/tts (${tts_label}), --pack ${pack} (python -m lrspeech.bin.synthesize --model_dir exp/packed/tts --text '...' --out x.wav)"
        log "samples: $(ls "$(pwd)"/exp/eval/"${tts_label}"/tts/data/wav/*.wav 2>/dev/null | head -n 3 | tr '\n' ' ' || true)"
        step_done pack
    fi
fi
