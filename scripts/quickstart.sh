#!/usr/bin/env bash
# One command from a fresh clone to a real document: sets up Gemma 3 270M and llama-server
# (cached), serves the model on a free loopback port, runs `longwriter write`, and stops the
# server again. Usage: scripts/quickstart.sh ["instruction"] [output.md] [extra write flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
instruction="${1:-Write a 1,000-word story about a lighthouse keeper who finds a message in a bottle.}"
output="${2:-lighthouse.md}"
shift $(( $# > 2 ? 2 : $# ))
eval "$(scripts/setup-test-model.sh)"
cargo build --release --quiet
source scripts/lib/llama-server.sh
start_llama_server
target/release/longwriter write "$instruction" --base-url "$LLAMA_URL" -o "$output" "$@"
echo "wrote $output" >&2
