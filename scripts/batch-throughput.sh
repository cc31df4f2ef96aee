#!/usr/bin/env bash
# Aggregate tok/s of `longwriter batch` at concurrency 1 and 4, against `llama-server -np 4`,
# `longwriter serve --parallel 4` and the built-in engine in the process (`batch --local`, which
# decodes as many documents together as run at once), on the Gemma 3 270M test model, side by
# side in one run: same prompts, same GGUF, same threads, 4,096 positions per sequence.
#
#   scripts/batch-throughput.sh [N_PROMPTS] [THREADS]
#
# Uses the first N_PROMPTS (default 4) prompts of LongBench-Write's 0-500 bucket (English), the
# built binary (LONGWRITER_BIN, default target/debug/longwriter; the engine's crates are
# optimized in dev builds, target/release/longwriter is what a user runs), and
# the model and llama-server where scripts/setup-test-model.sh puts them (GEMMA_GGUF,
# LLAMA_SERVER override). Gemma 3 270M is a base model, so the documents are written in
# completion mode (BATCH_MODE=chat to change it): in chat mode it mostly echoes the steps and the
# guards drop the text. Prints one line per run: server, concurrency, tokens, seconds, tok/s.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4}
threads=${2:-2}
cache=${LONGWRITER_CACHE:-$HOME/.cache/longwriter}
model=${GEMMA_GGUF:-$cache/models/gemma-3-270m-q4_k_m.gguf}
server=${LLAMA_SERVER:-$cache/bin/llama-server}
bin=${LONGWRITER_BIN:-target/debug/longwriter}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 600); do curl -sf "$1/models" >/dev/null && return 0; sleep 0.5; done; echo "no server at $1" >&2; exit 1; }

# Short English prompts, so that a run takes minutes and not hours on a small CPU.
python3 - "$n" > "$work/prompts.jsonl" <<'EOF'
import json, sys
n = int(sys.argv[1]); out = 0
for i, line in enumerate(open("data/longbench-write/longbench_write_en.jsonl")):
    item = json.loads(line)
    if item["length"] <= 500 and out < n:
        print(json.dumps({"id": f"lbw-{i+1}", "prompt": item["prompt"], "length": item["length"]}))
        out += 1
EOF

lport=$(free_port)
LD_LIBRARY_PATH="$(dirname "$server")" "$server" -m "$model" --host 127.0.0.1 --port "$lport" \
    -np 4 -c 16384 -t "$threads" --no-jinja --chat-template gemma --swa-full >"$work/llama.log" 2>&1 &
pids+=($!)
sport=$(free_port)
LONGWRITER_DATA="$work/serve-data" "$bin" serve --model "$model" --threads "$threads" \
    --context 4096 --parallel 4 --host 127.0.0.1 --port "$sport" >"$work/serve.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$lport/v1"
wait_up "http://127.0.0.1:$sport/v1"

for name in llama-server longwriter-serve local; do
    for c in 1 4; do
        out="$work/$name-$c.jsonl"
        if [ "$name" = local ]; then
            backend=(--local --model "$model" --threads "$threads" --context 4096)
        else
            port=$lport; [ "$name" = longwriter-serve ] && port=$sport
            backend=(--base-url "http://127.0.0.1:$port/v1")
        fi
        LONGWRITER_DATA="$work/data-$name-$c" LONGWRITER_CONFIG_DIR="$work" "$bin" batch \
            "$work/prompts.jsonl" --out "$out" --concurrency "$c" --temperature 0 --json \
            --mode "${BATCH_MODE:-completion}" \
            "${backend[@]}" > "$work/events.jsonl"
        python3 - "$name" "$c" "$work/events.jsonl" <<'EOF'
import json, sys
name, c, path = sys.argv[1:]
s = [json.loads(l) for l in open(path) if '"summary"' in l][-1]["summary"]
tokens = s["completion_tokens"] or s["pieces"]
print(f"{name:18} concurrency {c}: {s['written']} docs, {s['words']} words, {tokens} tokens, "
      f"{s['seconds']:.1f} s, {tokens / s['seconds']:.1f} tok/s aggregate", flush=True)
EOF
    done
done
