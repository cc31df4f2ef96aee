#!/usr/bin/env bash
# The project's whole check, as the README gives it and CI runs it: formatting, lints (with the
# built-in engine, the default, and without it, the pure client), and every test, including the
# end-to-end runs on a real model (Gemma 3 270M through llama-server and through our own engine,
# set up and cached by setup-test-model.sh). Each step's time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# Nothing may refer to a folder outside the repository: a clean clone must pass alone.
scripts/check-standalone.sh
scripts/setup-ci-tools.sh
eval "$(scripts/setup-test-model.sh)"
export GEMMA_GGUF LLAMA_SERVER

# shellcheck source=lib/steps.sh
. scripts/lib/steps.sh

step fmt cargo fmt --check
step "clippy (default: engine)" cargo clippy --all-targets -- -D warnings
# The pure client (no candle) must build, lint and pass its unit tests too.
step "clippy (no engine)" cargo clippy --all-targets --no-default-features -- -D warnings
step "unit tests (no engine)" env INSTA_UPDATE=no cargo test --no-default-features --lib
# Everything, the engine's tests on the real model included (they skip when
# LONGWRITER_SKIP_REAL_MODEL is set); the prefix-reuse run is left for the next step.
reuse=engine::local_write::a_ten_section_document_reuses_the_kv_cache_prefix
step "tests" env INSTA_UPDATE=no cargo test -- --skip "$reuse"
# The engine writing a 10-section document, with its output shown: the prompt tokens it
# computed against those it was sent (the KV-cache prefix reuse) belong in the CI log.
step "prefix reuse" env INSTA_UPDATE=no cargo test --test integration "$reuse" -- --exact --nocapture
# The `cuda` feature's build check (scripts/check-cuda.sh: CUDA 13.0 from PyPI, a release build
# and clippy in target/cuda) takes about 20 minutes on two cores, more than CI's budget leaves:
# it runs only when asked for (docs/gpu.md).
if [ -n "${LONGWRITER_CHECK_CUDA:-}" ]; then
  step "cuda build check" scripts/check-cuda.sh
fi

print_timings
