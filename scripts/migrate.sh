#!/usr/bin/env bash
# scripts/migrate.sh: apply the numbered migrations sql/NNNN_*.sql in order.
#
#   scripts/migrate.sh           apply the pending ones (safe to re-run)
#   scripts/migrate.sh status    list each migration as applied or pending
#
# Each applied file is recorded in schema_migrations(version, applied_at), where
# version is the file name without ".sql" (e.g. "0001_init"). Applied files are
# skipped; the first failure stops the run, naming the file, and is not recorded.
#
# Connection: the db-* keys of $COACH_CONFIG if it names a file, else
# COACH_DB_HOST (127.0.0.1), COACH_DB_PORT (3307), COACH_DB_NAME (coach),
# COACH_DB_USER (coach) and COACH_DB_PASSWORD_FILE
# (default $COACH_RUN_DIR/secrets/db-password, run dir default run/local).
# COACH_SQL_DIR overrides the migrations folder (default <repo>/sql).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C  # glob order = byte order of the names

cmd=${1:-apply}
case $cmd in apply | status) ;; *) echo "usage: $0 [apply|status]" >&2; exit 2 ;; esac

if [ -n "${COACH_CONFIG:-}" ] && [ -f "$COACH_CONFIG" ]; then
  host=$(conf_get "$COACH_CONFIG" db-host)
  port=$(conf_get "$COACH_CONFIG" db-port)
  name=$(conf_get "$COACH_CONFIG" db-name)
  user=$(conf_get "$COACH_CONFIG" db-user)
  pwfile=$(conf_get "$COACH_CONFIG" db-password-file)
fi
host=${COACH_DB_HOST:-${host:-127.0.0.1}}
port=${COACH_DB_PORT:-${port:-3307}}
name=${COACH_DB_NAME:-${name:-coach}}
user=${COACH_DB_USER:-${user:-coach}}
pwfile=${COACH_DB_PASSWORD_FILE:-${pwfile:-${COACH_RUN_DIR:-$COACH_REPO_DIR/run/local}/secrets/db-password}}
sqldir=${COACH_SQL_DIR:-$COACH_REPO_DIR/sql}
[ -r "$pwfile" ] || die "migrate: cannot read the password file $pwfile"

# The password goes in a private option file, not on the command line.
cnf=$(mktemp)
trap 'rm -f "$cnf"' EXIT
chmod 600 "$cnf"
printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword=%s\nprotocol=TCP\ndefault-character-set=utf8mb4\n' \
  "$host" "$port" "$user" "$(tr -d '\r\n' <"$pwfile")" >"$cnf"
db() { mariadb --defaults-file="$cnf" --batch --skip-column-names "$name" "$@"; }

db -e "CREATE TABLE IF NOT EXISTS schema_migrations (
         version VARCHAR(64) NOT NULL PRIMARY KEY,
         applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" ||
  die "migrate: cannot reach database $name as $user@$host:$port"
applied=$(db -e "SELECT version FROM schema_migrations")

files=("$sqldir"/[0-9][0-9][0-9][0-9]_*.sql)
[ -e "${files[0]}" ] || files=()
done_now=()
n_current=0
for f in "${files[@]}"; do
  version=$(basename "$f" .sql)
  if [[ ! $version =~ ^[0-9]{4}_[A-Za-z0-9_.-]+$ ]] || [ ${#version} -gt 64 ]; then
    die "migrate: bad file name (want NNNN_words.sql, at most 64 characters before .sql): $f"
  fi
  if grep -qxF -- "$version" <<<"$applied"; then
    [ "$cmd" = status ] && say "applied  $version"
    n_current=$((n_current + 1))
    continue
  fi
  if [ "$cmd" = status ]; then
    say "pending  $version"
    continue
  fi
  if ! err=$(db <"$f" 2>&1); then
    printf '%s\n' "$err" >&2
    [ ${#done_now[@]} -eq 0 ] || say "migrate: applied ${done_now[*]}"
    die "migrate: FAILED at ${f#"$COACH_REPO_DIR"/} (not recorded; statements before the error stay applied, as MariaDB cannot roll back DDL: repair, then re-run)"
  fi
  db -e "INSERT INTO schema_migrations (version, applied_at) VALUES ('$version', UTC_TIMESTAMP())"
  done_now+=("$version")
done

[ "$cmd" = status ] && exit 0
if [ ${#files[@]} -eq 0 ]; then
  say "migrate: no migrations in ${sqldir#"$COACH_REPO_DIR"/}/"
elif [ ${#done_now[@]} -eq 0 ]; then
  say "migrate: up to date ($n_current applied)"
else
  say "migrate: applied ${done_now[*]} ($n_current were already applied)"
fi
