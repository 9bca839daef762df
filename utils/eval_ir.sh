#!/usr/bin/env bash
# Intelligibility rate of synthesized speech, judged by an ASR: writes <out-dir>/ir.json and
# <out-dir>/ir_utts.tsv. Thin wrapper over `python -m lrspeech.bin.eval_ir`.
# Python: $LRSPEECH_PYTHON if set, else the repo's .venv, else python3.
set -euo pipefail

judge=pocketsphinx   # `pocketsphinx` (English) or a packed ESPnet ASR model dir
lang_config=         # conf/lang/<iso>.yaml for number expansion in scoring (optional)
pad_s=0.3            # seconds of silence added at both ends before decoding
device=cpu           # device of an ESPnet judge (cpu, cuda)
skip_missing=false   # score only texts that have audio (else a missing clip is unintelligible)

help_message="Usage: $0 [options] <text-dir> <synth-wav-dir> <out-dir>
  <text-dir>       data dir (or text file) with the sentences that were synthesized
  <synth-wav-dir>  data dir with wav.scp, or a folder of <utt>.wav
  <out-dir>        where ir.json and ir_utts.tsv are written
e.g.: $0 --judge exp/judge/packed data/dev exp/tts/synth_dev exp/eval/ir_dev"

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/parse_options.sh"
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
. "${root}/utils/log.sh"

if [ $# -ne 3 ]; then
    printf '%s\n' "${help_message}" >&2
    die "expected 3 arguments (text dir, synth wav dir, out dir), got $#"
fi
text=$1
wav_dir=$2
out_dir=$3

python=${LRSPEECH_PYTHON:-$root/.venv/bin/python}
if [ -z "${LRSPEECH_PYTHON:-}" ] && [ ! -x "$python" ]; then
    python=python3
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"

log "IR of ${wav_dir} against ${text}, judge ${judge} -> ${out_dir}"
args=(--judge "${judge}" --text "${text}" --wav_dir "${wav_dir}" --out_dir "${out_dir}"
      --pad_s "${pad_s}" --device "${device}")
[ -n "${lang_config}" ] && args+=(--lang_config "${lang_config}")
[ "${skip_missing}" = true ] && args+=(--skip_missing)
"$python" -m lrspeech.bin.eval_ir "${args[@]}"
