#!/usr/bin/env bash
# Subset a data dir by utterance list, speaker list or seeded random count.
# Thin wrapper over `python -m lrspeech.bin.subset_data_dir`; run with --help for the options.
# Python: $LRSPEECH_PYTHON if set, else the repo's .venv, else python3.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
python=${LRSPEECH_PYTHON:-$root/.venv/bin/python}
if [ -z "${LRSPEECH_PYTHON:-}" ] && [ ! -x "$python" ]; then
  python=python3
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m lrspeech.bin.subset_data_dir "$@"
