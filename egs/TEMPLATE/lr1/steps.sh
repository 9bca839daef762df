# The step helpers of lr.sh: step markers, training, decoding, synthesis and evaluation.
# Sourced by lr.sh after its options are parsed (it needs py, force, dry_run, done_dir and the
# model options); not a script of its own.
#
# Usage (in lr.sh):
#   if step tokens --after format.dev --outputs dump/token -- conf/lang.yaml dump/raw/dev/text; then
#       ... the work ...
#       step_done tokens
#   fi
#
# `step` (lrspeech.pipeline.steps) returns 0 when the step must run, after deleting its outputs
# (kept with --resume when an interrupted run had the same inputs), and 1 when it is complete or
# in a dry run; it logs why. Inputs are paths (hashed by content) or plain values.

# resolve_defaults: the model settings left empty, from the others; stop on a bad choice.
resolve_defaults() {
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
    # check_choice OPTION VALUE A B [C...]: stop unless VALUE is one of A B C...
    check_choice() {
        local opt=$1 value=$2 ok words; shift 2
        for ok in "$@"; do [ "${value}" = "${ok}" ] && return 0; done
        words=$(printf '%s, ' "${@:1:$#-1}"); die "--${opt} must be ${words%, } or ${!#}, not '${value}'"
    }
    check_choice kd_student "${kd_student}" fastspeech transformer
    check_choice kd_student_init "${kd_student_init}" teacher scratch
    check_choice kd_tts_real "${kd_tts_real}" paired labelled
    check_choice pack "${pack}" best final
    check_choice digits "${digits}" drop keep
    check_choice tts_postfilter "${tts_postfilter}" gv none
    check_choice tts_vocoder "${tts_vocoder}" griffin_lim world_gl world
    # check_tts_epochs OPTION VALUE FALLBACK: stop unless VALUE is empty or a positive integer.
    check_tts_epochs() { [ -z "$2" ] || [[ "$2" =~ ^[1-9][0-9]*$ ]] \
        || die "--$1 must be a number of epochs (or empty: --$3), not '$2'"; }
    check_tts_epochs pretrain_tts_epochs "${pretrain_tts_epochs}" pretrain_epochs
    check_tts_epochs finetune_tts_epochs "${finetune_tts_epochs}" finetune_epochs
    check_tts_epochs dt_tts_epochs "${dt_tts_epochs}" dt_epochs
    if [ "${dt_asr_synth_ratio}" != all ]; then
        [[ "${dt_asr_synth_ratio}" =~ ^(0|0?\.[0-9]+)$ ]] \
            || die "--dt_asr_synth_ratio must be all or a share in [0, 1), not '${dt_asr_synth_ratio}'"
        [[ "${dt_asr_synth_ratio}" =~ ^0?\.0+$ ]] && dt_asr_synth_ratio=0  # 0.0 is 0: the paired data alone
    fi
    return 0
}

# start_run: a dry run clears the plans of an earlier one; a real run times each stage
# (exp/stage_times.tsv, utils/log.sh, for the report) and never leaves work running behind it:
# on an error it waits for the lanes and the LM still running (end_run), and on Ctrl-C or
# SIGTERM it stops them first (stop_background).
start_run() {
    if [ "${dry_run}" = true ]; then
        lr stage_marker plans --dir "${done_dir}"; log "dry run: nothing runs or is deleted"
    else
        LOG_STAGE_TIMES=exp/stage_times.tsv; trap 'end_run $?' EXIT
        trap 'stop_background interrupted; exit 130' INT; trap 'stop_background terminated; exit 143' TERM
    fi
}
# background_pids: the lanes and the LM's training still running in this shell.
background_pids() {
    local pid
    for pid in "${lane_pids[@]}" ${lm_pid:-}; do kill -0 "${pid}" 2>/dev/null && echo "${pid}"; done
    return 0
}
# end_run STATUS: at exit, wait for what still runs in the background (a step died beside a
# lane or the LM: `die` anywhere in the main shell), then record the stage's time. Subshells
# (lanes) do not inherit the trap.
end_run() {
    local pids
    mapfile -t pids < <(background_pids)
    if [ "${#pids[@]}" -gt 0 ]; then
        log "stopping: waiting for the ${#pids[@]} job(s) still running in the background to end first"
        wait "${pids[@]}" 2>/dev/null || true
        log "stopped; the error that stopped the run is further above"
    fi
    log_stage_end "$1"
}
# stop_background WHY: SIGTERM to every background job and each process under it (a training
# is a Python process under a lane's shell); their steps stay incomplete, so a rerun redoes
# or resumes them.
stop_background() {
    local pid pids; mapfile -t pids < <(background_pids)
    [ "${#pids[@]}" -eq 0 ] || log "$1: stopping the ${#pids[@]} job(s) running in the background"
    for pid in "${pids[@]}"; do kill_tree "${pid}"; done
}
# kill_tree PID: SIGTERM to PID and every process below it. Each is stopped first, from the
# top down, so that none forks again or goes on to its next command when a child it waits
# for dies (a lane's shell would start its next step); then all get SIGTERM and SIGCONT.
kill_tree() {
    local pids=("$1") i=0 pid
    while [ "${i}" -lt "${#pids[@]}" ]; do
        pid=${pids[i]}; i=$((i + 1))
        kill -STOP "${pid}" 2>/dev/null || continue
        # shellcheck disable=SC2207
        pids+=($(cat /proc/"${pid}"/task/*/children 2>/dev/null))
    done
    for pid in "${pids[@]}"; do kill -TERM "${pid}" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill -CONT "${pid}" 2>/dev/null || true; done
}

# shared_paths: the paired sets (paired_lq when stage 1 made it), their dirs and format steps,
# the eval set's format step, and the ASR pretraining step (none with --pretrained_asr).
shared_paths() {
    local d
    paired_sets="paired_hq"; [ -d data/paired_lq ] && paired_sets+=" paired_lq"
    paired_dirs=""; paired_steps=""
    for d in ${paired_sets}; do paired_dirs+=" ${raw}/${d}"; paired_steps+=" format.${d}"; done
    dev_step=format.${eval_set}
    pre_asr_step=""; [ -z "${pretrained_asr}" ] && pre_asr_step=train.exp_pretrain_asr
    return 0
}

# lr CLI ARGS...: python -m lrspeech.bin.CLI ARGS...
lr() { "${py}" -m "lrspeech.bin.$1" "${@:2}"; }

# key KIND PATH: a step name from a path (key train exp/finetune/asr -> train.exp_finetune_asr).
key() { echo "$1.${2//\//_}"; }

# marker_inputs VALUES...: one line per value; a value that is no path gets a `value:` prefix,
# so that leading dashes survive argparse.
marker_inputs() {
    local a
    for a in "$@"; do
        if [ -n "${a}" ] && { [ -e "${a}" ] || [ "${a:0:6}" = value: ]; }; then printf '%s\n' "${a//$'\n'/ }"
        else printf 'value:%s\n' "${a//$'\n'/ }"; fi
    done
}

# step NAME [--after STEPS...] [--outputs PATHS...] [--resume] [--opts NAMES...] -- INPUTS...
# --opts: options of lr.sh by name, hashed as NAME=VALUE (a reason then names the option).
step() {
    local name=$1 opts=() ins=() named=() line rc=0 n; shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ "$1" = --opts ]; then
            shift; while [ $# -gt 0 ] && [ "${1:0:2}" != -- ]; do named+=("value:$1=${!1}"); shift; done
        else opts+=("$1"); shift; fi
    done
    [ $# -gt 0 ] && shift
    mapfile -t ins < <(marker_inputs "$@")
    for n in "${named[@]}"; do ins+=("${n//$'\n'/ }"); done
    line=$("${py}" -m lrspeech.bin.stage_marker begin --dir "${done_dir}" --name "${name}" \
        --force "${force}" --dry_run "${dry_run}" "${opts[@]}" --inputs "${ins[@]}") || rc=$?
    [ "${rc}" -le 1 ] || die "step ${name}: checking its marker failed (see above)"
    log "${name}: ${line}"
    return "${rc}"
}
step_done() { "${py}" -m lrspeech.bin.stage_marker end --dir "${done_dir}" --name "$1"; }

# train TASK OUT EPOCHS "TRAIN_DIRS" VALID LANG_CONFIG TOKENS "AFTER" [train_model options]:
# one packed model in OUT/model, trained through cmd.sh; AFTER: the steps it builds on.
train() {
    local task=$1 out=$2 epochs=$3 dirs=$4 valid=$5 lcfg=$6 tokens=$7 after=$8; shift 8
    local config=${asr_config} ttype=${asr_token_type} infer=${asr_inference_model} enc_opt=() name d align_asr="" rest=()
    if [ "${task}" = tts ]; then config=${tts_config}; ttype=${tts_token_type}; infer=${tts_inference_model}; fi
    # A duration TTS (--align_asr MODEL, from tts_align_opts) trains on that ASR's CTC durations
    # of its data: the align step before it (lrspeech.bin.ctc_align), into OUT_durations.
    while [ $# -gt 0 ]; do
        if [ "$1" = --align_asr ]; then align_asr=$2; shift 2; else rest+=("$1"); shift; fi
    done
    set -- "${rest[@]}"
    if [ -n "${align_asr}" ]; then
        align "${align_asr}" "${out}_durations" "${dirs}" "${valid}" "${config}" "${lcfg}" "${tokens}" "${after}"
        after+=" $(key align "${out}_durations")"; set -- "$@" --durations "${out}_durations"
    fi
    # An ASR head on the speech encoder trains on its features, cached next to each data dir.
    [ "${task}" = asr ] && [ "${speech_encoder}" != none ] && enc_opt=(--speech_encoder "${speech_encoder}")
    # The model packed (--inference_model) is an input too: a new choice redoes the step.
    set -- --inference_model "${infer}" "$@"
    local inputs=("${config}" "value:epochs=${epochs}" "${tokens}" "${lcfg}" "${enc_opt[@]}" "$@")
    for d in ${dirs} "${valid}"; do inputs+=("${d}/wav.scp" "${d}/text" "${d}/utt2spk"); done
    name=$(key train "${out}")
    # An interrupted training with the same inputs resumes from its last checkpoint.
    # shellcheck disable=SC2086
    step "${name}" --after ${after} --outputs "${out}" --resume --opts train_args seed -- "${inputs[@]}" || return 0
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
    step_done "${name}"
}
# Options a TTS training needs to get durations from an ASR (ctc path) or none (attention path).
tts_align_opts() { [ "${tts_align}" = ctc ] && echo "--align_asr $1"; return 0; }
# Options that make a target-speaker TTS pack the speaker's global variance (--tts_postfilter gv):
# measured on the target speaker's utterances of the paired data (lrspeech.models.postfilter).
gv_opts() { [ "${tts_postfilter}" = gv ] && echo "--gv_data ${paired_dirs}"; return 0; }
# Options that make a target-speaker TTS pack the speaker's WORLD source model (--tts_vocoder
# world_gl or world, recorded for --vocoder auto; stage 5's world step trains it once,
# lrspeech.models.world_vocoder).
world_opts() { [ "${tts_vocoder}" != griffin_lim ] && echo "--world_source exp/world/world.pt --world_vocoder ${tts_vocoder}"; return 0; }

# align ASR_MODEL OUT "TRAIN_DIRS" VALID TTS_CONFIG LANG_CONFIG TOKENS "AFTER": the ASR's CTC
# durations of a TTS's training data (lrspeech.bin.ctc_align; pairs scoring below
# --align_min_score are left out), for train_model --durations OUT.
align() {
    local asr=$1 out=$2 dirs=$3 valid=$4 config=$5 lcfg=$6 tokens=$7 after=$8 name d ins=()
    name=$(key align "${out}")
    for d in ${dirs} "${valid}"; do ins+=("${d}/wav.scp" "${d}/text"); done
    # shellcheck disable=SC2086
    step "${name}" --after ${after} --outputs "${out}" --opts tts_token_type align_min_score align_word_split -- "${asr}/model.pth" \
        "${config}" "${lcfg}" "${tokens}" "${ins[@]}" || return 0
    mkdir -p "$(dirname "${out}")"
    # shellcheck disable=SC2086
    lr ctc_align --asr_model "${asr}" --train ${dirs} --valid "${valid}" --tts_config "${config}" --lang_config "${lcfg}" \
        --token_type "${tts_token_type}" --token_list "${tokens}" --min_score "${align_min_score}" --word_split "${align_word_split}" --out_dir "${out}" \
        > "${out}.log" 2>&1 || die "aligning ${dirs} with ${asr} failed; see ${out}.log"
    log "$(tail -n 1 "${out}.log")"
    step_done "${name}"
}

# decode ASR_MODEL DATA_DIR OUT_DIR "AFTER": ASR hypotheses (OUT/text, OUT/score) over nj jobs,
# with the LM when there is one (lm_args); clips too short for the ASR's encoder are left out
# and counted in OUT/split/*/skipped.json.
decode() {
    local model=$1 data=$2 out=$3 after=$4 name; name=$(key decode "${out}")
    # shellcheck disable=SC2086
    step "${name}" --after ${after} --outputs "${out}" -- "${model}/model.pth" "${data}/wav.scp" "${lm_args[*]}" || return 0
    ${decode_cmd} JOB=1:"${nj}" "${out}/log/decode.JOB.log" "${py}" -m lrspeech.bin.asr_inference \
        --model_dir "${model}" --data_dir "${data}" --out_dir "${out}/split/JOB" \
        --job_index JOB --num_jobs "${nj}" "${lm_args[@]}" || die "decoding ${data} failed; see ${out}/log/decode.*.log"
    cat "${out}"/split/*/score | sort > "${out}/score"
    cat "${out}"/split/*/text | sort > "${out}/text.tmp" && mv "${out}/text.tmp" "${out}/text"
    step_done "${name}"
}

# synthesize TTS_MODEL TEXT_DIR OUT_DIR SPEAKER "AFTER" [tts_inference options]: OUT/data
# (wav.scp, text); clips that came out empty or near-empty are listed in OUT/split/*/failed.
synthesize() {
    local model=$1 text=$2 out=$3 spk=$4 after=$5 name; shift 5; name=$(key synth "${out}")
    # shellcheck disable=SC2086
    step "${name}" --after ${after} --outputs "${out}" --opts synth_min_dur -- "${model}/model.pth" "${text}/text" "${spk}" "$@" || return 0
    ${decode_cmd} JOB=1:"${nj}" "${out}/log/synth.JOB.log" "${py}" -m lrspeech.bin.tts_inference \
        --model_dir "${model}" --text_dir "${text}" --out_dir "${out}/split/JOB" --speaker "${spk}" \
        --job_index JOB --num_jobs "${nj}" --min_seconds "${synth_min_dur}" "$@" \
        || die "synthesis of ${text} failed; see ${out}/log/synth.*.log"
    # Jobs may get no sentence (more jobs than sentences): combine the ones that spoke.
    # shellcheck disable=SC2046
    lr combine_data "${out}/data" $(for d in "${out}"/split/*/; do [ -s "${d}wav.scp" ] && echo "${d}"; done) >/dev/null
    step_done "${name}"
}

# eval_stage LABEL STAGE_DIR OUT_DIR JUDGE [eval_stage options]: dev figures of STAGE_DIR's ASR
# and TTS in one process; the log goes to OUT_DIR.log and its summary line to the recipe log.
eval_stage() {
    local label=$1 dir=$2 out=$3 judge_model=$4 judge_opt=(); shift 4
    [ "${judge_lm}" = true ] && judge_opt=(--judge_lm)
    lr eval_stage --stage_dir "${dir}" --data_dir "${raw}/${eval_set}" --judge "${judge_model}" \
        --lang_config "${lang_config}" --out_dir "${out}" --label "${label}" --real_dir "$(dirname "${out}")/real" \
        "${lm_args[@]}" "${judge_opt[@]}" "$@" > "${out}.log" 2>&1 \
        || die "evaluating ${dir} failed; see ${out}.log"
    log "$(tail -n 1 "${out}.log")"
}

# eval_step LABEL ...: stage 8's step eval.LABEL, eval_stage's arguments; marked complete after.
eval_step() { eval_stage "$@"; step_done "eval.$1"; }

# Lanes: work that needs nothing of each other runs side by side, at most --nj at a time (each
# lane's processes single-threaded): stage 8's evaluations, stage 7's two students. `in_lane
# CMD...` starts CMD in the background once a lane is free (waiting for the oldest); `lanes_join`
# waits for every lane and stops the run if one failed, only after all have ended, so that no
# lane is left running behind the error. A failed lane's own message (what failed, which log)
# is above; its step is not marked complete. `lane_what` names the lanes' work in that error.
# A dry run runs each lane in turn, so that its plan reads in order.
lane_pids=(); lane_failed=""; lane_what="an evaluation"; lane_last=""
in_lane() {
    local width=$(( nj > 1 ? nj : 1 ))
    lane_last=""
    if [ "${dry_run}" = true ]; then ( "$@" ) || lane_failed=true; return 0; fi
    if [ "${#lane_pids[@]}" -ge "${width}" ]; then
        wait "${lane_pids[0]}" || lane_failed=true
        lane_pids=("${lane_pids[@]:1}")
    fi
    [ -z "${lane_failed}" ] || lanes_join
    "$@" &
    lane_pids+=("$!"); lane_last=$!
}
# lane_wait PID WHAT: wait for one lane (in_lane's lane_last) and drop it from the lanes; when it
# failed, stop the run (naming WHAT) once the other lanes have ended. No PID, or a lane already
# joined: nothing to wait for.
lane_wait() {
    local pid=$1 p keep=()
    [ -n "${pid}" ] || return 0
    for p in "${lane_pids[@]}"; do [ "${p}" = "${pid}" ] || keep+=("${p}"); done
    [ "${#keep[@]}" -lt "${#lane_pids[@]}" ] || return 0
    lane_pids=("${keep[@]}")
    wait "${pid}" || { lane_what=$2; lane_failed=true; lanes_join; }
}
lanes_join() {
    local pid
    for pid in "${lane_pids[@]}"; do wait "${pid}" || lane_failed=true; done
    lane_pids=()
    [ -z "${lane_failed}" ] || die "${lane_what} failed (its error is above); rerun the stage: the finished ones are kept"
}

# round_eval LABEL STAGE_DIR "AFTER": stage 6's dev figures of one round (judge: dt_judge).
round_eval() {
    local out=exp/dt/eval/$1
    # shellcheck disable=SC2086
    if ! step "dt_eval.$1" --after $3 --outputs "${out}" "${out}.json" "${out}.log" --opts judge_lm -- \
            "$2/asr/model/model.pth" "$2/tts/model/model.pth" "${dt_judge}" "${lm_args[*]}"; then
        [ "${dry_run}" = true ] || log "$(tail -n 1 "${out}.log")"
        return 0
    fi
    eval_stage "$1" "$2" "${out}" "${dt_judge}" --mos none --collect "${out}.json"
    step_done "dt_eval.$1"
}

# lm_start: stage 5's LM of the unpaired text, trained in the background (lm_pid) while the
# models fine-tune; it needs only stage 3's token list.
lm_start() {
    lm_pid=""
    if [ "${use_lm}" = true ] && step lm --after tokens format.unpaired_text "${dev_step}" --outputs exp/lm \
            --opts lm_epochs seed -- "${lang_config}" "${asr_tokens}" "${lm_config}"; then
        mkdir -p exp/lm
        log "training the LM of ${raw}/unpaired_text in the background (log: exp/lm/train.log)"
        # Marked complete in the background job itself, so that its marker times the LM alone.
        { lr lm_train --text "${raw}/unpaired_text" --exclude "${raw}/${eval_set}" --lang_config "${lang_config}" \
            --token_list "${asr_tokens}" --config "${lm_config}" --out_dir exp/lm --epochs "${lm_epochs}" \
            --seed "${seed}" > exp/lm/train.log 2>&1 && step_done lm; } &
        lm_pid=$!
    fi
}

# lm_finish: wait for the LM, then tune its weights on dev with the fine-tuned ASR.
lm_finish() {
    if [ -n "${lm_pid}" ]; then
        wait "${lm_pid}" || die "LM training failed; see exp/lm/train.log"
        lm_pid=""
        log "$(tail -n 1 exp/lm/train.log)"
    fi
    # shellcheck disable=SC2086
    if [ "${use_lm}" = true ] && step lm_fusion --after lm train.exp_finetune_asr "${dev_step}" \
            --outputs exp/lm/fusion.json exp/lm/fusion.log --opts lm_weights lm_bonuses; then
        lr lm_fusion tune --asr_dir exp/finetune/asr/model --lm_dir exp/lm/model --data_dir "${raw}/${eval_set}" \
            --lang_config "${lang_config}" --weights ${lm_weights} --bonuses ${lm_bonuses} --out exp/lm/fusion.json \
            > exp/lm/fusion.log 2>&1 || die "tuning the LM weights failed; see exp/lm/fusion.log"
        step_done lm_fusion
        log "LM: $(tail -n 1 exp/lm/fusion.log)"
    fi
}

# lm_load: lm_args (decoding options of the LM and its tuned weights) and lm_step (the step
# they come from); both empty without --use_lm or before stage 5 made them.
lm_load() {
    lm_args=(); lm_step=""
    [ "${use_lm}" = true ] && [ -f exp/lm/fusion.json ] || return 0
    read -r -a lm_args <<< "$("${py}" -c "import sys; from lrspeech.pipeline.lm import read_fusion; w, b, _ = read_fusion(sys.argv[1]); print('--lm exp/lm/model --lm_weight', w, '--length_bonus', b)" exp/lm/fusion.json)"
    lm_step=lm_fusion
}
