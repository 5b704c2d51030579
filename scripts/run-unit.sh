#!/usr/bin/env bash
# scripts/run-unit.sh DIR: run every Boost.Test binary in DIR (no servers), the way
# run-tests.sh does, and end with one line "N passed, M failed". Used by
# `make unit` with build/asan/tests. Integration tests (test_it_*) need the running
# stack and are left to `make test`. Logs: run/unit/<binary>.log.
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
skipped=()
for bin in "${bins[@]}"; do
  case ${bin##*/} in
    test_it_*) skipped+=("${bin##*/}") ;;
    *) run_boost_test "$bin" "$logdir" ;;
  esac
done
[ ${#skipped[@]} -eq 0 ] || note "needs the stack, left to make test: ${skipped[*]}"
say "$TESTS_PASSED passed, $TESTS_FAILED failed"
[ "$TESTS_FAILED" -eq 0 ] && [ "$TESTS_PASSED" -gt 0 ]
