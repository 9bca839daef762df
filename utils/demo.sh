#!/usr/bin/env bash
# The main job (`make demo`): LRSpeech on the Swahili speech the repo ships, stages 1-9, tiny
# models on the CPU, then where to find the report, the packed models and synthesized wavs.
#
# Usage: utils/demo.sh [extra run.sh options]     e.g. utils/demo.sh --stage 6
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
recipe=${root}/egs/swahili/lr1
t0=${SECONDS}
"${recipe}/run.sh" --nj 2 "$@"
echo
echo "demo finished in $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s"
echo "report:  ${recipe}/exp/report/report.html  (and report.md)"
# The stages whose models stage 9 packed (--pack best: the best on dev, see packed.json).
read -r asr_stage tts_stage < <(sed -n 's/.*"asr": "\([^"]*\)", "tts": "\([^"]*\)".*/\1 \2/p' \
    "${recipe}/exp/packed/packed.json" 2>/dev/null) || true
echo "models:  ${recipe}/exp/packed/asr (${asr_stage:-?})  ${recipe}/exp/packed/tts (${tts_stage:-?})"
echo "wavs:    $(ls "${recipe}"/exp/eval/"${tts_stage:-kd}"/tts/data/wav/*.wav 2>/dev/null | head -n 3 | tr '\n' ' ')"
echo "try:     ${root}/.venv/bin/python -m lrspeech.bin.synthesize --model_dir ${recipe}/exp/packed/tts --text 'Habari za asubuhi' --out /tmp/habari.wav"
