#!/usr/bin/env bash
# The built-in engine's tests on the real Gemma 3 270M file (feature `candle`): loading, clear
# load errors, prefill/decode consistency, prefix reuse, greedy agreement with llama.cpp's
# committed golden tokens, and `write --local` end to end. Not part of scripts/test.sh yet
# (the engine is experimental and these take minutes on two cores); CI lints the feature.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup-test-model.sh)"
export GEMMA_GGUF LLAMA_SERVER
INSTA_UPDATE=no cargo test --features candle --test integration engine:: -- --nocapture
