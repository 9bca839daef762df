# Environment of the recipe: the repo's virtualenv and one OpenMP thread per process.
lr_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export LRSPEECH_PYTHON=${LRSPEECH_PYTHON:-${lr_root}/.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export PYTHONUNBUFFERED=1
