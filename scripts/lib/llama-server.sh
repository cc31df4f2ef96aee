# Sourced by scripts: start_llama_server serves $GEMMA_GGUF with $LLAMA_SERVER on a free
# loopback port, sets LLAMA_URL (the API root) and LLAMA_PID, and stops it when the shell exits.
# Needs GEMMA_GGUF and LLAMA_SERVER (from setup-test-model.sh).
start_llama_server() {
  local port log
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log="${TMPDIR:-/tmp}/longwriter-llama-server-$port.log"
  "$LLAMA_SERVER" -m "$GEMMA_GGUF" --host 127.0.0.1 --port "$port" --no-jinja --chat-template gemma \
    --swa-full -c "${LLAMA_CTX:-16384}" -np 1 -t "${LLAMA_THREADS:-2}" >"$log" 2>&1 &
  LLAMA_PID=$!
  trap 'kill $LLAMA_PID 2>/dev/null; wait $LLAMA_PID 2>/dev/null' EXIT
  for _ in $(seq 1 360); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$LLAMA_PID" 2>/dev/null || { echo "llama-server exited; see $log" >&2; return 1; }
    sleep 0.5
  done
  LLAMA_URL="http://127.0.0.1:$port/v1"
}
