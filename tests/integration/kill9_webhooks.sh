#!/usr/bin/env bash
# tests/integration/kill9_webhooks.sh: kill -9 the webhook receiver's FastCGI
# children and the worker, again and again, while signed Cal.com events
# stream in; then check that no acknowledged event was lost and none was
# applied twice, and that retrying the failed sends converges.
#
# Environment (set by scripts/run-tests.sh): COACH_BASE_URL, COACH_CONFIG,
# COACH_RUN_DIR (pid files in $COACH_RUN_DIR/pid/, the DB client options in
# $COACH_RUN_DIR/secrets/client.cnf), COACH_REPO_DIR; the COACH_*_PORT
# variables deploy.sh needs to restart what died. Options: K9_EVENTS (300),
# K9_SENDERS (4), K9_CHAOS_S (14). Prints "ok - ..." / "not ok - ..." lines;
# bounded (< 60 s).
set -uo pipefail

: "${COACH_BASE_URL:?}" "${COACH_CONFIG:?}" "${COACH_RUN_DIR:?}" "${COACH_REPO_DIR:?}"
N=${K9_EVENTS:-300}
SENDERS=${K9_SENDERS:-4}
CHAOS_S=${K9_CHAOS_S:-14}
RUN=$COACH_RUN_DIR
RECEIVER=$COACH_BASE_URL/api/cal/webhooks/receiver
started=$(date +%s)
fails=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
sql() { mariadb --defaults-file="$RUN/secrets/client.cnf" --batch --skip-column-names -e "$1"; }
restart_dead() {
  (cd "$COACH_REPO_DIR" && COACH_SKIP_DEPS=1 COACH_SKIP_BUILD=1 COACH_SKIP_SEED=1 ./deploy.sh local) \
    >>"$WORK/deploy.log" 2>&1 9>&-
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/k9wh.XXXXXX")
cleanup() {
  [ -z "${chaos_pid:-}" ] || kill "$chaos_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

secret_file=$(sed -n 's/^cal-webhook-secret-file=//p' "$COACH_CONFIG" | tail -1)
[ -r "$secret_file" ] || { notok "cannot read cal-webhook-secret-file from $COACH_CONFIG"; exit 1; }
tag=k9$(date +%s)$$

# ---- N unique signed BOOKING_CREATED bodies (python3 hmac) -------------------
python3 - "$WORK" "$N" "$tag" "$secret_file" <<'PY'
import hashlib, hmac, json, sys, datetime
work, n, tag, secret_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
secret = open(secret_file, "rb").read().strip()
base = datetime.datetime(2031, 1, 6, 9, 0, tzinfo=datetime.timezone.utc)
with open(f"{work}/index", "w") as idx:
    for i in range(n):
        start = base + datetime.timedelta(hours=i)
        body = {"triggerEvent": "BOOKING_CREATED", "createdAt": "2030-12-01T10:00:00.%03dZ" % (i % 1000),
                "payload": {"title": "Kill -9 session %d" % i, "uid": "%s-%d" % (tag, i), "bookingId": 900000 + i,
                            "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "endTime": (start + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "organizer": {"id": 1, "email": "k9-coach@example.test"},
                            "attendees": [{"email": "k9-%d@example.test" % i, "name": "K9", "timeZone": "UTC"}],
                            "status": "ACCEPTED", "location": "integrations:daily"}}
        raw = json.dumps(body, separators=(",", ":")).encode()
        open(f"{work}/{i}.json", "wb").write(raw)
        idx.write("%d %s\n" % (i, hmac.new(secret, raw, hashlib.sha256).hexdigest()))
PY
[ -s "$WORK/index" ] || { notok "could not generate the events"; exit 1; }

# send I SIG: one POST; prints "I CODE" (000 = no answer).
send() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
    -H "X-Cal-Signature-256: $2" --data-binary "@$WORK/$1.json" "$RECEIVER" 2>/dev/null) || true
  echo "$1 ${code:-000}"
}
export -f send
export WORK RECEIVER

# ---- chaos: kill -9 receiver children and the worker, restart what died ----
chaos() {
  local end=$(($(date +%s) + CHAOS_S)) victim pids round=0
  while [ "$(date +%s)" -lt "$end" ]; do
    sleep "0.$((RANDOM % 4 + 1))"
    # One receiver child every round (mid-request when the timing is right),
    # the worker every other round.
    round=$((round + 1))
    mapfile -t pids <"$RUN/pid/fcgi-cal_webhooks_receiver.pid" 2>/dev/null || pids=()
    if [ ${#pids[@]} -gt 0 ]; then
      victim=${pids[$((RANDOM % ${#pids[@]}))]}
      kill -9 "$victim" 2>/dev/null && echo "receiver $victim" >>"$WORK/kills"
    fi
    if [ $((round % 2)) -eq 1 ]; then
      victim=$(cat "$RUN/pid/worker.pid" 2>/dev/null)
      [ -z "$victim" ] || { kill -9 "$victim" 2>/dev/null && echo "worker $victim" >>"$WORK/kills"; }
    fi
    sleep "0.$((RANDOM % 4 + 1))"
    restart_dead
  done
}
: >"$WORK/kills"
chaos &
chaos_pid=$!

# ---- senders: every event once, paced over the chaos window ----------------
pace=$(awk -v s="$CHAOS_S" -v n="$N" -v k="$SENDERS" 'BEGIN { printf "%.3f", (s * 0.8) * k / n }')
awk -v k="$SENDERS" '{ print > ("'"$WORK"'/part" (NR % k)) }' "$WORK/index"
for p in "$WORK"/part*; do
  (while read -r i sig; do send "$i" "$sig"; sleep "$pace"; done <"$p") >"$p.out" &
done
wait $(jobs -p | grep -v "^$chaos_pid\$") 2>/dev/null
wait "$chaos_pid" 2>/dev/null
chaos_pid=""
cat "$WORK"/part*.out >"$WORK/first"
restart_dead

n_kills=$(wc -l <"$WORK/kills")
n_recv_kills=$(grep -c '^receiver' "$WORK/kills")
n_first_ok=$(awk '$2 ~ /^2/' "$WORK/first" | wc -l)
n_first_fail=$((N - n_first_ok))
echo "# $N events, $n_first_ok acknowledged in the first pass, $n_first_fail not; $n_kills kills ($n_recv_kills receiver)"
if [ "$n_recv_kills" -gt 0 ] && [ "$n_kills" -gt "$n_recv_kills" ]; then
  ok "killed receiver children and the worker with kill -9 while sending ($n_kills kills)"
else
  notok "the chaos loop killed too little ($n_kills kills, $n_recv_kills receiver)"
fi
awk '$2 ~ /^2/ { print $1 }' "$WORK/first" | sort -n >"$WORK/acked_first"

# ---- retries of the failed sends converge -----------------------------------
awk '$2 !~ /^2/ { print $1 }' "$WORK/first" >"$WORK/todo"
for round in 1 2 3 4 5 6; do
  [ -s "$WORK/todo" ] || break
  : >"$WORK/retry"
  while read -r i; do
    send "$i" "$(awk -v i="$i" '$1 == i { print $2 }' "$WORK/index")" >>"$WORK/retry"
  done <"$WORK/todo"
  awk '$2 !~ /^2/ { print $1 }' "$WORK/retry" >"$WORK/todo"
  [ -s "$WORK/todo" ] && { sleep 1; restart_dead; }
done
if [ ! -s "$WORK/todo" ]; then
  ok "every failed send was acknowledged on retry ($n_first_fail retried)"
else
  notok "$(wc -l <"$WORK/todo") events still not acknowledged after 6 retry rounds"
fi

# ---- all stored events get applied (receiver in-request, else the worker) ---
deadline=$(($(date +%s) + 30))
while :; do
  pending=$(sql "SELECT COUNT(*) FROM webhook_inbox WHERE booking_uid LIKE '$tag-%' AND status <> 'done'")
  [ "$pending" = 0 ] && break
  [ "$(date +%s)" -ge "$deadline" ] && break
  sleep 0.5
done

sql "SELECT booking_uid, COUNT(*), MIN(status), MAX(status), SUM(apply_count) FROM webhook_inbox
     WHERE booking_uid LIKE '$tag-%' GROUP BY booking_uid" >"$WORK/inbox"
sql "SELECT cal_uid, status, n_changes FROM CalBooking WHERE cal_uid LIKE '$tag-%'" >"$WORK/bookings"

# Every acknowledged event is in the inbox exactly once, done, applied once.
lost=0 twice=0 notdone=0 applied_twice=0
while read -r i; do
  line=$(awk -v u="$tag-$i" '$1 == u' "$WORK/inbox")
  if [ -z "$line" ]; then lost=$((lost + 1)); continue; fi
  read -r _ cnt st_min st_max applied <<<"$line"
  [ "$cnt" = 1 ] || twice=$((twice + 1))
  [ "$st_min" = done ] && [ "$st_max" = done ] || notdone=$((notdone + 1))
  [ "$applied" = 1 ] || applied_twice=$((applied_twice + 1))
done <"$WORK/acked_first"
n_acked=$(wc -l <"$WORK/acked_first")
[ "$lost" = 0 ] && ok "no acknowledged event lost ($n_acked acknowledged at first try)" ||
  notok "$lost acknowledged events are not in the inbox"
[ "$twice" = 0 ] && ok "every event is stored exactly once" || notok "$twice events stored more than once"
[ "$notdone" = 0 ] && ok "every stored event was applied (status done)" || notok "$notdone events not done after 30 s"
[ "$applied_twice" = 0 ] && ok "no event applied twice (apply_count = 1)" || notok "$applied_twice events applied more than once"

# After the retries: all N events converge, one booking each, changed once.
n_rows=$(wc -l <"$WORK/inbox")
n_all_once=$(awk '$2 == 1 && $3 == "done" && $5 == 1' "$WORK/inbox" | wc -l)
n_book=$(awk '$2 == "accepted" && $3 == 1' "$WORK/bookings" | wc -l)
if [ "$n_rows" = "$N" ] && [ "$n_all_once" = "$N" ] && [ "$n_book" = "$N" ]; then
  ok "all $N events converged: one inbox row, applied once, one accepted booking each"
else
  notok "convergence: $n_rows inbox rows, $n_all_once applied once, $n_book bookings (want $N each)"
fi

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Cal-Signature-256: 00' --data '{}' "$RECEIVER")
[ "$code" = 401 ] && ok "the receiver is back up after the chaos" || notok "receiver answers $code after the chaos"
pids=$(cat "$RUN/pid/worker.pid" 2>/dev/null)
[ -n "$pids" ] && kill -0 "$pids" 2>/dev/null && ok "the worker is back up" || notok "the worker is not running"

echo "# took $(($(date +%s) - started)) s"
[ "$fails" = 0 ]
