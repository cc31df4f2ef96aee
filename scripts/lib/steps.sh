# Sourced by scripts/test.sh and scripts/check-cuda.sh: `step NAME CMD...` runs a command,
# announces it on stderr and records its time; `print_timings` prints them all at the end.
timings=()
step() {
  local name="$1" start=$SECONDS
  shift
  echo "== $name: $*" >&2
  "$@"
  timings+=("$(printf '%5ds  %s' $((SECONDS - start)) "$name")")
}
print_timings() {
  echo "== timings" >&2
  printf '%s\n' "${timings[@]}" >&2
}
