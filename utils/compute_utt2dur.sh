#!/usr/bin/env bash
# Measure utterance durations into DIR/utt2dur.
# Thin wrapper over `python -m lrspeech.bin.compute_utt2dur`; run with --help for the options.
# Python: $LRSPEECH_PYTHON if set, else the repo's .venv, else python3.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
python=${LRSPEECH_PYTHON:-$root/.venv/bin/python}
if [ -z "${LRSPEECH_PYTHON:-}" ] && [ ! -x "$python" ]; then
  python=python3
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m lrspeech.bin.compute_utt2dur "$@"
