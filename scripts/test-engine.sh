#!/usr/bin/env bash
# Only the built-in engine's tests on the real Gemma 3 270M file, with their output: loading,
# clear load errors, prefill/decode consistency, prefix reuse, greedy agreement with
# llama.cpp's committed golden tokens, `write --local` end to end, and `serve --model` (HTTP,
# the openai Python client, limits, hang-ups, raw completions). scripts/test.sh runs all of
# these too, as part of `cargo test`; this is the quick way to look at the engine alone.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup-test-model.sh)"
export GEMMA_GGUF LLAMA_SERVER
INSTA_UPDATE=no cargo test --test integration -- engine:: serve_engine:: --nocapture
