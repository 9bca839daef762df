#!/usr/bin/env bash
# Create a recipe for a new language: egs/<name>/lr1 with run.sh, conf/lang.yaml, local/data.sh.
#
# Usage: utils/new_language.sh <name> --iso <code> [--espeak <voice> | --no-espeak]
#            [--unicode_form NFC|NFD] [--egs <dir>]
#   utils/new_language.sh yoruba --iso yo --no-espeak     # graphemes (tone marks kept)
#   utils/new_language.sh zulu --iso zu --espeak zu       # phonemes from espeak-ng
# --unicode_form NFD (default NFC) makes a tone mark its own token ("á" -> a + U+0301): far
# fewer character tokens for a tone or diacritic language without an espeak-ng voice.
#
# Then: put your corpus in egs/<name>/lr1/db (metadata.tsv layout) or edit local/data.sh,
# check conf/lang.yaml, and run egs/<name>/lr1/run.sh --stage 1 --stop_stage 3 first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
[ $# -ge 1 ] || usage 1
case "$1" in -h|--help) usage 0 ;; -*) echo "new_language.sh: the first argument is the language name" >&2; usage 1 ;; esac
name=$1; shift
iso=""; espeak=""; no_espeak=false; unicode_form=NFC; egs=${root}/egs
while [ $# -gt 0 ]; do
    case "$1" in
        --iso) iso=${2:?--iso needs a code}; shift 2 ;;
        --espeak) espeak=${2:?--espeak needs a voice}; shift 2 ;;
        --no-espeak|--no_espeak) no_espeak=true; shift ;;
        --unicode_form|--unicode-form) unicode_form=${2:?--unicode_form needs NFC or NFD}; shift 2 ;;
        --egs) egs=${2:?--egs needs a dir}; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "new_language.sh: unknown option $1" >&2; usage 1 ;;
    esac
done
[[ "${name}" =~ ^[a-z][a-z0-9_]*$ ]] || { echo "new_language.sh: name '${name}' must be lower case letters, digits, _" >&2; exit 1; }
[ -n "${iso}" ] || { echo "new_language.sh: give the ISO code: --iso <code>" >&2; exit 1; }
case "${unicode_form}" in NFC|NFD) ;; *) echo "new_language.sh: --unicode_form '${unicode_form}': give NFC or NFD" >&2; exit 1 ;; esac
if [ "${no_espeak}" = true ] && [ -n "${espeak}" ]; then echo "new_language.sh: --espeak and --no-espeak exclude each other" >&2; exit 1; fi
if [ "${no_espeak}" = false ]; then
    espeak=${espeak:-${iso}}
    if ! espeak-ng --voices 2>/dev/null | awk 'NR>1{print $2}' | grep -qx "${espeak}"; then
        echo "new_language.sh: espeak-ng has no voice '${espeak}' (list them: espeak-ng --voices);" \
             "give --espeak <voice>, or --no-espeak for grapheme tokens" >&2
        exit 1
    fi
fi
dir=${egs}/${name}/lr1
[ -e "${dir}" ] && { echo "new_language.sh: ${dir} exists; remove it or pick another name" >&2; exit 1; }
tmpl=${root}/egs/TEMPLATE/lr1
mkdir -p "${dir}.tmp/conf" "${dir}.tmp/local" "${dir}.tmp/db"
cp "${tmpl}/run.sh" "${tmpl}/cmd.sh" "${dir}.tmp/"
sed "s|^lr_root=.*|lr_root=\$(cd \"\$(dirname \"\${BASH_SOURCE[0]}\")/$(python3 -c "import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))" "${root}" "${dir}")\" \&\& pwd)|" \
    "${tmpl}/path.sh" > "${dir}.tmp/path.sh"
cp "${tmpl}/local/data.sh" "${dir}.tmp/local/data.sh"
voice=${espeak:-none}; ttype=phn; [ "${voice}" = none ] && ttype=char
cat > "${dir}.tmp/conf/lang.yaml" <<YAML
# ${name}: text frontend (made by utils/new_language.sh; see conf/lang/TEMPLATE.yaml for every key)
language: ${name}
iso: "${iso}"
espeak_voice: ${voice}
token_type: ${ttype}
unicode_form: ${unicode_form}          # NFC: "á" is one token; NFD: a + combining acute (U+0301)
case: lower
punctuation: keep
number_normalizer: none    # sw | en | none: write digits out in your text if none fits
stress: drop
YAML
cat > "${dir}.tmp/db/README.md" <<MD
# Data for ${name}
Put a corpus here in the metadata.tsv layout (columns id, audio, text, speaker, duration_s,
split; audio relative to this folder) and the unpaired sentences in text.tsv (id<TAB>text), or
edit local/data.sh to write the data dirs yourself. Keep the licence of what you add.
MD
chmod +x "${dir}.tmp/run.sh" "${dir}.tmp/local/data.sh"
mv "${dir}.tmp" "${dir}"
echo "created ${dir}: fill in ${dir}/db (or local/data.sh), check conf/lang.yaml, then"
echo "  ${dir}/run.sh --stage 1 --stop_stage 3"
