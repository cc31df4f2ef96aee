#!/usr/bin/env bash
# The project's whole check, as the README gives it and CI runs it: formatting, lints, and every
# test, including the end-to-end run against a real model (Gemma 3 270M through llama-server,
# set up and cached by setup-test-model.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-ci-tools.sh
eval "$(scripts/setup-test-model.sh)"
export GEMMA_GGUF LLAMA_SERVER
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# The experimental engine (feature `candle`) must build and lint too; its model tests run in
# scripts/test-engine.sh.
cargo clippy --all-targets --features candle -- -D warnings
INSTA_UPDATE=no cargo test
