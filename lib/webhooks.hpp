/* webhooks.hpp: Cal.com webhooks end to end (layer 4, domain).
 *
 *  - receive: verify X-Cal-Signature-256 over the raw body against every
 *    secret we hold, store the event in the inbox under a unique idempotency
 *    key (committed before we answer 2xx), then apply it at once when cheap.
 *  - apply: one transaction per event; bookings converge to Cal.com's final
 *    state whatever the arrival order (see converge_booking).
 *  - recovery: the worker claims failed/unapplied events (SKIP LOCKED + lease),
 *    retries with exponential backoff + jitter, then parks them as dead
 *    letters; replay one or all dead.
 *  - monitoring: inbox listing with filters and paging, hourly counts,
 *    failures, retry queue, dead letters, signature failures, latency.
 *  - management: our subscriptions (user = one coach, platform = the OAuth
 *    client) created/updated/deleted through Cal.com, secrets sealed at rest,
 *    and the one-call default setup.
 *
 * Tables (sql/0005_webhooks.sql): webhook_inbox, webhook_subscriptions,
 * webhook_counters, webhook_setup_lock; extra CalBooking columns.
 *
 * Times in the structs below are UTC strings "YYYY-MM-DD HH:MM:SS.mmm" as the
 * database returns them ("" = not set). Nothing here ever returns a secret in
 * clear except sign_body()/generate_secret() output meant for the caller. */
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <json/json.h>

#include "calcom_client.hpp"
#include "config.hpp"
#include "db.hpp"
#include "result.hpp"

namespace coach::webhooks {

/* ------------------------------------------------------------------ basics */

inline constexpr const char* kReceiverPath = "/api/cal/webhooks/receiver";
inline constexpr size_t kMaxBodyBytes = 256 * 1024;   // larger: 413
inline constexpr const char* kWebhookApiVersion = "";  // webhooks endpoints take no cal-api-version
inline constexpr const char* kBookingsApiVersion = "2024-08-13";
inline constexpr int kDefaultMaxAttempts = 8;

/* Every trigger we subscribe to and apply (the default setup subscribes to
 * these; PING is not a subscribable trigger and is not in the list). */
const std::vector<std::string>& handled_triggers();
/* True for the names Cal.com's WebhookTriggerEvents enum accepts on a user or
 * OAuth-client webhook (validation before we call Cal.com). */
bool is_valid_trigger(const std::string& name);

/* Our receiver URL: cfg.public_base_url + kReceiverPath. */
std::string receiver_url(const Config& cfg);

struct Ctx {
  const Config& cfg;
  db::Db& db;
  calcom::Client& cal;
};

/* --------------------------------------------------------------- receiving */

/* What the receiver did with one delivery. http_status is what to answer:
 *   200 stored (or duplicate), body {"received":true,"duplicate":bool}
 *   400 invalid_json / invalid_webhook (no triggerEvent, not an object)
 *   401 bad_signature (missing or wrong; nothing stored, counter +1, logged)
 *   405 method_not_allowed is the handler's business, not receive()'s
 *   413 body_too_large (> kMaxBodyBytes)
 *   503 db_unavailable (could not store: Cal.com may retry, we promised nothing) */
struct ReceiveOutcome {
  int http_status = 200;
  std::string error_code;          // "" on 2xx
  std::string error_message;
  bool duplicate = false;
  int64_t event_id = 0;            // webhook_inbox.id (also for a duplicate)
  std::string trigger;             // triggerEvent
  std::string idempotency_key;
  int64_t subscription_id = 0;     // whose secret matched; 0 = cfg.cal_webhook_secret
  std::string apply_status;        // after the in-request apply: "done", "retry", "pending" (left to worker), "" (duplicate)
};

/* The whole receive path for one POST: signature over raw_body first (constant
 * time, every secret we hold), then size, JSON, key, INSERT (committed), then
 * apply in its own transaction unless apply_now is false or it fails (then the
 * worker takes it). Never throws for DB trouble: that becomes 503. */
ReceiveOutcome receive(const Config& cfg, db::Db& db, std::string_view raw_body, std::string_view signature_header,
                       bool apply_now = true);

/* The idempotency key of a parsed body: "<TRIGGER>:<hex sha256 of the
 * canonical JSON of the event without createdAt>", except MEETING_STARTED /
 * MEETING_ENDED: "<TRIGGER>:<booking id>" (Cal.com sends those once per
 * booking and their body has no createdAt). Fails (400 invalid_webhook) when
 * triggerEvent is missing or not [A-Za-z0-9_]{1,64}. */
Result<std::string> idempotency_key(const Json::Value& body);

/* The secrets the receiver accepts: cfg.cal_webhook_secret (subscription_id 0)
 * plus the decrypted secrets of active subscriptions. The receiver caches
 * them per process for 5 s, and reloads once when a signature fails against
 * the cached copy (a subscription created a moment ago elsewhere). */
struct KnownSecret {
  int64_t subscription_id = 0;
  std::string secret;
};
std::vector<KnownSecret> load_secrets(const Config& cfg, db::Db& db);
void invalidate_secret_cache();   // after create/update/delete in this process

/* ---------------------------------------------------------------- applying */

/* Applies one stored event inside one transaction, if it is still unapplied
 * and not leased to another worker (worker_id "" = the receiver itself). On
 * success the row becomes done (apply_count + 1, outcome "applied" |
 * "ignored" | "stale" | "recorded"); on failure it is rescheduled with backoff
 * (status retry) or, after max_attempts, dead, keeping the last error.
 * Returns the row's status afterwards. */
std::string apply_event(const Config& cfg, db::Db& db, int64_t event_id, const std::string& worker_id = "");

/* Worker: claims up to max_events due events (status pending/retry whose
 * next_attempt_at has passed, or whose lease expired) with FOR UPDATE SKIP
 * LOCKED for lease_s seconds, applies each with apply_event. Returns how many
 * were processed (done or failed). Retries the claim on 1213. */
int process_due(const Config& cfg, db::Db& db, const std::string& worker_id, int max_events = 50, int lease_s = 60);

/* What one webhook or one Cal.com bookings-API row tells us about a booking.
 * Empty strings / 0 / nullopt mean "this source does not say". */
struct BookingFacts {
  std::string uid;
  int64_t cal_booking_id = 0;
  std::string status;                      // accepted | pending | cancelled | rejected | ""
  std::string start_utc, end_utc;          // "YYYY-MM-DD HH:MM:SS"
  int64_t cal_event_type_id = 0;
  int64_t organizer_cal_user_id = 0;
  std::string organizer_email;
  std::string title;
  std::string attendee_email, attendee_name, attendee_time_zone;
  std::string location, join_url;          // stored location ("integrations:zoom"), video/join URL
  std::string rescheduled_from_uid, rescheduled_to_uid;
  std::string cancellation_reason, rejection_reason;
  std::string payment_status;              // "" | initiated | paid
  std::string meeting_started_at, meeting_ended_at;  // "YYYY-MM-DD HH:MM:SS.mmm"
  std::string recording_url;               // RECORDING_READY downloadLink
  std::optional<bool> attendee_no_show, host_no_show;
  std::string version_at;                  // Cal.com's time for this view (createdAt/updatedAt), "YYYY-MM-DD HH:MM:SS.mmm"
  std::string source;                      // trigger name or "reconcile"
  int64_t coach_user_id_hint = 0;          // when the source knows the coach (reconcile lists as the coach)
  Json::Value raw;                         // the source JSON (stored for the newest version)
};

/* Upserts the CalBooking row for facts.uid (row-locked) so that the result
 * does not depend on the order observations arrive in:
 *  - status only moves up the ladder pending < accepted < cancelled|rejected
 *    (a cancel before its create stays cancelled; terminal stays terminal);
 *  - start/end, title, attendee, location, event type are overwritten only by
 *    a version_at >= the stored cal_updated_at; an older view only fills
 *    columns that are still empty;
 *  - payment status only moves up (initiated < paid); meeting start/end and
 *    rescheduled_from/to, reasons are kept once known; no-show flags follow
 *    the newest no_show_version;
 *  - coach_user_id comes from CalendarIntegration.cal_user_id (organizer id),
 *    else its cal_email / the user's email.
 * Bumps the coach's availability cache version when anything changed.
 * Returns true if the row changed. Must run inside a transaction. Fails
 * (400 invalid_payload) when uid is empty or times are malformed. */
Result<bool> converge_booking(db::Db& tx, const BookingFacts& facts);

/* Marks old_uid as cancelled-by-reschedule to new_uid (creating a placeholder
 * row with the given times if we have never seen old_uid). Part of applying
 * BOOKING_RESCHEDULED; exposed for reconciliation. Inside a transaction. */
Result<bool> mark_rescheduled(db::Db& tx, const std::string& old_uid, const std::string& new_uid,
                              const std::string& old_start_utc, const std::string& old_end_utc,
                              const std::string& version_at, int64_t organizer_cal_user_id,
                              const std::string& organizer_email);

/* Parses a webhook body into facts (BOOKING_*, MEETING_*, AFTER_*_NO_SHOW,
 * RECORDING_READY). Fails with 400 invalid_payload naming the field. */
Result<BookingFacts> facts_from_webhook(const Json::Value& body);
/* Parses one booking of GET /v2/bookings (2024-08-13 output shape). */
Result<BookingFacts> facts_from_api_booking(const Json::Value& booking);

/* --------------------------------------------------------------- the inbox */

struct InboxEvent {
  int64_t id = 0;
  std::string idempotency_key, trigger;
  std::string status;              // pending | retry | done | dead
  std::string outcome;             // applied | ignored | stale | recorded | "" (not yet)
  std::string booking_uid;
  int64_t cal_booking_id = 0, coach_user_id = 0, subscription_id = 0;
  int attempts = 0, max_attempts = kDefaultMaxAttempts, apply_count = 0, duplicate_count = 0;
  std::string last_error;
  std::string received_at, next_attempt_at, processed_at, event_created_at, last_duplicate_at;
  int64_t latency_ms = -1;         // processed_at - received_at; -1 while unapplied
  int64_t body_bytes = 0;
  std::string body;                // raw body; only filled by get_event()
};
Json::Value to_json(const InboxEvent& e);   // body included when non-empty (as text)

struct InboxFilter {
  std::string trigger;             // exact, "" = any
  std::string status;              // pending|retry|done|dead|"failed" (= retry+dead), "" = any
  std::string booking_uid;
  int64_t coach_user_id = 0;
  std::string since, until;        // received_at bounds, "YYYY-MM-DD[ HH:MM:SS]", "" = open
  int64_t before_id = 0;           // keyset paging: rows with id < before_id (newest first)
  int limit = 50;                  // clamped to 1..500
};
struct InboxPage {
  std::vector<InboxEvent> events;  // newest first, without bodies
  int64_t next_before_id = 0;      // pass as before_id for the next page; 0 = no more
  int64_t total = 0;               // rows matching the filter (all pages)
};
InboxPage list_events(db::Db& db, const InboxFilter& f);
std::optional<InboxEvent> get_event(db::Db& db, int64_t id);   // with body

/* Replay: the event is applied again from its stored body by the next worker
 * pass (status pending, attempts 0, error cleared; its apply_count keeps
 * counting). Convergence makes a replay of an applied event harmless.
 * 404 unknown_event; 409 event_busy if a worker holds its lease. */
Status replay_event(db::Db& db, int64_t id);
/* Every dead letter back to pending; returns how many. */
int64_t replay_all_dead(db::Db& db);

/* ---------------------------------------------------------------- monitoring */

struct HourlyCount {
  std::string hour;                // "YYYY-MM-DD HH:00:00"
  std::string trigger, status;
  int64_t count = 0;
};
struct Stats {
  int hours = 24;                                 // window
  std::vector<HourlyCount> hourly;                // received per hour x trigger x current status
  std::vector<InboxEvent> recent_failures;        // newest 20 with last_error (retry or dead)
  int64_t n_pending = 0, n_retry = 0, n_dead = 0, n_done = 0;
  std::vector<InboxEvent> retry_queue;            // next 20 due (retry), soonest first
  std::vector<InboxEvent> dead_letters;           // newest 20
  int64_t signature_failures_total = 0;           // within the window
  std::vector<std::pair<std::string, int64_t>> signature_failures_hourly;  // hour -> count
  int64_t duplicates = 0;                         // duplicate deliveries within the window
  double latency_p50_ms = 0, latency_p99_ms = 0;  // received -> applied, events applied in the window
  int64_t latency_samples = 0;
  std::string last_received_at;
};
Stats stats(db::Db& db, int hours = 24);
Json::Value to_json(const Stats& s);

/* Counter increments (webhook_counters, per hour). */
void count_signature_failure(db::Db& db);

/* ---------------------------------------------------------------- management */

enum class Scope { user, platform };
std::string to_string(Scope s);                    // "user" | "platform"
std::optional<Scope> parse_scope(const std::string& s);

struct Subscription {
  int64_t id = 0;                  // ours
  std::string cal_webhook_id;      // Cal.com's (a UUID string)
  Scope scope = Scope::user;
  int64_t owner_user_id = 0;       // the coach (user scope); 0 for platform
  std::string subscriber_url;
  std::vector<std::string> triggers;
  bool active = true;
  bool is_default = false;         // made by setup_default
  bool has_secret = false;         // the secret itself is never returned
  int64_t created_by_user_id = 0;
  std::string created_at, updated_at;
  std::string last_delivery_at;    // last signed delivery verified with this secret
  int64_t n_deliveries = 0;        // approximate (counted per process, flushed every few s)
};
Json::Value to_json(const Subscription& s);

struct SubscriptionInput {
  std::optional<std::string> subscriber_url;     // required on create
  std::optional<bool> active;                    // default true on create
  std::optional<std::vector<std::string>> triggers;  // default handled_triggers() on create
  std::optional<std::string> secret;             // create: "" or absent = generate one
};
/* Validates a JSON body {subscriberUrl, active, triggers, secret} into input
 * (400 invalid_field naming the field). */
Result<SubscriptionInput> parse_subscription_input(const Json::Value& body, bool is_create);

/* Our table, newest first. owner_user_id 0 with Scope::user = every coach. */
std::vector<Subscription> list_subscriptions(db::Db& db, std::optional<Scope> scope, int64_t owner_user_id = 0);
std::optional<Subscription> find_subscription(db::Db& db, int64_t id);

/* Cal.com's own list for the scope/owner (GET /v2/webhooks as the coach, or
 * GET /v2/oauth-clients/{id}/webhooks with client credentials), each entry
 * {"calWebhookId","subscriberUrl","active","triggers","known":bool,"subscriptionId"}
 * so a page can show webhooks that exist on Cal.com but not in our table. */
Result<Json::Value> list_remote(Ctx& c, Scope scope, int64_t owner_user_id);

/* Creates the webhook on Cal.com first, then our row (secret sealed with aad
 * "webhook_subscription:<cal id>"). 400 invalid_field, cal_* errors from
 * Cal.com (409 cal_conflict when the URL is already subscribed for the owner).
 * Scope::user requires an active CalendarIntegration for the owner (404 not_connected). */
Result<Subscription> create_subscription(Ctx& c, Scope scope, int64_t owner_user_id, const SubscriptionInput& in,
                                         int64_t acting_user_id);
/* PATCHes Cal.com then our row (active, triggers, subscriberUrl; secret rotates
 * when given). 404 unknown_subscription. */
Result<Subscription> update_subscription(Ctx& c, int64_t id, const SubscriptionInput& patch);
/* DELETEs on Cal.com (a 404 there counts as gone) then our row. */
Status delete_subscription(Ctx& c, int64_t id);

/* One call, idempotent: ensures exactly one webhook for (scope, owner) with
 * subscriberUrl = receiver_url(cfg), every handled trigger, active, and a
 * secret we hold. Serialized per (scope, owner) on webhook_setup_lock. Reuses
 * an existing Cal.com webhook with our URL (adopting it with a fresh secret if
 * it is not in our table), deletes extra ones with the same URL, creates one
 * otherwise. Running it twice leaves one webhook (created=false the second
 * time). */
struct SetupOutcome {
  Subscription subscription;
  bool created = false;            // a new Cal.com webhook was made
  bool adopted = false;            // an existing Cal.com webhook taken over
  int removed_duplicates = 0;
};
Result<SetupOutcome> setup_default(Ctx& c, Scope scope, int64_t owner_user_id, int64_t acting_user_id);

/* ---------------------------------------------------------------- signing */

/* hex HMAC-SHA256 of body with secret: exactly what Cal.com sends in
 * X-Cal-Signature-256 (for the test page and the tests). */
std::string sign_body(std::string_view secret, std::string_view body);
/* With the configured cfg.cal_webhook_secret (subscription_id 0) or the
 * decrypted secret of our subscription subscription_id. 404 unknown_subscription. */
Result<std::string> sign_body_for(const Config& cfg, db::Db& db, int64_t subscription_id, std::string_view body);
/* A fresh secret: "whsec_" + 48 hex chars. */
std::string generate_secret();

}  // namespace coach::webhooks
