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
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$LLAMA_SERVER" -m "$GEMMA_GGUF" --host 127.0.0.1 --port "$port" --no-jinja --chat-template gemma \
  --swa-full -c 16384 -np 1 >"${TMPDIR:-/tmp}/longwriter-llama-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "llama-server exited; see ${TMPDIR:-/tmp}/longwriter-llama-server.log" >&2; exit 1; }
  sleep 0.5
done
target/release/longwriter write "$instruction" --base-url "http://127.0.0.1:$port/v1" -o "$output" "$@"
echo "wrote $output" >&2
