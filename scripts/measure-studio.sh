#!/usr/bin/env bash
# Measures the studio in a real terminal (tmux): process CPU while streaming 200 tok/s, and
# resident memory after writing a 100,000-word document. Prints the numbers.
# Needs tmux and python3; builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/longwriter"
TMP=$(mktemp -d)
SOCK="lw-measure-$$"
cleanup() { tmux -L "$SOCK" kill-server 2>/dev/null || true; kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

run_case() { # port rate words target_words
  python3 scripts/sse-server.py "$1" "$2" "$3" & SERVER=$!
  sleep 0.5
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  tmux -L "$SOCK" new-session -d -s m -x 120 -y 40 \
    "LONGWRITER_CONFIG_DIR=$TMP LONGWRITER_DATA=$TMP $BIN --base-url http://127.0.0.1:$1/v1"
  until tmux -L "$SOCK" capture-pane -p -t m | grep -q PROMPT; do sleep 0.2; done
  tmux -L "$SOCK" send-keys -t m -l "Write a $4-word story about a lighthouse"
  tmux -L "$SOCK" send-keys -t m C-s
  until tmux -L "$SOCK" capture-pane -p -t m | grep -q ' PLAN '; do sleep 0.2; done
  tmux -L "$SOCK" send-keys -t m w
  PID=$(pgrep -n -f "$BIN --base-url http://127.0.0.1:$1/v1")
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 1. CPU at 200 tok/s: ten seconds of streaming.
run_case 18731 200 2500 100000
sleep 2
T0=$(ticks "$PID"); S0=$(date +%s.%N)
sleep 10
T1=$(ticks "$PID"); S1=$(date +%s.%N)
HZ=$(getconf CLK_TCK)
CPU=$(echo "($T1 - $T0) / $HZ / ($S1 - $S0) * 100" | bc -l)
printf 'cpu_percent_of_one_core_at_200_tok_s %.2f\n' "$CPU"
kill "$SERVER"; tmux -L "$SOCK" kill-server

# 2. Memory with a 100,000-word document, streamed as fast as possible.
run_case 18732 0 2500 100000
until tmux -L "$SOCK" capture-pane -p -t m | grep -qE ' DONE | FAILED '; do sleep 0.5; done
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo "document: $(tmux -L "$SOCK" capture-pane -p -t m | grep -o 'Plan [0-9,]*/[0-9,]*' | head -1)"
echo "rss_mb_with_100k_word_document $(echo "$RSS_KB / 1024" | bc -l | xargs printf '%.1f')"
echo "limit_mb (3 x text + 30) $(echo "(3 * 100000 * 7) / 1048576 + 30" | bc -l | xargs printf '%.1f')"
