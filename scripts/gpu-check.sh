#!/usr/bin/env bash
# The engine on a real NVIDIA GPU, in two halves (docs/gpu.md, "Checking on a GPU"):
#
#   scripts/gpu-check.sh stage   on the build machine (no GPU needed): builds the gpu_check
#                                example with the `cuda` feature (scripts/setup-cuda.sh's
#                                CUDA 13.0, CUDA_COMPUTE_CAP default 90: H100/H200), and lays
#                                what the run needs in .gpu/ (ignored by .gitignore): the binary, the
#                                greedy test's prompts and the Gemma 3 270M GGUF, cut into
#                                chunks of at most GPU_CHUNK_MIB (default 56) so that each
#                                transfer to a GPU machine stays small; prints the chunks,
#                                grouped into transfers of at most GPU_CALL_MIB (default 58).
#   scripts/gpu-check.sh run     on the GPU machine, once every chunk is there: joins and
#                                checks them (sha256), finds the CUDA 13 libraries (an installed
#                                toolkit or the nvidia-* Python wheels, e.g. PyTorch's), and runs
#                                the check: 16 greedy tokens on the GPU and on the CPU for the 5
#                                prompts of the greedy test, the prefix reuse on the GPU, and
#                                prefill and decode tokens/s on both. Its log also goes to
#                                $OUT/gpu-check.log when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
stage_dir=.gpu
log() { printf 'gpu-check: %s\n' "$*" >&2; }

stage() {
  local model="${GEMMA_GGUF:-$HOME/.cache/longwriter/models/gemma-3-270m-q4_k_m.gguf}"
  [ -s "$model" ] || model="$(scripts/setup-test-model.sh | sed -n 's/^GEMMA_GGUF=//p')"
  eval "$(scripts/setup-cuda.sh)"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cuda}"
  nice -n 10 cargo build --release --features cuda --example gpu_check
  rm -rf "$stage_dir" && mkdir -p "$stage_dir"
  cp "$CARGO_TARGET_DIR/release/examples/gpu_check" "$stage_dir/gpu_check"
  strip "$stage_dir/gpu_check"
  cp tests/data/engine/greedy.json "$stage_dir/greedy.json"
  cp "$model" "$stage_dir/model.gguf"
  (cd "$stage_dir" && sha256sum gpu_check greedy.json model.gguf >SHA256SUMS)
  local chunk=$((${GPU_CHUNK_MIB:-56} * 1024 * 1024)) f
  for f in gpu_check model.gguf; do
    split -b "$chunk" -d -a 2 "$stage_dir/$f" "$stage_dir/$f.part"
    rm "$stage_dir/$f"
  done
  # Group the files into transfers: each line is one `carry` list.
  local limit=$((${GPU_CALL_MIB:-58} * 1024 * 1024)) size=0 line=()
  for f in "$stage_dir"/SHA256SUMS "$stage_dir"/greedy.json "$stage_dir"/*.part*; do
    local n
    n=$(stat -c %s "$f")
    if [ $((size + n)) -gt "$limit" ] && [ ${#line[@]} -gt 0 ]; then
      echo "carry: ${line[*]}"
      line=() size=0
    fi
    line+=("$f") size=$((size + n))
  done
  echo "carry: ${line[*]}"
  log "staged in $stage_dir ($(du -sh "$stage_dir" | cut -f1)); send each carry line in its own call, then run: scripts/gpu-check.sh run"
}

# Directories holding the libraries the binary links (cudarc links them by name): the driver's
# libcuda.so.1 (never a link-time stub) and CUDA 13's.
cuda_lib_dirs() {
  find /usr/local /usr/lib /opt /root -xdev -not -path '*/stubs/*' \( -name 'libcuda.so.1' \
    -o -name 'libcublas.so.13' -o -name 'libcublasLt.so.13' -o -name 'libcurand.so.10' \
    -o -name 'libnvrtc.so.13' -o -name 'libcudart.so.13' \) \
    2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:
}

run() {
  local out="${OUT:-/tmp}/gpu-check.log"
  local f
  for f in gpu_check model.gguf; do
    ls "$stage_dir/$f".part* >/dev/null 2>&1 || { log "no $stage_dir/$f.part* here: send the staged chunks first"; exit 1; }
    cat "$stage_dir/$f".part* >"$stage_dir/$f"
  done
  (cd "$stage_dir" && sha256sum -c --quiet SHA256SUMS) || { log "a chunk is missing or damaged: stage and send again"; exit 1; }
  chmod +x "$stage_dir/gpu_check"
  export LD_LIBRARY_PATH="$(cuda_lib_dirs)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ldd "$stage_dir/gpu_check" | grep 'not found'; then
    log "the libraries above are missing: libcuda.so.1 comes with the NVIDIA driver, the others with CUDA 13 (or pip install nvidia-cublas nvidia-curand nvidia-cuda-nvrtc nvidia-cuda-runtime); add their folder to LD_LIBRARY_PATH and run again"
    exit 1
  fi
  {
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv || true
    "$stage_dir/gpu_check" "$stage_dir/model.gguf" "$stage_dir/greedy.json" "${GPU_DEVICE:-cuda:0}"
  } 2>&1 | tee "$out"
}

case "${1:-}" in
  stage) stage ;;
  run) run ;;
  *) echo "usage: scripts/gpu-check.sh stage|run" >&2; exit 2 ;;
esac
