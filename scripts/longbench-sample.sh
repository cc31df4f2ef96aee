#!/usr/bin/env bash
# Writes a sample of English LongBench-Write prompts (at most 2,000 words) with Gemma 3 270M
# through llama-server and prints target words, written words and wall time for each.
# Usage: scripts/longbench-sample.sh [count=5] [output folder=target/longbench-sample]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
outdir="${2:-target/longbench-sample}"
mkdir -p "$outdir"
eval "$(scripts/setup-test-model.sh)"
cargo build --release --quiet
source scripts/lib/llama-server.sh
start_llama_server
data="data/longbench-write/longbench_write_en.jsonl"
python3 - "$data" "$count" >"$outdir/prompts.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = sorted((r for r in rows if r["length"] <= 2000), key=lambda r: r["length"])
n = min(int(sys.argv[2]), len(rows))
# Spread the sample over the lengths, shortest to longest, in file order among equals.
picks = sorted({round(k * (len(rows) - 1) / max(1, n - 1)) for k in range(n)})
for i in picks:
    print(json.dumps(rows[i], ensure_ascii=False))
PY
printf '%-4s %-8s %-8s %-8s %-9s %s\n' "#" target written ratio wall_s prompt
i=0
while IFS= read -r row; do
  i=$((i + 1))
  prompt=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prompt"])' "$row")
  target=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["length"])' "$row")
  start=$(date +%s.%N)
  target/release/longwriter write "$prompt" --words "$target" --base-url "$LLAMA_URL" --seed "$i" \
    -o "$outdir/$i.md" --json >"$outdir/$i.events.jsonl" 2>"$outdir/$i.stderr" || true
  end=$(date +%s.%N)
  written=$(python3 -c '
import json, sys
done = [json.loads(l) for l in open(sys.argv[1]) if "\"event\":\"done\"" in l]
print(done[-1]["ledger"]["written"] if done else "failed")' "$outdir/$i.events.jsonl")
  python3 -c 'import sys; t,w,s,e,p=sys.argv[1:6]; r=(f"{int(w)/int(t):.2f}" if w.isdigit() else "-"); print(f"{sys.argv[6]:<4} {t:<8} {w:<8} {r:<8} {float(e)-float(s):<9.1f} {p[:60]}")' \
    "$target" "$written" "$start" "$end" "$prompt" "$i"
done <"$outdir/prompts.jsonl"
