#!/usr/bin/env bash
# Tools the tests need besides Rust: tmux, for the end-to-end tests in a real terminal (the
# studio, SIGHUP).
# Idempotent: installs only what is missing (needs apt-get and root or sudo on a fresh machine).
set -euo pipefail
if ! command -v tmux >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq tmux >&2
fi
