# Logging helpers for recipe scripts. Source it, do not run it.
#
# Usage:
#   . utils/log.sh
#   log_stage 3 "Text frontend"        # 2026-01-02T10:00:00 [stage 3] (run.sh:41) Stage 3: Text frontend
#   log "tokenizing ${dir}"            # 2026-01-02T10:00:01 [stage 3] (run.sh:42) tokenizing data/x
#   die "data/x/text is empty; run local/data.sh first"   # same format on stderr, then exit 1
#
# Lines go to stderr so that a stage's stdout stays clean for data. The stage tag comes from
# LOG_STAGE, which log_stage sets; it is omitted while LOG_STAGE is empty.
#
# Stage wall times: with LOG_STAGE_TIMES set to a file, each stage's run is appended to it as
# `stage<TAB>start<TAB>end<TAB>exit status<TAB>description` (epoch seconds) when the next
# log_stage begins or when log_stage_end runs; a script calls it at exit:
#   LOG_STAGE_TIMES=exp/stage_times.tsv; trap 'log_stage_end $?' EXIT

LOG_STAGE="${LOG_STAGE:-}"
LOG_STAGE_TIMES="${LOG_STAGE_TIMES:-}"
_LOG_STAGE_START=""
_LOG_STAGE_WHAT=""

# _log_prefix DEPTH: timestamp, stage tag and the caller's file:line, DEPTH frames up.
_log_prefix() {
    local depth="$1" file line stage=""
    file="${BASH_SOURCE[depth + 1]:-$0}"
    line="${BASH_LINENO[depth]:-0}"
    [ -n "${LOG_STAGE}" ] && stage=" [stage ${LOG_STAGE}]"
    printf '%s%s (%s:%s)' "$(date '+%Y-%m-%dT%H:%M:%S')" "${stage}" "${file##*/}" "${line}"
}

# log MESSAGE...: one timestamped line on stderr.
log() {
    echo "$(_log_prefix 1) $*" >&2
}

# log_stage N DESCRIPTION...: set the current stage and announce it (ending the previous one).
log_stage() {
    log_stage_end 0
    LOG_STAGE="$1"
    shift
    _LOG_STAGE_START=$(date +%s)
    _LOG_STAGE_WHAT="$*"
    echo "$(_log_prefix 1) Stage ${LOG_STAGE}: $*" >&2
}

# log_stage_end [STATUS]: append the current stage's wall time to LOG_STAGE_TIMES (if set).
log_stage_end() {
    if [ -n "${LOG_STAGE_TIMES}" ] && [ -n "${_LOG_STAGE_START}" ]; then
        mkdir -p "$(dirname "${LOG_STAGE_TIMES}")"
        printf '%s\t%s\t%s\t%s\t%s\n' "${LOG_STAGE}" "${_LOG_STAGE_START}" "$(date +%s)" \
            "${1:-0}" "${_LOG_STAGE_WHAT//$'\t'/ }" >> "${LOG_STAGE_TIMES}"
    fi
    _LOG_STAGE_START=""
    return 0
}

# die MESSAGE...: log an error line and exit 1 (the message should say what to do).
die() {
    echo "$(_log_prefix 1) ERROR: $*" >&2
    exit 1
}
