/* webhooks.cpp: Cal.com webhooks: receive (verify, store, ack), apply with
 * order-independent convergence of CalBooking, retry/dead letters, the inbox
 * views and stats, and subscription management through Cal.com. */
#include "webhooks.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "availability.hpp"
#include "booking_hooks.hpp"
#include "cal_integration.hpp"
#include "crypto.hpp"
#include "http.hpp"
#include "jobs.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "slot_engine.hpp"
#include "webhook_sig.hpp"

namespace coach::webhooks {

namespace {

using Clock = std::chrono::steady_clock;

/* Cal.com's WebhookTriggerEvents (reference §7.2). */
const std::vector<std::string>& all_triggers() {
  static const std::vector<std::string> v = {
      "BOOKING_CREATED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_RESCHEDULED", "BOOKING_REQUESTED",
      "BOOKING_CANCELLED", "BOOKING_REJECTED", "BOOKING_NO_SHOW_UPDATED", "FORM_SUBMITTED", "MEETING_ENDED",
      "MEETING_STARTED", "RECORDING_READY", "INSTANT_MEETING", "RECORDING_TRANSCRIPTION_GENERATED", "OOO_CREATED",
      "AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "FORM_SUBMITTED_NO_EVENT",
      "ROUTING_FORM_FALLBACK_HIT", "DELEGATION_CREDENTIAL_ERROR", "WRONG_ASSIGNMENT_REPORT"};
  return v;
}

bool is_meeting(const std::string& t) { return t == "MEETING_STARTED" || t == "MEETING_ENDED"; }

Error bad_payload(const std::string& field, const std::string& why) {
  return make_error(400, "invalid_payload", field + " " + why);
}

const Json::Value& member(const Json::Value& obj, const char* k) {
  static const Json::Value null_value;
  return obj.isObject() && obj.isMember(k) ? obj[k] : null_value;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/* "YYYY-MM-DD HH:MM:SS[.mmm]" from epoch seconds. */
std::string sql_time(int64_t secs, int ms, bool with_ms) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (with_ms) {
    ms = std::clamp(ms, 0, 999);
    out += '.';
    out += static_cast<char>('0' + ms / 100);
    out += static_cast<char>('0' + ms / 10 % 10);
    out += static_cast<char>('0' + ms % 10);
  }
  return out;
}

/* An ISO 8601 instant (any of Cal.com's three formats) as SQL UTC text. */
std::optional<std::string> iso_to_sql(const std::string& iso, bool with_ms) {
  auto t = slots::parse_iso(iso);
  if (!t) return std::nullopt;
  int ms = 0;
  if (with_ms && iso.size() > 20 && iso[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < iso.size() && digits < 3 && std::isdigit(static_cast<unsigned char>(iso[i])); ++i, ++digits)
      ms = ms * 10 + (iso[i] - '0');
    for (; digits < 3; ++digits) ms *= 10;
  }
  return sql_time(t->time_since_epoch().count(), ms, with_ms);
}

/* DATETIME(3) text from the database, normalized to 23 characters ("" stays ""). */
std::string norm_ms(const std::string& s) {
  if (s.empty()) return s;
  if (s.size() == 19) return s + ".000";
  return s.substr(0, 23);
}

/* Reads an optional/required time field into out ("" when absent). */
Status take_time(const Json::Value& obj, const char* field, const std::string& prefix, bool required,
                 std::string& out, bool with_ms = false) {
  const Json::Value& v = member(obj, field);
  if (v.isNull() || (v.isString() && v.asString().empty())) {
    if (required) return bad_payload(prefix + field, "is missing");
    return ok_status();
  }
  if (!v.isString()) return bad_payload(prefix + field, "is not a string");
  auto t = iso_to_sql(v.asString(), with_ms);
  if (!t) return bad_payload(prefix + field, "is not an ISO 8601 time");
  out = *t;
  return ok_status();
}

std::string cap(std::string s, size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

std::string status_from_cal(const std::string& s) {
  std::string u = upper(s);
  if (u == "ACCEPTED") return "accepted";
  if (u == "PENDING" || u == "AWAITING_HOST") return "pending";
  if (u == "CANCELLED") return "cancelled";
  if (u == "REJECTED") return "rejected";
  return "";
}

int status_rank(const std::string& s) {
  if (s == "pending") return 1;
  if (s == "accepted") return 2;
  if (s == "cancelled" || s == "rejected") return 3;
  return 0;  // unknown / ""
}

int payment_rank(const std::string& s) {
  if (s == "initiated") return 1;
  if (s == "paid") return 2;
  return 0;
}

/* "name+tag@host" -> "name@host" (managed users carry +<clientId>). */
std::string strip_plus(const std::string& email) {
  size_t at = email.find('@'), plus = email.find('+');
  if (at == std::string::npos || plus == std::string::npos || plus > at) return email;
  return email.substr(0, plus) + email.substr(at);
}

/* Our coach for a Cal.com organizer, or 0. */
int64_t resolve_coach(db::Db& tx, int64_t cal_user_id, const std::string& email) {
  if (cal_user_id > 0) {
    auto r = tx.query_one("SELECT user_id FROM CalendarIntegration WHERE provider IN ('cal_managed','cal_oauth2') "
                          "AND cal_user_id = ? ORDER BY status = 'active' DESC, id LIMIT 1",
                          {cal_user_id});
    if (r) return r->i64("user_id");
  }
  if (!email.empty()) {
    auto r = tx.query_one("SELECT user_id FROM CalendarIntegration WHERE cal_email = ? LIMIT 1", {email});
    if (r) return r->i64("user_id");
    r = tx.query_one("SELECT id FROM users WHERE email IN (?, ?) AND role = 'coach' ORDER BY id LIMIT 1",
                     {email, strip_plus(email)});
    if (r) return r->i64("id");
  }
  return 0;
}

void read_attendee(const Json::Value& p, BookingFacts& f) {
  const Json::Value& atts = member(p, "attendees");
  if (!atts.isArray() || atts.empty() || !atts[0].isObject()) return;
  const Json::Value& a = atts[0];
  f.attendee_email = cap(json::str(a, "email"), 254);
  f.attendee_name = cap(json::str(a, "name"), 200);
  f.attendee_time_zone = cap(json::str(a, "timeZone"), 64);
}

void read_location(const Json::Value& p, BookingFacts& f) {
  std::string loc = json::str(p, "location");
  if (loc.rfind("http://", 0) == 0 || loc.rfind("https://", 0) == 0) f.join_url = cap(loc, 1000);
  else f.location = cap(loc, 1000);
  if (f.join_url.empty()) f.join_url = cap(json::str(member(p, "videoCallData"), "url"), 1000);
  if (f.join_url.empty()) f.join_url = cap(json::str(member(p, "metadata"), "videoCallUrl"), 1000);
  if (f.join_url.empty()) {
    std::string m = json::str(p, "meetingUrl");
    if (m.rfind("http", 0) == 0) f.join_url = cap(m, 1000);
  }
}

Status take_uid(const Json::Value& p, const char* field, const std::string& prefix, std::string& out) {
  const Json::Value& v = member(p, field);
  if (!v.isString() || v.asString().empty()) return bad_payload(prefix + field, "is missing");
  if (v.asString().size() > 191) return bad_payload(prefix + field, "is too long");
  out = v.asString();
  return ok_status();
}

struct ConvergeResult {
  bool changed = false;
  int64_t coach_user_id = 0;
};

Result<ConvergeResult> converge(db::Db& tx, const BookingFacts& f) {
  if (f.uid.empty()) return bad_payload("uid", "is missing");
  if (f.uid.size() > 191) return bad_payload("uid", "is too long");
  if (!f.status.empty() && status_rank(f.status) == 0) return bad_payload("status", "is not a booking status");
  // A placeholder first, so there is always a row to lock (two first
  // observations of one uid serialize on the unique key instead of racing).
  tx.exec("INSERT IGNORE INTO CalBooking (cal_uid, status, start_utc, end_utc) VALUES (?, 'unknown', NULL, NULL)",
          {f.uid});
  auto cur = tx.query_one("SELECT * FROM CalBooking WHERE cal_uid = ? FOR UPDATE", {f.uid});
  if (!cur) throw std::runtime_error("CalBooking row vanished");

  const std::string cur_ver = norm_ms(cur->str("cal_updated_at"));
  const bool has_ver = !f.version_at.empty();
  const bool newer = has_ver && (cur_ver.empty() || f.version_at >= cur_ver);
  std::vector<std::pair<std::string, db::Param>> sets;   // what changes
  std::vector<std::pair<std::string, db::Param>> meta;   // bookkeeping only

  auto put = [&](const char* col, const std::string& val, bool overwrite) {
    if (val.empty()) return;
    const std::string c = cur->str(col);
    if (c == val) return;
    if (c.empty() || overwrite) sets.emplace_back(col, val);
  };
  auto put_i = [&](const char* col, int64_t val, bool overwrite) {
    if (val == 0) return;
    if (!cur->is_null(col) && cur->i64(col) == val) return;
    if (cur->is_null(col) || overwrite) sets.emplace_back(col, val);
  };

  // Status climbs the ladder only: terminal states stay terminal.
  if (!f.status.empty() && status_rank(f.status) > status_rank(cur->str("status"))) sets.emplace_back("status", f.status);
  // Times: the newest view wins; an older one only fills a placeholder.
  if (!f.start_utc.empty() && !f.end_utc.empty()) {
    bool empty = cur->is_null("start_utc") || cur->is_null("end_utc");
    bool differ = cur->str("start_utc").substr(0, 19) != f.start_utc || cur->str("end_utc").substr(0, 19) != f.end_utc;
    if (differ && (empty || newer)) {
      sets.emplace_back("start_utc", f.start_utc);
      sets.emplace_back("end_utc", f.end_utc);
    }
  }
  put_i("cal_booking_id", f.cal_booking_id, newer);
  put_i("cal_event_type_id", f.cal_event_type_id, newer);
  put_i("organizer_cal_user_id", f.organizer_cal_user_id, newer);
  put("organizer_email", f.organizer_email, newer);
  put("title", cap(f.title, 255), newer);
  put("attendee_email", f.attendee_email, newer);
  put("attendee_name", f.attendee_name, newer);
  put("attendee_time_zone", f.attendee_time_zone, newer);
  put("location", f.location, newer);
  put("join_url", f.join_url, newer);
  put("recording_url", f.recording_url, newer);
  // Facts that, once known, stay.
  put("rescheduled_from_uid", f.rescheduled_from_uid, false);
  put("rescheduled_to_uid", f.rescheduled_to_uid, false);
  put("cancellation_reason", cap(f.cancellation_reason, 1000), false);
  put("rejection_reason", cap(f.rejection_reason, 1000), false);
  // DATETIME(3) comes back without ".000" when the fraction is zero.
  auto put_ms = [&](const char* col, const std::string& val) {
    if (!val.empty() && cur->is_null(col)) sets.emplace_back(col, val);
  };
  put_ms("meeting_started_at", f.meeting_started_at);
  put_ms("meeting_ended_at", f.meeting_ended_at);
  if (payment_rank(f.payment_status) > payment_rank(cur->str("payment_status")))
    sets.emplace_back("payment_status", f.payment_status);
  // No-show flags can flip back (unmark): the newest no-show view wins; an
  // older one only fills a flag nobody has set yet.
  {
    const std::string nsv = norm_ms(cur->str("no_show_version_at"));
    const bool ns_newer = has_ver && (nsv.empty() || f.version_at >= nsv);
    bool touched = false;
    auto flag = [&](const char* col, const std::optional<bool>& v) {
      if (!v) return;
      const bool is_null = cur->is_null(col);
      if (!is_null && !ns_newer) return;
      touched = true;
      if (is_null || (cur->i64(col) != 0) != *v) sets.emplace_back(col, int64_t(*v ? 1 : 0));
    };
    flag("attendee_no_show", f.attendee_no_show);
    flag("host_no_show", f.host_no_show);
    if (touched && has_ver && (nsv.empty() || f.version_at > nsv)) meta.emplace_back("no_show_version_at", f.version_at);
  }
  // The coach: known from the source, else from the organizer.
  int64_t coach = f.coach_user_id_hint;
  if (!coach) {
    int64_t org_id = f.organizer_cal_user_id ? f.organizer_cal_user_id : cur->i64("organizer_cal_user_id");
    std::string org_email = !f.organizer_email.empty() ? f.organizer_email : cur->str("organizer_email");
    coach = resolve_coach(tx, org_id, org_email);
  }
  const int64_t cur_coach = cur->i64("coach_user_id");
  if (coach && coach != cur_coach && (cur_coach == 0 || newer)) sets.emplace_back("coach_user_id", coach);
  if (!coach) coach = cur_coach;

  if (newer && f.version_at != cur_ver) meta.emplace_back("cal_updated_at", f.version_at);
  if ((newer || cur->is_null("raw_json")) && !f.raw.isNull()) {
    std::string raw = json::write(f.raw);
    if (raw != cur->str("raw_json")) meta.emplace_back("raw_json", raw);
  }

  ConvergeResult out;
  out.changed = !sets.empty();
  out.coach_user_id = coach;
  if (sets.empty() && meta.empty()) return out;
  std::string sql = "UPDATE CalBooking SET ";
  std::vector<db::Param> params;
  bool first = true;
  for (auto* list : {&sets, &meta}) {
    for (auto& [col, val] : *list) {
      sql += (first ? "" : ", ") + col + " = ?";
      params.push_back(val);
      first = false;
    }
  }
  if (out.changed) {
    sql += ", n_changes = n_changes + 1, last_source = ?";
    params.emplace_back(cap(f.source, 64));
  }
  sql += " WHERE id = ?";
  params.emplace_back(cur->i64("id"));
  tx.exec(sql, params);
  if (out.changed) {
    // Every booking change invalidates the coach's cached free slots.
    if (coach) availability::bump_version(tx, coach);
    if (cur_coach && cur_coach != coach) availability::bump_version(tx, cur_coach);
  }
  return out;
}

/* ------------------------------------------------------------ applying */

struct Applied {
  std::string outcome;   // applied | stale | recorded | ignored
  int64_t coach_user_id = 0;
};

Result<Applied> apply_body(db::Db& tx, const std::string& trig, const Json::Value& body) {
  static const std::set<std::string> booking_triggers = {
      "BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED", "BOOKING_REJECTED",
      "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_NO_SHOW_UPDATED", "MEETING_STARTED", "MEETING_ENDED",
      "AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "RECORDING_READY"};
  if (trig == "PING" || trig == "FORM_SUBMITTED") return Applied{"recorded", 0};
  if (trig == "OOO_CREATED") {
    // Out of office blocks the coach's slots in Cal.com: drop cached answers.
    const Json::Value& user = member(member(member(body, "payload"), "oooEntry"), "user");
    int64_t coach = resolve_coach(tx, json::num(user, "id"), json::str(user, "email"));
    if (!coach) return Applied{"recorded", 0};
    availability::bump_version(tx, coach);
    return Applied{"applied", coach};
  }
  if (!booking_triggers.count(trig)) return Applied{"ignored", 0};
  if (trig == "RECORDING_READY") {
    const Json::Value& p = member(body, "payload");
    if (json::str(p, "uid").empty() && json::str(p, "bookingUid").empty()) return Applied{"recorded", 0};
  }
  auto facts = facts_from_webhook(body);
  if (!facts) return facts.error();
  auto r = converge(tx, *facts);
  if (!r) return r.error();
  bool changed = r->changed;
  if (trig == "BOOKING_RESCHEDULED" && !facts->rescheduled_from_uid.empty() && facts->rescheduled_from_uid != facts->uid) {
    const Json::Value& p = member(body, "payload");
    std::string old_start, old_end;
    if (auto s = take_time(p, "rescheduleStartTime", "payload.", false, old_start); !s) return s.error();
    if (auto s = take_time(p, "rescheduleEndTime", "payload.", false, old_end); !s) return s.error();
    BookingFacts old;
    old.uid = facts->rescheduled_from_uid;
    old.cal_booking_id = json::num(p, "rescheduleId");
    old.status = "cancelled";
    old.rescheduled_to_uid = facts->uid;
    old.start_utc = old_start;
    old.end_utc = old_end;
    old.version_at = facts->version_at;
    old.organizer_cal_user_id = facts->organizer_cal_user_id;
    old.organizer_email = facts->organizer_email;
    old.cal_event_type_id = facts->cal_event_type_id;
    old.source = trig;
    auto o = converge(tx, old);
    if (!o) return o.error();
    changed = changed || o->changed;
    // The old booking first: its session hands the chain over to the new uid.
    if (o->changed) booking_hooks::changed(tx, old.uid);
  }
  if (r->changed) booking_hooks::changed(tx, facts->uid);
  return Applied{changed ? "applied" : "stale", r->coach_user_id};
}

struct ApplyFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/* Records a failed apply: retry after backoff, or dead after max_attempts. */
std::string record_failure(db::Db& db, int64_t id, const std::string& worker_id, const std::string& error) {
  std::string out = "retry";
  int attempts = 0;
  const std::string err = cap(log::redact(error), 1000);
  try {
    db.transaction([&](db::Db& tx) {
      auto row = tx.query_one("SELECT status, attempts, max_attempts, locked_by, "
                              "(locked_until IS NOT NULL AND locked_until > CURRENT_TIMESTAMP(3)) AS leased "
                              "FROM webhook_inbox WHERE id = ? FOR UPDATE",
                              {id});
      if (!row) { out = "missing"; return; }
      const std::string st = row->str("status");
      if (st == "done" || st == "dead") { out = st; return; }
      if (row->i64("leased") && row->str("locked_by") != worker_id) { out = "busy"; return; }
      attempts = static_cast<int>(row->i64("attempts")) + 1;
      const bool dead = attempts >= row->i64("max_attempts");
      out = dead ? "dead" : "retry";
      tx.exec("UPDATE webhook_inbox SET status = ?, attempts = ?, next_attempt_at = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND, "
              "last_error = ?, locked_by = NULL, locked_until = NULL, "
              "processed_at = IF(? = 'dead', CURRENT_TIMESTAMP(3), processed_at) WHERE id = ?",
              {out, int64_t(attempts), int64_t(dead ? 0 : jobs::backoff_s(attempts)), err, out, id});
    });
  } catch (const std::exception& e) {
    // The row stays as it was (pending/retry); a worker tries again later.
    log::error("webhook failure not recorded", {{"event_id", std::to_string(id)}, {"what", e.what()}});
    return "pending";
  }
  log::warn(out == "dead" ? "webhook event dead" : "webhook apply failed; will retry",
            {{"event_id", std::to_string(id)}, {"attempts", std::to_string(attempts)}, {"error", err}});
  return out;
}

/* ------------------------------------------------------------ secrets */

struct SecretCache {
  std::mutex mu;
  bool valid = false;
  Clock::time_point loaded_at{};
  std::vector<KnownSecret> secrets;
};
SecretCache& secret_cache() {
  static SecretCache c;
  return c;
}
constexpr auto kSecretTtl = std::chrono::seconds(5);

/* The cached secrets, reloaded when older than kSecretTtl or when force is
 * set (the receiver forces a reload after a signature failed against a cached
 * copy: a subscription may have been created a moment ago by another process;
 * a forged request thus costs one small query, next to the counter update it
 * costs anyway). *reloaded says whether this call read the database. */
std::vector<KnownSecret> cached_secrets(const Config& cfg, db::Db& db, bool force, bool* reloaded) {
  SecretCache& c = secret_cache();
  std::lock_guard<std::mutex> lk(c.mu);
  const auto now = Clock::now();
  *reloaded = force || !c.valid || now - c.loaded_at > kSecretTtl;
  if (*reloaded) {
    c.secrets = load_secrets(cfg, db);
    c.loaded_at = now;
    c.valid = true;
  }
  return c.secrets;
}

std::string subscription_aad(const std::string& cal_webhook_id) { return "webhook_subscription:" + cal_webhook_id; }

/* Per-process, throttled "last delivery seen" for a subscription. */
void note_delivery(db::Db& db, int64_t sub_id) {
  if (!sub_id) return;
  static std::mutex mu;
  static std::map<int64_t, std::pair<Clock::time_point, int64_t>> pending;
  int64_t n = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    auto& [last, count] = pending[sub_id];
    ++count;
    const auto now = Clock::now();
    if (last != Clock::time_point{} && now - last < std::chrono::seconds(5)) return;
    last = now;
    n = count;
    count = 0;
  }
  try {
    db.exec("UPDATE webhook_subscriptions SET last_delivery_at = CURRENT_TIMESTAMP(3), n_deliveries = n_deliveries + ? "
            "WHERE id = ?",
            {n, sub_id});
  } catch (const std::exception& e) {
    log::warn("webhook delivery note failed", {{"what", e.what()}});
  }
}

bool valid_trigger_name(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) return false;
  return true;
}

/* ------------------------------------------------------------ rows */

const char* kInboxCols =
    "id, idempotency_key, trigger_event, status, outcome, booking_uid, cal_booking_id, coach_user_id, "
    "subscription_id, attempts, max_attempts, apply_count, duplicate_count, last_error, received_at, "
    "next_attempt_at, processed_at, event_created_at, last_duplicate_at, latency_ms, body_bytes";

InboxEvent event_from_row(const db::Row& r, bool with_body) {
  InboxEvent e;
  e.id = r.i64("id");
  e.idempotency_key = r.str("idempotency_key");
  e.trigger = r.str("trigger_event");
  e.status = r.str("status");
  e.outcome = r.str("outcome");
  e.booking_uid = r.str("booking_uid");
  e.cal_booking_id = r.i64("cal_booking_id");
  e.coach_user_id = r.i64("coach_user_id");
  e.subscription_id = r.i64("subscription_id");
  e.attempts = static_cast<int>(r.i64("attempts"));
  e.max_attempts = static_cast<int>(r.i64("max_attempts"));
  e.apply_count = static_cast<int>(r.i64("apply_count"));
  e.duplicate_count = static_cast<int>(r.i64("duplicate_count"));
  e.last_error = r.str("last_error");
  e.received_at = r.str("received_at");
  e.next_attempt_at = r.str("next_attempt_at");
  e.processed_at = r.str("processed_at");
  e.event_created_at = r.str("event_created_at");
  e.last_duplicate_at = r.str("last_duplicate_at");
  e.latency_ms = r.is_null("latency_ms") ? -1 : r.i64("latency_ms");
  e.body_bytes = r.i64("body_bytes");
  if (with_body) e.body = r.str("body");
  return e;
}

const char* kSubCols =
    "id, cal_webhook_id, scope, owner_user_id, subscriber_url, triggers_json, (secret_enc IS NOT NULL) AS has_secret, "
    "active, is_default, created_by_user_id, created_at, updated_at, last_delivery_at, n_deliveries";

Subscription sub_from_row(const db::Row& r) {
  Subscription s;
  s.id = r.i64("id");
  s.cal_webhook_id = r.str("cal_webhook_id");
  s.scope = r.str("scope") == "platform" ? Scope::platform : Scope::user;
  s.owner_user_id = r.i64("owner_user_id");
  s.subscriber_url = r.str("subscriber_url");
  if (auto t = json::parse(r.str("triggers_json")); t && t->isArray())
    for (const auto& x : *t)
      if (x.isString()) s.triggers.push_back(x.asString());
  s.has_secret = r.i64("has_secret") != 0;
  s.active = r.i64("active") != 0;
  s.is_default = r.i64("is_default") != 0;
  s.created_by_user_id = r.i64("created_by_user_id");
  s.created_at = r.str("created_at");
  s.updated_at = r.str("updated_at");
  s.last_delivery_at = r.str("last_delivery_at");
  s.n_deliveries = r.i64("n_deliveries");
  return s;
}

Json::Value triggers_json(const std::vector<std::string>& t) {
  Json::Value a(Json::arrayValue);
  for (const auto& x : t) a.append(x);
  return a;
}

/* ------------------------------------------------------------ Cal.com calls */

std::string webhooks_path(const Config& cfg, Scope scope) {
  return scope == Scope::platform ? "/v2/oauth-clients/" + url_encode(cfg.cal_oauth_client_id) + "/webhooks"
                                  : "/v2/webhooks";
}

Result<Json::Value> cal_call(Ctx& c, Scope scope, int64_t owner, const std::string& method, const std::string& suffix,
                             const Json::Value* body) {
  const std::string path = webhooks_path(c.cfg, scope) + suffix;
  if (scope == Scope::platform) return c.cal.call(method, path, body, "", "", true);
  return integration::call_as_coach(c.cfg, c.db, c.cal, owner, method, path, body);
}

std::string id_string(const Json::Value& v) {
  const Json::Value& id = member(v, "id");
  if (id.isString()) return id.asString();
  if (id.isInt64()) return std::to_string(id.asInt64());
  return "";
}

Result<std::vector<Json::Value>> remote_hooks(Ctx& c, Scope scope, int64_t owner) {
  auto r = cal_call(c, scope, owner, "GET", "", nullptr);
  if (!r) return r.error();
  std::vector<Json::Value> out;
  const Json::Value& data = member(*r, "data");
  if (!data.isArray()) return make_error(502, "cal_bad_response", "Cal.com's webhook list has no data array");
  for (const auto& h : data)
    if (h.isObject() && !id_string(h).empty()) out.push_back(h);
  return out;
}

Status require_owner(Ctx& c, Scope scope, int64_t owner) {
  if (scope == Scope::platform) return ok_status();
  if (owner <= 0) return make_error(400, "invalid_field", "coachId is required for a coach's webhooks");
  auto i = integration::find_by_user(c.cfg, c.db, owner);
  if (!i || i->status != "active")
    return make_error(404, "not_connected", "This coach has no active Cal.com integration");
  return ok_status();
}

int64_t insert_row(Ctx& c, const std::string& cal_id, Scope scope, int64_t owner, const std::string& url,
                   const std::vector<std::string>& triggers, const std::string& secret, bool active, bool is_default,
                   int64_t acting) {
  c.db.exec("INSERT INTO webhook_subscriptions (cal_webhook_id, scope, owner_user_id, owner_key, subscriber_url, "
            "url_sha256, triggers_json, secret_enc, active, is_default, created_by_user_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {cal_id, to_string(scope), scope == Scope::user ? db::Param(owner) : db::null(),
             scope == Scope::user ? owner : int64_t(0), url, crypto::hex_encode(crypto::sha256(url)),
             json::write(triggers_json(triggers)),
             secret.empty() ? db::null() : db::Param(crypto::seal(c.cfg.token_encryption_key, secret, subscription_aad(cal_id))),
             int64_t(active ? 1 : 0), int64_t(is_default ? 1 : 0), acting ? db::Param(acting) : db::null()});
  return static_cast<int64_t>(c.db.last_insert_id());
}

Error from_db(const db::DbError& e) { return db::to_error(e); }

}  // namespace

/* ================================================================ basics */

const std::vector<std::string>& handled_triggers() {
  static const std::vector<std::string> v = {
      "BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED", "BOOKING_REJECTED",
      "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_NO_SHOW_UPDATED", "MEETING_STARTED", "MEETING_ENDED",
      "RECORDING_READY", "FORM_SUBMITTED", "OOO_CREATED", "AFTER_HOSTS_CAL_VIDEO_NO_SHOW",
      "AFTER_GUESTS_CAL_VIDEO_NO_SHOW"};
  return v;
}

bool is_valid_trigger(const std::string& name) {
  const auto& v = all_triggers();
  return std::find(v.begin(), v.end(), name) != v.end();
}

std::string receiver_url(const Config& cfg) {
  std::string base = cfg.public_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + kReceiverPath;
}

/* ================================================================ receiving */

Result<std::string> idempotency_key(const Json::Value& body) {
  if (!body.isObject()) return make_error(400, "invalid_webhook", "The body is not a JSON object");
  const Json::Value& t = member(body, "triggerEvent");
  if (!t.isString()) return make_error(400, "invalid_webhook", "triggerEvent is missing");
  const std::string trig = t.asString();
  if (!valid_trigger_name(trig)) return make_error(400, "invalid_webhook", "triggerEvent is not a trigger name");
  if (is_meeting(trig)) {
    // Sent once per booking by Cal.com's scheduler; the body has no send time.
    const Json::Value& id = member(body, "id");
    if (id.isInt64()) return trig + ":" + std::to_string(id.asInt64());
    const Json::Value& uid = member(body, "uid");
    if (uid.isString() && !uid.asString().empty() && uid.asString().size() <= 120)
      return trig + ":uid:" + uid.asString();
  }
  Json::Value copy = body;
  copy.removeMember("createdAt");  // the send time differs between a delivery and its duplicate
  return trig + ":" + crypto::hex_encode(crypto::sha256(json::write(copy)));
}

std::vector<KnownSecret> load_secrets(const Config& cfg, db::Db& db) {
  std::vector<KnownSecret> out;
  if (!cfg.cal_webhook_secret.empty()) out.push_back(KnownSecret{0, cfg.cal_webhook_secret});
  for (const auto& r : db.query("SELECT id, cal_webhook_id, secret_enc FROM webhook_subscriptions "
                                "WHERE active = 1 AND secret_enc IS NOT NULL ORDER BY id LIMIT 10000")) {
    auto s = crypto::open(cfg.token_encryption_key, r.str("secret_enc"), subscription_aad(r.str("cal_webhook_id")));
    if (!s) {
      log::warn("webhook secret does not decrypt", {{"subscription_id", r.str("id")}});
      continue;
    }
    out.push_back(KnownSecret{r.i64("id"), *s});
  }
  return out;
}

void invalidate_secret_cache() {
  SecretCache& c = secret_cache();
  std::lock_guard<std::mutex> lk(c.mu);
  c.valid = false;
}

ReceiveOutcome receive(const Config& cfg, db::Db& db, std::string_view raw, std::string_view sig, bool apply_now) {
  ReceiveOutcome o;
  auto fail = [&](int status, const std::string& code, const std::string& msg) {
    o.http_status = status;
    o.error_code = code;
    o.error_message = msg;
    return o;
  };
  if (raw.size() > kMaxBodyBytes)
    return fail(413, "body_too_large", "Webhook body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  try {
    // 1. The signature over the exact bytes, before anything looks inside.
    std::optional<size_t> hit;
    std::vector<KnownSecret> secrets;
    if (!sig.empty()) {
      bool reloaded = false;
      for (int pass = 0; pass < 2 && !hit && !(pass == 1 && reloaded); ++pass) {
        secrets = cached_secrets(cfg, db, pass == 1, &reloaded);
        std::vector<std::string> keys;
        keys.reserve(secrets.size());
        for (const auto& s : secrets) keys.push_back(s.secret);
        hit = webhook_sig::verify_any(sig, raw, keys);
      }
    }
    if (!hit) {
      std::string ids;
      for (const auto& k : secrets) ids += (ids.empty() ? "" : ",") + std::to_string(k.subscription_id);
      try {
        count_signature_failure(db);
      } catch (const std::exception& e) {
        log::warn("signature failure not counted", {{"what", e.what()}});
      }
      log::warn("webhook signature rejected",
                {{"reason", sig.empty() ? "missing" : (sig == webhook_sig::kNoSecret ? "no-secret-provided" : "mismatch")},
                 {"bytes", std::to_string(raw.size())}, {"subscriptions_tried", ids}});
      return fail(401, "bad_signature", "Missing or wrong X-Cal-Signature-256");
    }
    o.subscription_id = secrets[*hit].subscription_id;

    // 2. Parse and key.
    auto body = json::parse(std::string(raw));
    if (!body) return fail(400, "invalid_json", "The webhook body is not JSON");
    auto key = idempotency_key(*body);
    if (!key) return fail(400, key.error().code, key.error().message);
    o.idempotency_key = *key;
    o.trigger = json::str(*body, "triggerEvent");
    const Json::Value& p = member(*body, "payload").isObject() ? member(*body, "payload") : *body;
    std::string uid = json::str(p, "uid");
    if (uid.empty()) uid = json::str(p, "bookingUid");
    int64_t booking_id = json::num(p, "bookingId");
    if (!booking_id && is_meeting(o.trigger)) booking_id = json::num(p, "id");
    std::string created_at;
    if (auto s = member(*body, "createdAt"); s.isString())
      if (auto t = iso_to_sql(s.asString(), true)) created_at = *t;

    // 3. Store (committed before we answer). A duplicate only counts.
    // One statement, committed on its own; retried on a deadlock / Galera
    // certification conflict (the key makes a repeat harmless).
    uint64_t affected = 0;
    for (int attempt = 1;; ++attempt) {
      try {
        affected = db.exec(
            "INSERT INTO webhook_inbox (idempotency_key, trigger_event, booking_uid, cal_booking_id, subscription_id, body, "
            "body_bytes, event_created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL 5 SECOND) "
            "ON DUPLICATE KEY UPDATE duplicate_count = duplicate_count + 1, last_duplicate_at = CURRENT_TIMESTAMP(3), "
            "id = LAST_INSERT_ID(id)",
            {o.idempotency_key, o.trigger, uid.empty() || uid.size() > 191 ? db::null() : db::Param(uid),
             booking_id ? db::Param(booking_id) : db::null(), o.subscription_id ? db::Param(o.subscription_id) : db::null(),
             std::string(raw), int64_t(raw.size()), created_at.empty() ? db::null() : db::Param(created_at)});
        break;
      } catch (const db::DbError& e) {
        if (!e.retryable() || attempt >= 3) throw;
      }
    }
    o.event_id = static_cast<int64_t>(db.last_insert_id());
    o.duplicate = affected != 1;
  } catch (const db::DbError& e) {
    log::error("webhook not stored", {{"code", std::to_string(e.code)}, {"what", e.what()}});
    return fail(503, "db_unavailable", "Could not store the event; try again");
  }
  note_delivery(db, o.subscription_id);
  if (o.duplicate) {
    log::info("webhook duplicate", {{"event_id", std::to_string(o.event_id)}, {"trigger", o.trigger}});
    return o;
  }
  // 4. Apply now when we can; a failure leaves it to the worker.
  o.apply_status = apply_now ? apply_event(cfg, db, o.event_id, "") : "pending";
  return o;
}

/* ================================================================ applying */

Result<BookingFacts> facts_from_webhook(const Json::Value& body) {
  if (!body.isObject()) return bad_payload("body", "is not an object");
  BookingFacts f;
  const std::string trig = json::str(body, "triggerEvent");
  f.source = trig;
  f.raw = body;
  const bool meeting = is_meeting(trig);
  const Json::Value& p = meeting ? body : member(body, "payload");
  const std::string pre = meeting ? "" : "payload.";
  if (!p.isObject()) return bad_payload("payload", "is missing or not an object");
  if (auto s = take_time(body, meeting ? "updatedAt" : "createdAt", "", false, f.version_at, true); !s) return s.error();

  if (trig == "BOOKING_NO_SHOW_UPDATED" || trig == "AFTER_HOSTS_CAL_VIDEO_NO_SHOW" ||
      trig == "AFTER_GUESTS_CAL_VIDEO_NO_SHOW") {
    if (auto s = take_uid(p, member(p, "bookingUid").isString() ? "bookingUid" : "uid", pre, f.uid); !s) return s.error();
    f.cal_booking_id = json::num(p, "bookingId");
    if (trig == "AFTER_HOSTS_CAL_VIDEO_NO_SHOW") {
      f.host_no_show = true;
    } else if (trig == "AFTER_GUESTS_CAL_VIDEO_NO_SHOW") {
      f.attendee_no_show = true;
    } else {
      const Json::Value& atts = member(p, "attendees");
      if (!atts.isArray()) return bad_payload(pre + "attendees", "is missing");
      bool any = false, seen = false;
      for (const auto& a : atts) {
        const Json::Value& ns = member(a, "noShow");
        if (!ns.isBool()) return bad_payload(pre + "attendees[].noShow", "is not a boolean");
        seen = true;
        any = any || ns.asBool();
      }
      if (seen) f.attendee_no_show = any;
    }
    return f;
  }
  if (trig == "RECORDING_READY") {
    if (auto s = take_uid(p, member(p, "uid").isString() ? "uid" : "bookingUid", pre, f.uid); !s) return s.error();
    f.cal_booking_id = json::num(p, "bookingId");
    f.recording_url = cap(json::str(p, "downloadLink"), 1000);
    return f;
  }

  // BOOKING_* (Cal.com's CalendarEvent) and MEETING_* (the Booking row).
  if (auto s = take_uid(p, "uid", pre, f.uid); !s) return s.error();
  f.cal_booking_id = meeting ? json::num(p, "id") : json::num(p, "bookingId");
  const Json::Value& st = member(p, "status");
  if (st.isString() && !st.asString().empty()) {
    f.status = status_from_cal(st.asString());
    if (f.status.empty()) return bad_payload(pre + "status", "is not a booking status");
  }
  if (trig == "BOOKING_CANCELLED") f.status = "cancelled";
  else if (trig == "BOOKING_REJECTED") f.status = "rejected";
  else if (trig == "BOOKING_REQUESTED" && f.status.empty()) f.status = "pending";
  else if ((trig == "BOOKING_CREATED" || trig == "BOOKING_RESCHEDULED") && f.status.empty()) f.status = "accepted";
  const bool need_times = trig == "BOOKING_CREATED" || trig == "BOOKING_REQUESTED" || trig == "BOOKING_RESCHEDULED" || meeting;
  if (auto s = take_time(p, "startTime", pre, need_times, f.start_utc); !s) return s.error();
  if (auto s = take_time(p, "endTime", pre, need_times, f.end_utc); !s) return s.error();
  if (!f.start_utc.empty() && !f.end_utc.empty() && f.end_utc < f.start_utc)
    return bad_payload(pre + "endTime", "is before startTime");
  f.cal_event_type_id = json::num(p, "eventTypeId");
  if (meeting) {
    f.organizer_cal_user_id = json::num(p, "userId");
    f.organizer_email = json::str(p, "userPrimaryEmail");
    if (f.organizer_email.empty()) f.organizer_email = json::str(member(p, "user"), "email");
    f.rescheduled_from_uid = cap(json::str(p, "fromReschedule"), 191);
    if (trig == "MEETING_STARTED") f.meeting_started_at = f.start_utc + ".000";
    else f.meeting_ended_at = f.end_utc + ".000";
  } else {
    const Json::Value& org = member(p, "organizer");
    f.organizer_cal_user_id = json::num(org, "id");
    f.organizer_email = json::str(org, "email");
  }
  f.organizer_email = cap(f.organizer_email, 254);
  f.title = json::str(p, "title");
  read_attendee(p, f);
  read_location(p, f);
  f.cancellation_reason = json::str(p, "cancellationReason");
  f.rejection_reason = json::str(p, "rejectionReason");
  if (trig == "BOOKING_RESCHEDULED") f.rescheduled_from_uid = cap(json::str(p, "rescheduleUid"), 191);
  if (trig == "BOOKING_PAYMENT_INITIATED") f.payment_status = "initiated";
  if (trig == "BOOKING_PAID" || (member(p, "paid").isBool() && member(p, "paid").asBool())) f.payment_status = "paid";
  return f;
}

Result<BookingFacts> facts_from_api_booking(const Json::Value& b) {
  if (!b.isObject()) return bad_payload("booking", "is not an object");
  BookingFacts f;
  f.source = "reconcile";
  f.raw = b;
  if (auto s = take_uid(b, "uid", "", f.uid); !s) return s.error();
  f.cal_booking_id = json::num(b, "id");
  f.status = status_from_cal(json::str(b, "status"));
  if (f.status.empty()) return bad_payload("status", "is not a booking status");
  if (auto s = take_time(b, "start", "", true, f.start_utc); !s) return s.error();
  if (auto s = take_time(b, "end", "", true, f.end_utc); !s) return s.error();
  if (auto s = take_time(b, "updatedAt", "", false, f.version_at, true); !s) return s.error();
  if (f.version_at.empty())
    if (auto s = take_time(b, "createdAt", "", false, f.version_at, true); !s) return s.error();
  f.cal_event_type_id = json::num(b, "eventTypeId");
  if (!f.cal_event_type_id) f.cal_event_type_id = json::num(member(b, "eventType"), "id");
  const Json::Value& hosts = member(b, "hosts");
  if (hosts.isArray() && !hosts.empty()) {
    f.organizer_cal_user_id = json::num(hosts[0], "id");
    f.organizer_email = cap(json::str(hosts[0], "email"), 254);
  }
  f.title = json::str(b, "title");
  read_attendee(b, f);
  read_location(b, f);
  f.rescheduled_from_uid = cap(json::str(b, "rescheduledFromUid"), 191);
  f.rescheduled_to_uid = cap(json::str(b, "rescheduledToUid"), 191);
  f.cancellation_reason = json::str(b, "cancellationReason");
  if (member(b, "absentHost").isBool()) f.host_no_show = member(b, "absentHost").asBool();
  const Json::Value& atts = member(b, "attendees");
  if (atts.isArray() && !atts.empty() && member(atts[0], "absent").isBool()) {
    bool any = false;
    for (const auto& a : atts) any = any || (member(a, "absent").isBool() && member(a, "absent").asBool());
    f.attendee_no_show = any;
  }
  return f;
}

Result<bool> converge_booking(db::Db& tx, const BookingFacts& facts) {
  auto r = converge(tx, facts);
  if (!r) return r.error();
  if (r->changed) booking_hooks::changed(tx, facts.uid);
  return r->changed;
}

Result<bool> mark_rescheduled(db::Db& tx, const std::string& old_uid, const std::string& new_uid,
                              const std::string& old_start_utc, const std::string& old_end_utc,
                              const std::string& version_at, int64_t organizer_cal_user_id,
                              const std::string& organizer_email) {
  BookingFacts f;
  f.uid = old_uid;
  f.status = "cancelled";
  f.rescheduled_to_uid = new_uid;
  f.start_utc = old_start_utc;
  f.end_utc = old_end_utc;
  f.version_at = version_at;
  f.organizer_cal_user_id = organizer_cal_user_id;
  f.organizer_email = organizer_email;
  f.source = "BOOKING_RESCHEDULED";
  return converge_booking(tx, f);
}

std::string apply_event(const Config& cfg, db::Db& db, int64_t id, const std::string& worker_id) {
  (void)cfg;
  std::string status_after, error;
  try {
    db.transaction([&](db::Db& tx) {
      status_after.clear();
      auto row = tx.query_one("SELECT id, status, trigger_event, body, locked_by, "
                              "(locked_until IS NOT NULL AND locked_until > CURRENT_TIMESTAMP(3)) AS leased "
                              "FROM webhook_inbox WHERE id = ? FOR UPDATE",
                              {id});
      if (!row) { status_after = "missing"; return; }
      const std::string st = row->str("status");
      if (st == "done" || st == "dead") { status_after = st; return; }
      if (row->i64("leased") && row->str("locked_by") != worker_id) { status_after = "busy"; return; }
      auto body = json::parse(row->str("body"));
      if (!body) throw ApplyFailed("invalid_json: the stored body does not parse");
      auto r = apply_body(tx, row->str("trigger_event"), *body);
      if (!r) throw ApplyFailed(r.error().code + ": " + r.error().message);
      tx.exec("UPDATE webhook_inbox SET status = 'done', outcome = ?, apply_count = apply_count + 1, "
              "attempts = attempts + 1, processed_at = CURRENT_TIMESTAMP(3), "
              "latency_ms = COALESCE(latency_ms, GREATEST(0, TIMESTAMPDIFF(MICROSECOND, received_at, CURRENT_TIMESTAMP(3)) DIV 1000)), "
              "locked_by = NULL, locked_until = NULL, last_error = NULL, coach_user_id = COALESCE(?, coach_user_id) "
              "WHERE id = ?",
              {r->outcome, r->coach_user_id ? db::Param(r->coach_user_id) : db::null(), id});
      status_after = "done";
    });
  } catch (const ApplyFailed& e) {
    error = e.what();
  } catch (const db::DbError& e) {
    error = "db_error " + std::to_string(e.code) + ": " + e.what();
  } catch (const std::exception& e) {
    error = std::string("exception: ") + e.what();
  }
  if (!error.empty()) status_after = record_failure(db, id, worker_id, error);
  return status_after;
}

int process_due(const Config& cfg, db::Db& db, const std::string& worker_id, int max_events, int lease_s) {
  std::vector<int64_t> ids;
  db.transaction([&](db::Db& tx) {
    ids.clear();
    // Due, and not leased (or the lease of a dead worker ran out).
    auto rows = tx.query("SELECT id FROM webhook_inbox WHERE status IN ('pending','retry') "
                         "AND next_attempt_at <= CURRENT_TIMESTAMP(3) "
                         "AND (locked_until IS NULL OR locked_until < CURRENT_TIMESTAMP(3)) "
                         "ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
                         {int64_t(std::max(1, max_events))});
    for (const auto& r : rows) ids.push_back(r.i64("id"));
    if (ids.empty()) return;
    std::string in = "?";
    std::vector<db::Param> params{worker_id, int64_t(lease_s)};
    params.emplace_back(ids[0]);
    for (size_t i = 1; i < ids.size(); ++i) {
      in += ",?";
      params.emplace_back(ids[i]);
    }
    tx.exec("UPDATE webhook_inbox SET locked_by = ?, locked_until = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND "
            "WHERE id IN (" + in + ")",
            params);
  });
  for (int64_t id : ids) apply_event(cfg, db, id, worker_id);
  return static_cast<int>(ids.size());
}

/* ================================================================ inbox */

Json::Value to_json(const InboxEvent& e) {
  Json::Value v;
  v["id"] = Json::Int64(e.id);
  v["idempotencyKey"] = e.idempotency_key;
  v["trigger"] = e.trigger;
  v["status"] = e.status;
  v["outcome"] = e.outcome;
  v["bookingUid"] = e.booking_uid;
  v["calBookingId"] = Json::Int64(e.cal_booking_id);
  v["coachUserId"] = Json::Int64(e.coach_user_id);
  v["subscriptionId"] = Json::Int64(e.subscription_id);
  v["attempts"] = e.attempts;
  v["maxAttempts"] = e.max_attempts;
  v["applyCount"] = e.apply_count;
  v["duplicateCount"] = e.duplicate_count;
  v["lastError"] = e.last_error;
  v["receivedAt"] = e.received_at;
  v["nextAttemptAt"] = e.next_attempt_at;
  v["processedAt"] = e.processed_at;
  v["eventCreatedAt"] = e.event_created_at;
  v["lastDuplicateAt"] = e.last_duplicate_at;
  v["latencyMs"] = Json::Int64(e.latency_ms);
  v["bodyBytes"] = Json::Int64(e.body_bytes);
  if (!e.body.empty()) v["body"] = e.body;
  return v;
}

InboxPage list_events(db::Db& db, const InboxFilter& f) {
  std::string where = " WHERE 1=1";
  std::vector<db::Param> params;
  if (!f.trigger.empty()) { where += " AND trigger_event = ?"; params.emplace_back(f.trigger); }
  if (f.status == "failed") where += " AND status IN ('retry','dead')";
  else if (!f.status.empty()) { where += " AND status = ?"; params.emplace_back(f.status); }
  if (!f.booking_uid.empty()) { where += " AND booking_uid = ?"; params.emplace_back(f.booking_uid); }
  if (f.coach_user_id) { where += " AND coach_user_id = ?"; params.emplace_back(f.coach_user_id); }
  if (!f.since.empty()) { where += " AND received_at >= ?"; params.emplace_back(f.since); }
  if (!f.until.empty()) { where += " AND received_at < ?"; params.emplace_back(f.until); }
  InboxPage page;
  page.total = db.query_one("SELECT COUNT(*) AS n FROM webhook_inbox" + where, params)->i64("n");
  const int limit = std::clamp(f.limit, 1, 500);
  std::vector<db::Param> p2 = params;
  std::string w2 = where;
  if (f.before_id > 0) { w2 += " AND id < ?"; p2.emplace_back(f.before_id); }
  p2.emplace_back(int64_t(limit + 1));
  auto rows = db.query(std::string("SELECT ") + kInboxCols + " FROM webhook_inbox" + w2 + " ORDER BY id DESC LIMIT ?", p2);
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) page.events.push_back(event_from_row(rows[i], false));
  if (rows.size() > static_cast<size_t>(limit)) page.next_before_id = page.events.back().id;
  return page;
}

std::optional<InboxEvent> get_event(db::Db& db, int64_t id) {
  auto r = db.query_one(std::string("SELECT ") + kInboxCols + ", body FROM webhook_inbox WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return event_from_row(*r, true);
}

Status replay_event(db::Db& db, int64_t id) {
  Status out = ok_status();
  db.transaction([&](db::Db& tx) {
    out = ok_status();
    auto row = tx.query_one("SELECT status, (locked_until IS NOT NULL AND locked_until > CURRENT_TIMESTAMP(3)) AS leased "
                            "FROM webhook_inbox WHERE id = ? FOR UPDATE",
                            {id});
    if (!row) { out = make_error(404, "unknown_event", "No such webhook event"); return; }
    if (row->i64("leased")) { out = make_error(409, "event_busy", "A worker is applying this event right now"); return; }
    tx.exec("UPDATE webhook_inbox SET status = 'pending', attempts = 0, last_error = NULL, outcome = NULL, "
            "next_attempt_at = CURRENT_TIMESTAMP(3), locked_by = NULL, locked_until = NULL WHERE id = ?",
            {id});
  });
  if (out) log::info("webhook event replayed", {{"event_id", std::to_string(id)}});
  return out;
}

int64_t replay_all_dead(db::Db& db) {
  auto n = db.exec("UPDATE webhook_inbox SET status = 'pending', attempts = 0, last_error = NULL, outcome = NULL, "
                   "next_attempt_at = CURRENT_TIMESTAMP(3), locked_by = NULL, locked_until = NULL WHERE status = 'dead'");
  log::info("webhook dead letters replayed", {{"count", std::to_string(n)}});
  return static_cast<int64_t>(n);
}

/* ================================================================ monitoring */

void count_signature_failure(db::Db& db) {
  db.exec("INSERT INTO webhook_counters (name, bucket_hour, n) "
          "VALUES ('signature_failure', DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00'), 1) "
          "ON DUPLICATE KEY UPDATE n = n + 1");
}

Stats stats(db::Db& db, int hours) {
  Stats s;
  s.hours = std::clamp(hours, 1, 24 * 90);
  const int64_t h = s.hours;
  for (const auto& r : db.query("SELECT DATE_FORMAT(received_at, '%Y-%m-%d %H:00:00') AS hour, trigger_event, status, "
                                "COUNT(*) AS n FROM webhook_inbox WHERE received_at >= UTC_TIMESTAMP(3) - INTERVAL ? HOUR "
                                "GROUP BY hour, trigger_event, status ORDER BY hour, trigger_event, status",
                                {h}))
    s.hourly.push_back(HourlyCount{r.str("hour"), r.str("trigger_event"), r.str("status"), r.i64("n")});
  for (const auto& r : db.query("SELECT status, COUNT(*) AS n FROM webhook_inbox GROUP BY status")) {
    const std::string st = r.str("status");
    if (st == "pending") s.n_pending = r.i64("n");
    else if (st == "retry") s.n_retry = r.i64("n");
    else if (st == "dead") s.n_dead = r.i64("n");
    else if (st == "done") s.n_done = r.i64("n");
  }
  const std::string sel = std::string("SELECT ") + kInboxCols + " FROM webhook_inbox ";
  for (const auto& r : db.query(sel + "WHERE status IN ('retry','dead') AND last_error IS NOT NULL ORDER BY id DESC LIMIT 20"))
    s.recent_failures.push_back(event_from_row(r, false));
  for (const auto& r : db.query(sel + "WHERE status = 'retry' ORDER BY next_attempt_at, id LIMIT 20"))
    s.retry_queue.push_back(event_from_row(r, false));
  for (const auto& r : db.query(sel + "WHERE status = 'dead' ORDER BY id DESC LIMIT 20"))
    s.dead_letters.push_back(event_from_row(r, false));
  for (const auto& r : db.query("SELECT DATE_FORMAT(bucket_hour, '%Y-%m-%d %H:00:00') AS hour, n FROM webhook_counters "
                                "WHERE name = 'signature_failure' AND bucket_hour >= DATE_FORMAT(UTC_TIMESTAMP() - "
                                "INTERVAL ? HOUR, '%Y-%m-%d %H:00:00') ORDER BY bucket_hour",
                                {h})) {
    s.signature_failures_hourly.emplace_back(r.str("hour"), r.i64("n"));
    s.signature_failures_total += r.i64("n");
  }
  auto agg = db.query_one("SELECT COALESCE(SUM(duplicate_count), 0) AS dups, MAX(received_at) AS last FROM webhook_inbox "
                          "WHERE received_at >= UTC_TIMESTAMP(3) - INTERVAL ? HOUR",
                          {h});
  s.duplicates = agg->i64("dups");
  s.last_received_at = agg->str("last");
  std::vector<int64_t> lat;
  for (const auto& r : db.query("SELECT latency_ms FROM webhook_inbox WHERE received_at >= UTC_TIMESTAMP(3) - INTERVAL ? HOUR "
                                "AND latency_ms IS NOT NULL ORDER BY id DESC LIMIT 50000",
                                {h}))
    lat.push_back(r.i64("latency_ms"));
  s.latency_samples = static_cast<int64_t>(lat.size());
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) {
      size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(lat.size()))) - 1;
      return static_cast<double>(lat[std::min(idx, lat.size() - 1)]);
    };
    s.latency_p50_ms = pct(0.50);
    s.latency_p99_ms = pct(0.99);
  }
  return s;
}

Json::Value to_json(const Stats& s) {
  Json::Value v;
  v["hours"] = s.hours;
  Json::Value hourly(Json::arrayValue);
  for (const auto& h : s.hourly) {
    Json::Value x;
    x["hour"] = h.hour;
    x["trigger"] = h.trigger;
    x["status"] = h.status;
    x["count"] = Json::Int64(h.count);
    hourly.append(x);
  }
  v["hourly"] = hourly;
  auto list = [](const std::vector<InboxEvent>& evs) {
    Json::Value a(Json::arrayValue);
    for (const auto& e : evs) a.append(to_json(e));
    return a;
  };
  v["recentFailures"] = list(s.recent_failures);
  v["retryQueue"] = list(s.retry_queue);
  v["deadLetters"] = list(s.dead_letters);
  Json::Value counts;
  counts["pending"] = Json::Int64(s.n_pending);
  counts["retry"] = Json::Int64(s.n_retry);
  counts["dead"] = Json::Int64(s.n_dead);
  counts["done"] = Json::Int64(s.n_done);
  v["counts"] = counts;
  Json::Value sig;
  sig["total"] = Json::Int64(s.signature_failures_total);
  Json::Value sh(Json::arrayValue);
  for (const auto& [hour, n] : s.signature_failures_hourly) {
    Json::Value x;
    x["hour"] = hour;
    x["count"] = Json::Int64(n);
    sh.append(x);
  }
  sig["hourly"] = sh;
  v["signatureFailures"] = sig;
  v["duplicates"] = Json::Int64(s.duplicates);
  Json::Value lat;
  lat["p50Ms"] = s.latency_p50_ms;
  lat["p99Ms"] = s.latency_p99_ms;
  lat["samples"] = Json::Int64(s.latency_samples);
  v["latency"] = lat;
  v["lastReceivedAt"] = s.last_received_at;
  return v;
}

/* ================================================================ management */

std::string to_string(Scope s) { return s == Scope::platform ? "platform" : "user"; }

std::optional<Scope> parse_scope(const std::string& s) {
  if (s == "user" || s.empty()) return Scope::user;
  if (s == "platform") return Scope::platform;
  return std::nullopt;
}

Json::Value to_json(const Subscription& s) {
  Json::Value v;
  v["id"] = Json::Int64(s.id);
  v["calWebhookId"] = s.cal_webhook_id;
  v["scope"] = to_string(s.scope);
  v["ownerUserId"] = Json::Int64(s.owner_user_id);
  v["subscriberUrl"] = s.subscriber_url;
  v["triggers"] = triggers_json(s.triggers);
  v["active"] = s.active;
  v["isDefault"] = s.is_default;
  v["hasSecret"] = s.has_secret;
  v["createdByUserId"] = Json::Int64(s.created_by_user_id);
  v["createdAt"] = s.created_at;
  v["updatedAt"] = s.updated_at;
  v["lastDeliveryAt"] = s.last_delivery_at;
  v["deliveries"] = Json::Int64(s.n_deliveries);
  return v;
}

Result<SubscriptionInput> parse_subscription_input(const Json::Value& body, bool is_create) {
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  SubscriptionInput in;
  const Json::Value& url = member(body, "subscriberUrl");
  if (!url.isNull()) {
    if (!url.isString()) return make_error(400, "invalid_field", "subscriberUrl must be a string");
    const std::string u = url.asString();
    if ((u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) || u.size() > 1000 || u.size() < 10)
      return make_error(400, "invalid_field", "subscriberUrl must be an http(s) URL of at most 1000 characters");
    in.subscriber_url = u;
  } else if (is_create) {
    return make_error(400, "missing_field", "subscriberUrl is required");
  }
  const Json::Value& active = member(body, "active");
  if (!active.isNull()) {
    if (!active.isBool()) return make_error(400, "invalid_field", "active must be true or false");
    in.active = active.asBool();
  }
  const Json::Value& trig = member(body, "triggers");
  if (!trig.isNull()) {
    if (!trig.isArray() || trig.empty()) return make_error(400, "invalid_field", "triggers must be a non-empty array");
    std::vector<std::string> t;
    for (const auto& x : trig) {
      if (!x.isString() || !is_valid_trigger(x.asString()))
        return make_error(400, "invalid_field", "triggers: unknown trigger " + (x.isString() ? "'" + cap(x.asString(), 64) + "'" : std::string("(not a string)")));
      if (std::find(t.begin(), t.end(), x.asString()) == t.end()) t.push_back(x.asString());
    }
    in.triggers = t;
  }
  const Json::Value& secret = member(body, "secret");
  if (!secret.isNull()) {
    if (!secret.isString() || secret.asString().size() > 200)
      return make_error(400, "invalid_field", "secret must be a string of at most 200 characters");
    in.secret = secret.asString();
  }
  return in;
}

std::vector<Subscription> list_subscriptions(db::Db& db, std::optional<Scope> scope, int64_t owner) {
  std::string sql = std::string("SELECT ") + kSubCols + " FROM webhook_subscriptions WHERE 1=1";
  std::vector<db::Param> params;
  if (scope) { sql += " AND scope = ?"; params.emplace_back(to_string(*scope)); }
  if (owner) { sql += " AND owner_user_id = ?"; params.emplace_back(owner); }
  sql += " ORDER BY id DESC LIMIT 1000";
  std::vector<Subscription> out;
  for (const auto& r : db.query(sql, params)) out.push_back(sub_from_row(r));
  return out;
}

std::optional<Subscription> find_subscription(db::Db& db, int64_t id) {
  auto r = db.query_one(std::string("SELECT ") + kSubCols + " FROM webhook_subscriptions WHERE id = ?", {id});
  if (!r) return std::nullopt;
  return sub_from_row(*r);
}

Result<Json::Value> list_remote(Ctx& c, Scope scope, int64_t owner) {
  if (auto s = require_owner(c, scope, owner); !s) return s.error();
  auto hooks = remote_hooks(c, scope, owner);
  if (!hooks) return hooks.error();
  std::map<std::string, int64_t> ours;
  for (const auto& s : list_subscriptions(c.db, scope, scope == Scope::user ? owner : 0)) ours[s.cal_webhook_id] = s.id;
  Json::Value arr(Json::arrayValue);
  for (const auto& h : *hooks) {
    Json::Value v;
    const std::string id = id_string(h);
    v["calWebhookId"] = id;
    v["subscriberUrl"] = json::str(h, "subscriberUrl");
    v["active"] = member(h, "active").isBool() ? member(h, "active").asBool() : false;
    v["triggers"] = member(h, "triggers").isArray() ? member(h, "triggers") : Json::Value(Json::arrayValue);
    auto it = ours.find(id);
    v["known"] = it != ours.end();
    v["subscriptionId"] = Json::Int64(it == ours.end() ? 0 : it->second);
    arr.append(v);
  }
  return arr;
}

Result<Subscription> create_subscription(Ctx& c, Scope scope, int64_t owner, const SubscriptionInput& in,
                                         int64_t acting) {
  if (!in.subscriber_url) return make_error(400, "missing_field", "subscriberUrl is required");
  if (auto s = require_owner(c, scope, owner); !s) return s.error();
  const std::string secret = in.secret && !in.secret->empty() ? *in.secret : generate_secret();
  const std::vector<std::string> triggers = in.triggers ? *in.triggers : handled_triggers();
  const bool active = in.active.value_or(true);
  Json::Value body;
  body["subscriberUrl"] = *in.subscriber_url;
  body["active"] = active;
  body["triggers"] = triggers_json(triggers);
  body["secret"] = secret;
  auto r = cal_call(c, scope, owner, "POST", "", &body);
  if (!r) return r.error();
  const std::string cal_id = id_string(member(*r, "data"));
  if (cal_id.empty()) return make_error(502, "cal_bad_response", "Cal.com did not return the webhook's id");
  int64_t id = 0;
  try {
    id = insert_row(c, cal_id, scope, owner, *in.subscriber_url, triggers, secret, active, false, acting);
  } catch (const db::DbError& e) {
    // Do not leave a webhook on Cal.com whose secret we failed to keep.
    (void)cal_call(c, scope, owner, "DELETE", "/" + url_encode(cal_id), nullptr);
    if (e.code == 1062) return make_error(409, "subscription_exists", "We already hold a webhook with this URL for this owner");
    return from_db(e);
  }
  invalidate_secret_cache();
  log::info("webhook created", {{"subscription_id", std::to_string(id)}, {"scope", to_string(scope)},
                                {"owner", std::to_string(owner)}, {"cal_webhook_id", cal_id}});
  return *find_subscription(c.db, id);
}

Result<Subscription> update_subscription(Ctx& c, int64_t id, const SubscriptionInput& patch) {
  auto sub = find_subscription(c.db, id);
  if (!sub) return make_error(404, "unknown_subscription", "No such webhook subscription");
  Json::Value body(Json::objectValue);
  if (patch.subscriber_url) body["subscriberUrl"] = *patch.subscriber_url;
  if (patch.active) body["active"] = *patch.active;
  if (patch.triggers) body["triggers"] = triggers_json(*patch.triggers);
  if (patch.secret && !patch.secret->empty()) body["secret"] = *patch.secret;
  if (body.empty()) return *sub;
  auto r = cal_call(c, sub->scope, sub->owner_user_id, "PATCH", "/" + url_encode(sub->cal_webhook_id), &body);
  if (!r) return r.error();
  std::string sql = "UPDATE webhook_subscriptions SET updated_at = CURRENT_TIMESTAMP(3)";
  std::vector<db::Param> params;
  if (patch.subscriber_url) {
    sql += ", subscriber_url = ?, url_sha256 = ?";
    params.emplace_back(*patch.subscriber_url);
    params.emplace_back(crypto::hex_encode(crypto::sha256(*patch.subscriber_url)));
  }
  if (patch.active) { sql += ", active = ?"; params.emplace_back(int64_t(*patch.active ? 1 : 0)); }
  if (patch.triggers) { sql += ", triggers_json = ?"; params.emplace_back(json::write(triggers_json(*patch.triggers))); }
  if (patch.secret && !patch.secret->empty()) {
    sql += ", secret_enc = ?";
    params.emplace_back(crypto::seal(c.cfg.token_encryption_key, *patch.secret, subscription_aad(sub->cal_webhook_id)));
  }
  sql += " WHERE id = ?";
  params.emplace_back(id);
  try {
    c.db.exec(sql, params);
  } catch (const db::DbError& e) {
    if (e.code == 1062) return make_error(409, "subscription_exists", "We already hold a webhook with this URL for this owner");
    return from_db(e);
  }
  invalidate_secret_cache();
  return *find_subscription(c.db, id);
}

Status delete_subscription(Ctx& c, int64_t id) {
  auto sub = find_subscription(c.db, id);
  if (!sub) return make_error(404, "unknown_subscription", "No such webhook subscription");
  auto r = cal_call(c, sub->scope, sub->owner_user_id, "DELETE", "/" + url_encode(sub->cal_webhook_id), nullptr);
  if (!r && r.error().code != "cal_not_found") return r.error();
  c.db.exec("DELETE FROM webhook_subscriptions WHERE id = ?", {id});
  invalidate_secret_cache();
  log::info("webhook deleted", {{"subscription_id", std::to_string(id)}, {"cal_webhook_id", sub->cal_webhook_id}});
  return ok_status();
}

namespace {

Result<SetupOutcome> setup_locked(Ctx& c, Scope scope, int64_t owner, int64_t acting) {
  const std::string url = receiver_url(c.cfg);
  auto hooks = remote_hooks(c, scope, owner);
  if (!hooks) return hooks.error();
  std::vector<Json::Value> same_url;
  for (const auto& h : *hooks)
    if (json::str(h, "subscriberUrl") == url) same_url.push_back(h);
  std::vector<Subscription> ours;
  for (const auto& s : list_subscriptions(c.db, scope, scope == Scope::user ? owner : 0))
    if (s.subscriber_url == url) ours.push_back(s);

  // Keep a Cal.com webhook whose secret we hold, else adopt the first one.
  int keep = -1;
  std::optional<Subscription> keep_row;
  for (size_t i = 0; i < same_url.size() && keep < 0; ++i)
    for (const auto& s : ours)
      if (s.cal_webhook_id == id_string(same_url[i]) && s.has_secret) {
        keep = static_cast<int>(i);
        keep_row = s;
        break;
      }
  if (keep < 0 && !same_url.empty()) keep = 0;
  const std::string keep_id = keep >= 0 ? id_string(same_url[static_cast<size_t>(keep)]) : "";

  SetupOutcome o;
  for (size_t i = 0; i < same_url.size(); ++i) {
    if (static_cast<int>(i) == keep) continue;
    const std::string id = id_string(same_url[i]);
    auto d = cal_call(c, scope, owner, "DELETE", "/" + url_encode(id), nullptr);
    if (!d && d.error().code != "cal_not_found") return d.error();
    ++o.removed_duplicates;
  }
  for (const auto& s : ours)
    if (s.cal_webhook_id != keep_id || !s.has_secret) c.db.exec("DELETE FROM webhook_subscriptions WHERE id = ?", {s.id});

  const auto& triggers = handled_triggers();
  Json::Value body;
  body["active"] = true;
  body["triggers"] = triggers_json(triggers);
  int64_t id = 0;
  if (keep_row) {
    auto r = cal_call(c, scope, owner, "PATCH", "/" + url_encode(keep_id), &body);
    if (!r) return r.error();
    c.db.exec("UPDATE webhook_subscriptions SET active = 1, is_default = 1, triggers_json = ? WHERE id = ?",
              {json::write(body["triggers"]), keep_row->id});
    id = keep_row->id;
  } else {
    const std::string secret = generate_secret();
    body["secret"] = secret;
    std::string cal_id = keep_id;
    if (keep >= 0) {
      auto r = cal_call(c, scope, owner, "PATCH", "/" + url_encode(keep_id), &body);
      if (!r) return r.error();
      o.adopted = true;
    } else {
      body["subscriberUrl"] = url;
      auto r = cal_call(c, scope, owner, "POST", "", &body);
      if (!r) return r.error();
      cal_id = id_string(member(*r, "data"));
      if (cal_id.empty()) return make_error(502, "cal_bad_response", "Cal.com did not return the webhook's id");
      o.created = true;
    }
    id = insert_row(c, cal_id, scope, owner, url, triggers, secret, true, true, acting);
  }
  invalidate_secret_cache();
  o.subscription = *find_subscription(c.db, id);
  log::info("webhook default setup", {{"scope", to_string(scope)}, {"owner", std::to_string(owner)},
                                      {"subscription_id", std::to_string(id)}, {"created", o.created ? "yes" : "no"},
                                      {"adopted", o.adopted ? "yes" : "no"},
                                      {"removed_duplicates", std::to_string(o.removed_duplicates)}});
  return o;
}

}  // namespace

Result<SetupOutcome> setup_default(Ctx& c, Scope scope, int64_t owner, int64_t acting) {
  if (auto s = require_owner(c, scope, owner); !s) return s.error();
  const std::string lock_key = scope == Scope::user ? "user:" + std::to_string(owner) : "platform";
  // The lock lives on a connection of its own: the work itself runs on c.db
  // (token refreshes open their own transactions there).
  db::Db lock_db(db::settings_from(c.cfg));
  std::optional<Result<SetupOutcome>> out;
  try {
    lock_db.exec("INSERT IGNORE INTO webhook_setup_lock (lock_key) VALUES (?)", {lock_key});
    lock_db.transaction([&](db::Db& lk) {
      lk.exec("UPDATE webhook_setup_lock SET n = n + 1 WHERE lock_key = ?", {lock_key});
      out = setup_locked(c, scope, owner, acting);
    });
  } catch (const db::DbError& e) {
    return from_db(e);
  }
  return *out;
}

/* ================================================================ signing */

std::string sign_body(std::string_view secret, std::string_view body) { return webhook_sig::sign(secret, body); }

Result<std::string> sign_body_for(const Config& cfg, db::Db& db, int64_t subscription_id, std::string_view body) {
  if (subscription_id == 0) return sign_body(cfg.cal_webhook_secret, body);
  auto r = db.query_one("SELECT cal_webhook_id, secret_enc FROM webhook_subscriptions WHERE id = ?", {subscription_id});
  if (!r) return make_error(404, "unknown_subscription", "No such webhook subscription");
  if (r->is_null("secret_enc")) return make_error(409, "no_secret", "This subscription has no secret");
  auto s = crypto::open(cfg.token_encryption_key, r->str("secret_enc"), subscription_aad(r->str("cal_webhook_id")));
  if (!s) return make_error(500, "decrypt_failed", "The subscription's secret does not decrypt");
  return sign_body(*s, body);
}

std::string generate_secret() { return "whsec_" + crypto::random_hex(24); }

}  // namespace coach::webhooks
