#!/usr/bin/env bash
# scripts/run-tests.sh: what `make test` runs. Installs packages, builds (release,
# and the ASan/UBSan test binaries), brings up a private stack on free ports in its
# own run directory, runs every test against it, stops it, and ends with exactly
# one line "N passed, M failed". Exit status 0 only if something ran and nothing
# failed.
#
# What runs, in order, each with COACH_CONFIG, COACH_BASE_URL, COACH_CAL_URL,
# COACH_CLERK_URL, COACH_ZOOM_URL, COACH_STRIPE_URL, COACH_SMTP_DIR,
# COACH_SMTP_PORT, COACH_DB_SOCKET, COACH_RUN_DIR, COACH_REPO_DIR and
# COACH_CHROMIUM in the environment:
#   build/asan/tests/*          Boost.Test binaries; each test case counts
#   tests/integration/*.sh      executable ones, run from the repo root
#   tests/browser/*.mjs         with node, after `npm install` there if it has a
#                               package.json
# A script counts as one test (passed if it exits 0) unless it prints TAP-style
# lines ("ok ..." / "not ok ..." at the start of a line): then each such line
# counts, and a non-zero exit without a "not ok" line adds one failure.
#
# Options (environment): COACH_TEST_RUN_DIR (default run/test; a second run at
# the same time uses run/test-<pid>), COACH_TEST_TIMEOUT_S (per test binary or
# script, default 600), COACH_MAKE_JOBS (default 2), COACH_CAL_ACCESS_TTL_S and
# COACH_CLERK_TOKEN_TTL_S (passed to the emulators), COACH_KEEP_STACK=1 (leave
# the stack running afterwards, for debugging; stop it with the printed command),
# COACH_TEST_ONLY (an extended regex: only tests whose name matches run, e.g.
# 'test_it_sessions|sessions.mjs'; the build and the stack are the same).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPO=$COACH_REPO_DIR
cd "$REPO"
started_at=$(date +%s)
stack_up=0

# ---- a run directory of our own, locked so two runs never share one ----------
RUN=${COACH_TEST_RUN_DIR:-$REPO/run/test}
mkdir -p "$(dirname "$RUN")"
RUN=$(cd "$(dirname "$RUN")" && pwd -P)/$(basename "$RUN")
exec 9>"$RUN.lock"
if ! flock -n 9; then
  RUN=$REPO/run/test-$$
  exec 9>"$RUN.lock"
  flock -n 9
fi
if [ -e "$RUN" ]; then
  [ -e "$RUN/.coach-run" ] || die "$RUN exists and is not a run directory: not deleting it"
  COACH_RUN_DIR=$RUN "$REPO/deploy.sh" stop >/dev/null 2>&1 || true
  rm -rf "$RUN"
fi
mkdir -p "$RUN/log/tests"
: >"$RUN/.coach-run"
LOGDIR=$RUN/log/tests

# ---- ports: random free ones, so parallel runs and a local stack never collide -
read -r COACH_HTTP_PORT COACH_DB_PORT COACH_CAL_PORT COACH_ZOOM_PORT COACH_STRIPE_PORT \
  COACH_CLERK_PORT COACH_SMTP_PORT <<<"$(free_ports 7)"
export COACH_RUN_DIR=$RUN COACH_HTTP_PORT COACH_DB_PORT COACH_CAL_PORT COACH_ZOOM_PORT \
  COACH_STRIPE_PORT COACH_CLERK_PORT COACH_SMTP_PORT

# Tails of the stack's logs, for a failed run.
show_logs() {
  local f
  say "---- logs in $RUN/log (tails)"
  for f in "$RUN"/log/*.log; do
    [ -s "$f" ] || continue
    case ${f##*/} in build.log | stop.log) continue ;; esac
    printf -- '--- last 15 lines of %s\n' "$f"
    tail -n 15 "$f" | cut -c1-400 | sed 's/^/  | /'
  done
}

stop_stack() {
  [ "$stack_up" = 1 ] || return 0
  stack_up=0
  if [ "${COACH_KEEP_STACK:-0}" = 1 ]; then
    say "stack left running: COACH_RUN_DIR=$RUN ./deploy.sh stop"
  else
    "$REPO/deploy.sh" stop >>"$RUN/log/stop.log" 2>&1 || warn "stopping the stack failed (see $RUN/log/stop.log)"
  fi
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

# finish: stop the stack, show logs if anything failed, print the one summary line.
finish() {
  stop_stack
  if [ "$TESTS_FAILED" -gt 0 ] || [ $((TESTS_PASSED + TESTS_FAILED)) -eq 0 ]; then
    show_logs
    [ ${#FAILED_NAMES[@]} -eq 0 ] || say "failed: ${FAILED_NAMES[*]}"
  fi
  say "tests took $(($(date +%s) - started_at)) s; logs in $RUN/log"
  say "$TESTS_PASSED passed, $TESTS_FAILED failed"
  [ "$TESTS_FAILED" -eq 0 ] && [ "$TESTS_PASSED" -gt 0 ] || return 1
  # A second run's own directory (run/test-<pid>) goes once it passed.
  if [ "$RUN" = "$REPO/run/test-$$" ] && [ "${COACH_KEEP_STACK:-0}" != 1 ]; then rm -rf "$RUN" "$RUN.lock"; fi
}

# broken STEP: a step before the tests failed; count it as one failure and end.
broken() {
  TESTS_FAILED=$((TESTS_FAILED + 1))
  FAILED_NAMES+=("$1")
  finish || true
  exit 1
}

# selected NAME: true when COACH_TEST_ONLY is unset or matches NAME.
selected() { [ -z "${COACH_TEST_ONLY:-}" ] || [[ $1 =~ $COACH_TEST_ONLY ]]; }

# ---- install, build ------------------------------------------------------------
"$REPO/scripts/install-deps.sh" || broken install-deps
jobs=${COACH_MAKE_JOBS:-2}
# With COACH_TEST_ONLY only the matching test binaries are built.
test_targets=(tests)
if [ -n "${COACH_TEST_ONLY:-}" ]; then
  test_targets=()
  for src in tests/test_*.cpp; do
    name=$(basename "$src" .cpp)
    if selected "$name"; then test_targets+=("build/asan/tests/$name"); fi
  done
fi
if ! { make -j"$jobs" BUILD=release && { [ ${#test_targets[@]} -eq 0 ] || make -j"$jobs" BUILD=asan "${test_targets[@]}"; }; } >"$RUN/log/build.log" 2>&1; then
  build_errors "$RUN/log/build.log"
  broken build
fi
say "build: ok (build/release, build/asan/tests)"

# ---- the stack -----------------------------------------------------------------
stack_up=1
if ! env -u COACH_SKIP_SEED COACH_STRICT=1 COACH_SKIP_DEPS=1 COACH_SKIP_BUILD=1 \
  "$REPO/deploy.sh" local 9>&-; then
  broken stack
fi

export COACH_CONFIG=$RUN/etc/coach.conf
export COACH_BASE_URL=http://127.0.0.1:$COACH_HTTP_PORT
export COACH_CAL_URL=http://127.0.0.1:$COACH_CAL_PORT
export COACH_CLERK_URL=http://127.0.0.1:$COACH_CLERK_PORT
export COACH_ZOOM_URL=http://127.0.0.1:$COACH_ZOOM_PORT
export COACH_STRIPE_URL=http://127.0.0.1:$COACH_STRIPE_PORT
export COACH_SMTP_DIR=$RUN/mail
export COACH_DB_SOCKET=$RUN/sock/mariadb.sock
export COACH_CHROMIUM=${COACH_CHROMIUM:-/usr/bin/chromium}

# ---- unit and integration tests in C++ (sanitizer build) -------------------------
mapfile -t bins < <(test_binaries "$REPO/build/asan/tests")
[ ${#bins[@]} -gt 0 ] || note "no test binaries in build/asan/tests"
for bin in "${bins[@]}"; do
  selected "${bin##*/}" || continue
  run_boost_test "$bin" "$LOGDIR"
done

# ---- shell integration tests -------------------------------------------------------
for t in "$REPO"/tests/integration/*.sh; do
  [ -e "$t" ] || continue
  selected "${t##*/}" || continue
  if [ ! -x "$t" ]; then note "${t#"$REPO"/} is not executable: skipped"; continue; fi
  run_script_test "$LOGDIR" "${t#"$REPO"/}" "$t"
done

# ---- browser tests (node; drives /usr/bin/chromium, never a downloaded browser) ---
if compgen -G "$REPO/tests/browser/*.mjs" >/dev/null; then
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
  npm_ok=1
  if [ -f "$REPO/tests/browser/package.json" ]; then
    if ! (cd "$REPO/tests/browser" && npm install --no-audit --no-fund) </dev/null >"$LOGDIR/npm-install.log" 2>&1; then
      npm_ok=0
      TESTS_FAILED=$((TESTS_FAILED + 1))
      FAILED_NAMES+=("npm-install")
      say "FAILED  npm install in tests/browser (log $LOGDIR/npm-install.log)"
      log_tail "$LOGDIR/npm-install.log" 20
    fi
  fi
  if [ "$npm_ok" = 1 ]; then
    for t in "$REPO"/tests/browser/*.mjs; do
      selected "${t##*/}" || continue
      run_script_test "$LOGDIR" "${t#"$REPO"/}" node "$t"
    done
  fi
fi

finish
