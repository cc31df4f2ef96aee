#!/usr/bin/env bash
# Writes a long document (default 100,000 words: 125 sections of 800) with `longwriter write`
# against the scripted server that enforces a context window (default 8,192 tokens;
# examples/windowed_server.rs), then prints the request sizes the server saw, whether every
# section is in the document once and in order, the total against the target, and the wall
# time and peak memory of the write process (/usr/bin/time -v).
#   WINDOW=8192 SECTIONS=125 EACH=800 scripts/measure-context.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=${WINDOW:-8192}
SECTIONS=${SECTIONS:-125}
EACH=${EACH:-800}
TOTAL=$((SECTIONS * EACH))
PROFILE=${PROFILE:-debug}
flag=()
[ "$PROFILE" = release ] && flag=(--release)
cargo build --quiet "${flag[@]}" --example windowed_server --bin longwriter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LONGWRITER_DATA="$tmp/data" LONGWRITER_CONFIG_DIR="$tmp"
unset LONGWRITER_BASE_URL LONGWRITER_MODEL
"target/$PROFILE/examples/windowed_server" "$WINDOW" "$SECTIONS" "$EACH" -- \
    /usr/bin/time -v "target/$PROFILE/longwriter" write \
    "Write a history of one lighthouse keeper in $SECTIONS parts" --words "$TOTAL" \
    --no-chapters --base-url '{url}' -o "$tmp/doc.md" --json >"$tmp/events.jsonl" 2>"$tmp/stderr" || {
    tail -20 "$tmp/stderr"
    exit 1
}
grep -E "^requests:|^section requests:" "$tmp/stderr"
grep -E "Elapsed \(wall|Maximum resident" "$tmp/stderr"
python3 - "$tmp/doc.md" "$tmp/events.jsonl" "$SECTIONS" "$TOTAL" <<'PY'
import json, re, sys
doc = open(sys.argv[1]).read()
n, total = int(sys.argv[3]), int(sys.argv[4])
heads = re.findall(r"^## Part (\d+)$", doc, re.M)
in_order = heads == [str(i) for i in range(1, n + 1)]
words = sum(len(l.split()) for l in doc.splitlines() if not l.startswith("#"))
events = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
kinds = {}
for e in events:
    kinds[e["event"]] = kinds.get(e["event"], 0) + 1
print(f"sections: {len(heads)} of {n}, each once and in order: {in_order}")
print(f"words: {words} for {total} ({100 * (words - total) / total:+.2f}%)")
print(f"summaries: {kinds.get('summarized', 0)}, compactions: {kinds.get('compacted', 0)}, "
      f"warnings: {kinds.get('warning', 0)}, summary text exported: {'SUMMARY' in doc}")
PY
