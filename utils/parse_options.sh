# Kaldi/ESPnet-style option parsing for recipe scripts. Source it, do not run it.
#
# Usage (in a script, after its defaults):
#   nj=4              # number of parallel jobs
#   use_gpu=false     # train on GPU (true|false)
#   help_message="Usage: $0 [options] <data-dir>"
#   . utils/parse_options.sh
#   # "$@" now holds the positional arguments only
#
# Rules:
#   --foo-bar VALUE, --foo_bar VALUE, --foo-bar=VALUE  set the variable foo_bar, which the calling
#                   script must assign at the top level (a `foo_bar=...` line at column 0) before
#                   sourcing this file; environment variables such as PATH are not options.
#                   Options are documented by a comment on that line; assignments without one
#                   (e.g. `root=$(pwd)` among commented options) are settable but not listed.
#   --config FILE   reads `name=value` lines (blank lines and `# comments` ignored) as options.
#   --help, -h      prints $help_message and each documented option of the calling script as
#                   `--name <default>  comment`, then exits 0.
#   A variable whose default is true/false only accepts true or false.
#   Parsing stops at the first argument that does not start with `--` (or after `--`).
# Errors (unknown option, missing value, bad boolean, unreadable config) print a message naming the
# option and exit 1.

# Everything lives in functions with _po_ prefixed locals so that the caller's namespace is only
# touched by the assignments the user asked for.

_po_script="${BASH_SOURCE[1]:-$0}"

# Print "name<TAB>comment" once per variable assigned at the top level of the calling script
# (`name=value  # comment` lines; the comment may be empty).
_po_option_lines() {
    local line name comment
    local -A seen=()
    [ -r "${_po_script}" ] || return 0
    while IFS= read -r line || [ -n "${line}" ]; do
        [[ "${line}" =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
        name="${BASH_REMATCH[1]}"
        [ "${name}" = help_message ] && continue
        [ -n "${seen[${name}]+set}" ] && continue
        seen[${name}]=1
        comment=""
        if [[ "${line}" =~ [[:space:]]#[[:space:]]?(.*)$ ]]; then
            comment="${BASH_REMATCH[1]}"
        fi
        printf '%s\t%s\n' "${name}" "${comment}"
    done < "${_po_script}"
}

# The documented options: the assignments with a comment, or all of them if none has one.
# Uncommented assignments in a documented script (e.g. lr_root=$(...)) stay settable but unlisted.
_po_documented_lines() {
    local lines
    lines="$(_po_option_lines)"
    if grep -q $'\t.' <<< "${lines}"; then
        grep $'\t.' <<< "${lines}"
    elif [ -n "${lines}" ]; then
        printf '%s\n' "${lines}"
    fi
}

# True when NAME is one of the calling script's variables (any defined variable when the script
# cannot be read, e.g. under `bash -c`).
_po_is_option() {
    local name="$1"
    [[ "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && [ -n "${!name+set}" ] || return 1
    [ -r "${_po_script}" ] || return 0
    _po_option_lines | cut -f1 | grep -qx "${name}"
}

_po_valid_names() {
    local name comment names=""
    while IFS=$'\t' read -r name comment; do
        [ -n "${!name+set}" ] && names+=" --${name}"
    done < <(_po_documented_lines)
    echo "${names# }"
}

_po_print_help() {
    local name comment shown
    if [ -n "${help_message:-}" ]; then
        printf '%s\n' "${help_message}"
    else
        printf 'Usage: %s [options] [args]\n' "$(basename "${_po_script}")"
    fi
    printf '\nOptions (default in <>):\n'
    printf '  %-28s %s\n' "--config <file>" "read name=value lines as options"
    printf '  %-28s %s\n' "--help" "print this help and exit"
    while IFS=$'\t' read -r name comment; do
        [ -n "${!name+set}" ] || continue
        shown="--${name} <${!name}>"
        if [ -n "${comment}" ]; then
            printf '  %-28s %s\n' "${shown}" "${comment}"
        else
            printf '  %s\n' "${shown}"
        fi
    done < <(_po_documented_lines)
}

_po_die() {
    echo "$(basename "${_po_script}"): $*" >&2
    exit 1
}

# _po_set NAME VALUE ORIGIN: assign after checks; ORIGIN names the option or config line.
_po_set() {
    local name="$1" value="$2" origin="$3" default
    if ! _po_is_option "${name}"; then
        _po_die "unknown option ${origin}; valid options: $(_po_valid_names) (see --help)"
    fi
    default="${_po_defaults[${name}]-${!name}}"
    if [ "${default}" = true ] || [ "${default}" = false ]; then
        if [ "${value}" != true ] && [ "${value}" != false ]; then
            _po_die "${origin} expects true or false, got '${value}'"
        fi
    fi
    printf -v "${name}" '%s' "${value}"
}

_po_read_config() {
    local file="$1" line name value n=0
    [ -r "${file}" ] || _po_die "--config ${file}: cannot read the file; check the path"
    while IFS= read -r line || [ -n "${line}" ]; do
        n=$((n + 1))
        line="${line%%[[:space:]]#*}"
        [[ "${line}" =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if ! [[ "${line}" =~ ^[[:space:]]*(--)?([A-Za-z_][A-Za-z0-9_-]*)[[:space:]]*=(.*)$ ]]; then
            _po_die "${file}:${n}: expected name=value, got '${line}'"
        fi
        name="${BASH_REMATCH[2]//-/_}"
        value="${BASH_REMATCH[3]}"
        value="${value#"${value%%[![:space:]]*}"}"
        value="${value%"${value##*[![:space:]]}"}"
        if [[ "${value}" =~ ^\"(.*)\"$ ]] || [[ "${value}" =~ ^\'(.*)\'$ ]]; then
            value="${BASH_REMATCH[1]}"
        fi
        _po_set "${name}" "${value}" "'${name}' (${file}:${n})"
    done < "${file}"
}

# Defaults as they were before parsing, so booleans stay validated after a config changed them.
declare -A _po_defaults=()
for _po_arg in "$@"; do
    case "${_po_arg}" in --help | -h) _po_print_help; exit 0 ;; esac
done
while IFS=$'\t' read -r _po_name _po_comment; do
    [ -n "${!_po_name+set}" ] && _po_defaults[${_po_name}]="${!_po_name}"
done < <(_po_option_lines)

while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; break ;;
        --*=*)
            _po_opt="${1%%=*}"
            _po_name="${_po_opt#--}"
            _po_value="${1#*=}"
            shift
            ;;
        --*)
            _po_opt="$1"
            _po_name="${1#--}"
            [ $# -ge 2 ] || _po_die "option ${_po_opt} needs a value"
            _po_value="$2"
            shift 2
            ;;
        *) break ;;
    esac
    if [ "${_po_name}" = config ]; then
        _po_read_config "${_po_value}"
    else
        _po_set "${_po_name//-/_}" "${_po_value}" "${_po_opt}"
    fi
done

unset _po_arg _po_opt _po_name _po_value _po_comment _po_defaults
unset -f _po_option_lines _po_documented_lines _po_is_option _po_valid_names _po_print_help _po_die _po_set _po_read_config
unset _po_script
true
