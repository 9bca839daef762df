#!/usr/bin/env bash
# Recipe for a new language: fill in local/data.sh and conf/lang.yaml, then run
#   ./run.sh --stage 1 --stop_stage 9
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
exec "${lr_root}/egs/TEMPLATE/lr1/lr.sh" --lang_config conf/lang.yaml "$@"
