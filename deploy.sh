#!/usr/bin/env bash
# deploy.sh: run the whole product on this machine, from this checkout.
#
#   ./deploy.sh local          install packages, build, start MariaDB, migrate, write
#                              the config (first time), start the emulators, the SMTP
#                              sink, the FastCGI endpoints, the worker and nginx, seed
#   ./deploy.sh stop           stop everything `local` started (MariaDB last)
#   ./deploy.sh status         one line per component, and the URL
#   ./deploy.sh restart-fcgi   re-spawn the FastCGI endpoints (after a rebuild)
#
# Everything lives in the run directory $COACH_RUN_DIR (default run/local):
# etc/coach.conf, secrets/, db/, sock/, pid/, log/, nginx/, mail/, emulators/.
# Starting twice is safe: a component whose pid file names a live process is left
# alone. Options are environment variables (README.md lists them all):
# COACH_RUN_DIR, COACH_*_PORT, COACH_FCGI_CHILDREN, COACH_SKIP_DEPS, COACH_SKIP_BUILD,
# COACH_SKIP_SEED, COACH_STRICT, COACH_CAL_ACCESS_TTL_S, COACH_CLERK_TOKEN_TTL_S,
# COACH_WORKER_ARGS, COACH_DB_EXTRA_ARGS, COACH_MAKE_JOBS.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/scripts/lib.sh"
shopt -u patsub_replacement 2>/dev/null || true  # "&" in a path stays literal in ${x//a/b}

REPO=$COACH_REPO_DIR
coach_defaults "$REPO/run/local"
case $COACH_RUN_DIR in /*) ;; *) COACH_RUN_DIR=$PWD/$COACH_RUN_DIR ;; esac
RUN=$COACH_RUN_DIR
BIN=$REPO/build/release
CONF=$RUN/etc/coach.conf
DB_SOCK=$RUN/sock/mariadb.sock
TEMPLATE=$REPO/nginx/coach.conf.template
FCGI_CHILDREN=${COACH_FCGI_CHILDREN:-2}
ME=$(id -un)

EMULATORS=(calcom_emulator clerk_emulator zoom_emulator stripe_emulator)

usage() {
  cat >&2 <<'EOF'
usage: ./deploy.sh local|stop|status|restart-fcgi
  local         start (or complete) the local stack; safe to run again
  stop          stop everything it started
  status        show what is running
  restart-fcgi  re-spawn the FastCGI endpoint processes after a rebuild
Run directory: $COACH_RUN_DIR (default run/local). See README.md for the options.
EOF
  exit 2
}

# The endpoint names nginx routes to (sock/<name>.sock in the template).
mapped_endpoints() { sed -nE 's|.*/sock/([A-Za-z0-9_]+)\.sock.*|\1|p' "$TEMPLATE" | sort -u; }

# skip NAME WHAT: a missing piece is a skipped step with a note...
skip() { say "$1: skipped (no $2)"; }

# ...unless COACH_STRICT=1 (set by scripts/run-tests.sh): then everything the stack
# needs must exist, checked before anything starts: the Cal.com and Clerk
# emulators (Zoom and Stripe too once their sources exist), every endpoint nginx
# maps, the worker and the seed.
preflight_strict() {
  [ "${COACH_STRICT:-0}" = 1 ] || return 0
  local name missing=()
  for name in "${EMULATORS[@]}"; do
    case $name in
      calcom_emulator | clerk_emulator) ;;
      *) [ -f "$REPO/tests/emulators/$name.cpp" ] || continue ;;
    esac
    [ -x "$BIN/emulators/$name" ] || missing+=("build/release/emulators/$name")
  done
  for name in $(mapped_endpoints); do
    [ -x "$BIN/cgi-bin/$name" ] || missing+=("build/release/cgi-bin/$name")
  done
  [ -x "$BIN/tools/worker" ] || missing+=("build/release/tools/worker")
  [ -x "$BIN/tools/coachctl" ] || [ -f "$REPO/sql/seed/demo.sql" ] ||
    missing+=("build/release/tools/coachctl or sql/seed/demo.sql")
  [ ${#missing[@]} -eq 0 ] || die "the stack needs what is missing: ${missing[*]}"
}

# ---------------------------------------------------------------- local steps --

prepare_dirs() {
  mkdir -p "$RUN"/{etc,secrets,db,sock,pid,log,emulators} "$RUN"/nginx/tmp "$RUN"/mail/{new,cur,tmp}
  chmod 700 "$RUN/secrets"
  : >"$RUN/.coach-run"  # marks a run directory (run-tests.sh only deletes marked ones)
  local longest=$RUN/sock/cal_oauth_test.sock
  [ ${#longest} -lt 100 ] || die "run dir path too long for unix sockets (${#longest} > 100): set COACH_RUN_DIR"
}

# The ports baked into an existing coach.conf must match the ones asked for, or
# the apps would call the wrong places. The config is only written once.
check_conf_ports() {
  [ -f "$CONF" ] || return 0
  local key want got bad=()
  while read -r key want; do
    got=$(conf_get "$CONF" "$key")
    [ "$got" = "$want" ] || bad+=("$key=$got (want $want)")
  done <<EOF
public-base-url http://127.0.0.1:$COACH_HTTP_PORT
db-port $COACH_DB_PORT
cal-api-base-url http://127.0.0.1:$COACH_CAL_PORT
clerk-issuer http://127.0.0.1:$COACH_CLERK_PORT
zoom-api-base-url http://127.0.0.1:$COACH_ZOOM_PORT/v2
stripe-api-base-url http://127.0.0.1:$COACH_STRIPE_PORT
smtp-url smtp://127.0.0.1:$COACH_SMTP_PORT
EOF
  [ ${#bad[@]} -eq 0 ] && return 0
  printf '  %s\n' "${bad[@]}" >&2
  die "$CONF was written for other ports. Run ./deploy.sh stop, delete it (secrets/ is kept) and start again, or unset the COACH_*_PORT variables."
}

step_deps() {
  if [ "${COACH_SKIP_DEPS:-0}" = 1 ]; then say "deps: skipped (COACH_SKIP_DEPS=1)"; return; fi
  "$REPO/scripts/install-deps.sh"
  say "deps: ok"
}

step_build() {
  if [ "${COACH_SKIP_BUILD:-0}" = 1 ]; then say "build: skipped (COACH_SKIP_BUILD=1)"; return; fi
  local log=$RUN/log/build.log
  if ! make -C "$REPO" -j"${COACH_MAKE_JOBS:-2}" BUILD=release >"$log" 2>&1; then
    build_errors "$log" >&2
    die "build: make failed (log: $log)"
  fi
  say "build: ok (build/release)"
}

db_admin() {
  mariadb --no-defaults --socket="$DB_SOCK" -u "$ME" --default-character-set=utf8mb4 --batch
}

# write_secret FILE VALUE: create FILE (mode 600) holding VALUE, unless it exists.
write_secret() {
  [ -s "$1" ] && return 0
  (umask 077 && printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1")
}

step_mariadb() {
  local pidf=$RUN/pid/mariadb.pid log=$RUN/log/mariadb.log pids pid fresh=""
  pids=$(pidfile_live "$pidf" mariadbd)
  if [ -n "$pids" ]; then
    say "mariadb: already running (pid $pids)"
  else
    if [ ! -d "$RUN/db/mysql" ]; then
      rm -rf "$RUN/db" && mkdir -p "$RUN/db"
      if ! mariadb-install-db --no-defaults --datadir="$RUN/db" --user="$ME" \
        --auth-root-authentication-method=socket --skip-test-db >"$RUN/log/mariadb-install.log" 2>&1; then
        log_tail "$RUN/log/mariadb-install.log" >&2
        die "mariadb: mariadb-install-db failed"
      fi
      fresh=", new datadir"
    fi
    ! port_open "$COACH_DB_PORT" || die "mariadb: port $COACH_DB_PORT is taken by another process (set COACH_DB_PORT)"
    rm -f "$DB_SOCK"
    # shellcheck disable=SC2086  # COACH_DB_EXTRA_ARGS is a list of options
    spawn_bg "$pidf" "$RUN/log/mariadb.out" mariadbd --no-defaults --datadir="$RUN/db" \
      --socket="$DB_SOCK" --port="$COACH_DB_PORT" --bind-address=127.0.0.1 --pid-file="$pidf" \
      --log-error="$log" --user="$ME" --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_unicode_ci --skip-name-resolve --default-time-zone=+00:00 \
      ${COACH_DB_EXTRA_ARGS:-} || die "mariadb: could not start"
    pid=$(cat "$pidf")
    if ! wait_until 60 "$pid" mariadb-admin --no-defaults --socket="$DB_SOCK" -u "$ME" ping; then
      log_tail "$log" >&2
      die "mariadb: not answering (log: $log)"
    fi
    say "mariadb: started (pid $pid, 127.0.0.1:$COACH_DB_PORT$fresh)"
  fi

  # Database and user, every time (idempotent); the password is generated once.
  local pwf=$RUN/secrets/db-password pw
  write_secret "$pwf" "$(rand_hex 24)"
  pw=$(tr -d '\r\n' <"$pwf")
  [[ $pw =~ ^[A-Za-z0-9_]+$ ]] || die "mariadb: $pwf must hold letters, digits or _ only"
  db_admin <<SQL || die "mariadb: could not create the database and user"
CREATE DATABASE IF NOT EXISTS coach CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'coach'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'coach'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'coach'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'coach'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`coach\`.* TO 'coach'@'127.0.0.1', 'coach'@'localhost';
-- Throwaway schemas for DB tests: coach_<anything>.
GRANT ALL PRIVILEGES ON \`coach\\_%\`.* TO 'coach'@'127.0.0.1', 'coach'@'localhost';
SQL
  # An option file for the mariadb client (seeding; handy by hand too):
  #   mariadb --defaults-file=<run>/secrets/client.cnf
  (umask 077 && printf '[client]\nhost=127.0.0.1\nport=%s\nuser=coach\npassword=%s\nprotocol=TCP\ndefault-character-set=utf8mb4\n[mysql]\ndatabase=coach\n' \
    "$COACH_DB_PORT" "$pw" >"$RUN/secrets/client.cnf")
  say "mariadb: database coach, user coach ready"
}

step_migrate() {
  env -u COACH_CONFIG COACH_DB_HOST=127.0.0.1 COACH_DB_PORT="$COACH_DB_PORT" COACH_DB_NAME=coach \
    COACH_DB_USER=coach COACH_DB_PASSWORD_FILE="$RUN/secrets/db-password" "$REPO/scripts/migrate.sh"
}

step_config() {
  local s=$RUN/secrets
  write_secret "$s/token-encryption-key" "$(rand_hex 32)"
  write_secret "$s/csrf-secret" "$(rand_hex 32)"
  write_secret "$s/cal-oauth-client-secret" "$(rand_hex 32)"
  write_secret "$s/cal-webhook-secret" "$(rand_hex 32)"
  write_secret "$s/cal-oauth2-client-secret" "$(rand_hex 32)"
  write_secret "$s/zoom-client-secret" "$(rand_hex 16)"
  write_secret "$s/zoom-webhook-secret" "$(rand_hex 16)"
  write_secret "$s/stripe-secret-key" "sk_test_$(rand_hex 24)"
  write_secret "$s/stripe-webhook-secret" "whsec_$(rand_hex 24)"
  if [ -f "$CONF" ]; then
    say "config: kept $CONF"
    return
  fi
  local cal_id cal2_id web=http://127.0.0.1:$COACH_HTTP_PORT
  cal_id=cl$(rand_hex 12 | cut -c1-23)
  cal2_id=cl$(rand_hex 12 | cut -c1-23)
  cat >"$CONF.tmp" <<EOF
# coach.conf: generated by deploy.sh local; every key is documented in README.md
public-base-url=$web
db-host=127.0.0.1
db-port=$COACH_DB_PORT
db-name=coach
db-user=coach
db-password-file=$s/db-password
token-encryption-key-file=$s/token-encryption-key
csrf-secret-file=$s/csrf-secret
cal-api-base-url=http://127.0.0.1:$COACH_CAL_PORT
cal-oauth-client-id=$cal_id
cal-oauth-client-secret-file=$s/cal-oauth-client-secret
cal-webhook-secret-file=$s/cal-webhook-secret
cal-oauth2-authorize-url=http://127.0.0.1:$COACH_CAL_PORT/auth/oauth2/authorize
cal-oauth2-client-id=$cal2_id
cal-oauth2-client-secret-file=$s/cal-oauth2-client-secret
clerk-jwks-url=http://127.0.0.1:$COACH_CLERK_PORT/.well-known/jwks.json
clerk-issuer=http://127.0.0.1:$COACH_CLERK_PORT
clerk-authorized-parties=$web
clerk-sign-in-url=http://127.0.0.1:$COACH_CLERK_PORT/sign-in
clerk-sign-out-url=http://127.0.0.1:$COACH_CLERK_PORT/sign-out
zoom-api-base-url=http://127.0.0.1:$COACH_ZOOM_PORT/v2
zoom-oauth-token-url=http://127.0.0.1:$COACH_ZOOM_PORT/oauth/token
zoom-account-id=$(rand_hex 11)
zoom-client-id=$(rand_hex 11)
zoom-client-secret-file=$s/zoom-client-secret
zoom-webhook-secret-file=$s/zoom-webhook-secret
stripe-api-base-url=http://127.0.0.1:$COACH_STRIPE_PORT
stripe-secret-key-file=$s/stripe-secret-key
stripe-webhook-secret-file=$s/stripe-webhook-secret
smtp-url=smtp://127.0.0.1:$COACH_SMTP_PORT
mail-from=Coaching Marketplace <no-reply@coach.test>
log-file=$RUN/log/app.log
mode=local
EOF
  mv "$CONF.tmp" "$CONF"
  say "config: wrote $CONF"
}

secret() { tr -d '\r\n' <"$RUN/secrets/$1"; }

# start_emulator NAME PORT ARGS...: start build/release/emulators/NAME unless it
# runs already, and wait for http://127.0.0.1:PORT/_emulator/health.
start_emulator() {
  local name=$1 port=$2 bin=$BIN/emulators/$1 pidf=$RUN/pid/$1.pid log=$RUN/log/$1.log pids pid
  shift 2
  if [ ! -x "$bin" ]; then skip "$name" "build/release/emulators/$name"; return 0; fi
  pids=$(pidfile_live "$pidf" "$name")
  if [ -n "$pids" ]; then
    say "$name: already running (pid $pids)"
    # Emulators hold state in memory, so a rebuilt one is not swapped in silently.
    ! binary_replaced "$pids" || note "$name was rebuilt since it started: ./deploy.sh stop, then local, to use the new build"
    return 0
  fi
  ! port_open "$port" || die "$name: port $port is taken by another process"
  spawn_bg "$pidf" "$log" "$bin" --port "$port" "$@" || die "$name: could not start"
  pid=$(cat "$pidf")
  if ! wait_until 30 "$pid" http_ok "http://127.0.0.1:$port/_emulator/health"; then
    log_tail "$log" >&2
    die "$name: no answer on http://127.0.0.1:$port/_emulator/health (log: $log)"
  fi
  say "$name: started (pid $pid, http://127.0.0.1:$port)"
}

step_emulators() {
  local web=http://127.0.0.1:$COACH_HTTP_PORT cal_args clerk_args
  cal_args=(--client-id "$(conf_get "$CONF" cal-oauth-client-id)"
    --client-secret "$(secret cal-oauth-client-secret)"
    --redirect-uri "$web/api/cal/oauth/callback"
    --oauth2-client-id "$(conf_get "$CONF" cal-oauth2-client-id)"
    --oauth2-client-secret "$(secret cal-oauth2-client-secret)"
    --oauth2-redirect-uri "$web/api/cal/oauth/callback")
  [ -z "${COACH_CAL_ACCESS_TTL_S:-}" ] || cal_args+=(--access-ttl-s "$COACH_CAL_ACCESS_TTL_S")
  start_emulator calcom_emulator "$COACH_CAL_PORT" "${cal_args[@]}"

  clerk_args=(--issuer "http://127.0.0.1:$COACH_CLERK_PORT" --authorized-party "$web"
    --allowed-redirect-origin "$web" --key-file "$RUN/emulators/clerk-key.pem"
    --token-ttl-s "${COACH_CLERK_TOKEN_TTL_S:-28800}")
  if [ -f "$REPO/etc/demo-users.json" ]; then
    clerk_args+=(--users "$REPO/etc/demo-users.json")
  else
    note "no etc/demo-users.json: the Clerk emulator starts without demo users"
  fi
  start_emulator clerk_emulator "$COACH_CLERK_PORT" "${clerk_args[@]}"

  # Zoom (tests/emulators/zoom_emulator.cpp): S2S OAuth app, owner "me" plus the demo
  # coaches as users, signed webhooks to our receiver with retries compressed 300x
  # (5/20/60 min -> 1/4/12 s); URL validation is retried lazily until the receiver is up.
  local zoom_args zoom_user
  zoom_args=(--account-id "$(conf_get "$CONF" zoom-account-id)" --client-id "$(conf_get "$CONF" zoom-client-id)"
    --client-secret "$(secret zoom-client-secret)" --webhook-secret "$(secret zoom-webhook-secret)"
    --webhook-url "$web/api/zoom/webhook" --time-compression "${COACH_ZOOM_TIME_COMPRESSION:-300}"
    --token-ttl-s "${COACH_ZOOM_TOKEN_TTL_S:-3599}")
  if [ -f "$REPO/etc/demo-users.json" ]; then
    while read -r zoom_user; do [ -z "$zoom_user" ] || zoom_args+=(--user "$zoom_user"); done < <(python3 -c \
      'import json,sys; [print(u["email"]) for u in json.load(open(sys.argv[1])) if u.get("role")=="coach"]' \
      "$REPO/etc/demo-users.json")
  fi
  start_emulator zoom_emulator "$COACH_ZOOM_PORT" "${zoom_args[@]}"
  # Stripe (tests/emulators/stripe_emulator.cpp): one test-mode secret key, signed webhooks
  # to our receiver; its hosted checkout page is <stripe>/pay/<cs_id>.
  start_emulator stripe_emulator "$COACH_STRIPE_PORT" \
    --secret-key "$(secret stripe-secret-key)" --webhook-secret "$(secret stripe-webhook-secret)" \
    --webhook-url "$web/api/stripe/webhook"
}

step_smtp() {
  local pidf=$RUN/pid/smtp.pid log=$RUN/log/smtp.log pids pid
  pids=$(pidfile_live "$pidf" aiosmtpd)
  if [ -n "$pids" ]; then say "smtp: already running (pid $pids)"; return 0; fi
  ! port_open "$COACH_SMTP_PORT" || die "smtp: port $COACH_SMTP_PORT is taken by another process (set COACH_SMTP_PORT)"
  spawn_bg "$pidf" "$log" /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$COACH_SMTP_PORT" \
    -c aiosmtpd.handlers.Mailbox "$RUN/mail" || die "smtp: could not start"
  pid=$(cat "$pidf")
  if ! wait_until 20 "$pid" port_open "$COACH_SMTP_PORT"; then
    log_tail "$log" >&2
    die "smtp: sink not listening on $COACH_SMTP_PORT (log: $log)"
  fi
  say "smtp: sink started (pid $pid, 127.0.0.1:$COACH_SMTP_PORT, mail in $RUN/mail/new)"
}

# start_fcgi NAME: spawn-fcgi build/release/cgi-bin/NAME on sock/NAME.sock unless all
# its children are alive and run the current build. Prints "running" or "started".
start_fcgi() {
  local name=$1 bin=$BIN/cgi-bin/$1 pidf=$RUN/pid/fcgi-$1.pid log=$RUN/log/fcgi-$1.log
  local sock=$RUN/sock/$1.sock live
  live=$(pidfile_live "$pidf" "cgi-bin/$name")
  # shellcheck disable=SC2086  # a list of pids
  if [ -n "$live" ] && [ "$live" = "$(pidfile_pids "$pidf" | xargs)" ] && ! binary_replaced $live; then
    echo running
    return 0
  fi
  # shellcheck disable=SC2086  # a list of pids
  [ -z "$live" ] || kill_wait TERM 5 $live
  rm -f "$sock" "$pidf"
  touch "$log"
  # spawn-fcgi sends the children's stderr to /dev/null: the shell re-points it to
  # the log, then execs the binary (same pid).
  # shellcheck disable=SC2016,SC2094  # $0 and $1 belong to the inner shell
  if ! env COACH_CONFIG="$CONF" spawn-fcgi -s "$sock" -M 0660 -F "$FCGI_CHILDREN" -P "$pidf" \
    -d "$REPO" -- /bin/sh -c 'exec "$0" 2>>"$1"' "$bin" "$log" >>"$log" 2>&1; then
    log_tail "$log" >&2
    die "fcgi: spawn-fcgi failed for $name (log: $log)"
  fi
  echo started
}

step_fcgi() {
  local name bins=() started=() running=() bad=() how
  mapfile -t bins < <(test_binaries "$BIN/cgi-bin")
  if [ ${#bins[@]} -eq 0 ]; then say "fcgi: skipped (no binaries in build/release/cgi-bin yet)"; return 0; fi
  for name in "${bins[@]##*/}"; do
    case $name in *.*) continue ;; esac
    how=$(start_fcgi "$name")
    if [ "$how" = running ]; then running+=("$name"); else started+=("$name"); fi
  done
  # A binary that dies at once (bad config, say) is caught here, not by a 502 later.
  [ ${#started[@]} -eq 0 ] || sleep 0.5
  for name in "${started[@]}"; do
    [ "$(pidfile_live "$RUN/pid/fcgi-$name.pid" "cgi-bin/$name")" = "$(pidfile_pids "$RUN/pid/fcgi-$name.pid" | xargs)" ] ||
      bad+=("$name")
  done
  for name in "${bad[@]}"; do log_tail "$RUN/log/fcgi-$name.log" >&2; done
  [ ${#bad[@]} -eq 0 ] || die "fcgi: exited right after start: ${bad[*]}"
  [ ${#started[@]} -eq 0 ] || say "fcgi: started ${started[*]} ($FCGI_CHILDREN processes each)"
  [ ${#running[@]} -eq 0 ] || say "fcgi: already running ${running[*]}"
}

step_worker() {
  local bin=$BIN/tools/worker pidf=$RUN/pid/worker.pid log=$RUN/log/worker.log pids pid
  if [ ! -x "$bin" ]; then skip worker "build/release/tools/worker"; return 0; fi
  pids=$(pidfile_live "$pidf" tools/worker)
  if [ -n "$pids" ] && ! binary_replaced "$pids"; then say "worker: already running (pid $pids)"; return 0; fi
  [ -z "$pids" ] || kill_wait TERM 10 "$pids"  # it runs an older build
  # shellcheck disable=SC2086  # COACH_WORKER_ARGS is a list of options
  spawn_bg "$pidf" "$log" env COACH_CONFIG="$CONF" "$bin" ${COACH_WORKER_ARGS:-} ||
    die "worker: could not start"
  pid=$(cat "$pidf")
  sleep 0.3
  if ! pid_alive "$pid"; then log_tail "$log" >&2; die "worker: exited right after start (log: $log)"; fi
  say "worker: started (pid $pid)"
}

render_nginx_conf() {
  local t user_line="# not started as root: the workers run as the current user"
  [ "$(id -u)" != 0 ] || user_line="user root;"
  t=$(<"$TEMPLATE")
  t=${t//@HTTP_PORT@/$COACH_HTTP_PORT}
  t=${t//@RUN_DIR@/$RUN}
  t=${t//@REPO_DIR@/$REPO}
  t=${t//@USER_LINE@/$user_line}
  printf '%s\n' "$t" >"$RUN/nginx/nginx.conf"
}

nginx_cmd() { nginx -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf" -e "$RUN/log/nginx-error.log" "$@"; }

step_nginx() {
  local pidf=$RUN/pid/nginx.pid pids out
  render_nginx_conf
  if ! out=$(nginx_cmd -t -q 2>&1); then
    printf '%s\n' "$out" >&2
    die "nginx: bad config $RUN/nginx/nginx.conf"
  fi
  pids=$(pidfile_live "$pidf" nginx)
  if [ -n "$pids" ]; then
    kill -HUP "$pids"
    say "nginx: reloaded (pid $pids, http://127.0.0.1:$COACH_HTTP_PORT/)"
    return 0
  fi
  ! port_open "$COACH_HTTP_PORT" || die "nginx: port $COACH_HTTP_PORT is taken by another process (set COACH_HTTP_PORT)"
  if ! out=$(nginx_cmd 2>&1); then
    printf '%s\n' "$out" >&2
    die "nginx: could not start"
  fi
  wait_until 10 "" port_open "$COACH_HTTP_PORT" || die "nginx: not listening on $COACH_HTTP_PORT"
  say "nginx: started (pid $(pidfile_live "$pidf" nginx), http://127.0.0.1:$COACH_HTTP_PORT/)"
}

step_seed() {
  local log=$RUN/log/seed.log
  if [ "${COACH_SKIP_SEED:-0}" = 1 ]; then say "seed: skipped (COACH_SKIP_SEED=1)"; return 0; fi
  if [ -x "$BIN/tools/coachctl" ]; then
    if ! (cd "$REPO" && COACH_CONFIG=$CONF "$BIN/tools/coachctl" seed) </dev/null >"$log" 2>&1; then
      log_tail "$log" >&2
      die "seed: coachctl seed failed (log: $log)"
    fi
    say "seed: ok (coachctl seed)"
  elif [ -f "$REPO/sql/seed/demo.sql" ]; then
    if ! mariadb --defaults-file="$RUN/secrets/client.cnf" <"$REPO/sql/seed/demo.sql" >"$log" 2>&1; then
      log_tail "$log" >&2
      die "seed: sql/seed/demo.sql failed (log: $log)"
    fi
    say "seed: ok (sql/seed/demo.sql)"
  else
    skip seed "build/release/tools/coachctl or sql/seed/demo.sql"
  fi
}

cmd_local() {
  prepare_dirs
  RUN=$(cd "$RUN" && pwd -P)
  COACH_RUN_DIR=$RUN CONF=$RUN/etc/coach.conf DB_SOCK=$RUN/sock/mariadb.sock
  check_conf_ports
  say "run dir: $RUN"
  step_deps
  step_build
  preflight_strict
  step_mariadb
  step_migrate
  step_config
  step_emulators
  step_smtp
  step_fcgi
  step_worker
  step_nginx
  step_seed
  local hint="" web=http://127.0.0.1:$COACH_HTTP_PORT
  [ "$RUN" = "$REPO/run/local" ] || hint="COACH_RUN_DIR=$RUN "
  say "ready: $web/"
  say "  config: $CONF"
  say "  mail:   $RUN/mail/new (SMTP sink on 127.0.0.1:$COACH_SMTP_PORT)"
  say "  sign in at $web/sign-in with a demo user from etc/demo-users.json"
  say "  stop:   ${hint}./deploy.sh stop"
}

# ---------------------------------------------------------------- stop/status --

# stop_pidfile LABEL FILE SIGNAL TIMEOUT_S: stop the pids FILE lists, remove FILE.
stop_pidfile() {
  local label=$1 pidf=$2 sig=$3 timeout=$4 live
  [ -f "$pidf" ] || return 0
  live=$(pidfile_live "$pidf")
  if [ -n "$live" ]; then
    # shellcheck disable=SC2086  # a list of pids
    kill_wait "$sig" "$timeout" $live
    say "$label: stopped (pid $live)"
  else
    say "$label: was not running (stale pid file removed)"
  fi
  rm -f "$pidf"
}

cmd_stop() {
  if ! compgen -G "$RUN/pid/*.pid" >/dev/null; then say "nothing to stop in $RUN"; return 0; fi
  local f name master workers
  # nginx first (no new requests), its workers with it.
  master=$(pidfile_live "$RUN/pid/nginx.pid" nginx)
  if [ -n "$master" ]; then
    workers=$(children_of "$master" | xargs)
    stop_pidfile nginx "$RUN/pid/nginx.pid" QUIT 10
    # shellcheck disable=SC2086  # a list of pids
    [ -z "$workers" ] || kill_wait TERM 5 $workers
  else
    stop_pidfile nginx "$RUN/pid/nginx.pid" QUIT 10
  fi
  for f in "$RUN"/pid/fcgi-*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    stop_pidfile "$name" "$f" TERM 5
    rm -f "$RUN/sock/${name#fcgi-}.sock"
  done
  stop_pidfile worker "$RUN/pid/worker.pid" TERM 10
  for f in "$RUN"/pid/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    [ "$name" = mariadb ] || stop_pidfile "$name" "$f" TERM 5
  done
  stop_pidfile mariadb "$RUN/pid/mariadb.pid" TERM 60
  rm -f "$DB_SOCK"
}

# status_line LABEL FILE MATCH: "running (pid ...)", "partly running" or "stopped".
status_line() {
  local live all
  live=$(pidfile_live "$2" "$3")
  all=$(pidfile_pids "$2" | xargs)
  if [ -z "$live" ]; then
    printf '%-22s stopped\n' "$1"
  elif [ "$live" = "$all" ]; then
    printf '%-22s running (pid %s)\n' "$1" "$live"
  else
    printf '%-22s partly running (pid %s of %s)\n' "$1" "$live" "$all"
  fi
}

cmd_status() {
  local name f names=()
  status_line mariadb "$RUN/pid/mariadb.pid" mariadbd
  for name in "${EMULATORS[@]}"; do
    [ -x "$BIN/emulators/$name" ] || [ -f "$RUN/pid/$name.pid" ] || continue
    status_line "$name" "$RUN/pid/$name.pid" "$name"
  done
  status_line smtp "$RUN/pid/smtp.pid" aiosmtpd
  for f in "$BIN"/cgi-bin/* "$RUN"/pid/fcgi-*.pid; do
    [ -e "$f" ] || continue
    case $f in
      */pid/*) name=$(basename "$f" .pid) name=${name#fcgi-} ;;
      *)
        if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
        name=$(basename "$f")
        ;;
    esac
    case " ${names[*]} " in *" $name "*) ;; *) names+=("$name") ;; esac
  done
  for name in "${names[@]}"; do
    status_line "fcgi $name" "$RUN/pid/fcgi-$name.pid" "cgi-bin/$name"
  done
  status_line worker "$RUN/pid/worker.pid" tools/worker
  status_line nginx "$RUN/pid/nginx.pid" nginx
  local url
  url=$(conf_get "$CONF" public-base-url)
  printf '%-22s %s\n' url "${url:-http://127.0.0.1:$COACH_HTTP_PORT}/ (run dir $RUN)"
}

cmd_restart_fcgi() {
  [ -f "$CONF" ] || die "no $CONF: run ./deploy.sh local first"
  local f
  for f in "$RUN"/pid/fcgi-*.pid; do
    [ -e "$f" ] || continue
    stop_pidfile "$(basename "$f" .pid)" "$f" TERM 5
  done
  step_fcgi
}

case ${1:-} in
  local) cmd_local ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart-fcgi) cmd_restart_fcgi ;;
  *) usage ;;
esac
