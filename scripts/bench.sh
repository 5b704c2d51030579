#!/usr/bin/env bash
# scripts/bench.sh: what `make bench` runs. Brings up a private stack (run/bench,
# free ports), warms it up, then measures with wrk (-t2 -c32 -d10s --latency):
#   static   /static/bench.txt  nginx alone (the yardstick)
#   healthz  /healthz           FastCGI + one MariaDB query
#   home     /                  the home page: DB read + template
#   slots_warm   /api/cal/availability (7 days, a demo coach)  repeated: cache hits
#   slots_cold   the same with a new window each request: cache misses -> Cal.com
#   webhooks /api/cal/webhooks/receiver  signed BOOKING_CREATED events, each a new
#                one: verify + store + apply (bench-webhooks.lua; COACH_BENCH_EVENTS)
# and prints a table of requests/s, p50, p99 and each one's ratio to the static
# file from the same run (compare ratios across runs, not absolute figures).
# Then it stops the stack. Options (environment): COACH_BENCH_RUN_DIR (run/bench),
# COACH_BENCH_DURATION (10s), COACH_BENCH_THREADS (2), COACH_BENCH_CONNECTIONS
# (32), COACH_FCGI_CHILDREN (FastCGI processes per endpoint, 2), COACH_BENCH_EVENTS
# (webhook events generated, 60000).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPO=$COACH_REPO_DIR
RUN=${COACH_BENCH_RUN_DIR:-$REPO/run/bench}
DURATION=${COACH_BENCH_DURATION:-10s}
THREADS=${COACH_BENCH_THREADS:-2}
CONNS=${COACH_BENCH_CONNECTIONS:-32}

mkdir -p "$(dirname "$RUN")"
exec 9>"$RUN.lock"
flock -n 9 || die "another bench is running in $RUN"
if [ -e "$RUN" ]; then
  [ -e "$RUN/.coach-run" ] || die "$RUN exists and is not a run directory: not deleting it"
  COACH_RUN_DIR=$RUN "$REPO/deploy.sh" stop >/dev/null 2>&1 || true
  rm -rf "$RUN"
fi

read -r COACH_HTTP_PORT COACH_DB_PORT COACH_CAL_PORT COACH_ZOOM_PORT COACH_STRIPE_PORT \
  COACH_CLERK_PORT COACH_SMTP_PORT <<<"$(free_ports 7)"
export COACH_RUN_DIR=$RUN COACH_HTTP_PORT COACH_DB_PORT COACH_CAL_PORT COACH_ZOOM_PORT \
  COACH_STRIPE_PORT COACH_CLERK_PORT COACH_SMTP_PORT

stop_stack() { "$REPO/deploy.sh" stop >"$RUN/log/stop.log" 2>&1 || warn "stopping the stack failed"; }
trap stop_stack EXIT
trap 'exit 130' INT TERM

"$REPO/deploy.sh" local 9>&-
base=http://127.0.0.1:$COACH_HTTP_PORT
names=(static healthz home)
paths=(/static/bench.txt /healthz /)
scripts=("" "" "")
args=("" "" "")

# Free-slot queries need a bookable demo coach and a session type (seeded).
coach_id=$(curl -s "$base/api/cal/coaches" | python3 -c 'import json,sys
d = json.load(sys.stdin)["data"]; print(next((c["id"] for c in d if c["bookable"]), ""))' || true)
et_id=""
[ -z "$coach_id" ] || et_id=$(curl -s "$base/api/cal/event-types?coachId=$coach_id" | python3 -c 'import json,sys
d = json.load(sys.stdin)["data"]; print(d[0]["id"] if d else "")' || true)
if [ -n "$et_id" ]; then
  day0=$(date -u -d '+14 days' +%Y-%m-%d)
  day6=$(date -u -d '+20 days' +%Y-%m-%d)
  slot_prefix="/api/cal/availability?coachId=$coach_id&eventTypeId=$et_id&timeZone=America/New_York"
  names+=(slots_warm slots_cold)
  paths+=("$slot_prefix&start=$day0&end=$day6" "$slot_prefix")
  cold_args="$slot_prefix $(date -u -d '+30 days' +%s)"
  scripts+=("" "$REPO/scripts/bench-slots-cold.lua")
  args+=("" "$cold_args")
else
  warn "no bookable demo coach with a session type: free-slot figures skipped"
fi

# to_ms VALUE: wrk's "352.00us" / "4.12ms" / "1.02s" / "1.5m" as milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) print "?"; else printf "%.2f", n * f }'
}

# Webhook events: unique signed BOOKING_CREATED bodies (python3 hmac) with the
# configured cal-webhook-secret; a small separate set for the warm-up.
wh_secret_file=$(conf_get "$RUN/etc/coach.conf" cal-webhook-secret-file)
wh_tag=bench$(date +%s)
gen_webhook_events() {  # FILE COUNT PREFIX
  python3 - "$1" "$2" "$3" "$wh_secret_file" <<'PY'
import datetime, hashlib, hmac, json, sys
out, n, prefix, secret_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
secret = open(secret_file, "rb").read().strip()
base = datetime.datetime(2032, 1, 5, 8, 0, tzinfo=datetime.timezone.utc)
with open(out, "w") as f:
    for i in range(n):
        start = base + datetime.timedelta(minutes=30 * i)
        body = {"triggerEvent": "BOOKING_CREATED", "createdAt": "2031-12-01T10:00:00.000Z",
                "payload": {"title": "Bench session", "uid": "%s-%d" % (prefix, i), "bookingId": 5000000 + i,
                            "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "endTime": (start + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "type": "bench", "eventTypeId": 1,
                            "organizer": {"id": 1, "name": "Bench Coach", "email": "bench-coach@example.test",
                                          "timeZone": "UTC"},
                            "attendees": [{"email": "bench-%d@example.test" % i, "name": "Bench Client",
                                           "timeZone": "America/New_York"}],
                            "location": "integrations:daily", "status": "ACCEPTED"}}
        raw = json.dumps(body, separators=(",", ":"))
        f.write("%s\t%s\n" % (hmac.new(secret, raw.encode(), hashlib.sha256).hexdigest(), raw))
PY
}
if [ -n "$wh_secret_file" ] && [ -r "$wh_secret_file" ]; then
  gen_webhook_events "$RUN/bench-webhooks-warm.txt" 4000 "$wh_tag-warm"
  gen_webhook_events "$RUN/bench-webhooks.txt" "${COACH_BENCH_EVENTS:-60000}" "$wh_tag"
  names+=(webhooks)
  paths+=(/api/cal/webhooks/receiver)
  scripts+=("$REPO/scripts/bench-webhooks.lua")
  args+=("$RUN/bench-webhooks.txt $THREADS")
else
  warn "no readable cal-webhook-secret-file: webhook receiver figures skipped"
fi

# Stripe events: unique signed checkout.session.completed events for sessions
# we never opened (verified, stored durably, applied as "unmatched"); signed
# now, inside Stripe's 5-minute tolerance for the length of the run.
st_secret_file=$(conf_get "$RUN/etc/coach.conf" stripe-webhook-secret-file)
gen_stripe_events() {  # FILE COUNT PREFIX
  python3 - "$1" "$2" "$3" "$st_secret_file" <<'PY'
import hashlib, hmac, json, sys, time
out, n, prefix, secret_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
secret = open(secret_file, "rb").read().strip()
t = int(time.time())
with open(out, "w") as f:
    for i in range(n):
        body = {"id": "evt_%s_%d" % (prefix, i), "object": "event", "type": "checkout.session.completed",
                "created": t, "livemode": False, "api_version": "2026-10-28.endive", "pending_webhooks": 1,
                "data": {"object": {"id": "cs_%s_%d" % (prefix, i), "object": "checkout.session",
                                    "status": "complete", "payment_status": "paid", "amount_total": 7500,
                                    "currency": "usd", "metadata": {}}}}
        raw = json.dumps(body, separators=(",", ":"))
        sig = hmac.new(secret, ("%d.%s" % (t, raw)).encode(), hashlib.sha256).hexdigest()
        f.write("t=%d,v1=%s\t%s\n" % (t, sig, raw))
PY
}
if [ -n "$st_secret_file" ] && [ -r "$st_secret_file" ]; then
  gen_stripe_events "$RUN/bench-stripe-warm.txt" 4000 "bench$(date +%s)w"
  gen_stripe_events "$RUN/bench-stripe.txt" "${COACH_BENCH_EVENTS:-60000}" "$wh_tag"
  names+=(stripe)
  paths+=(/api/stripe/webhook)
  scripts+=("$REPO/scripts/bench-webhooks.lua")
  args+=("$RUN/bench-stripe.txt $THREADS Stripe-Signature /api/stripe/webhook")
else
  warn "no readable stripe-webhook-secret-file: Stripe receiver figures skipped"
fi

say "bench: warming up"
for i in "${!paths[@]}"; do
  if [ -z "${scripts[$i]}" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base${paths[$i]}" || true)
    [ "$code" = 200 ] || warn "${paths[$i]} answers $code, not 200: its figures measure an error page"
  fi
  if [ "${names[$i]}" = webhooks ]; then
    wrk -t"$THREADS" -c"$CONNS" -d2s -s "${scripts[$i]}" "$base" -- "$RUN/bench-webhooks-warm.txt" "$THREADS" >/dev/null
  elif [ "${names[$i]}" = stripe ]; then
    wrk -t"$THREADS" -c"$CONNS" -d2s -s "${scripts[$i]}" "$base" -- "$RUN/bench-stripe-warm.txt" "$THREADS" \
      Stripe-Signature /api/stripe/webhook >/dev/null
  elif [ -n "${scripts[$i]}" ]; then
    # shellcheck disable=SC2086
    wrk -t"$THREADS" -c"$CONNS" -d2s -s "${scripts[$i]}" "$base" -- ${args[$i]} >/dev/null
  else
    wrk -t"$THREADS" -c"$CONNS" -d2s "$base${paths[$i]}" >/dev/null
  fi
done

declare -A rps p50 p99 non2xx errors
for i in "${!paths[@]}"; do
  n=${names[$i]}
  wrk_out=$RUN/log/wrk-$n.txt
  say "bench: $n ${paths[$i]} (wrk -t$THREADS -c$CONNS -d$DURATION)"
  if [ -n "${scripts[$i]}" ]; then
    # shellcheck disable=SC2086
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "${scripts[$i]}" "$base" -- ${args[$i]} >"$wrk_out"
  else
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$base${paths[$i]}" >"$wrk_out"
  fi
  rps[$n]=$(awk '/^Requests\/sec:/ { print $2 }' "$wrk_out")
  p50[$n]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$wrk_out")")
  p99[$n]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$wrk_out")")
  non2xx[$n]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$wrk_out")
  errors[$n]=$(sed -n 's/^ *Socket errors: *//p' "$wrk_out")
done

static_rps=${rps[static]}
say ""
say "| what | URL | req/s | p50 ms | p99 ms | ratio to static | non-2xx |"
say "|---|---|---|---|---|---|---|"
for i in "${!paths[@]}"; do
  n=${names[$i]}
  ratio=$(awk -v a="${rps[$n]}" -v b="$static_rps" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "?" }')
  printf '| %s | %s | %.0f | %s | %s | %s | %s |\n' "$n" "${paths[$i]}" "${rps[$n]:-0}" "${p50[$n]}" \
    "${p99[$n]}" "$ratio" "${non2xx[$n]:-0}"
done
for n in "${names[@]}"; do
  [ -z "${errors[$n]}" ] || say "$n socket errors: ${errors[$n]}"
done
if [ -n "${rps[webhooks]:-}" ]; then
  # Each request was a distinct event unless wrk ran past the generated set.
  wh_stats=$(mariadb --defaults-file="$RUN/secrets/client.cnf" --batch --skip-column-names -e \
    "SELECT COUNT(*), COALESCE(SUM(duplicate_count), 0), COALESCE(SUM(status = 'done'), 0) FROM webhook_inbox
     WHERE booking_uid LIKE '$wh_tag-%' AND booking_uid NOT LIKE '$wh_tag-warm-%'" 2>/dev/null || true)
  read -r wh_stored wh_dups wh_done <<<"${wh_stats:-? ? ?}"
  say "webhooks: $wh_stored events stored ($wh_done applied), $wh_dups duplicate deliveries (wrapped past ${COACH_BENCH_EVENTS:-60000} generated)"
fi
if [ -n "${rps[stripe]:-}" ]; then
  st_stats=$(mariadb --defaults-file="$RUN/secrets/client.cnf" --batch --skip-column-names -e \
    "SELECT COUNT(*), COALESCE(SUM(status <> 'received'), 0) FROM stripe_events
     WHERE event_id LIKE 'evt\\_${wh_tag}\\_%'" 2>/dev/null || true)
  read -r st_stored st_done <<<"${st_stats:-? ?}"
  say "stripe: $st_stored events stored ($st_done applied)"
fi
say ""
say "wrk -t$THREADS -c$CONNS -d$DURATION, ${COACH_FCGI_CHILDREN:-2} FastCGI processes per endpoint, $(nproc) cores; raw output in $RUN/log/wrk-*.txt"
