#!/usr/bin/env bash
# The build check of the `cuda` feature on a machine without a GPU: installs the CUDA 13.0
# compiler and libraries from PyPI (scripts/setup-cuda.sh, cached), then runs
#   cargo build --release --features cuda
#   cargo clippy --release --features cuda -- -D warnings
# in their own target directory (target/cuda, so the shared target/ keeps its artifacts), at
# low priority. clippy runs with --release so that it reuses the build's compiled CUDA kernels
# instead of compiling them all again for the dev profile. Last, when a model is at hand
# ($GEMMA_GGUF), it runs the binary against the driver stub (a machine with CUDA's libraries
# but no working driver) and checks that `--device cuda` fails with a clear error, not a panic.
# Each step's time is printed at the end. Extra arguments go to both cargo commands.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup-cuda.sh)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cuda}"

# shellcheck source=lib/steps.sh
. scripts/lib/steps.sh

step "build (cuda)" nice -n 10 cargo build --release --features cuda "$@"
step "clippy (cuda)" nice -n 10 cargo clippy --release --features cuda "$@" -- -D warnings

bin="$CARGO_TARGET_DIR/release/longwriter"
no_driver() {
  local out code=0 data
  data="$(mktemp -d)"
  out="$(LD_LIBRARY_PATH="$CUDA_LIB_DIR:$CUDA_STUB_DIR" LONGWRITER_DATA="$data" \
    LONGWRITER_CONFIG_DIR="$data" "$bin" write "A note on the CUDA check" --words 100 \
    --local --model "$GEMMA_GGUF" --device cuda 2>&1)" || code=$?
  rm -rf "$data"
  echo "$out" | tail -n 3 >&2
  if [ "$code" != 2 ] || echo "$out" | grep -q panicked || ! echo "$out" | grep -q 'nvidia-smi'; then
    echo "check-cuda: expected exit code 2 and a clear CUDA error, got $code and the above" >&2
    return 1
  fi
}
if [ -s "${GEMMA_GGUF:-}" ]; then
  step "no driver: a clear error" no_driver
else
  echo "== no driver: skipped (set GEMMA_GGUF to a GGUF model to run it)" >&2
fi

print_timings
