#!/usr/bin/env bash
# Prefill (~1,500-token prompt) and decode tokens/s (64 greedy tokens after it) of the built-in
# engine vs llama-server on the same GGUF with the same thread count, and the ratios. A
# benchmark, not a test. It runs BENCH_ROUNDS rounds (default 3), each the engine then
# llama.cpp, so that a change in the machine's load during the run touches both sides alike,
# and prints every round and the median ratios. Before each side it waits (up to
# BENCH_IDLE_WAIT seconds, default 600) for the CPUs to be idle (under 10% busy over 2 s), and
# it reports the CPU time the hypervisor took (steal) during each measurement: on a shared
# virtual machine that is load the idle check cannot see.
#   scripts/bench-engine.sh [MODEL.gguf] [THREADS] [LLAMA_SERVER]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-$HOME/.cache/longwriter/models/gemma-3-270m-q4_k_m.gguf}"
threads="${2:-2}"
server="${3:-$HOME/.cache/longwriter/bin/llama-server}"
profile="${BENCH_PROFILE:-release}"
rounds="${BENCH_ROUNDS:-3}"

# Percent of CPU time busy over two seconds, from /proc/stat.
busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
wait_idle() {
  local waited=0 b
  while b=$(busy); [ "$b" -ge 10 ] && [ "$waited" -lt "${BENCH_IDLE_WAIT:-600}" ]; do
    waited=$((waited + 2))
  done
  echo "idle check before $1: ${b}% busy (waited ${waited}s)" >&2
}
# Runs "$@" and prints its output with the percent of CPU time stolen while it ran.
with_steal() {
  local a b out
  a=($(head -1 /proc/stat)); out=$("$@"); b=($(head -1 /proc/stat))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo "$out steal_pct=$(( total > 0 ? 100 * (b[8] - a[8]) / total : 0 ))"
}

cargo build -q --profile "$profile" --features candle --example bench_engine
engine() { "${CARGO_TARGET_DIR:-target}/$profile/examples/bench_engine" "$model" "$threads" | tail -1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" -m "$model" --host 127.0.0.1 --port "$port" --swa-full -c 4096 -t "$threads" -np 1 >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 240); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
llama() {
  python3 - "$port" <<'PY'
import json, sys, urllib.request
ids = [2] + [1000 + (i * 7919) % 20000 for i in range(1, 1500)]
body = {"prompt": ids, "n_predict": 64, "temperature": 0, "cache_prompt": False, "ignore_eos": True}
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/completion", json.dumps(body).encode(), {"Content-Type": "application/json"})
t = json.load(urllib.request.urlopen(req, timeout=600))["timings"]
print(f"llama.cpp prefill_tok_s={t['prompt_per_second']:.1f} decode_tok_s={t['predicted_per_second']:.1f}")
PY
}

results=()
for round in $(seq "$rounds"); do
  wait_idle "engine (round $round)"
  ours=$(with_steal engine)
  wait_idle "llama.cpp (round $round)"
  theirs=$(with_steal llama)
  echo "round $round: $ours"
  echo "round $round: $theirs"
  results+=("$ours|$theirs")
done
python3 - "$threads" "${results[@]}" <<'PY'
import statistics, sys
def parse(line): return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
rounds = [tuple(parse(side) for side in r.split("|")) for r in sys.argv[2:]]
print(f"threads: {sys.argv[1]}, rounds: {len(rounds)}")
for k in ("prefill_tok_s", "decode_tok_s"):
    ours = statistics.median(a[k] for a, _ in rounds)
    theirs = statistics.median(b[k] for _, b in rounds)
    ratios = [a[k] / b[k] for a, b in rounds]
    print(f"{k}: engine {ours:.1f}, llama.cpp {theirs:.1f} (medians); "
          f"ratio per round {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median ratio {statistics.median(ratios):.2f} (engine / llama.cpp)")
PY
