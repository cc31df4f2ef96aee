#!/usr/bin/env bash
# Fails when a tracked file refers to a folder outside the repository that only the developers'
# own checkouts have (the sibling "shared" folder, by relative or absolute path): the repository
# must build, test and read on a machine with nothing beside the clone. Run by .ci/run before
# the tests. The pattern is assembled at run time so that this script does not match itself.
set -euo pipefail
cd "$(dirname "$0")/.."
name="shared"
pattern="\.\./${name}/|/work/${name}"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  search() { git grep -nI --untracked -E "$pattern"; }
else
  search() { grep -rnI -E "$pattern" --exclude-dir=.git --exclude-dir=target .; }
fi
if hits=$(search); then
  echo "$hits" >&2
  echo "error: the files above refer to a folder outside the repository; copy what they need" \
    "into the repository (data/, tests/data/) and point them there" >&2
  exit 1
fi
echo "standalone: no reference outside the repository" >&2
