#!/usr/bin/env bash
# Prefill (~1,500-token prompt) and decode tokens/s of the built-in engine vs llama-server on
# the same GGUF with the same thread count, and the ratios. A benchmark, not a test: run it on
# a quiet machine (numbers on a shared one are noisy).
#   scripts/bench-engine.sh [MODEL.gguf] [THREADS] [LLAMA_SERVER]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-$HOME/.cache/longwriter/models/gemma-3-270m-q4_k_m.gguf}"
threads="${2:-2}"
server="${3:-$HOME/.cache/longwriter/bin/llama-server}"
profile="${BENCH_PROFILE:-release}"

ours=$(cargo run -q --profile "$profile" --features candle --example bench_engine -- "$model" "$threads" | tail -1)
echo "$ours"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" -m "$model" --host 127.0.0.1 --port "$port" --swa-full -c 4096 -t "$threads" -np 1 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 240); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
theirs=$(python3 - "$port" <<'PY'
import json, sys, urllib.request
ids = [2] + [1000 + (i * 7919) % 20000 for i in range(1, 1500)]
body = {"prompt": ids, "n_predict": 64, "temperature": 0, "cache_prompt": False, "ignore_eos": True}
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/completion", json.dumps(body).encode(), {"Content-Type": "application/json"})
t = json.load(urllib.request.urlopen(req, timeout=600))["timings"]
print(f"llama.cpp prefill_tok_s={t['prompt_per_second']:.1f} decode_tok_s={t['predicted_per_second']:.1f}")
PY
)
echo "$theirs"
python3 - "$ours" "$theirs" <<'PY'
import sys
def parse(line): return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
for k in ("prefill_tok_s", "decode_tok_s"):
    print(f"ratio {k}: {a[k] / b[k]:.2f} (engine / llama.cpp)")
PY
