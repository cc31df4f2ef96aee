#!/usr/bin/env bash
# Aggregate decode throughput at concurrency 1 and 4, side by side: llama-server -np 4 and
# `longwriter serve` (the built-in engine, continuous batching over --parallel 4 slots) on the
# same GGUF and thread count, driven with the same requests by the Python `openai` client
# (~/.cache/longwriter/venv). A benchmark, not a test. Each round runs llama.cpp then serve at
# concurrency 1, then both at concurrency 4, so a change in the machine's load touches both
# sides alike; it prints every measurement and the ratios (serve/llama.cpp at 4, and each
# server's 4 over its own 1). Knobs: BENCH_REQUESTS (default 8 requests per measurement),
# BENCH_TOKENS (max_tokens of each, default 96), BENCH_ROUNDS (default 1), BENCH_PROFILE
# (cargo profile of longwriter, default release), BENCH_BIN (a built longwriter to use as is).
#   scripts/bench-batching.sh [MODEL.gguf] [THREADS] [LLAMA_SERVER]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-$HOME/.cache/longwriter/models/gemma-3-270m-q4_k_m.gguf}"
threads="${2:-2}"
server="${3:-$HOME/.cache/longwriter/bin/llama-server}"
profile="${BENCH_PROFILE:-release}"
python="${BENCH_PYTHON:-$HOME/.cache/longwriter/venv/bin/python}"
export BENCH_REQUESTS="${BENCH_REQUESTS:-8}" BENCH_TOKENS="${BENCH_TOKENS:-96}"
rounds="${BENCH_ROUNDS:-1}"

for f in "$model" "$server" "$python"; do
  [ -e "$f" ] || { echo "bench-batching: $f is missing (scripts/setup-test-model.sh installs the model, llama-server and the venv)" >&2; exit 2; }
done
dir=$profile; [ "$profile" = dev ] && dir=debug
bin="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/$dir/longwriter}"
[ -n "${BENCH_BIN:-}" ] || cargo build -q --profile "$profile" --bin longwriter

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lport=$(free_port); sport=$(free_port)
work=$(mktemp -d)
# llama.cpp splits -c over its slots: 4 × 4096, the context each serve slot gets.
"$server" -m "$model" --host 127.0.0.1 --port "$lport" -np 4 -c 16384 --no-jinja \
  --chat-template gemma --swa-full -t "$threads" >"$work/llama.log" 2>&1 &
lpid=$!
LONGWRITER_CONFIG_DIR="$work" LONGWRITER_DATA="$work/data" \
  "$bin" serve --model "$model" --threads "$threads" --context 4096 --parallel 4 \
  --port "$sport" >"$work/serve.log" 2>&1 &
spid=$!
trap 'kill $lpid $spid 2>/dev/null || true; rm -rf "$work"' EXIT
for port in "$lport" "$sport"; do
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break; sleep 0.5
  done
done

# Prints "tokens seconds tok_s" for BENCH_REQUESTS requests at concurrency $2 against port $1.
drive() {
  "$python" - "$1" "$2" <<'PY'
import os, sys, time
from concurrent.futures import ThreadPoolExecutor
from openai import OpenAI
port, conc = sys.argv[1], int(sys.argv[2])
n, max_tokens = int(os.environ["BENCH_REQUESTS"]), int(os.environ["BENCH_TOKENS"])
client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", timeout=1800)
topics = ["a lighthouse keeper", "a lost violin", "the first frost", "a city of bridges",
          "an old map", "a night train", "a clockmaker", "a desert garden"]
def one(i):
    r = client.chat.completions.create(
        model=client.models.list().data[0].id,
        messages=[{"role": "user", "content": f"Write a long story about {topics[i % len(topics)]}."}],
        max_tokens=max_tokens, temperature=0)
    return r.usage.completion_tokens
one(0)  # warm-up, not counted
start = time.monotonic()
with ThreadPoolExecutor(conc) as pool:
    tokens = sum(pool.map(one, range(n)))
secs = time.monotonic() - start
print(f"{tokens} {secs:.2f} {tokens / secs:.1f}")
PY
}

printf '%-6s %-10s %4s %7s %8s %8s\n' round server conc tokens seconds tok_s
declare -A sum
for round in $(seq "$rounds"); do
  for conc in 1 4; do
    for side in llama serve; do
      port=$lport; [ "$side" = serve ] && port=$sport
      read -r tokens secs tps < <(drive "$port" "$conc")
      printf '%-6s %-10s %4s %7s %8s %8s\n' "$round" "$side" "$conc" "$tokens" "$secs" "$tps"
      sum[$side$conc]=$(python3 -c "print(${sum[$side$conc]:-0} + $tps)")
    done
  done
done
avg() { python3 -c "print(f'{${sum[$1]} / $rounds:.1f}')"; }
ratio() { python3 -c "print(f'{${sum[$1]} / ${sum[$2]}:.2f}')"; }
echo "threads=$threads requests=$BENCH_REQUESTS max_tokens=$BENCH_TOKENS rounds=$rounds profile=$profile"
echo "llama.cpp -np 4: c1 $(avg llama1) tok/s, c4 $(avg llama4) tok/s (c4/c1 $(ratio llama4 llama1)x)"
echo "longwriter serve: c1 $(avg serve1) tok/s, c4 $(avg serve4) tok/s (c4/c1 $(ratio serve4 serve1)x)"
echo "serve/llama.cpp at c4: $(ratio serve4 llama4)x; at c1: $(ratio serve1 llama1)x"
