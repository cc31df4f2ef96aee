#!/usr/bin/env bash
# Installs the CUDA 13.0 toolkit pieces that `cargo build --features cuda` needs, from their
# PyPI wheels, idempotently and cached under $LONGWRITER_CACHE/cuda (default
# ~/.cache/longwriter/cuda), and prints the environment that points candle's build at them as
# shell assignments on stdout (`eval "$(scripts/setup-cuda.sh)"`); logs go to stderr.
#
# Why CUDA 13.0 and not 12: the CUDA 12 compiler wheels (nvidia-cuda-nvcc-cu12, 12.0 to 12.9)
# ship only ptxas and libnvvm, not the nvcc driver, so nothing can be compiled with them; the
# CUDA 13 wheels ship the whole compiler and lay every package out as one toolkit tree
# (nvidia/cu13/{bin,include,lib,nvvm}). 13.0 and not newer: candle hands its kernels to the
# driver as PTX, and a driver only loads PTX from a compiler no newer than itself (580-series
# drivers: CUDA 13.0). cudarc 0.19 accepts 13.0 to 13.4 (it reads `nvcc --version`).
#
# What candle's build reads (checked in cudarc 0.19.10's, candle-kernels 0.11.1's and
# cudaforge 0.1.6's build scripts):
#   - nvcc on PATH (or NVCC): cudarc takes the CUDA version from `nvcc --version`, cudaforge
#     compiles the kernels with it and finds the headers next to it (../include);
#   - CUDA_HOME / CUDA_PATH / CUDA_ROOT: where cudarc looks for the libraries it links
#     (lib/, lib/stubs/): libcuda, libnvrtc, libcurand, libcublas, libcublasLt; candle-kernels
#     adds libcudart;
#   - CUDA_COMPUTE_CAP: the GPU generation to compile for; cudaforge asks nvidia-smi when it is
#     unset, which fails on a machine without a GPU. Default here 90 (H100, H200); set it to
#     your card's (`nvidia-smi --query-gpu=compute_cap --format=csv`: 8.6 -> 86).
#
# The wheels have no libcuda.so (the driver's library): a stub is compiled here from the
# function names cudarc declares, into lib/stubs/, for the linker only. At run time the
# driver's own libcuda.so.1 is used; the other libraries come from the directory this script
# prints as CUDA_LIB_DIR (add it to LD_LIBRARY_PATH) or from an installed CUDA 13.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${LONGWRITER_CACHE:-$HOME/.cache/longwriter}"
dir="$cache/cuda/13.0"
root="$dir/site/nvidia/cu13"
log() { printf 'setup-cuda: %s\n' "$*" >&2; }

wheels=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cuda-nvrtc==13.0.88
  nvidia-curand==10.4.0.35
  nvidia-cublas==13.0.2.14
)
stamp="$dir/installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "${wheels[*]}" ]; then
  log "installing ${wheels[*]} into $dir (about 1 GB, once)"
  rm -rf "$dir/site"
  mkdir -p "$dir"
  python3 -m pip install -q --no-deps --no-compile --target "$dir/site" "${wheels[@]}" >&2
  printf '%s' "${wheels[*]}" >"$stamp"
fi
[ -x "$root/bin/nvcc" ] || { log "no nvcc in $root/bin after the install"; exit 1; }

# The linker wants the unversioned names; the wheels have only the versioned files.
for lib in cudart cublas cublasLt curand nvrtc; do
  real="$(cd "$root/lib" && ls "lib$lib.so."* 2>/dev/null | grep -v alt | sort | head -n1)"
  [ -n "$real" ] || { log "lib$lib.so.* is missing from $root/lib"; exit 1; }
  ln -sfn "$real" "$root/lib/lib$lib.so"
done

# The driver stub: every cu* function cudarc declares, failing with CUDA_ERROR_STUB_LIBRARY
# (34), and the two error-text functions answering truthfully, so a program that loads this
# stub instead of a driver reports a clear error instead of crashing.
stub="$root/lib/stubs/libcuda.so"
if [ ! -s "$stub" ]; then
  registry="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10 2>/dev/null | head -n1)"
  if [ -z "$registry" ]; then
    cargo fetch >&2
    registry="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10 | head -n1)"
  fi
  mkdir -p "$root/lib/stubs"
  {
    echo 'static const char *msg = "libcuda.so stub: no NVIDIA driver is loaded";'
    echo 'int cuGetErrorString(int e, const char **s) { (void)e; *s = msg; return 0; }'
    echo 'int cuGetErrorName(int e, const char **s) { (void)e; *s = "CUDA_ERROR_STUB_LIBRARY"; return 0; }'
    grep -oE 'pub unsafe fn cu[A-Za-z0-9_]+' "$registry/src/driver/sys/mod.rs" |
      sed 's/pub unsafe fn //' | sort -u | grep -vxE 'cuGetErrorString|cuGetErrorName' |
      sed 's/.*/int &(void) { return 34; }/'
  } >"$root/lib/stubs/cuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub" "$root/lib/stubs/cuda_stub.c"
  ln -sfn libcuda.so "$root/lib/stubs/libcuda.so.1"
  log "built the driver stub $stub"
fi

cat <<EOF
export PATH="$root/bin:\$PATH"
export NVCC="$root/bin/nvcc"
export CUDA_HOME="$root" CUDA_PATH="$root" CUDA_ROOT="$root"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export CUDA_LIB_DIR="$root/lib"
export CUDA_STUB_DIR="$root/lib/stubs"
EOF
