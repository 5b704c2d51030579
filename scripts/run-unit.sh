#!/usr/bin/env bash
# scripts/run-unit.sh DIR: run every Boost.Test binary in DIR (no servers), the way
# run-tests.sh does, and end with one line "N passed, M failed". Used by
# `make unit` with build/asan/tests. Logs: run/unit/<binary>.log.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
logdir=$COACH_REPO_DIR/run/unit
rm -rf "$logdir"
mkdir -p "$logdir"

mapfile -t bins < <(test_binaries "$dir")
[ ${#bins[@]} -gt 0 ] || note "no test binaries in $dir"
for bin in "${bins[@]}"; do
  run_boost_test "$bin" "$logdir"
done
say "$TESTS_PASSED passed, $TESTS_FAILED failed"
[ "$TESTS_FAILED" -eq 0 ] && [ "$TESTS_PASSED" -gt 0 ]
