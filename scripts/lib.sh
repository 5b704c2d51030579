# shellcheck shell=bash
# scripts/lib.sh: shell functions shared by deploy.sh and scripts/*.sh.
# Source it (". scripts/lib.sh"); it defines functions and COACH_REPO_DIR, nothing else.

# The repository root, derived from this file's location (scripts/..).
COACH_REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
export COACH_REPO_DIR

# One short line per step on stdout; notes are indented; errors go to stderr.
say() { printf '%s\n' "$*"; }
note() { printf '  note: %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# rand_hex N: 2N lowercase hex characters from /dev/urandom (no openssl needed).
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# log_tail FILE [N]: the last N (default 20) lines of FILE, indented, if it exists.
log_tail() {
  local f=$1 n=${2:-20}
  [ -s "$f" ] || return 0
  printf -- '--- last %s lines of %s\n' "$n" "$f"
  tail -n "$n" "$f" | sed 's/^/  | /'
}

# build_errors LOG: the first compiler errors and the end of a failed build's log.
build_errors() {
  say "--- first errors in $1"
  grep -m 12 -E ': (fatal )?error:|undefined reference|\*\*\*' "$1" | sed 's/^/  | /' || true
  log_tail "$1" 8
}

# pid_alive PID [NAME]: the process exists, is not a zombie, and (if NAME is given)
# its command line mentions NAME, so a recycled pid after a reboot is not mistaken
# for ours. Zombies matter: PID 1 in containers does not always reap orphans.
pid_alive() {
  local pid=$1 name=${2:-} state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  case $state in '' | Z | X | x) return 1 ;; esac
  [ -z "$name" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name"
}

# binary_replaced PID...: one of them runs an executable that has been replaced
# since it started (make relinked it: /proc/PID/exe then ends in " (deleted)").
binary_replaced() {
  local pid
  for pid in "$@"; do
    case $(readlink "/proc/$pid/exe" 2>/dev/null) in *" (deleted)") return 0 ;; esac
  done
  return 1
}

# pidfile_pids FILE: the pids listed in FILE (spawn-fcgi -F N writes N of them).
pidfile_pids() {
  [ -s "$1" ] || return 0
  tr -s ' \t' '\n' <"$1" | grep -E '^[0-9]+$' || true
}

# pidfile_live FILE [NAME]: the live pids of FILE, space separated ("" if none).
pidfile_live() {
  local pid out=()
  for pid in $(pidfile_pids "$1"); do
    if pid_alive "$pid" "${2:-}"; then out+=("$pid"); fi
  done
  printf '%s' "${out[*]}"
}

# children_of PID: pids whose parent is PID (reads /proc; procps may be absent).
children_of() {
  local d ppid
  for d in /proc/[0-9]*; do
    ppid=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f2) || continue
    [ "$ppid" = "$1" ] && printf '%s\n' "${d#/proc/}"
  done
  return 0
}

# kill_wait SIGNAL TIMEOUT_S PID...: signal the pids, wait until they are gone,
# then SIGKILL whatever is left. Returns 0 once all are gone.
kill_wait() {
  local sig=$1 timeout=$2 pid left i
  shift 2
  [ $# -gt 0 ] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    left=0
    for pid in "$@"; do pid_alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  sleep 0.2
  return 0
}

# spawn_bg PIDFILE LOGFILE CMD...: start CMD in its own session (so it outlives
# this script and the terminal), stdin from /dev/null, stdout+stderr appended to
# LOGFILE, and its pid written to PIDFILE (written before exec, so it is the pid
# of CMD itself even if setsid has to fork).
spawn_bg() {
  local pidf=$1 log=$2 i
  shift 2
  rm -f "$pidf"
  # shellcheck disable=SC2016  # $$ and $0 are for the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" </dev/null >>"$log" 2>&1 &
  for ((i = 0; i < 50; i++)); do
    [ -s "$pidf" ] && return 0
    sleep 0.1
  done
  return 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until TIMEOUT_S PID CMD...: poll CMD every 0.1 s until it succeeds (0), the
# process PID dies (1), or the time is up (2). PID may be "" (not watched).
wait_until() {
  local timeout=$1 pid=$2 i
  shift 2
  for ((i = 0; i < timeout * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$pid" ] && ! pid_alive "$pid"; then return 1; fi
    sleep 0.1
  done
  return 2
}

# http_ok URL: GET answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# free_ports N: N distinct free TCP ports on 127.0.0.1, space separated, chosen at
# random below the ephemeral range (so outgoing connections do not take them).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n, got = int(sys.argv[1]), []
while len(got) < n:
    p = random.randint(20000, 32000)
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    got.append(p)
print(" ".join(map(str, got)))
PY
}

# conf_get FILE KEY: the value of KEY in a key=value file ("" if absent).
conf_get() {
  [ -f "$1" ] || return 0
  awk -v k="$2" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2) } END { print v }' "$1"
}

# coach_defaults DEFAULT_RUN_DIR: set COACH_RUN_DIR and the port variables from the
# environment or their defaults, and export them for child processes.
coach_defaults() {
  COACH_RUN_DIR=${COACH_RUN_DIR:-$1}
  COACH_HTTP_PORT=${COACH_HTTP_PORT:-8080}
  COACH_DB_PORT=${COACH_DB_PORT:-3307}
  COACH_CAL_PORT=${COACH_CAL_PORT:-18081}
  COACH_ZOOM_PORT=${COACH_ZOOM_PORT:-18082}
  COACH_STRIPE_PORT=${COACH_STRIPE_PORT:-18083}
  COACH_CLERK_PORT=${COACH_CLERK_PORT:-18084}
  COACH_SMTP_PORT=${COACH_SMTP_PORT:-2525}
  export COACH_RUN_DIR COACH_HTTP_PORT COACH_DB_PORT COACH_CAL_PORT COACH_ZOOM_PORT \
    COACH_STRIPE_PORT COACH_CLERK_PORT COACH_SMTP_PORT
}

# ---- Test counting, shared by run-tests.sh and run-unit.sh -------------------
# Each runner adds to TESTS_PASSED / TESTS_FAILED and appends a name to FAILED_NAMES.
TESTS_PASSED=0
TESTS_FAILED=0
FAILED_NAMES=()

# run_boost_test BINARY LOGDIR: run one Boost.Test binary from the repo root (tests
# may read fixtures by relative path) and count its test cases
# from the short report ("N test cases out of M passed|failed"). A crash, a non-zero
# exit with no failed case reported (a sanitizer report at exit, say), or no report
# at all counts as one more failure. Prints one line; the log tail on failure.
run_boost_test() {
  local bin=$1 logdir=$2 name log rc=0 passed failed
  name=$(basename "$bin")
  log=$logdir/$name.log
  case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
  (cd "$COACH_REPO_DIR" && timeout --kill-after=10 "${COACH_TEST_TIMEOUT_S:-600}" \
    "$bin" --color_output=no --report_level=short) </dev/null >"$log" 2>&1 || rc=$?
  passed=$(sed -nE 's/^[[:space:]]*([0-9]+) test cases? out of [0-9]+ passed.*/\1/p' "$log" | tail -n 1)
  failed=$(sed -nE 's/^[[:space:]]*([0-9]+) test cases? out of [0-9]+ failed.*/\1/p' "$log" | tail -n 1)
  passed=${passed:-0}
  failed=${failed:-0}
  if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
  if [ "$rc" = 0 ] && [ "$passed" = 0 ] && [ "$failed" = 0 ]; then failed=1; fi
  TESTS_PASSED=$((TESTS_PASSED + passed))
  TESTS_FAILED=$((TESTS_FAILED + failed))
  if [ "$failed" = 0 ]; then
    say "ok      $name ($passed cases)"
  else
    [ "$rc" = 124 ] && note "$name timed out after ${COACH_TEST_TIMEOUT_S:-600} s"
    say "FAILED  $name ($passed passed, $failed failed, exit $rc; log $log)"
    FAILED_NAMES+=("$name")
    log_tail "$log" 40
  fi
}

# run_script_test LOGDIR NAME CMD...: run one shell or node test from the repo root.
# By default it is one test, passed when it exits 0. If it prints TAP-style lines
# ("ok ..." / "not ok ..." at the start of a line), each of those is counted
# instead, and a non-zero exit without any "not ok" line adds one failure.
run_script_test() {
  local logdir=$1 name=$2 log rc=0 passed failed
  shift 2
  log=$logdir/$(printf '%s' "$name" | tr '/' '_').log
  (cd "$COACH_REPO_DIR" && timeout --kill-after=10 "${COACH_TEST_TIMEOUT_S:-600}" "$@") \
    </dev/null >"$log" 2>&1 || rc=$?
  passed=$(grep -cE '^ok( |$)' "$log" || true)
  failed=$(grep -cE '^not ok( |$)' "$log" || true)
  if [ "$passed" = 0 ] && [ "$failed" = 0 ]; then
    if [ "$rc" = 0 ]; then passed=1; else failed=1; fi
  elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
    failed=1
  fi
  TESTS_PASSED=$((TESTS_PASSED + passed))
  TESTS_FAILED=$((TESTS_FAILED + failed))
  if [ "$failed" = 0 ]; then
    say "ok      $name ($passed)"
  else
    [ "$rc" = 124 ] && note "$name timed out after ${COACH_TEST_TIMEOUT_S:-600} s"
    say "FAILED  $name ($passed passed, $failed failed, exit $rc; log $log)"
    FAILED_NAMES+=("$name")
    log_tail "$log" 40
  fi
}

# test_binaries DIR: the executable files in DIR (skips the .d files make leaves).
test_binaries() {
  local f
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] && [ -x "$f" ] && printf '%s\n' "$f"
  done
  return 0
}
