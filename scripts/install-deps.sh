#!/usr/bin/env bash
# scripts/install-deps.sh: install the Debian packages the build, the local stack and
# the tests need. Quiet and idempotent: prints nothing and exits 0 when all are
# installed; otherwise installs just the missing ones (log: run/install-deps.log).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  build-essential pkg-config
  libfcgi-dev libmysqlcppconn-dev libjsoncpp-dev libcurl4-openssl-dev libssl-dev
  libboost-test-dev libhowardhinnant-date-dev libkainjow-mustache-dev libcpp-httplib-dev
  mariadb-server mariadb-client nginx spawn-fcgi wrk python3-aiosmtpd python3-icalendar
  chromium curl nodejs npm tzdata ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root (no sudo)"
  SUDO=(sudo)
fi

mkdir -p "$COACH_REPO_DIR/run"
log=$COACH_REPO_DIR/run/install-deps.log
say "deps: installing ${missing[*]} (log: run/install-deps.log)"

# Keep package scripts from starting services (nginx on :80, a system MariaDB):
# the standard Debian policy hook, only if none is in place, removed afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update &&
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}"; } </dev/null >"$log" 2>&1; then
  log_tail "$log" 30 >&2
  die "deps: apt-get failed (full log: $log)"
fi
say "deps: installed ${#missing[@]} packages"
