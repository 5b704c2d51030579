/* bookings.cpp: agents book coaching sessions with coaches: our slot guard
 * (booking_intents), Cal.com reservation + booking, and the one transaction
 * that records the result, bumps the slot cache and queues the e-mails. See
 * bookings.hpp for the contract. */
#include "bookings.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "availability.hpp"
#include "booking_hooks.hpp"
#include "booking_mail.hpp"
#include "cal_integration.hpp"
#include "crypto.hpp"
#include "json_util.hpp"
#include "log.hpp"
#include "payments.hpp"
#include "slot_engine.hpp"
#include "webhooks.hpp"

namespace coach::bookings {
namespace {

constexpr int kIntentTtlS = 120;        // a pending intent older than this is abandoned (crashed process)
constexpr size_t kMaxReason = 500;
constexpr size_t kMaxText = 2000;

/* ------------------------------------------------------------ time helpers */

std::string fmt_utc(slots::Instant t, const char* pattern) {
  std::time_t s = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, pattern, &tm);
  return buf;
}
std::string db_time(slots::Instant t) { return fmt_utc(t, "%Y-%m-%d %H:%M:%S"); }
std::string iso_time(slots::Instant t) { return fmt_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }
slots::Instant from_epoch(int64_t s) { return slots::Instant(std::chrono::seconds(s)); }
slots::Instant now_instant() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string sha256_hex(const std::string& s) { return crypto::hex_encode(crypto::sha256(s)); }

bool valid_key(const std::string& k) {
  if (k.empty() || k.size() > kMaxIdempotencyKey) return false;
  for (unsigned char ch : k)
    if (!std::isalnum(ch) && ch != '.' && ch != '_' && ch != ':' && ch != '-') return false;
  return true;
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                    std::tolower(static_cast<unsigned char>(b)); });
  return it != hay.end();
}

/* ------------------------------------------------------------ loading */

/* One CalBooking row with everything joined, plus what views do not show. */
struct Loaded {
  BookingView v;
  int64_t start_s = 0, end_s = 0;
  std::string start_db, end_db;           // "YYYY-MM-DD HH:MM:SS"
  std::string description;                // the session type's description (e-mails)
  bool has_meta = false;
  std::string meta_rescheduled_to;
  bool meta_cancelled = false;
  int64_t organizer_cal_user_id = 0;
  std::string organizer_email;
};

const char* kSelect =
    "SELECT b.cal_uid, b.cal_booking_id, b.status, b.title, b.location, b.join_url, b.rescheduled_from_uid, "
    "b.rescheduled_to_uid, b.cancellation_reason, b.coach_user_id, b.agent_user_id, b.cal_event_type_id, "
    "b.attendee_name, b.attendee_email, b.attendee_time_zone, b.organizer_cal_user_id, b.organizer_email, "
    "DATE_FORMAT(b.start_utc, '%Y-%m-%d %H:%i:%s') AS start_db, DATE_FORMAT(b.end_utc, '%Y-%m-%d %H:%i:%s') AS end_db, "
    "UNIX_TIMESTAMP(b.start_utc) AS start_s, UNIX_TIMESTAMP(b.end_utc) AS end_s, UNIX_TIMESTAMP() AS now_s, "
    "DATE_FORMAT(b.created_at, '%Y-%m-%dT%H:%i:%sZ') AS created_iso, "
    "DATE_FORMAT(b.updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated_iso, "
    "m.cal_uid AS m_uid, m.responses_json, m.ics_uid, m.ics_sequence, m.cancel_reason AS m_cancel_reason, "
    "m.cancelled_by, m.cancelled_at, m.attendee_time_zone AS m_tz, m.rescheduled_to_uid AS m_rescheduled_to, "
    "cu.name AS coach_name, cu.email AS coach_email, cu.time_zone AS coach_tz, "
    "au.name AS agent_name, au.email AS agent_email, au.time_zone AS agent_tz, "
    "et.title AS et_title, et.slug AS et_slug, et.description AS et_description, et.length_min, et.price_minor, "
    "et.currency, "
    "p.id AS pay_id, p.status AS pay_status, p.amount_paid_minor AS pay_paid, p.refunded_minor AS pay_refunded, "
    "p.currency AS pay_currency, p.invoice_number AS pay_invoice "
    "FROM CalBooking b LEFT JOIN booking_meta m ON m.cal_uid = b.cal_uid "
    "LEFT JOIN users cu ON cu.id = b.coach_user_id LEFT JOIN users au ON au.id = b.agent_user_id "
    "LEFT JOIN EventType et ON et.cal_event_type_id = b.cal_event_type_id "
    // The payment belongs to the reschedule chain: its root uid (issue 7).
    "LEFT JOIN payments p ON p.booking_uid = COALESCE(SUBSTRING_INDEX(m.ics_uid, '@', 1), b.cal_uid) ";

Loaded from_row(const db::Row& r) {
  Loaded l;
  BookingView& v = l.v;
  v.uid = r.str("cal_uid");
  v.cal_booking_id = r.i64("cal_booking_id");
  v.status = r.str("status");
  v.title = r.str("title");
  v.location = r.str("location");
  v.join_url = r.str("join_url");
  if (v.join_url.empty() && (v.location.rfind("http://", 0) == 0 || v.location.rfind("https://", 0) == 0))
    v.join_url = v.location;
  v.rescheduled_from_uid = r.str("rescheduled_from_uid");
  v.rescheduled_to_uid = r.str("rescheduled_to_uid");
  if (v.rescheduled_to_uid.empty()) v.rescheduled_to_uid = r.str("m_rescheduled_to");
  l.start_s = r.i64("start_s");
  l.end_s = r.i64("end_s");
  l.start_db = r.str("start_db");
  l.end_db = r.str("end_db");
  v.start_utc = iso_time(from_epoch(l.start_s));
  v.end_utc = iso_time(from_epoch(l.end_s));
  v.created_at = r.str("created_iso");
  v.updated_at = r.str("updated_iso");
  v.coach.user_id = r.i64("coach_user_id");
  v.coach.name = r.str("coach_name");
  v.coach.email = r.str("coach_email");
  v.coach.time_zone = r.str("coach_tz");
  if (v.coach.email.empty()) v.coach.email = r.str("organizer_email");
  v.agent.user_id = r.i64("agent_user_id");
  v.agent.name = r.is_null("agent_name") ? r.str("attendee_name") : r.str("agent_name");
  v.agent.email = r.is_null("agent_email") ? r.str("attendee_email") : r.str("agent_email");
  v.agent.time_zone = r.str("m_tz");
  if (v.agent.time_zone.empty()) v.agent.time_zone = r.str("attendee_time_zone");
  if (v.agent.time_zone.empty()) v.agent.time_zone = r.str("agent_tz");
  v.event_type.cal_event_type_id = r.i64("cal_event_type_id");
  v.event_type.title = r.str("et_title");
  v.event_type.slug = r.str("et_slug");
  v.event_type.length_min = static_cast<int>(r.i64("length_min"));
  if (!v.event_type.length_min && l.end_s > l.start_s) v.event_type.length_min = static_cast<int>((l.end_s - l.start_s) / 60);
  v.event_type.price_minor = r.i64("price_minor");
  if (!r.str("currency").empty()) v.event_type.currency = r.str("currency");
  l.description = r.str("et_description");
  l.has_meta = !r.is_null("m_uid");
  l.meta_rescheduled_to = r.str("m_rescheduled_to");
  l.meta_cancelled = !r.is_null("cancelled_at");
  l.organizer_cal_user_id = r.i64("organizer_cal_user_id");
  l.organizer_email = r.str("organizer_email");
  auto resp = json::parse(r.str("responses_json"));
  if (resp && resp->isObject()) v.responses = *resp;
  v.ics_uid = r.str("ics_uid");
  if (v.ics_uid.empty()) v.ics_uid = v.uid + "@" + kIcsDomain;
  v.sequence = static_cast<int>(r.i64("ics_sequence"));
  v.cancel_reason = r.str("m_cancel_reason");
  if (v.cancel_reason.empty()) v.cancel_reason = r.str("cancellation_reason");
  v.cancelled_by = r.str("cancelled_by");
  if (v.cancelled_by.empty() && (v.status == "cancelled" || v.status == "rejected") && v.rescheduled_to_uid.empty())
    v.cancelled_by = "calcom";
  const bool live = v.status == "accepted" || v.status == "pending";
  v.is_upcoming = live && l.end_s > r.i64("now_s");
  if (!r.is_null("pay_id")) {
    v.payment_status = r.str("pay_status");
    v.amount_paid_minor = r.i64("pay_paid");
    v.amount_refunded_minor = r.i64("pay_refunded");
    v.payment_currency = r.str("pay_currency");
    if (!r.is_null("pay_invoice")) v.receipt_url = "/receipts/" + r.str("pay_invoice");
  }
  return l;
}

std::optional<Loaded> load(db::Db& db, const std::string& uid) {
  auto r = db.query_one(std::string(kSelect) + "WHERE b.cal_uid = ? AND b.start_utc IS NOT NULL",
                        {uid});
  if (!r) return std::nullopt;
  Loaded l = from_row(*r);
  // Moved outside our API (no meta yet): the chain's identity is its first
  // booking's, so invites, the payment and the session stay one chain.
  if (!l.has_meta && !l.v.rescheduled_from_uid.empty())
    l.v.ics_uid = booking_hooks::chain_root(db, uid) + "@" + kIcsDomain;
  return l;
}

/* Fills the viewer-relative fields; false when viewer may not see it. */
bool apply_viewer(BookingView& v, const session::User& viewer) {
  if (v.agent.user_id == viewer.id) v.viewer_role = "agent";
  else if (v.coach.user_id == viewer.id) v.viewer_role = "coach";
  else if (viewer.is_admin()) v.viewer_role = "admin";
  else return false;
  v.can_cancel = v.is_upcoming;
  v.can_reschedule = v.is_upcoming;
  return true;
}

Result<Loaded> load_for(db::Db& db, const session::User& viewer, const std::string& uid) {
  auto l = load(db, uid);
  if (!l || !apply_viewer(l->v, viewer)) return make_error(404, "not_found", "No such booking");
  return *l;
}

/* ------------------------------------------------------------ e-mail */

booking_mail::Facts mail_facts(const Config& cfg, const Loaded& l) {
  booking_mail::Facts f;
  f.booking_uid = l.v.uid;
  f.ics_uid = l.v.ics_uid;
  f.sequence = l.v.sequence;
  f.title = l.v.event_type.title.empty() ? l.v.title : l.v.event_type.title;
  f.description = l.description;
  f.location = !l.v.join_url.empty() ? l.v.join_url : l.v.location;
  f.start = from_epoch(l.start_s);
  f.end = from_epoch(l.end_s);
  f.coach = {l.v.coach.name, l.v.coach.email, l.v.coach.time_zone.empty() ? "UTC" : l.v.coach.time_zone};
  f.agent = {l.v.agent.name, l.v.agent.email, l.v.agent.time_zone.empty() ? "UTC" : l.v.agent.time_zone};
  f.cancel_reason = l.v.cancel_reason;
  f.manage_url = cfg.public_base_url + "/my/sessions/" + l.v.uid;
  return f;
}

/* ------------------------------------------------------------ the guard */

struct IntentSpec {
  std::string kind = "create";
  int64_t agent_user_id = 0, requested_by = 0, coach_user_id = 0, cal_event_type_id = 0;
  std::string start_db, end_db;
  std::string key;        // stored form ("" = none)
  std::string hash;
  std::string from_uid;   // reschedule
};

struct Guard {
  enum Kind { fresh, replay_done, resume } kind = fresh;
  int64_t intent_id = 0;
  std::string booking_uid;        // replay_done / resume
  std::string stale_reservation;  // an earlier attempt's reservation to drop first
  std::string last_error;         // of the earlier failed attempt
};

Error slot_taken() {
  return make_error(409, "slot_taken", "This time slot was just taken; pick another one");
}

bool is_dup(const db::DbError& e, const char* key) {
  return e.code == 1062 && std::string(e.what()).find(key) != std::string::npos;
}

/* Our guard, in its own transaction: the idempotency record and the one
 * active intent per coach and start. */
Result<Guard> take_slot(db::Db& db, const IntentSpec& s) {
  std::optional<Error> failure;
  Guard g;
  try {
    db.transaction([&](db::Db& tx) {
      failure.reset();
      g = Guard{};
      std::optional<db::Row> prior;
      if (!s.key.empty())
        prior = tx.query_one("SELECT id, state, request_hash, booking_uid, reservation_uid, last_error, "
                             "expires_at < CURRENT_TIMESTAMP(3) AS expired FROM booking_intents "
                             "WHERE agent_user_id = ? AND idempotency_key = ? FOR UPDATE",
                             {s.agent_user_id, s.key});
      if (prior) {
        g.intent_id = prior->i64("id");
        if (prior->str("request_hash") != s.hash) {
          failure = make_error(409, "idempotency_conflict",
                               "This idempotency key was already used for a different request");
          return;
        }
        const std::string state = prior->str("state");
        if (state == "done") {
          g.kind = Guard::replay_done;
          g.booking_uid = prior->str("booking_uid");
          return;
        }
        if (state == "pending" && !prior->i64("expired")) {
          failure = make_error(409, "idempotency_conflict",
                               "A request with this idempotency key is still in progress; retry in a moment");
          return;
        }
        g.stale_reservation = prior->str("reservation_uid");
        g.last_error = prior->str("last_error");
        if (!prior->str("booking_uid").empty()) {
          // Cal.com booked on an earlier attempt but we could not record it.
          g.kind = Guard::resume;
          g.booking_uid = prior->str("booking_uid");
          tx.exec("UPDATE booking_intents SET state = 'pending', n_attempts = n_attempts + 1, "
                  "expires_at = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?",
                  {int64_t(kIntentTtlS), g.intent_id});
          return;
        }
      }
      // Abandoned intents (their process died) stop holding the slot.
      tx.exec("UPDATE booking_intents SET state = 'failed', active_start_utc = NULL, last_error = 'expired' "
              "WHERE coach_user_id = ? AND active_start_utc = ? AND state = 'pending' AND expires_at < CURRENT_TIMESTAMP(3)",
              {s.coach_user_id, s.start_db});
      const std::string ignore_uid = s.from_uid.empty() ? "-" : s.from_uid;
      if (tx.query_one("SELECT cal_uid FROM CalBooking WHERE coach_user_id = ? AND status IN ('accepted','pending') "
                       "AND start_utc < ? AND end_utc > ? AND cal_uid <> ? LIMIT 1",
                       {s.coach_user_id, s.end_db, s.start_db, ignore_uid})) {
        failure = slot_taken();
        return;
      }
      if (prior) {
        tx.exec("UPDATE booking_intents SET state = 'pending', active_start_utc = ?, reservation_uid = NULL, "
                "last_error = NULL, n_attempts = n_attempts + 1, requested_by_user_id = ?, "
                "expires_at = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?",
                {s.start_db, s.requested_by, int64_t(kIntentTtlS), g.intent_id});
        return;
      }
      tx.exec("INSERT INTO booking_intents (kind, agent_user_id, requested_by_user_id, coach_user_id, "
              "cal_event_type_id, start_utc, end_utc, active_start_utc, idempotency_key, request_hash, from_uid, "
              "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND)",
              {s.kind, s.agent_user_id, s.requested_by, s.coach_user_id, s.cal_event_type_id, s.start_db, s.end_db,
               s.start_db, s.key.empty() ? db::null() : db::Param(s.key), s.hash,
               s.from_uid.empty() ? db::null() : db::Param(s.from_uid), int64_t(kIntentTtlS)});
      g.intent_id = static_cast<int64_t>(tx.last_insert_id());
    });
  } catch (const db::DbError& e) {
    if (is_dup(e, "uq_intent_slot")) return slot_taken();
    if (is_dup(e, "uq_intent_key"))
      return make_error(409, "idempotency_conflict",
                        "A request with this idempotency key is still in progress; retry in a moment");
    throw;
  }
  if (failure) return *failure;
  return g;
}

/* The intent gives up its slot (Cal.com refused or failed): nothing else was
 * written, so the same key may be retried. */
void release_intent(db::Db& db, int64_t intent_id, const Error& why) {
  if (!intent_id) return;
  try {
    db.exec("UPDATE booking_intents SET state = 'failed', active_start_utc = NULL, last_error = ? "
            "WHERE id = ? AND state = 'pending'",
            {(why.code + ": " + why.message).substr(0, 500), intent_id});
  } catch (const db::DbError& e) {
    // It expires on its own after kIntentTtlS.
    log::error("bookings: could not release intent", {{"intent", std::to_string(intent_id)}, {"what", e.what()}});
  }
}

/* ------------------------------------------------------------ Cal.com */

/* Soft hold on the slot. Returns the reservation uid ("" when Cal.com could
 * not be asked: reservations are advisory, the booking call decides), or 409
 * slot_taken when Cal.com answers 422 (already booked or reserved). */
Result<std::string> reserve_slot(Ctx& c, int64_t cal_event_type_id, const std::string& start_iso) {
  std::vector<calcom::Exchange> ex;
  calcom::Client rc(calcom::settings_from(c.cfg), &ex);
  Json::Value body;
  body["eventTypeId"] = Json::Int64(cal_event_type_id);
  body["slotStart"] = start_iso;
  auto r = rc.call("POST", "/v2/slots/reservations", &body, "", kReservationsApiVersion);
  if (r) return json::str((*r)["data"], "reservationUid");
  if (!ex.empty() && ex.back().status == 422) return slot_taken();
  log::warn("bookings: slot reservation failed, booking without it", {{"code", r.error().code}});
  return std::string();
}

void drop_reservation(Ctx& c, const std::string& reservation_uid) {
  if (reservation_uid.empty()) return;
  auto r = c.cal.call("DELETE", "/v2/slots/reservations/" + url_encode(reservation_uid), nullptr, "",
                      kReservationsApiVersion);
  if (!r && r.error().code != "cal_not_found")
    log::warn("bookings: could not delete reservation", {{"reservation", reservation_uid}, {"code", r.error().code}});
}

/* Cal.com's booking errors in our terms. */
Error map_booking_error(const Error& e) {
  if (e.code == "cal_unreachable" || e.code == "cal_unavailable" || e.code == "cal_bad_response")
    return make_error(502, "upstream_unavailable", "Cal.com is not answering right now; nothing was booked, try again");
  if (e.code == "cal_not_found") return make_error(404, "unknown_event_type", "Cal.com does not know this session type");
  if (contains_ci(e.message, "not available") || contains_ci(e.message, "already has booking") ||
      contains_ci(e.message, "already reserved") || contains_ci(e.message, "already booked"))
    return slot_taken();
  if (contains_ci(e.message, "in the past")) return make_error(400, "invalid_time", "That time is in the past");
  if (contains_ci(e.message, "too soon") || contains_ci(e.message, "can't be booked at"))
    return make_error(400, "slot_unavailable", "That time can no longer be booked (too soon or too far ahead)");
  if (e.code == "cal_unauthorized" || e.code == "cal_token_expired" || e.code == "cal_forbidden")
    return make_error(502, "upstream_unavailable", "Cal.com refused our credentials; try again later");
  return make_error(400, "booking_rejected", "Cal.com refused the booking: " + e.message.substr(0, 300));
}

bool is_ambiguous(const std::string& last_error) {
  return last_error.rfind("upstream_unavailable", 0) == 0 || last_error == "expired";
}

/* After an attempt whose outcome we never learned (timeout, crash), the
 * booking may exist on Cal.com: look for the one carrying our intent id. */
std::optional<Json::Value> find_booked_for_intent(Ctx& c, int64_t coach_user_id, int64_t intent_id,
                                                  const std::string& attendee_email, slots::Instant start,
                                                  slots::Instant end) {
  std::string path = "/v2/bookings?afterStart=" + url_encode(iso_time(start - std::chrono::seconds(1))) +
                     "&beforeEnd=" + url_encode(iso_time(end + std::chrono::seconds(1))) +
                     "&attendeeEmail=" + url_encode(attendee_email) + "&take=50";
  auto r = integration::call_as_coach(c.cfg, c.db, c.cal, coach_user_id, "GET", path, nullptr, kBookingsApiVersion);
  if (!r || !(*r)["data"].isArray()) return std::nullopt;
  for (const auto& b : (*r)["data"]) {
    const Json::Value& md = b["metadata"];
    if (md.isObject() && json::str(md, "marketplaceIntentId") == std::to_string(intent_id) &&
        json::str(b, "status") != "cancelled" && json::str(b, "status") != "rejected")
      return b;
  }
  return std::nullopt;
}

Result<Json::Value> get_cal_booking(Ctx& c, const std::string& uid) {
  auto r = c.cal.call("GET", "/v2/bookings/" + url_encode(uid), nullptr, "", kBookingsApiVersion);
  if (!r) return r.error();
  return (*r)["data"];
}

/* Remembers Cal.com's uid on the intent before the big transaction, so a
 * retry can finish recording instead of booking twice. Best effort. */
void note_booked(db::Db& db, int64_t intent_id, const std::string& uid) {
  try {
    db.exec("UPDATE booking_intents SET booking_uid = ? WHERE id = ?", {uid, intent_id});
  } catch (const db::DbError& e) {
    log::error("bookings: could not note the booked uid", {{"uid", uid}, {"what", e.what()}});
  }
}

/* ------------------------------------------------------------ recording */

/* Inside tx: the CalBooking row converged from Cal.com's answer, with our
 * agent and coach set. */
Status converge_from_api(db::Db& tx, const Json::Value& data, int64_t coach_user_id, int64_t agent_user_id,
                         webhooks::BookingFacts* out) {
  auto facts = webhooks::facts_from_api_booking(data);
  if (!facts) return facts.error();
  facts->source = "api";
  facts->coach_user_id_hint = coach_user_id;
  auto conv = webhooks::converge_booking(tx, *facts);
  if (!conv) return conv.error();
  tx.exec("UPDATE CalBooking SET coach_user_id = ?, agent_user_id = COALESCE(?, agent_user_id) WHERE cal_uid = ?",
          {coach_user_id, agent_user_id ? db::Param(agent_user_id) : db::null(), facts->uid});
  if (out) *out = *facts;
  return ok_status();
}

/* One transaction: CalBooking, booking_meta, intent done, cache version,
 * e-mails (created). */
Result<Loaded> record_created(Ctx& c, int64_t intent_id, const Json::Value& data, int64_t coach_user_id,
                              int64_t agent_user_id, int64_t cal_event_type_id, const std::string& time_zone,
                              const Json::Value& responses,
                              const std::function<void(db::Db&, const std::string&)>& in_tx = nullptr) {
  std::optional<Error> failure;
  std::optional<Loaded> out;
  c.db.transaction([&](db::Db& tx) {
    failure.reset();
    out.reset();
    webhooks::BookingFacts facts;
    auto st = converge_from_api(tx, data, coach_user_id, agent_user_id, &facts);
    if (!st) {
      failure = st.error();
      return;
    }
    tx.exec("INSERT IGNORE INTO booking_meta (cal_uid, intent_id, agent_user_id, coach_user_id, cal_event_type_id, "
            "attendee_time_zone, responses_json, ics_uid, ics_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            {facts.uid, intent_id, agent_user_id, coach_user_id, cal_event_type_id, time_zone, json::write(responses),
             facts.uid + "@" + kIcsDomain});
    tx.exec("UPDATE booking_intents SET state = 'done', active_start_utc = NULL, booking_uid = ?, last_error = NULL "
            "WHERE id = ?",
            {facts.uid, intent_id});
    availability::bump_version(tx, coach_user_id);
    booking_hooks::changed(tx, facts.uid);
    if (in_tx) in_tx(tx, facts.uid);
    auto l = load(tx, facts.uid);
    if (!l) {
      failure = make_error(500, "internal", "The booking row vanished while recording it");
      return;
    }
    booking_mail::enqueue(tx, mail_facts(c.cfg, *l), booking_mail::Change::created);
    out = l;
  });
  if (failure) return *failure;
  return *out;
}

/* ------------------------------------------------------------ validation */

bool is_email(const std::string& s) {
  auto at = s.find('@');
  return at != std::string::npos && at > 0 && s.find('.', at) != std::string::npos && s.size() <= 254 &&
         s.find(' ') == std::string::npos;
}

bool in_options(const Json::Value& field, const std::string& v) {
  const Json::Value& opts = field["options"];
  if (!opts.isArray() || opts.empty()) return true;
  for (const auto& o : opts) {
    if (o.isString() && o.asString() == v) return true;
    if (o.isObject() && (json::str(o, "value") == v || json::str(o, "label") == v)) return true;
  }
  return false;
}

Error bad_response(const std::string& slug, const std::string& why) {
  return make_error(400, "invalid_responses", "responses." + slug + ": " + why);
}

}  // namespace

/* ================================================================= public */

Json::Value to_json(const BookingView& b) {
  auto s = [](const std::string& v) { return v.empty() ? Json::Value() : Json::Value(v); };
  auto person = [&](const PersonView& p) {
    Json::Value j;
    j["userId"] = p.user_id ? Json::Value(Json::Int64(p.user_id)) : Json::Value();
    j["name"] = s(p.name);
    j["email"] = s(p.email);
    j["timeZone"] = s(p.time_zone);
    return j;
  };
  Json::Value j;
  j["uid"] = b.uid;
  j["calBookingId"] = b.cal_booking_id ? Json::Value(Json::Int64(b.cal_booking_id)) : Json::Value();
  j["status"] = b.status;
  j["startUtc"] = b.start_utc;
  j["endUtc"] = b.end_utc;
  j["title"] = s(b.title);
  j["coach"] = person(b.coach);
  j["agent"] = person(b.agent);
  Json::Value et;
  et["id"] = Json::Int64(b.event_type.cal_event_type_id);
  et["title"] = s(b.event_type.title);
  et["slug"] = s(b.event_type.slug);
  et["lengthInMinutes"] = b.event_type.length_min;
  et["priceMinor"] = Json::Int64(b.event_type.price_minor);
  et["currency"] = b.event_type.currency;
  j["eventType"] = et;
  j["location"] = s(b.location);
  j["joinUrl"] = s(b.join_url);
  j["rescheduledFromUid"] = s(b.rescheduled_from_uid);
  j["rescheduledToUid"] = s(b.rescheduled_to_uid);
  j["cancelReason"] = s(b.cancel_reason);
  j["cancelledBy"] = s(b.cancelled_by);
  j["responses"] = b.responses;
  j["icsUid"] = b.ics_uid;
  j["sequence"] = b.sequence;
  j["createdAt"] = s(b.created_at);
  j["updatedAt"] = s(b.updated_at);
  j["viewerRole"] = s(b.viewer_role);
  j["isUpcoming"] = b.is_upcoming;
  j["canCancel"] = b.can_cancel;
  j["canReschedule"] = b.can_reschedule;
  if (b.payment_status.empty()) {
    j["payment"] = Json::Value();
  } else {
    Json::Value p;
    p["status"] = b.payment_status;
    p["amountPaidMinor"] = Json::Int64(b.amount_paid_minor);
    p["amountRefundedMinor"] = Json::Int64(b.amount_refunded_minor);
    p["currency"] = b.payment_currency;
    p["receiptUrl"] = s(b.receipt_url);
    j["payment"] = p;
  }
  return j;
}

Result<CreateInput> parse_create(const Json::Value& body, const std::string& header_key) {
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  CreateInput in;
  auto id_field = [&](const char* name, int64_t* out) -> std::optional<Error> {
    const Json::Value& v = body[name];
    if (v.isNull()) return make_error(400, "missing_field", std::string("Missing '") + name + "'");
    if (v.isInt64() && v.asInt64() > 0) {
      *out = v.asInt64();
      return std::nullopt;
    }
    if (v.isString()) {
      const std::string t = v.asString();
      if (!t.empty() && t.size() < 19 && std::all_of(t.begin(), t.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
        *out = std::stoll(t);
        if (*out > 0) return std::nullopt;
      }
    }
    return make_error(400, "invalid_field", std::string("'") + name + "' must be a positive number");
  };
  if (auto e = id_field("coachId", &in.coach_user_id)) return *e;
  if (auto e = id_field("eventTypeId", &in.cal_event_type_id)) return *e;
  if (body["start"].isNull()) return make_error(400, "missing_field", "Missing 'start' (an ISO 8601 time)");
  if (!body["start"].isString() || !slots::parse_iso(body["start"].asString()))
    return make_error(400, "invalid_time", "'start' must be an ISO 8601 time with an offset, e.g. 2030-01-07T09:00:00Z");
  in.start = body["start"].asString();
  if (body["timeZone"].isNull()) return make_error(400, "missing_field", "Missing 'timeZone' (your IANA time zone)");
  if (!body["timeZone"].isString() || !slots::is_valid_zone(body["timeZone"].asString()))
    return make_error(400, "invalid_time_zone", "'timeZone' must be an IANA time zone such as Europe/London");
  in.time_zone = body["timeZone"].asString();
  if (!body["responses"].isNull()) {
    if (!body["responses"].isObject()) return make_error(400, "invalid_field", "'responses' must be an object {slug: value}");
    in.responses = body["responses"];
  }
  std::string body_key;
  if (!body["idempotencyKey"].isNull()) {
    if (!body["idempotencyKey"].isString() || !valid_key(body["idempotencyKey"].asString()))
      return make_error(400, "invalid_field", "'idempotencyKey' must be 1-120 characters of A-Z a-z 0-9 . _ : -");
    body_key = body["idempotencyKey"].asString();
  }
  if (!header_key.empty() && !valid_key(header_key))
    return make_error(400, "invalid_field", "The Idempotency-Key header must be 1-120 characters of A-Z a-z 0-9 . _ : -");
  if (!body_key.empty() && !header_key.empty() && body_key != header_key)
    return make_error(400, "invalid_field", "'idempotencyKey' and the Idempotency-Key header differ");
  in.idempotency_key = body_key.empty() ? header_key : body_key;
  return in;
}

Status validate_responses(const Json::Value& booking_fields, const Json::Value& responses) {
  if (!responses.isObject()) return make_error(400, "invalid_responses", "responses must be an object {slug: value}");
  std::map<std::string, const Json::Value*> fields;
  if (booking_fields.isArray())
    for (const auto& f : booking_fields)
      if (f.isObject() && !(f["isDefault"].isBool() && f["isDefault"].asBool())) fields[json::str(f, "slug")] = &f;
  for (const auto& slug : responses.getMemberNames()) {
    const Json::Value& v = responses[slug];
    if (slug == "notes") {
      if (!v.isString() || v.asString().size() > kMaxText) return bad_response(slug, "must be text (at most 2000 characters)");
      continue;
    }
    auto it = fields.find(slug);
    if (it == fields.end()) return bad_response(slug, "this session type has no such question");
    const Json::Value& f = *it->second;
    const std::string type = json::str(f, "type");
    if (v.isNull()) continue;
    if (type == "number") {
      if (!v.isNumeric()) return bad_response(slug, "must be a number");
    } else if (type == "boolean") {
      if (!v.isBool()) return bad_response(slug, "must be true or false");
    } else if (type == "multiselect" || type == "checkbox" || type == "multiemail") {
      if (!v.isArray()) return bad_response(slug, "must be a list");
      for (const auto& x : v) {
        if (!x.isString()) return bad_response(slug, "must be a list of strings");
        if (type == "multiemail" && !is_email(x.asString())) return bad_response(slug, "must be a list of e-mail addresses");
        if (type != "multiemail" && !in_options(f, x.asString())) return bad_response(slug, "'" + x.asString() + "' is not one of the options");
      }
    } else {
      if (!v.isString()) return bad_response(slug, "must be text");
      const std::string s = v.asString();
      if (s.size() > kMaxText) return bad_response(slug, "is too long (at most 2000 characters)");
      if ((type == "select" || type == "radio") && !s.empty() && !in_options(f, s))
        return bad_response(slug, "'" + s + "' is not one of the options");
      if (type == "url" && !s.empty() && s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0)
        return bad_response(slug, "must be a http(s) URL");
      if (type == "phone" && !s.empty()) {
        int digits = 0;
        for (unsigned char ch : s) {
          if (std::isdigit(ch)) ++digits;
          else if (ch != '+' && ch != ' ' && ch != '-' && ch != '(' && ch != ')' && ch != '.')
            return bad_response(slug, "must be a phone number");
        }
        if (digits < 5) return bad_response(slug, "must be a phone number");
      }
    }
  }
  for (const auto& [slug, fp] : fields) {
    const Json::Value& f = *fp;
    if (!f["required"].asBool() || (f["hidden"].isBool() && f["hidden"].asBool())) continue;
    const Json::Value& v = responses[slug];
    bool missing = v.isNull() || (v.isString() && v.asString().find_first_not_of(" \t\r\n") == std::string::npos) ||
                   (v.isArray() && v.empty());
    if (missing) {
      std::string label = json::str(f, "label");
      return make_error(400, "invalid_responses",
                        "responses." + slug + " is required" + (label.empty() ? "" : " (\"" + label + "\")"));
    }
  }
  return ok_status();
}

Json::Value fresh_slots_for_day(Ctx& c, int64_t coach_user_id, int64_t cal_event_type_id, const std::string& start,
                                const std::string& time_zone) {
  Json::Value out;
  out["days"] = Json::Value(Json::arrayValue);
  auto t = slots::parse_iso(start);
  if (!t) return out;
  const std::string zone = slots::is_valid_zone(time_zone) ? time_zone : "UTC";
  const std::string day = slots::local_date(*t, zone);
  availability::Ctx ac{c.cfg, c.db, c.cal};
  availability::SlotQuery q;
  q.coach_user_id = coach_user_id;
  q.cal_event_type_id = cal_event_type_id;
  q.start = day;
  q.end = day;
  q.time_zone = zone;
  Result<availability::SlotAnswer> a = make_error(500, "x", "x");
  try {
    a = availability::free_slots(ac, q);
  } catch (const std::exception& e) {
    log::warn("bookings: fresh slots failed", {{"what", e.what()}});
    return out;
  }
  if (!a) return out;
  // Starts someone is booking right now are not on offer either.
  std::set<int64_t> held;
  try {
    for (const auto& r : c.db.query("SELECT UNIX_TIMESTAMP(active_start_utc) AS s FROM booking_intents "
                                    "WHERE coach_user_id = ? AND active_start_utc IS NOT NULL "
                                    "AND expires_at > CURRENT_TIMESTAMP(3)",
                                    {coach_user_id}))
      held.insert(r.i64("s"));
  } catch (const db::DbError&) {
  }
  Json::Value days(Json::arrayValue);
  for (const auto& d : a->days) {
    Json::Value nd = d;
    nd["slots"] = Json::Value(Json::arrayValue);
    for (const auto& s : d["slots"]) {
      auto st = slots::parse_iso(json::str(s, "start"));
      if (st && held.count(st->time_since_epoch().count())) continue;
      nd["slots"].append(s);
    }
    if (!nd["slots"].empty()) days.append(nd);
  }
  out["date"] = day;
  out["timeZone"] = zone;
  out["days"] = days;
  out["source"] = a->source;
  out["degraded"] = a->degraded;
  return out;
}

Result<CreateOutcome> create_booking(Ctx& c, const session::User& agent, const CreateInput& in) {
  // 1. Validate everything before writing anything.
  auto coach = c.db.query_one("SELECT u.id FROM users u JOIN CalendarIntegration ci ON ci.user_id = u.id "
                              "WHERE u.id = ? AND u.role = 'coach' AND ci.status = 'active'",
                              {in.coach_user_id});
  if (!coach) return make_error(404, "unknown_coach", "No bookable coach with id " + std::to_string(in.coach_user_id));
  if (in.coach_user_id == agent.id) return make_error(400, "cannot_book_self", "You cannot book a session with yourself");
  auto et = availability::find_event_type(c.db, in.cal_event_type_id);
  if (!et || et->user_id != in.coach_user_id || et->hidden)
    return make_error(404, "unknown_event_type", "This coach has no session type " + std::to_string(in.cal_event_type_id));
  auto start = slots::parse_iso(in.start);
  if (!start) return make_error(400, "invalid_time", "'start' must be an ISO 8601 time with an offset");
  if (*start <= now_instant()) return make_error(400, "invalid_time", "'start' is in the past");
  if (!slots::is_valid_zone(in.time_zone)) return make_error(400, "invalid_time_zone", "Unknown time zone '" + in.time_zone + "'");
  if (auto v = validate_responses(et->booking_fields, in.responses); !v) return v.error();
  if (!in.idempotency_key.empty() && !valid_key(in.idempotency_key))
    return make_error(400, "invalid_field", "'idempotencyKey' must be 1-120 characters of A-Z a-z 0-9 . _ : -");
  const slots::Instant end = *start + std::chrono::minutes(et->length_min);

  IntentSpec spec;
  spec.agent_user_id = agent.id;
  spec.requested_by = agent.id;
  spec.coach_user_id = in.coach_user_id;
  spec.cal_event_type_id = in.cal_event_type_id;
  spec.start_db = db_time(*start);
  spec.end_db = db_time(end);
  spec.key = in.idempotency_key;
  spec.hash = sha256_hex("create\n" + std::to_string(in.coach_user_id) + "\n" + std::to_string(in.cal_event_type_id) +
                         "\n" + spec.start_db + "\n" + in.time_zone + "\n" + json::write(in.responses));

  const bool priced = et->price_minor > 0;
  // A retried priced create whose checkout is still open gets that checkout.
  if (priced && !spec.key.empty()) {
    auto prior = c.db.query_one("SELECT id, state, request_hash FROM booking_intents WHERE agent_user_id = ? "
                                "AND idempotency_key = ?",
                                {agent.id, spec.key});
    if (prior && prior->str("request_hash") == spec.hash && prior->str("state") == "pending") {
      if (auto co = payments::open_checkout_for_intent(c.db, prior->i64("id"))) {
        CreateOutcome o;
        o.created = false;
        o.payment_required = true;
        o.payment_id = co->payment_id;
        o.checkout_url = co->checkout_url;
        o.checkout_session_id = co->session_id;
        o.checkout_expires_at = co->expires_at;
        o.payment_status = co->status;
        return o;
      }
    }
  }

  // 2. Our guard (own transaction).
  auto g = take_slot(c.db, spec);
  if (!g) return g.error();
  if (g->kind == Guard::replay_done) {
    auto l = load(c.db, g->booking_uid);
    if (!l) return make_error(409, "idempotency_conflict", "The booking of this idempotency key is not recorded yet; retry");
    apply_viewer(l->v, agent);
    CreateOutcome o;
    o.booking = l->v;
    o.created = false;
    return o;
  }
  drop_reservation(c, g->stale_reservation);

  if (priced) {
    // Issue 7: hold the slot while the agent pays; the booking is made when
    // Stripe reports the payment (payments.hpp, finalize_paid_intent).
    if (g->kind == Guard::resume)
      return make_error(409, "idempotency_conflict", "This booking is being confirmed; check My sessions in a moment");
    auto res = reserve_slot(c, in.cal_event_type_id, iso_time(*start));
    if (!res) {
      release_intent(c.db, g->intent_id, res.error());
      return res.error();
    }
    const std::string reservation = *res;
    if (!reservation.empty()) {
      try {
        c.db.exec("UPDATE booking_intents SET reservation_uid = ? WHERE id = ?", {reservation, g->intent_id});
      } catch (const db::DbError&) {
      }
    }
    auto attempt_row = c.db.query_one("SELECT n_attempts FROM booking_intents WHERE id = ?", {g->intent_id});
    auto coach_row = c.db.query_one("SELECT name FROM users WHERE id = ?", {in.coach_user_id});
    payments::CheckoutInput ci;
    ci.intent_id = g->intent_id;
    ci.attempt = attempt_row ? attempt_row->i64("n_attempts", 1) : 1;
    ci.agent = &agent;
    ci.coach_user_id = in.coach_user_id;
    ci.coach_name = coach_row ? coach_row->str("name") : "your coach";
    ci.cal_event_type_id = in.cal_event_type_id;
    ci.title = et->title;
    ci.length_min = et->length_min;
    ci.price_minor = et->price_minor;
    ci.currency = et->currency;
    ci.start_db = spec.start_db;
    ci.end_db = spec.end_db;
    ci.time_zone = in.time_zone;
    ci.responses = in.responses;
    auto co = payments::start_checkout(c.cfg, c.db, ci);
    if (!co) {
      release_intent(c.db, g->intent_id, co.error());
      drop_reservation(c, reservation);
      return co.error();
    }
    CreateOutcome o;
    o.payment_required = true;
    o.payment_id = co->payment_id;
    o.checkout_url = co->checkout_url;
    o.checkout_session_id = co->session_id;
    o.checkout_expires_at = co->expires_at;
    o.payment_status = co->status;
    return o;
  }

  // 3. Resume an attempt whose booking exists on Cal.com but was not recorded.
  std::optional<Json::Value> booked;
  if (g->kind == Guard::resume) {
    auto b = get_cal_booking(c, g->booking_uid);
    if (!b) {
      Error e = map_booking_error(b.error());
      if (e.http_status != 502) release_intent(c.db, g->intent_id, e);
      return e;
    }
    booked = *b;
  } else if (is_ambiguous(g->last_error)) {
    booked = find_booked_for_intent(c, in.coach_user_id, g->intent_id, agent.email, *start, end);
  }

  std::string reservation;
  if (!booked) {
    // 4. Soft hold, then the booking.
    auto res = reserve_slot(c, in.cal_event_type_id, iso_time(*start));
    if (!res) {
      release_intent(c.db, g->intent_id, res.error());
      return res.error();
    }
    reservation = *res;
    if (!reservation.empty()) {
      try {
        c.db.exec("UPDATE booking_intents SET reservation_uid = ? WHERE id = ?", {reservation, g->intent_id});
      } catch (const db::DbError&) {
      }
    }
    Json::Value body;
    body["start"] = iso_time(*start);
    body["eventTypeId"] = Json::Int64(in.cal_event_type_id);
    body["attendee"]["name"] = agent.name.empty() ? agent.email : agent.name;
    body["attendee"]["email"] = agent.email;
    body["attendee"]["timeZone"] = in.time_zone;
    body["attendee"]["language"] = "en";
    if (!in.responses.empty()) body["bookingFieldsResponses"] = in.responses;
    body["metadata"]["marketplaceAgentId"] = std::to_string(agent.id);
    body["metadata"]["marketplaceIntentId"] = std::to_string(g->intent_id);
    auto r = c.cal.call("POST", "/v2/bookings", &body, "", kBookingsApiVersion);
    if (!r) {
      Error e = map_booking_error(r.error());
      log::warn("bookings: Cal.com refused the booking", {{"code", r.error().code}, {"intent", std::to_string(g->intent_id)}});
      release_intent(c.db, g->intent_id, e);
      drop_reservation(c, reservation);
      return e;
    }
    booked = (*r)["data"];
    note_booked(c.db, g->intent_id, json::str(*booked, "uid"));
  }

  // 5. One transaction records it all.
  auto rec = record_created(c, g->intent_id, *booked, in.coach_user_id, agent.id, in.cal_event_type_id, in.time_zone,
                            in.responses);
  drop_reservation(c, reservation);
  if (!rec) return rec.error();
  apply_viewer(rec->v, agent);
  CreateOutcome o;
  o.booking = rec->v;
  return o;
}

std::optional<ListStatus> parse_list_status(const std::string& s) {
  if (s == "upcoming") return ListStatus::upcoming;
  if (s == "past") return ListStatus::past;
  if (s == "cancelled") return ListStatus::cancelled;
  return std::nullopt;
}

Result<ListQuery> parse_list_query(const std::map<std::string, std::string>& query) {
  ListQuery q;
  auto get = [&](const char* k) {
    auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  };
  auto num = [](const std::string& s, int lo, int hi, int* out) {
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); }))
      return false;
    int v = std::stoi(s);
    *out = std::max(lo, std::min(hi, v));
    return true;
  };
  if (!get("status").empty()) {
    auto s = parse_list_status(get("status"));
    if (!s) return make_error(400, "invalid_field", "'status' must be upcoming, past or cancelled");
    q.status = *s;
  }
  if (!get("take").empty() && !num(get("take"), 1, kMaxTake, &q.take))
    return make_error(400, "invalid_field", "'take' must be a number from 1 to 100");
  if (!get("skip").empty() && !num(get("skip"), 0, 1000000000, &q.skip))
    return make_error(400, "invalid_field", "'skip' must be a number >= 0");
  q.as_role = get("as");
  if (!q.as_role.empty() && q.as_role != "agent" && q.as_role != "coach")
    return make_error(400, "invalid_field", "'as' must be agent or coach");
  return q;
}

BookingPage list_bookings(db::Db& db, const session::User& viewer, const ListQuery& q0) {
  ListQuery q = q0;
  q.take = std::max(1, std::min(kMaxTake, q.take));
  q.skip = std::max(0, q.skip);
  std::string where = "WHERE b.start_utc IS NOT NULL ";
  std::vector<db::Param> params;
  if (q.as_role == "agent") {
    where += "AND b.agent_user_id = ? ";
    params.push_back(viewer.id);
  } else if (q.as_role == "coach") {
    where += "AND b.coach_user_id = ? ";
    params.push_back(viewer.id);
  } else if (!viewer.is_admin()) {
    where += "AND (b.agent_user_id = ? OR b.coach_user_id = ?) ";
    params.push_back(viewer.id);
    params.push_back(viewer.id);
  }
  std::string order;
  switch (q.status) {
    case ListStatus::upcoming:
      where += "AND b.status IN ('accepted','pending') AND b.end_utc > UTC_TIMESTAMP() ";
      order = "ORDER BY b.start_utc ASC, b.id ASC ";
      break;
    case ListStatus::past:
      where += "AND b.status IN ('accepted','pending') AND b.end_utc <= UTC_TIMESTAMP() ";
      order = "ORDER BY b.start_utc DESC, b.id DESC ";
      break;
    case ListStatus::cancelled:
      where += "AND b.status IN ('cancelled','rejected') ";
      order = "ORDER BY b.start_utc DESC, b.id DESC ";
      break;
  }
  BookingPage page;
  page.take = q.take;
  page.skip = q.skip;
  auto cnt = db.query_one("SELECT COUNT(*) AS n FROM CalBooking b " + where, params);
  page.total = cnt ? cnt->i64("n") : 0;
  for (const auto& r : db.query(std::string(kSelect) + where + order + "LIMIT " + std::to_string(q.take) + " OFFSET " +
                                    std::to_string(q.skip),
                                params)) {
    Loaded l = from_row(r);
    if (!apply_viewer(l.v, viewer)) continue;
    page.items.push_back(l.v);
  }
  page.has_more = q.skip + static_cast<int64_t>(page.items.size()) < page.total;
  return page;
}

Result<BookingView> get_booking(db::Db& db, const session::User& viewer, const std::string& uid) {
  auto l = load_for(db, viewer, uid);
  if (!l) return l.error();
  return l->v;
}

Result<RescheduleInput> parse_reschedule(const Json::Value& body, const std::string& header_key) {
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  RescheduleInput in;
  if (body["start"].isNull()) return make_error(400, "missing_field", "Missing 'start' (an ISO 8601 time)");
  if (!body["start"].isString() || !slots::parse_iso(body["start"].asString()))
    return make_error(400, "invalid_time", "'start' must be an ISO 8601 time with an offset, e.g. 2030-01-07T09:00:00Z");
  in.start = body["start"].asString();
  if (!body["reason"].isNull()) {
    if (!body["reason"].isString() || body["reason"].asString().size() > kMaxReason)
      return make_error(400, "invalid_field", "'reason' must be text of at most 500 characters");
    in.reason = body["reason"].asString();
  }
  std::string body_key;
  if (!body["idempotencyKey"].isNull()) {
    if (!body["idempotencyKey"].isString() || !valid_key(body["idempotencyKey"].asString()))
      return make_error(400, "invalid_field", "'idempotencyKey' must be 1-120 characters of A-Z a-z 0-9 . _ : -");
    body_key = body["idempotencyKey"].asString();
  }
  if (!header_key.empty() && !valid_key(header_key))
    return make_error(400, "invalid_field", "The Idempotency-Key header must be 1-120 characters of A-Z a-z 0-9 . _ : -");
  if (!body_key.empty() && !header_key.empty() && body_key != header_key)
    return make_error(400, "invalid_field", "'idempotencyKey' and the Idempotency-Key header differ");
  in.idempotency_key = body_key.empty() ? header_key : body_key;
  return in;
}

Result<BookingView> reschedule_booking(Ctx& c, const session::User& viewer, const std::string& uid,
                                       const RescheduleInput& in) {
  auto cur = load_for(c.db, viewer, uid);
  if (!cur) return cur.error();
  const Loaded old = *cur;
  auto start = slots::parse_iso(in.start);
  if (!start) return make_error(400, "invalid_time", "'start' must be an ISO 8601 time with an offset");
  if (in.reason.size() > kMaxReason) return make_error(400, "invalid_field", "'reason' must be at most 500 characters");
  // A retry of a reschedule that already happened answers with its result.
  if (!old.v.rescheduled_to_uid.empty()) {
    auto next = load(c.db, old.v.rescheduled_to_uid);
    if (next && next->start_s == start->time_since_epoch().count() && apply_viewer(next->v, viewer)) return next->v;
    return make_error(409, "booking_not_active", "This booking was already rescheduled (to " + old.v.rescheduled_to_uid + ")");
  }
  if (old.v.status == "cancelled" || old.v.status == "rejected")
    return make_error(409, "booking_not_active", "A cancelled booking cannot be rescheduled; book a new session instead");
  if (!old.v.is_upcoming) return make_error(400, "booking_in_past", "This session is over and cannot be rescheduled");
  if (*start <= now_instant()) return make_error(400, "invalid_time", "'start' is in the past");
  if (start->time_since_epoch().count() == old.start_s)
    return make_error(400, "invalid_time", "The booking already starts at that time");
  const int length_min = old.v.event_type.length_min > 0 ? old.v.event_type.length_min : 30;
  const slots::Instant end = *start + std::chrono::minutes(length_min);
  const int64_t agent_id = old.v.agent.user_id ? old.v.agent.user_id : viewer.id;

  IntentSpec spec;
  spec.kind = "reschedule";
  spec.agent_user_id = agent_id;
  spec.requested_by = viewer.id;
  spec.coach_user_id = old.v.coach.user_id;
  spec.cal_event_type_id = old.v.event_type.cal_event_type_id;
  spec.start_db = db_time(*start);
  spec.end_db = db_time(end);
  spec.from_uid = uid;
  if (!in.idempotency_key.empty()) spec.key = "rs:" + uid + ":" + in.idempotency_key;
  spec.hash = sha256_hex("reschedule\n" + uid + "\n" + spec.start_db);
  auto g = take_slot(c.db, spec);
  if (!g) return g.error();
  if (g->kind == Guard::replay_done) {
    auto l = load(c.db, g->booking_uid);
    if (!l || !apply_viewer(l->v, viewer)) return make_error(409, "idempotency_conflict", "Retry in a moment");
    return l->v;
  }
  drop_reservation(c, g->stale_reservation);

  std::optional<Json::Value> booked;
  std::string reservation;
  if (g->kind == Guard::resume) {
    auto b = get_cal_booking(c, g->booking_uid);
    if (!b) return map_booking_error(b.error());
    booked = *b;
  } else {
    // The booking's own time does not block its move, but Cal.com's
    // reservation check would count it: only reserve when they do not overlap.
    const bool overlaps_self = start->time_since_epoch().count() < old.end_s &&
                               old.start_s < end.time_since_epoch().count();
    if (!overlaps_self) {
      auto res = reserve_slot(c, spec.cal_event_type_id, iso_time(*start));
      if (!res) {
        release_intent(c.db, g->intent_id, res.error());
        return res.error();
      }
      reservation = *res;
    }
    Json::Value body;
    body["start"] = iso_time(*start);
    if (!in.reason.empty()) body["reschedulingReason"] = in.reason;
    if (old.v.agent.user_id == viewer.id && is_email(viewer.email)) body["rescheduledBy"] = viewer.email;
    auto r = integration::call_as_coach(c.cfg, c.db, c.cal, old.v.coach.user_id, "POST",
                                        "/v2/bookings/" + url_encode(uid) + "/reschedule", &body, kBookingsApiVersion);
    if (!r) {
      Error e = map_booking_error(r.error());
      if (contains_ci(r.error().message, "already rescheduled"))
        e = make_error(409, "booking_not_active", "This booking was already rescheduled");
      else if (contains_ci(r.error().message, "cancelled booking"))
        e = make_error(409, "booking_not_active", "A cancelled booking cannot be rescheduled");
      else if (contains_ci(r.error().message, "already ended"))
        e = make_error(400, "booking_in_past", "This session is over and cannot be rescheduled");
      release_intent(c.db, g->intent_id, e);
      drop_reservation(c, reservation);
      return e;
    }
    booked = (*r)["data"];
    note_booked(c.db, g->intent_id, json::str(*booked, "uid"));
  }

  std::optional<Error> failure;
  std::optional<Loaded> out;
  c.db.transaction([&](db::Db& tx) {
    failure.reset();
    out.reset();
    webhooks::BookingFacts facts;
    auto st = converge_from_api(tx, *booked, old.v.coach.user_id, old.v.agent.user_id, &facts);
    if (!st) {
      failure = st.error();
      return;
    }
    auto mr = webhooks::mark_rescheduled(tx, uid, facts.uid, old.start_db, old.end_db, facts.version_at,
                                         facts.organizer_cal_user_id ? facts.organizer_cal_user_id : old.organizer_cal_user_id,
                                         facts.organizer_email.empty() ? old.organizer_email : facts.organizer_email);
    if (!mr) {
      failure = mr.error();
      return;
    }
    // The old booking's meta (created if it was booked outside our API).
    tx.exec("INSERT IGNORE INTO booking_meta (cal_uid, agent_user_id, coach_user_id, cal_event_type_id, "
            "attendee_time_zone, responses_json, ics_uid, ics_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {uid, old.v.agent.user_id ? db::Param(old.v.agent.user_id) : db::null(), old.v.coach.user_id,
             old.v.event_type.cal_event_type_id, old.v.agent.time_zone, json::write(old.v.responses), old.v.ics_uid,
             int64_t(old.v.sequence)});
    auto m = tx.query_one("SELECT ics_uid, ics_sequence, rescheduled_to_uid, responses_json, attendee_time_zone "
                          "FROM booking_meta WHERE cal_uid = ? FOR UPDATE",
                          {uid});
    const bool first_time = m && m->is_null("rescheduled_to_uid");
    const std::string ics_uid = m ? m->str("ics_uid") : old.v.ics_uid;
    const int64_t seq = (m ? m->i64("ics_sequence") : old.v.sequence) + 1;
    if (first_time)
      tx.exec("UPDATE booking_meta SET rescheduled_to_uid = ?, cancel_reason = ? WHERE cal_uid = ?",
              {facts.uid, in.reason.empty() ? db::null() : db::Param(in.reason), uid});
    tx.exec("INSERT IGNORE INTO booking_meta (cal_uid, intent_id, agent_user_id, coach_user_id, cal_event_type_id, "
            "attendee_time_zone, responses_json, ics_uid, ics_sequence, reschedule_reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {facts.uid, g->intent_id, old.v.agent.user_id ? db::Param(old.v.agent.user_id) : db::null(),
             old.v.coach.user_id, old.v.event_type.cal_event_type_id, m ? m->str("attendee_time_zone") : old.v.agent.time_zone,
             m ? m->str("responses_json") : json::write(old.v.responses), ics_uid, seq,
             in.reason.empty() ? db::null() : db::Param(in.reason)});
    tx.exec("UPDATE booking_intents SET state = 'done', active_start_utc = NULL, booking_uid = ?, last_error = NULL "
            "WHERE id = ?",
            {facts.uid, g->intent_id});
    availability::bump_version(tx, old.v.coach.user_id);
    booking_hooks::changed(tx, uid);
    booking_hooks::changed(tx, facts.uid);
    auto l = load(tx, facts.uid);
    if (!l) {
      failure = make_error(500, "internal", "The new booking row vanished while recording it");
      return;
    }
    if (first_time) booking_mail::enqueue(tx, mail_facts(c.cfg, *l), booking_mail::Change::rescheduled);
    out = l;
  });
  drop_reservation(c, reservation);
  if (failure) return *failure;
  apply_viewer(out->v, viewer);
  return out->v;
}

Result<std::string> parse_cancel_reason(const Json::Value& body) {
  if (body.isNull()) return std::string();
  if (!body.isObject()) return make_error(400, "invalid_body", "Expected a JSON object");
  if (body["reason"].isNull()) return std::string();
  if (!body["reason"].isString() || body["reason"].asString().size() > kMaxReason)
    return make_error(400, "invalid_field", "'reason' must be text of at most 500 characters");
  return body["reason"].asString();
}

Result<BookingView> cancel_booking(Ctx& c, const session::User& viewer, const std::string& uid,
                                   const std::string& reason) {
  auto cur = load_for(c.db, viewer, uid);
  if (!cur) return cur.error();
  const Loaded old = *cur;
  if (reason.size() > kMaxReason) return make_error(400, "invalid_field", "'reason' must be at most 500 characters");
  if (!old.v.rescheduled_to_uid.empty())
    return make_error(409, "booking_not_active", "This booking was rescheduled (to " + old.v.rescheduled_to_uid +
                                                     "); cancel that one instead");
  if (old.v.status == "cancelled" || old.meta_cancelled)
    return make_error(409, "already_cancelled", "This booking is already cancelled");
  if (old.v.status == "rejected") return make_error(409, "booking_not_active", "The coach declined this booking");
  if (!old.v.is_upcoming) return make_error(400, "booking_in_past", "This session is over and cannot be cancelled");

  Json::Value body(Json::objectValue);
  if (!reason.empty()) body["cancellationReason"] = reason;
  Json::Value data;
  auto r = integration::call_as_coach(c.cfg, c.db, c.cal, old.v.coach.user_id, "POST",
                                      "/v2/bookings/" + url_encode(uid) + "/cancel", &body, kBookingsApiVersion);
  if (r) {
    data = (*r)["data"];
  } else if (contains_ci(r.error().message, "already been cancelled") || contains_ci(r.error().message, "already cancelled")) {
    // Cancelled on Cal.com's side already (a lost webhook): record it as ours.
    auto g = get_cal_booking(c, uid);
    if (g) data = *g;
  } else {
    const Error& e = r.error();
    if (e.code == "cal_unreachable" || e.code == "cal_unavailable" || e.code == "cal_bad_response" ||
        e.code == "cal_unauthorized" || e.code == "cal_token_expired")
      return make_error(502, "upstream_unavailable", "Cal.com is not answering right now; nothing was cancelled, try again");
    if (contains_ci(e.message, "already ended")) return make_error(400, "booking_in_past", "This session is over and cannot be cancelled");
    if (e.code == "cal_not_found") return make_error(404, "not_found", "Cal.com does not know this booking");
    return make_error(400, "cancel_rejected", "Cal.com refused the cancellation: " + e.message.substr(0, 300));
  }

  const std::string who = viewer.id == old.v.agent.user_id ? "agent" : viewer.id == old.v.coach.user_id ? "coach" : "admin";
  std::optional<Error> failure;
  std::optional<Loaded> out;
  c.db.transaction([&](db::Db& tx) {
    failure.reset();
    out.reset();
    if (data.isObject()) {
      auto st = converge_from_api(tx, data, old.v.coach.user_id, old.v.agent.user_id, nullptr);
      if (!st) {
        failure = st.error();
        return;
      }
    }
    // Our own word: the row is cancelled whatever Cal.com's body said.
    tx.exec("UPDATE CalBooking SET status = 'cancelled', cancellation_reason = COALESCE(?, cancellation_reason) "
            "WHERE cal_uid = ? AND status IN ('accepted','pending')",
            {reason.empty() ? db::null() : db::Param(reason), uid});
    tx.exec("INSERT IGNORE INTO booking_meta (cal_uid, agent_user_id, coach_user_id, cal_event_type_id, "
            "attendee_time_zone, responses_json, ics_uid, ics_sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {uid, old.v.agent.user_id ? db::Param(old.v.agent.user_id) : db::null(), old.v.coach.user_id,
             old.v.event_type.cal_event_type_id, old.v.agent.time_zone, json::write(old.v.responses), old.v.ics_uid,
             int64_t(old.v.sequence)});
    auto m = tx.query_one("SELECT cancelled_at IS NOT NULL AS done FROM booking_meta WHERE cal_uid = ? FOR UPDATE", {uid});
    if (m && m->i64("done")) {
      failure = make_error(409, "already_cancelled", "This booking is already cancelled");
      return;
    }
    tx.exec("UPDATE booking_meta SET cancelled_at = CURRENT_TIMESTAMP(3), cancelled_by = ?, cancel_reason = ?, "
            "ics_sequence = ics_sequence + 1 WHERE cal_uid = ?",
            {who, reason.empty() ? db::null() : db::Param(reason), uid});
    // Issue 7: the refund (policy for the agent, full for coach/admin), queued
    // under the payment's row lock in this transaction.
    payments::on_booking_cancelled(c.cfg, tx, uid, who, old.start_s, now_instant().time_since_epoch().count());
    availability::bump_version(tx, old.v.coach.user_id);
    booking_hooks::changed(tx, uid);
    auto l = load(tx, uid);
    if (!l) {
      failure = make_error(500, "internal", "The booking row vanished while cancelling it");
      return;
    }
    booking_mail::enqueue(tx, mail_facts(c.cfg, *l), booking_mail::Change::cancelled);
    out = l;
  });
  if (failure) return *failure;
  apply_viewer(out->v, viewer);
  return out->v;
}

Result<std::string> finalize_paid_intent(Ctx& c, int64_t intent_id, const std::string& time_zone,
                                         const Json::Value& responses,
                                         const std::function<void(db::Db&, const std::string&)>& in_tx) {
  auto row = c.db.query_one(
      "SELECT agent_user_id, coach_user_id, cal_event_type_id, state, booking_uid, reservation_uid, last_error, "
      "active_start_utc IS NOT NULL AS holding, UNIX_TIMESTAMP(start_utc) AS start_s, UNIX_TIMESTAMP(end_utc) AS end_s, "
      "DATE_FORMAT(start_utc, '%Y-%m-%d %H:%i:%s') AS start_db, DATE_FORMAT(end_utc, '%Y-%m-%d %H:%i:%s') AS end_db "
      "FROM booking_intents WHERE id = ?",
      {intent_id});
  if (!row) return make_error(404, "not_found", "No such booking intent");
  if (row->str("state") == "done" && !row->str("booking_uid").empty()) {
    const std::string uid = row->str("booking_uid");
    c.db.transaction([&](db::Db& tx) {
      if (in_tx) in_tx(tx, uid);
    });
    return uid;
  }
  const int64_t agent_id = row->i64("agent_user_id"), coach_id = row->i64("coach_user_id");
  const int64_t et_id = row->i64("cal_event_type_id");
  auto agent = c.db.query_one("SELECT name, email FROM users WHERE id = ?", {agent_id});
  if (!agent) return make_error(404, "not_found", "The agent of this booking no longer exists");
  const slots::Instant start = from_epoch(row->i64("start_s")), end = from_epoch(row->i64("end_s"));
  const std::string start_db = row->str("start_db"), end_db = row->str("end_db");

  std::optional<Json::Value> booked;
  if (!row->str("booking_uid").empty()) {
    // Booked on Cal.com by an earlier attempt that could not record it.
    auto b = get_cal_booking(c, row->str("booking_uid"));
    if (!b) return map_booking_error(b.error());
    booked = *b;
  } else {
    // Our hold: still ours, or taken again if it lapsed and nobody took the slot.
    std::optional<Error> failure;
    try {
      c.db.transaction([&](db::Db& tx) {
        failure.reset();
        auto cur = tx.query_one("SELECT state, active_start_utc IS NOT NULL AS holding FROM booking_intents "
                                "WHERE id = ? FOR UPDATE",
                                {intent_id});
        if (cur && cur->i64("holding")) {
          tx.exec("UPDATE booking_intents SET expires_at = GREATEST(expires_at, CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND) "
                  "WHERE id = ?",
                  {int64_t(kIntentTtlS), intent_id});
          return;
        }
        tx.exec("UPDATE booking_intents SET state = 'failed', active_start_utc = NULL, last_error = 'expired' "
                "WHERE coach_user_id = ? AND active_start_utc = ? AND state = 'pending' "
                "AND expires_at < CURRENT_TIMESTAMP(3) AND id <> ?",
                {coach_id, start_db, intent_id});
        if (tx.query_one("SELECT cal_uid FROM CalBooking WHERE coach_user_id = ? AND status IN ('accepted','pending') "
                         "AND start_utc < ? AND end_utc > ? LIMIT 1",
                         {coach_id, end_db, start_db})) {
          failure = slot_taken();
          return;
        }
        tx.exec("UPDATE booking_intents SET state = 'pending', active_start_utc = start_utc, "
                "expires_at = CURRENT_TIMESTAMP(3) + INTERVAL ? SECOND WHERE id = ?",
                {int64_t(kIntentTtlS), intent_id});
      });
    } catch (const db::DbError& e) {
      if (is_dup(e, "uq_intent_slot")) return slot_taken();
      throw;
    }
    if (failure) return *failure;
    // An earlier attempt that timed out may have booked it already.
    if (is_ambiguous(row->str("last_error")))
      booked = find_booked_for_intent(c, coach_id, intent_id, agent->str("email"), start, end);
    if (!booked) {
      Json::Value body;
      body["start"] = iso_time(start);
      body["eventTypeId"] = Json::Int64(et_id);
      body["attendee"]["name"] = agent->str("name").empty() ? agent->str("email") : agent->str("name");
      body["attendee"]["email"] = agent->str("email");
      body["attendee"]["timeZone"] = slots::is_valid_zone(time_zone) ? time_zone : "UTC";
      body["attendee"]["language"] = "en";
      if (responses.isObject() && !responses.empty()) body["bookingFieldsResponses"] = responses;
      body["metadata"]["marketplaceAgentId"] = std::to_string(agent_id);
      body["metadata"]["marketplaceIntentId"] = std::to_string(intent_id);
      auto r = c.cal.call("POST", "/v2/bookings", &body, "", kBookingsApiVersion);
      if (!r) {
        Error e = map_booking_error(r.error());
        log::warn("bookings: Cal.com refused a paid booking", {{"code", r.error().code}, {"intent", std::to_string(intent_id)}});
        if (e.http_status >= 500) {
          // Outcome unknown: keep the hold, look for the booking on the next try.
          try {
            c.db.exec("UPDATE booking_intents SET last_error = ? WHERE id = ?", {(e.code + ": " + e.message).substr(0, 500), intent_id});
          } catch (const db::DbError&) {
          }
          return e;
        }
        release_intent(c.db, intent_id, e);
        return e;
      }
      booked = (*r)["data"];
    }
    note_booked(c.db, intent_id, json::str(*booked, "uid"));
  }
  auto rec = record_created(c, intent_id, *booked, coach_id, agent_id, et_id, time_zone, responses, in_tx);
  drop_reservation(c, row->str("reservation_uid"));
  if (!rec) return rec.error();
  return rec->v.uid;
}

}  // namespace coach::bookings
