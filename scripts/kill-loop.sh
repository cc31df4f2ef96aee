#!/usr/bin/env bash
# The long kill test: `kill -9` a real `write` at 100 pseudo-random moments (or $1), resume
# each time, and check that no finished section changes and no text is duplicated at a seam.
# Prints the figures (iterations, kills mid-section, most words lost in one kill, finished
# sections lost). CI runs 20 iterations as part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
LONGWRITER_KILL_ITERATIONS="${1:-100}" LONGWRITER_SKIP_REAL_MODEL=1 \
  cargo test --test integration store::kill -- --nocapture 2>&1 | grep -E "kill loop|test result|panicked"
