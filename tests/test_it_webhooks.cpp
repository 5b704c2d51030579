/* test_it_webhooks.cpp: Cal.com webhooks against the running stack: the
 * reference samples byte for byte (and a one-byte change of each), duplicates,
 * arrival order (cancel before create, a reschedule chain reversed, old events
 * after new ones), bad signatures, size and JSON limits, unknown triggers, the
 * worker's retries into a dead letter and replay, the inbox and stats APIs,
 * management through the Cal.com emulator (default setup twice = one webhook,
 * update, delete, platform scope) with a real delivery, and reconciliation
 * healing a dropped delivery. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE webhooks_it
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include "calcom_client.hpp"
#include "http.hpp"
#include "log.hpp"
#include "reconcile.hpp"
#include "slot_engine.hpp"
#include "test_support.hpp"
#include "webhook_samples.hpp"
#include "webhooks.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

const std::string kReceiver = "/api/cal/webhooks/receiver";

std::string iso_at(std::time_t t, int ms = 0) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, ms % 1000);
  return out;
}

std::string uid_of(const std::string& tag) { return "t" + tag + crypto::random_hex(8); }

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() { http_client::global_init(); }

  Http post_raw(const std::string& body, const std::string& sig, const std::string& ctype = "application/json") {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", ctype}};
    if (!sig.empty()) h.emplace_back("X-Cal-Signature-256", sig);
    return http("POST", base_url() + kReceiver, h, body);
  }
  /* Signed with the configured cal-webhook-secret. */
  Http post(const std::string& body) { return post_raw(body, webhooks::sign_body(cfg().cal_webhook_secret, body)); }

  std::optional<db::Row> booking(const std::string& uid) {
    return db.query_one("SELECT * FROM CalBooking WHERE cal_uid = ?", {uid});
  }
  std::optional<db::Row> event_by_key(const std::string& key) {
    return db.query_one("SELECT * FROM webhook_inbox WHERE idempotency_key = ?", {key});
  }
  std::string key_of(const std::string& body) { return *webhooks::idempotency_key(*json::parse(body)); }
  int64_t inbox_count() { return db.query_one("SELECT COUNT(*) AS n FROM webhook_inbox")->i64("n"); }
  int64_t sig_failures() {
    return db.query_one("SELECT COALESCE(SUM(n), 0) AS n FROM webhook_counters WHERE name = 'signature_failure'")->i64("n");
  }

  Person person(const std::string& role, const std::string& tz = "Europe/London") { return signed_in(db, role, tz); }
  /* A coach known to us by a Cal.com user id (no emulator account; the
   * integration is "disconnected" so the worker does not try to use it). */
  std::pair<int64_t, int64_t> local_coach() {
    int64_t uid = create_user(db, "coach");
    int64_t cal_id = 800000000 + static_cast<int64_t>(std::stoul(crypto::random_hex(3), nullptr, 16));
    db.exec("INSERT INTO CalendarIntegration (user_id, provider, status, cal_user_id, cal_email) "
            "VALUES (?, 'cal_managed', 'disconnected', ?, ?)",
            {uid, cal_id, "coach" + std::to_string(cal_id) + "+client@coach.test"});
    return {uid, cal_id};
  }
  Person onboarded_coach() { return testing::onboarded_coach(db); }
  int64_t version(int64_t coach) { return db.query_one("SELECT COALESCE(MAX(version), 1) AS v FROM coach_cache_version WHERE user_id = ?", {coach})->i64("v"); }

  /* No platform-wide webhook on the emulator (another test's, or one an
   * aborted run left): it would deliver every booking a second time. */
  void clear_platform_webhooks() {
    http("DELETE", cfg().cal_api_base_url + "/v2/oauth-clients/" + cfg().cal_oauth_client_id + "/webhooks",
         {{"x-cal-client-id", cfg().cal_oauth_client_id}, {"x-cal-secret-key", cfg().cal_oauth_client_secret}});
    db.exec("DELETE FROM webhook_subscriptions WHERE scope = 'platform' AND subscriber_url = ?",
            {webhooks::receiver_url(cfg())});
  }

  template <class F>
  bool wait_for(F cond, int timeout_ms = 15000) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return cond();
  }
};

/* A BOOKING_* body like Cal.com's (only the fields we read, plus a few). */
std::string booking_event(const std::string& trigger, const std::string& uid, std::time_t start, int minutes,
                          const std::string& created_at, int64_t organizer_id,
                          const Json::Value& extra = Json::Value(Json::objectValue)) {
  Json::Value p;
  p["title"] = "Coaching between Coach and Client";
  p["startTime"] = iso_at(start).substr(0, 19) + "Z";
  p["endTime"] = iso_at(start + minutes * 60).substr(0, 19) + "Z";
  p["organizer"]["id"] = Json::Int64(organizer_id);
  p["organizer"]["email"] = "coach" + std::to_string(organizer_id) + "+client@coach.test";
  Json::Value a;
  a["email"] = "client@example.test";
  a["name"] = "Client Example";
  a["timeZone"] = "America/New_York";
  p["attendees"].append(a);
  p["uid"] = uid;
  p["bookingId"] = Json::Int64(std::stoul(crypto::random_hex(3), nullptr, 16));
  p["location"] = "integrations:zoom";
  p["status"] = trigger == "BOOKING_CANCELLED" ? "CANCELLED" : trigger == "BOOKING_REQUESTED" ? "PENDING" : "ACCEPTED";
  for (const auto& k : extra.getMemberNames()) p[k] = extra[k];
  Json::Value b;
  b["triggerEvent"] = trigger;
  b["createdAt"] = created_at;
  b["payload"] = p;
  return json::write(b);
}

std::time_t future(int days) { return (std::time(nullptr) / 3600 + 24 * days) * 3600; }

}  // namespace

/* ------------------------------------------------------------ the samples */

BOOST_FIXTURE_TEST_CASE(reference_samples_are_accepted_byte_for_byte_and_applied, Fx) {
  // Our subscription holding the samples' secret (as the management API
  // would store it: sealed with the aad of its Cal.com id).
  // (Reused when an earlier run on this stack left one: the receivers may
  // still have its secret cached.)
  int64_t sub_id = 0;
  if (auto old = db.query_one("SELECT id FROM webhook_subscriptions WHERE cal_webhook_id LIKE 'samples-%' ORDER BY id LIMIT 1")) {
    sub_id = old->i64("id");
    db.exec("UPDATE webhook_subscriptions SET active = 1 WHERE id = ?", {sub_id});
  } else {
    const std::string cal_id = "samples-" + crypto::random_hex(6);
    db.exec("INSERT INTO webhook_subscriptions (cal_webhook_id, scope, owner_user_id, owner_key, subscriber_url, url_sha256, "
            "triggers_json, secret_enc, active) VALUES (?, 'platform', NULL, 0, ?, ?, '[]', ?, 1)",
            {cal_id, "https://samples.test/" + cal_id, crypto::hex_encode(crypto::sha256(cal_id)),
             crypto::seal(cfg().token_encryption_key, kSampleSecret, "webhook_subscription:" + cal_id)});
    sub_id = static_cast<int64_t>(db.last_insert_id());
  }
  // A rerun against the same stack starts clean.
  for (const auto& s : webhook_samples()) db.exec("DELETE FROM webhook_inbox WHERE idempotency_key = ?", {key_of(s.body)});
  db.exec("DELETE FROM CalBooking WHERE cal_uid IN ('hJ3mZ9qW2xKc7VnT5bRp1L','Tq8wR2nV5mC1xZ7kL3pJ9s','Vn4cX8bQ2wE6rT1yU9iO3p')");

  // A one-byte change of any sample: 401, nothing stored, counted.
  const int64_t before = inbox_count(), failures = sig_failures();
  for (const auto& s : webhook_samples()) {
    std::string b = s.body;
    b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x01);
    auto r = post_raw(b, s.signature);
    BOOST_TEST(r.status == 401, s.name << ": " << r.body);
    BOOST_TEST(r.json()["error"]["code"].asString() == "bad_signature");
  }
  BOOST_TEST(inbox_count() == before);
  BOOST_TEST(sig_failures() == failures + 6);

  for (const auto& s : webhook_samples()) {
    auto r = post_raw(s.body, s.signature);
    BOOST_TEST(r.status == 200, s.name << ": " << r.body);
    BOOST_TEST(r.json()["received"].asBool(), s.name);
    BOOST_TEST(r.json()["duplicate"].isBool(), s.name);
    BOOST_TEST(!r.json()["duplicate"].asBool(), s.name);
    BOOST_TEST(r.json().size() == 2u, s.name);
    auto e = event_by_key(key_of(s.body));
    BOOST_TEST_REQUIRE(e.has_value(), s.name);
    BOOST_TEST(e->str("body") == s.body, s.name);  // stored byte for byte
    BOOST_TEST(e->i64("subscription_id") == sub_id, s.name);
    BOOST_TEST(e->str("status") == "done", s.name);
    BOOST_TEST(e->i64("apply_count") == 1, s.name);
    BOOST_TEST(e->str("trigger_event") == s.name);
  }
  BOOST_TEST(event_by_key(key_of(webhook_sample("PING").body))->str("outcome") == "recorded");
  BOOST_TEST(event_by_key(key_of(webhook_sample("MEETING_ENDED").body))->str("idempotency_key") == "MEETING_ENDED:88377");

  // The documented story: 88213 created, rescheduled to 88377 (which ended,
  // with Sam marked absent); 88412 cancelled by the coach.
  auto old_b = booking("hJ3mZ9qW2xKc7VnT5bRp1L");
  BOOST_TEST_REQUIRE(old_b.has_value());
  BOOST_TEST(old_b->str("status") == "cancelled");
  BOOST_TEST(old_b->str("rescheduled_to_uid") == "Tq8wR2nV5mC1xZ7kL3pJ9s");
  BOOST_TEST(old_b->str("start_utc") == "2026-03-10 15:00:00");
  BOOST_TEST(old_b->i64("cal_booking_id") == 88213);
  auto new_b = booking("Tq8wR2nV5mC1xZ7kL3pJ9s");
  BOOST_TEST_REQUIRE(new_b.has_value());
  BOOST_TEST(new_b->str("status") == "accepted");
  BOOST_TEST(new_b->str("start_utc") == "2026-03-12 15:00:00");
  BOOST_TEST(new_b->str("end_utc") == "2026-03-12 16:00:00");
  BOOST_TEST(new_b->str("rescheduled_from_uid") == "hJ3mZ9qW2xKc7VnT5bRp1L");
  BOOST_TEST(new_b->str("meeting_ended_at").substr(0, 19) == "2026-03-12 16:00:00");
  BOOST_TEST(new_b->i64("attendee_no_show") == 1);
  BOOST_TEST(new_b->str("attendee_email") == "sam.carter@client.example");
  BOOST_TEST(new_b->str("attendee_time_zone") == "America/New_York");
  BOOST_TEST(new_b->str("join_url").find("https://us06web.zoom.us/j/84512345678") == 0u);
  BOOST_TEST(new_b->i64("cal_event_type_id") == 5531);
  BOOST_TEST(new_b->i64("organizer_cal_user_id") == 1042);
  auto cancelled = booking("Vn4cX8bQ2wE6rT1yU9iO3p");
  BOOST_TEST_REQUIRE(cancelled.has_value());
  BOOST_TEST(cancelled->str("status") == "cancelled");
  BOOST_TEST(cancelled->str("cancellation_reason") == "Coach is unwell");
  BOOST_TEST(cancelled->str("location") == "integrations:zoom");
  BOOST_TEST(cancelled->str("start_utc") == "2026-03-17 15:00:00");

  // The same bytes again (Cal.com retry or a captured replay): acknowledged, not re-applied.
  for (const auto& s : webhook_samples()) {
    auto r = post_raw(s.body, s.signature);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.json()["duplicate"].asBool(), s.name);
    auto e = event_by_key(key_of(s.body));
    BOOST_TEST(e->i64("apply_count") == 1, s.name);
    BOOST_TEST(e->i64("duplicate_count") == 1, s.name);
  }
  auto sub = db.query_one("SELECT last_delivery_at FROM webhook_subscriptions WHERE id = ?", {sub_id});
  BOOST_TEST(!sub->is_null("last_delivery_at"));
  // Deactivated: its secret no longer verifies (after the receivers' cache TTL).
  db.exec("UPDATE webhook_subscriptions SET active = 0 WHERE id = ?", {sub_id});
  std::this_thread::sleep_for(std::chrono::milliseconds(5300));
  BOOST_TEST(post_raw(webhook_sample("PING").body, webhook_sample("PING").signature).status == 401);
}

/* ------------------------------------------------------------ duplicates, order */

BOOST_FIXTURE_TEST_CASE(a_duplicate_is_acknowledged_and_not_reapplied, Fx) {
  auto [coach, cal_id] = local_coach();
  const std::string uid = uid_of("dup");
  std::string body = booking_event("BOOKING_CREATED", uid, future(20), 60, "2026-01-05T10:00:00.000Z", cal_id);
  auto r1 = post(body);
  BOOST_TEST_REQUIRE(r1.status == 200, r1.body);
  BOOST_TEST(!r1.json()["duplicate"].asBool());
  const int64_t v1 = version(coach);
  // A redelivery has a new createdAt but is the same event.
  auto again = *json::parse(body);
  again["createdAt"] = "2026-01-05T10:00:03.000Z";
  auto r2 = post(json::write(again));
  BOOST_TEST(r2.status == 200);
  BOOST_TEST(r2.json()["duplicate"].asBool());
  auto r3 = post(body);
  BOOST_TEST(r3.json()["duplicate"].asBool());
  auto e = event_by_key(key_of(body));
  BOOST_TEST(e->i64("apply_count") == 1);
  BOOST_TEST(e->i64("duplicate_count") == 2);
  auto b = booking(uid);
  BOOST_TEST_REQUIRE(b.has_value());
  BOOST_TEST(b->i64("n_changes") == 1);
  BOOST_TEST(b->i64("coach_user_id") == coach);
  BOOST_TEST(b->str("status") == "accepted");
  BOOST_TEST(version(coach) == v1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM webhook_inbox WHERE booking_uid = ?", {uid})->i64("n") == 1);
}

BOOST_FIXTURE_TEST_CASE(a_cancel_before_its_create_leaves_it_cancelled, Fx) {
  auto [coach, cal_id] = local_coach();
  const std::string uid = uid_of("cbc");
  const std::time_t start = future(21);
  const int64_t v0 = version(coach);
  Json::Value why;
  why["cancellationReason"] = "Client cannot make it";
  auto c = post(booking_event("BOOKING_CANCELLED", uid, start, 60, "2026-01-06T12:00:00.000Z", cal_id, why));
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(booking(uid)->str("status") == "cancelled");
  BOOST_TEST(version(coach) > v0);
  auto cr = post(booking_event("BOOKING_CREATED", uid, start, 60, "2026-01-06T11:00:00.000Z", cal_id));
  BOOST_TEST_REQUIRE(cr.status == 200, cr.body);
  auto b = booking(uid);
  BOOST_TEST(b->str("status") == "cancelled");
  BOOST_TEST(b->str("cancellation_reason") == "Client cannot make it");
  BOOST_TEST(b->str("cal_updated_at").substr(0, 19) == "2026-01-06 12:00:00");
  BOOST_TEST(b->i64("coach_user_id") == coach);
  // A cancelled booking is never busy for the local slot engine.
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CalBooking WHERE cal_uid = ? AND status = 'accepted'", {uid})->i64("n") == 0);
}

BOOST_FIXTURE_TEST_CASE(a_reschedule_chain_delivered_reversed_converges, Fx) {
  auto [coach, cal_id] = local_coach();
  const std::string a = uid_of("ra"), b = uid_of("rb"), c = uid_of("rc");
  const std::time_t ta = future(22), tb = future(23), tc = future(24);
  std::string created = booking_event("BOOKING_CREATED", a, ta, 60, "2026-01-07T09:00:00.000Z", cal_id);
  auto resched = [&](const std::string& from, std::time_t from_start, const std::string& to, std::time_t to_start,
                     const std::string& at) {
    Json::Value x;
    x["rescheduleUid"] = from;
    x["rescheduleStartTime"] = iso_at(from_start).substr(0, 19) + "Z";
    x["rescheduleEndTime"] = iso_at(from_start + 3600).substr(0, 19) + "Z";
    return booking_event("BOOKING_RESCHEDULED", to, to_start, 60, at, cal_id, x);
  };
  std::string ab = resched(a, ta, b, tb, "2026-01-07T10:00:00.000Z");
  std::string bc = resched(b, tb, c, tc, "2026-01-07T11:00:00.000Z");
  for (const auto& body : {bc, ab, created}) {
    auto r = post(body);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST(event_by_key(key_of(body))->str("status") == "done");
  }
  auto ra = booking(a), rb = booking(b), rc = booking(c);
  BOOST_TEST_REQUIRE((ra && rb && rc));
  BOOST_TEST(ra->str("status") == "cancelled");
  BOOST_TEST(ra->str("rescheduled_to_uid") == b);
  BOOST_TEST(rb->str("status") == "cancelled");
  BOOST_TEST(rb->str("rescheduled_to_uid") == c);
  BOOST_TEST(rb->str("rescheduled_from_uid") == a);
  BOOST_TEST(rc->str("status") == "accepted");
  BOOST_TEST(rc->str("rescheduled_from_uid") == b);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CalBooking WHERE cal_uid IN (?, ?, ?) AND status = 'accepted'",
                          {a, b, c})->i64("n") == 1);
  // In order the result is the same (a second chain).
  const std::string a2 = uid_of("ra"), b2 = uid_of("rb"), c2 = uid_of("rc");
  for (const auto& body : {booking_event("BOOKING_CREATED", a2, ta, 60, "2026-01-07T09:00:00.000Z", cal_id),
                           resched(a2, ta, b2, tb, "2026-01-07T10:00:00.000Z"),
                           resched(b2, tb, c2, tc, "2026-01-07T11:00:00.000Z")})
    BOOST_TEST(post(body).status == 200);
  for (const char* col : {"status", "start_utc", "end_utc", "rescheduled_to_uid"}) {
    auto x = booking(a2), y = booking(b2), z = booking(c2);
    BOOST_TEST(x->str(col) == (std::string(col) == "rescheduled_to_uid" ? b2 : ra->str(col)), col);
    BOOST_TEST(y->str(col) == (std::string(col) == "rescheduled_to_uid" ? c2 : rb->str(col)), col);
    BOOST_TEST(z->str(col) == rc->str(col), col);
  }
}

BOOST_FIXTURE_TEST_CASE(an_old_event_never_overwrites_newer_information, Fx) {
  auto [coach, cal_id] = local_coach();
  const std::string uid = uid_of("old");
  const std::time_t start = future(25);
  Json::Value newer;
  newer["title"] = "New title";
  newer["location"] = "https://zoom.example/j/2";
  auto paid = post(booking_event("BOOKING_PAID", uid, start, 60, "2026-01-08T12:00:00.000Z", cal_id, newer));
  BOOST_TEST_REQUIRE(paid.status == 200, paid.body);
  Json::Value older;
  older["title"] = "Old title";
  older["location"] = "https://zoom.example/j/1";
  BOOST_TEST(post(booking_event("BOOKING_PAYMENT_INITIATED", uid, start, 60, "2026-01-08T11:00:00.000Z", cal_id, older)).status == 200);
  const std::string requested = booking_event("BOOKING_REQUESTED", uid, start, 60, "2026-01-08T10:00:00.000Z", cal_id, older);
  BOOST_TEST(post(requested).status == 200);
  auto b = booking(uid);
  BOOST_TEST(b->str("payment_status") == "paid");
  BOOST_TEST(b->str("title") == "New title");
  BOOST_TEST(b->str("join_url") == "https://zoom.example/j/2");
  BOOST_TEST(b->str("status") == "accepted");
  BOOST_TEST(event_by_key(key_of(requested))->str("outcome") == "stale");

  // No-show: marked at T2, unmarked at T3, delivered T3 then T2: stays unmarked.
  auto noshow = [&](bool flag, const std::string& at) {
    Json::Value b2;
    b2["triggerEvent"] = "BOOKING_NO_SHOW_UPDATED";
    b2["createdAt"] = at;
    b2["payload"]["message"] = std::string("client@example.test ") + (flag ? "marked" : "unmarked") + " as no-show";
    Json::Value a;
    a["email"] = "client@example.test";
    a["noShow"] = flag;
    b2["payload"]["attendees"].append(a);
    b2["payload"]["bookingUid"] = uid;
    return json::write(b2);
  };
  BOOST_TEST(post(noshow(false, "2026-01-09T12:00:00.000Z")).status == 200);
  BOOST_TEST(post(noshow(true, "2026-01-09T11:00:00.000Z")).status == 200);
  BOOST_TEST(booking(uid)->i64("attendee_no_show", -1) == 0);
  // A host no-show (Cal Video) adds information even when older.
  Json::Value h;
  h["triggerEvent"] = "AFTER_HOSTS_CAL_VIDEO_NO_SHOW";
  h["createdAt"] = "2026-01-09T10:00:00.000Z";
  h["payload"]["bookingUid"] = uid;
  h["payload"]["bookingId"] = 5;
  BOOST_TEST(post(json::write(h)).status == 200);
  BOOST_TEST(booking(uid)->i64("host_no_show") == 1);
  BOOST_TEST(booking(uid)->i64("attendee_no_show", -1) == 0);
}

BOOST_FIXTURE_TEST_CASE(meeting_events_and_other_triggers, Fx) {
  auto [coach, cal_id] = local_coach();
  const std::string uid = uid_of("mtg");
  const int64_t booking_id = 700000 + static_cast<int64_t>(std::stoul(crypto::random_hex(2), nullptr, 16));
  Json::Value m;
  m["triggerEvent"] = "MEETING_STARTED";
  m["id"] = Json::Int64(booking_id);
  m["uid"] = uid;
  m["userId"] = Json::Int64(cal_id);
  m["startTime"] = "2026-02-01T10:00:00.000Z";
  m["endTime"] = "2026-02-01T11:00:00.000Z";
  m["status"] = "ACCEPTED";
  m["createdAt"] = "2026-01-10T09:00:00.000Z";
  m["updatedAt"] = "2026-01-10T09:00:00.000Z";
  auto r = post(json::write(m));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(event_by_key("MEETING_STARTED:" + std::to_string(booking_id)).has_value());
  auto b = booking(uid);
  BOOST_TEST(b->str("meeting_started_at").substr(0, 19) == "2026-02-01 10:00:00");
  BOOST_TEST(b->str("status") == "accepted");
  BOOST_TEST(b->i64("coach_user_id") == coach);
  // Recording, form, OOO, ping: stored and done.
  Json::Value rec;
  rec["triggerEvent"] = "RECORDING_READY";
  rec["createdAt"] = "2026-02-01T12:00:00.000Z";
  rec["payload"]["uid"] = uid;
  rec["payload"]["downloadLink"] = "https://video.example/rec/1";
  BOOST_TEST(post(json::write(rec)).status == 200);
  BOOST_TEST(booking(uid)->str("recording_url") == "https://video.example/rec/1");
  Json::Value ooo;
  ooo["triggerEvent"] = "OOO_CREATED";
  ooo["createdAt"] = log::now_iso8601();
  ooo["payload"]["oooEntry"]["id"] = 1;
  ooo["payload"]["oooEntry"]["user"]["id"] = Json::Int64(cal_id);
  const int64_t v0 = version(coach);
  std::string ooo_body = json::write(ooo);
  BOOST_TEST(post(ooo_body).status == 200);
  BOOST_TEST(event_by_key(key_of(ooo_body))->str("outcome") == "applied");
  BOOST_TEST(version(coach) > v0);
  Json::Value form;
  form["triggerEvent"] = "FORM_SUBMITTED";
  form["createdAt"] = log::now_iso8601();
  form["payload"]["formId"] = crypto::random_hex(4);
  std::string form_body = json::write(form);
  BOOST_TEST(post(form_body).status == 200);
  BOOST_TEST(event_by_key(key_of(form_body))->str("outcome") == "recorded");
}

/* ------------------------------------------------------------ refusals */

BOOST_FIXTURE_TEST_CASE(a_bad_signature_stores_nothing_and_is_counted, Fx) {
  const std::string body = booking_event("BOOKING_CREATED", uid_of("sig"), future(26), 60, log::now_iso8601(), 1);
  const int64_t before = inbox_count(), failures = sig_failures();
  auto wrong = post_raw(body, webhooks::sign_body("not-our-secret", body));
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(wrong.json()["error"]["code"].asString() == "bad_signature");
  BOOST_TEST(post_raw(body, "").status == 401);
  BOOST_TEST(post_raw(body, "no-secret-provided").status == 401);
  BOOST_TEST(post_raw(body, "sha256=" + webhooks::sign_body(cfg().cal_webhook_secret, body)).status == 401);
  BOOST_TEST(inbox_count() == before);
  BOOST_TEST(!event_by_key(key_of(body)).has_value());
  BOOST_TEST(sig_failures() == failures + 4);
  // The log line names the reason, never a secret.
  BOOST_TEST(post(body).status == 200);
}

BOOST_FIXTURE_TEST_CASE(oversized_non_json_and_wrong_method_are_refused, Fx) {
  const int64_t before = inbox_count();
  std::string big = "{\"triggerEvent\":\"PING\",\"payload\":{\"pad\":\"" + std::string(256 * 1024, 'x') + "\"}}";
  auto r = post(big);
  BOOST_TEST(r.status == 413, r.body.substr(0, 200));
  BOOST_TEST(r.json()["error"]["code"].asString() == "body_too_large");
  std::string not_json = "triggerEvent=PING&payload=1";
  auto nj = post_raw(not_json, webhooks::sign_body(cfg().cal_webhook_secret, not_json), "application/x-www-form-urlencoded");
  BOOST_TEST(nj.status == 400);
  BOOST_TEST(nj.json()["error"]["code"].asString() == "invalid_json");
  std::string no_trigger = "{\"payload\":{}}";
  auto nt = post(no_trigger);
  BOOST_TEST(nt.status == 400);
  BOOST_TEST(nt.json()["error"]["code"].asString() == "invalid_webhook");
  BOOST_TEST(inbox_count() == before);
  auto g = http("GET", base_url() + kReceiver);
  BOOST_TEST(g.status == 405);
  // Just under the cap is fine.
  std::string fits = "{\"triggerEvent\":\"PING\",\"createdAt\":\"x\",\"payload\":{\"pad\":\"" +
                     crypto::random_hex(8) + std::string(200 * 1024, 'y') + "\"}}";
  BOOST_TEST(post(fits).status == 200);
}

BOOST_FIXTURE_TEST_CASE(an_unknown_trigger_is_stored_and_ignored, Fx) {
  Json::Value b;
  b["triggerEvent"] = "SOMETHING_NEW_" + crypto::random_hex(3);
  b["createdAt"] = log::now_iso8601();
  b["payload"]["whatever"] = true;
  const std::string body = json::write(b);
  auto r = post(body);
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(!r.json()["duplicate"].asBool());
  auto e = event_by_key(key_of(body));
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(e->str("status") == "done");
  BOOST_TEST(e->str("outcome") == "ignored");
  BOOST_TEST(e->i64("apply_count") == 1);
}

/* ------------------------------------------------------------ retries, dead letters, replay */

BOOST_FIXTURE_TEST_CASE(a_failing_event_is_retried_then_dead_then_replayed, Fx) {
  Person admin = person("admin");
  const std::string uid = uid_of("bad");
  Json::Value bad;
  bad["startTime"] = "not-a-time";  // apply rejects it, deterministically
  const std::string body = booking_event("BOOKING_CREATED", uid, future(27), 60, log::now_iso8601(), 1, bad);
  auto r = post(body);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);  // stored and acknowledged
  auto e = event_by_key(key_of(body));
  BOOST_TEST_REQUIRE(e.has_value());
  const int64_t id = e->i64("id");
  BOOST_TEST(e->str("status") == "retry");
  BOOST_TEST(e->i64("attempts") == 1);
  BOOST_TEST(e->str("last_error").find("payload.startTime") != std::string::npos, e->str("last_error"));
  // The backoff grows: the next attempt is 5 s +-25 % away.
  auto gap = db.query_one("SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), next_attempt_at) / 1e6 AS s FROM webhook_inbox WHERE id = ?", {id});
  BOOST_TEST(std::stod(gap->str("s")) > 2.0);
  BOOST_TEST(std::stod(gap->str("s")) < 7.0);
  BOOST_TEST(!booking(uid).has_value());  // the failed apply left nothing behind

  // Due again and again (we move the clock of the row): the worker (ours
  // here, or the stack's) retries until max_attempts, then it is dead.
  db.exec("UPDATE webhook_inbox SET max_attempts = 4 WHERE id = ?", {id});
  for (int i = 0; i < 20 && event_by_key(key_of(body))->str("status") != "dead"; ++i) {
    db.exec("UPDATE webhook_inbox SET next_attempt_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE id = ? AND status = 'retry'", {id});
    webhooks::process_due(cfg(), db, "test-worker-" + std::to_string(getpid()), 50, 15);
  }
  e = event_by_key(key_of(body));
  BOOST_TEST(e->str("status") == "dead");
  BOOST_TEST(e->i64("attempts") == 4);
  BOOST_TEST(e->i64("apply_count") == 0);
  BOOST_TEST(e->str("last_error").find("invalid_payload") == 0u, e->str("last_error"));

  // Visible to an admin: dead letters in the stats, the event with its body.
  auto st = http("GET", base_url() + "/api/cal/webhooks/stats?hours=2", admin.auth);
  BOOST_TEST_REQUIRE(st.status == 200, st.body);
  bool listed = false;
  const Json::Value stats = st.json()["data"];
  for (const auto& d : stats["deadLetters"]) listed = listed || d["id"].asInt64() == id;
  BOOST_TEST(listed);
  BOOST_TEST(stats["counts"]["dead"].asInt64() >= 1);
  auto one = http("GET", base_url() + "/api/cal/webhooks/events/" + std::to_string(id), admin.auth);
  BOOST_TEST(one.json()["data"]["body"].asString() == body);

  // Replay: back in the queue (still malformed, so it fails again: attempt 1).
  auto rp = http("POST", base_url() + "/api/cal/webhooks/events/" + std::to_string(id) + "/replay", admin.json, "{}");
  BOOST_TEST_REQUIRE(rp.status == 200, rp.body);
  BOOST_TEST(rp.json()["data"]["status"].asString() == "retry");
  BOOST_TEST(rp.json()["data"]["attempts"].asInt() == 1);

  // A dead letter whose cause is gone replays into the booking.
  const std::string uid2 = uid_of("rep");
  const std::string good = booking_event("BOOKING_CREATED", uid2, future(28), 60, log::now_iso8601(), 1);
  BOOST_TEST(post(good).status == 200);
  const int64_t id2 = event_by_key(key_of(good))->i64("id");
  db.exec("UPDATE webhook_inbox SET status = 'dead', last_error = 'simulated' WHERE id = ?", {id2});
  db.exec("DELETE FROM CalBooking WHERE cal_uid = ?", {uid2});
  auto all = http("POST", base_url() + "/api/cal/webhooks/events/replay-dead", admin.json, "{}");
  BOOST_TEST_REQUIRE(all.status == 200, all.body);
  BOOST_TEST(all.json()["data"]["replayed"].asInt64() >= 1);
  BOOST_TEST(wait_for([&] { return event_by_key(key_of(good))->str("status") == "done"; }));
  BOOST_TEST(event_by_key(key_of(good))->i64("apply_count") == 2);
  BOOST_TEST(booking(uid2).has_value());
  // Not for non-admins.
  Person coach = person("coach");
  BOOST_TEST(http("POST", base_url() + "/api/cal/webhooks/events/replay-dead", coach.json, "{}").status == 403);
  BOOST_TEST(http("GET", base_url() + "/api/cal/webhooks/stats", coach.auth).status == 403);
}

BOOST_FIXTURE_TEST_CASE(the_worker_applies_what_the_receiver_did_not, Fx) {
  // Stored without applying (as when the receiver dies right after the insert).
  const std::string uid = uid_of("wrk");
  const std::string body = booking_event("BOOKING_CREATED", uid, future(29), 60, log::now_iso8601(), 1);
  auto o = webhooks::receive(cfg(), db, body, webhooks::sign_body(cfg().cal_webhook_secret, body), false);
  BOOST_TEST_REQUIRE(o.http_status == 200);
  BOOST_TEST(o.apply_status == "pending");
  BOOST_TEST(!booking(uid).has_value());
  // The stack's worker picks it up after the receiver's grace period.
  BOOST_TEST(wait_for([&] { return event_by_key(key_of(body))->str("status") == "done"; }, 20000));
  BOOST_TEST(event_by_key(key_of(body))->i64("apply_count") == 1);
  BOOST_TEST(booking(uid).has_value());
}

BOOST_FIXTURE_TEST_CASE(the_inbox_lists_with_filters_and_pages, Fx) {
  Person admin = person("admin");
  const std::string trig = "LISTING_" + crypto::random_hex(3);
  for (int i = 0; i < 5; ++i) {
    Json::Value b;
    b["triggerEvent"] = trig;
    b["payload"]["n"] = i;
    BOOST_TEST(post(json::write(b)).status == 200);
  }
  auto p1 = http("GET", base_url() + "/api/cal/webhooks/events?trigger=" + trig + "&limit=2", admin.auth);
  BOOST_TEST_REQUIRE(p1.status == 200, p1.body);
  auto d1 = p1.json()["data"];
  BOOST_TEST(d1["total"].asInt64() == 5);
  BOOST_TEST(d1["events"].size() == 2u);
  BOOST_TEST(d1["events"][0]["id"].asInt64() > d1["events"][1]["id"].asInt64());
  BOOST_TEST(!d1["events"][0].isMember("body"));
  std::set<int64_t> seen;
  int64_t before = d1["nextBeforeId"].asInt64();
  for (const auto& e : d1["events"]) seen.insert(e["id"].asInt64());
  while (before) {
    auto p = http("GET", base_url() + "/api/cal/webhooks/events?trigger=" + trig + "&limit=2&beforeId=" + std::to_string(before), admin.auth);
    const Json::Value d = p.json()["data"];
    for (const auto& e : d["events"]) seen.insert(e["id"].asInt64());
    before = d["nextBeforeId"].asInt64();
  }
  BOOST_TEST(seen.size() == 5u);
  auto done = http("GET", base_url() + "/api/cal/webhooks/events?trigger=" + trig + "&status=done", admin.auth);
  BOOST_TEST(done.json()["data"]["total"].asInt64() == 5);
  BOOST_TEST(http("GET", base_url() + "/api/cal/webhooks/events?status=bogus", admin.auth).status == 400);
  auto st = http("GET", base_url() + "/api/cal/webhooks/stats", admin.auth).json()["data"];
  BOOST_TEST(st["latency"]["samples"].asInt64() > 0);
  BOOST_TEST(st["latency"]["p99Ms"].asDouble() >= st["latency"]["p50Ms"].asDouble());
  bool hourly = false;
  for (const auto& h : st["hourly"]) hourly = hourly || (h["trigger"].asString() == trig && h["count"].asInt64() == 5);
  BOOST_TEST(hourly);
  BOOST_TEST(st["signatureFailures"]["total"].asInt64() >= 1);
}

/* ------------------------------------------------------------ management (Cal.com emulator) */

namespace {

std::string z_time(const std::string& iso) {
  auto t = slots::parse_iso(iso);
  return t ? iso_at(t->time_since_epoch().count()).substr(0, 19) + "Z" : iso;
}

/* A coach with a session type and the first free slot of a weekday two weeks out. */
struct Bookable {
  Person coach;
  int64_t et = 0;
  std::vector<std::string> starts;
};

}  // namespace

static Bookable bookable(Fx& fx, const std::string& slug) {
  Bookable b;
  b.coach = fx.onboarded_coach();
  auto r = http("POST", base_url() + "/api/cal/event-types", b.coach.json,
                "{\"title\":\"WH " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":30}");
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  b.et = r.json()["data"]["id"].asInt64();
  std::time_t t = std::time(nullptr) + 14 * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  t += ((3 - tm.tm_wday + 7) % 7) * 86400;  // a Wednesday
  gmtime_r(&t, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  auto s = http("GET", base_url() + "/api/cal/availability?coachId=" + std::to_string(b.coach.id) + "&eventTypeId=" +
                           std::to_string(b.et) + "&start=" + day + "&end=" + day + "&timeZone=UTC");
  BOOST_TEST_REQUIRE(s.status == 200, s.body);
  const Json::Value days = s.json()["data"]["days"];
  for (const auto& d : days)
    for (const auto& x : d["slots"]) b.starts.push_back(z_time(x["start"].asString()));
  BOOST_TEST_REQUIRE(b.starts.size() >= 4u, s.body.substr(0, 400));
  return b;
}

static Http emu_book(int64_t et, const std::string& start, const std::string& email) {
  return http("POST", cfg().cal_api_base_url + "/v2/bookings",
              {{"Content-Type", "application/json"}, {"cal-api-version", "2024-08-13"}},
              "{\"start\":\"" + start + "\",\"eventTypeId\":" + std::to_string(et) +
                  ",\"attendee\":{\"name\":\"Web Hook\",\"email\":\"" + email + "\",\"timeZone\":\"UTC\"}}");
}

BOOST_FIXTURE_TEST_CASE(default_setup_twice_leaves_one_webhook_and_deliveries_arrive, Fx) {
  clear_platform_webhooks();
  Bookable b = bookable(*this, "wh-default");
  auto s1 = http("POST", base_url() + "/api/cal/webhooks/default", b.coach.json, "{}");
  BOOST_TEST_REQUIRE(s1.status == 201, s1.body);
  BOOST_TEST(s1.json()["data"]["created"].asBool());
  auto sub = s1.json()["data"]["subscription"];
  BOOST_TEST(sub["subscriberUrl"].asString() == webhooks::receiver_url(cfg()));
  BOOST_TEST(sub["hasSecret"].asBool());
  BOOST_TEST(!sub.isMember("secret"));
  BOOST_TEST(sub["triggers"].size() == webhooks::handled_triggers().size());
  auto s2 = http("POST", base_url() + "/api/cal/webhooks/default", b.coach.json, "{}");
  BOOST_TEST_REQUIRE(s2.status == 200, s2.body);
  BOOST_TEST(!s2.json()["data"]["created"].asBool());
  BOOST_TEST(s2.json()["data"]["subscription"]["id"].asInt64() == sub["id"].asInt64());
  auto remote = http("GET", base_url() + "/api/cal/webhooks/remote", b.coach.auth);
  BOOST_TEST_REQUIRE(remote.status == 200, remote.body);
  BOOST_TEST(remote.json()["data"].size() == 1u);
  BOOST_TEST(remote.json()["data"][0]["known"].asBool());
  auto ours = http("GET", base_url() + "/api/cal/webhooks", b.coach.auth);
  BOOST_TEST(ours.json()["data"].size() == 1u);
  // The secret is stored sealed, never in clear.
  auto row = db.query_one("SELECT secret_enc FROM webhook_subscriptions WHERE id = ?", {sub["id"].asInt64()});
  BOOST_TEST(row->str("secret_enc").rfind("v1.", 0) == 0u);

  // A booking on Cal.com: the emulator signs with that secret and delivers.
  auto bk = emu_book(b.et, b.starts[0], "wh-default@example.test");
  BOOST_TEST_REQUIRE(bk.status == 201, bk.body);
  const std::string uid = bk.json()["data"]["uid"].asString();
  BOOST_TEST(wait_for([&] { auto x = booking(uid); return x && x->str("status") == "accepted"; }));
  auto x = booking(uid);
  BOOST_TEST_REQUIRE(x.has_value());
  BOOST_TEST(x->i64("coach_user_id") == b.coach.id);
  auto ev = db.query_one("SELECT subscription_id, status FROM webhook_inbox WHERE booking_uid = ? AND trigger_event = 'BOOKING_CREATED'", {uid});
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->i64("subscription_id") == sub["id"].asInt64());
  // Cancel on Cal.com: delivered and applied.
  auto cn = http("POST", cfg().cal_api_base_url + "/v2/bookings/" + uid + "/cancel",
                 {{"Content-Type", "application/json"}, {"cal-api-version", "2024-08-13"}}, "{\"cancellationReason\":\"test\"}");
  BOOST_TEST_REQUIRE(cn.status == 200, cn.body);
  BOOST_TEST(wait_for([&] { return booking(uid)->str("status") == "cancelled"; }));

  // Update: inactive, fewer triggers; Cal.com follows.
  const std::string path = base_url() + "/api/cal/webhooks/" + std::to_string(sub["id"].asInt64());
  auto up = http("PATCH", path, b.coach.json, "{\"active\":false,\"triggers\":[\"BOOKING_CREATED\",\"BOOKING_CANCELLED\"]}");
  BOOST_TEST_REQUIRE(up.status == 200, up.body);
  BOOST_TEST(!up.json()["data"]["active"].asBool());
  auto rem2 = http("GET", base_url() + "/api/cal/webhooks/remote", b.coach.auth).json()["data"];
  BOOST_TEST(!rem2[0]["active"].asBool());
  BOOST_TEST(rem2[0]["triggers"].size() == 2u);
  BOOST_TEST(http("PATCH", path, b.coach.json, "{\"triggers\":[\"BOOKING_CONFIRMED\"]}").status == 400);
  // Default setup again re-activates the same one.
  auto s3 = http("POST", base_url() + "/api/cal/webhooks/default", b.coach.json, "{}");
  BOOST_TEST(s3.json()["data"]["subscription"]["active"].asBool());
  BOOST_TEST(s3.json()["data"]["subscription"]["id"].asInt64() == sub["id"].asInt64());
  // Another coach cannot see or touch it.
  Person other = person("coach");
  BOOST_TEST(http("GET", path, other.auth).status == 404);
  BOOST_TEST(http("DELETE", path, other.json).status == 404);
  // Delete: gone on both sides.
  auto del = http("DELETE", path, b.coach.json);
  BOOST_TEST_REQUIRE(del.status == 200, del.body);
  BOOST_TEST(http("GET", base_url() + "/api/cal/webhooks/remote", b.coach.auth).json()["data"].size() == 0u);
  BOOST_TEST(http("GET", path, b.coach.auth).status == 404);
}

BOOST_FIXTURE_TEST_CASE(create_with_own_url_and_platform_scope_for_admins, Fx) {
  Bookable b = bookable(*this, "wh-own");
  auto cr = http("POST", base_url() + "/api/cal/webhooks", b.coach.json,
                 "{\"subscriberUrl\":\"https://hooks.example.test/" + crypto::random_hex(4) + "\",\"triggers\":[\"BOOKING_CREATED\"]}");
  BOOST_TEST_REQUIRE(cr.status == 201, cr.body);
  BOOST_TEST(cr.json()["data"]["scope"].asString() == "user");
  BOOST_TEST(http("POST", base_url() + "/api/cal/webhooks", b.coach.json, "{\"triggers\":[\"BOOKING_CREATED\"]}").status == 400);
  BOOST_TEST(http("POST", base_url() + "/api/cal/webhooks", b.coach.json,
                  "{\"subscriberUrl\":\"ftp://x\",\"triggers\":[\"BOOKING_CREATED\"]}").status == 400);
  BOOST_TEST(http("DELETE", base_url() + "/api/cal/webhooks/" + std::to_string(cr.json()["data"]["id"].asInt64()), b.coach.json).status == 200);

  // Platform-wide: admins only (and removed again however this test ends).
  clear_platform_webhooks();
  struct Cleanup {
    Fx& fx;
    ~Cleanup() { fx.clear_platform_webhooks(); }
  } cleanup{*this};
  BOOST_TEST(http("POST", base_url() + "/api/cal/webhooks/default", b.coach.json, "{\"scope\":\"platform\"}").status == 403);
  Person admin = person("admin");
  auto p1 = http("POST", base_url() + "/api/cal/webhooks/default", admin.json, "{\"scope\":\"platform\"}");
  BOOST_TEST_REQUIRE((p1.status == 201 || p1.status == 200), p1.body);
  auto p2 = http("POST", base_url() + "/api/cal/webhooks/default", admin.json, "{\"scope\":\"platform\"}");
  BOOST_TEST_REQUIRE(p2.status == 200, p2.body);
  const int64_t pid = p2.json()["data"]["subscription"]["id"].asInt64();
  BOOST_TEST(pid == p1.json()["data"]["subscription"]["id"].asInt64());
  auto rem = http("GET", base_url() + "/api/cal/webhooks/remote?scope=platform", admin.auth);
  BOOST_TEST_REQUIRE(rem.status == 200, rem.body);
  int same_url = 0;
  const Json::Value remote_list = rem.json()["data"];
  for (const auto& h : remote_list) same_url += h["subscriberUrl"].asString() == webhooks::receiver_url(cfg());
  BOOST_TEST(same_url == 1);
  // A booking of any managed user is delivered through the platform webhook.
  auto bk = emu_book(b.et, b.starts[1], "wh-platform@example.test");
  BOOST_TEST_REQUIRE(bk.status == 201, bk.body);
  const std::string uid = bk.json()["data"]["uid"].asString();
  BOOST_TEST(wait_for([&] { return booking(uid).has_value(); }));
  auto ev = db.query_one("SELECT subscription_id FROM webhook_inbox WHERE booking_uid = ? AND trigger_event = 'BOOKING_CREATED'", {uid});
  BOOST_TEST_REQUIRE(ev.has_value());
  BOOST_TEST(ev->i64("subscription_id") == pid);
  // Leave no platform webhook behind for the other tests.
  BOOST_TEST(http("DELETE", base_url() + "/api/cal/webhooks/" + std::to_string(pid), admin.json).status == 200);
  BOOST_TEST(http("GET", base_url() + "/api/cal/webhooks/remote?scope=platform", admin.auth).json()["data"].size() == 0u);
  // The signing helper for the test page.
  auto sg = http("POST", base_url() + "/api/cal/webhooks/sign", admin.json,
                 "{\"body\":\"{}\",\"secret\":\"" + std::string(kSampleSecret) + "\"}");
  BOOST_TEST(sg.json()["data"]["signature"].asString() == webhooks::sign_body(kSampleSecret, "{}"));
  auto sg0 = http("POST", base_url() + "/api/cal/webhooks/sign", admin.json, "{\"body\":\"abc\"}");
  BOOST_TEST(sg0.json()["data"]["signature"].asString() == webhooks::sign_body(cfg().cal_webhook_secret, "abc"));
}

/* ------------------------------------------------------------ reconciliation */

BOOST_FIXTURE_TEST_CASE(reconciliation_heals_a_dropped_delivery, Fx) {
  clear_platform_webhooks();
  Bookable b = bookable(*this, "wh-reconcile");
  auto s = http("POST", base_url() + "/api/cal/webhooks/default", b.coach.json, "{}");
  BOOST_TEST_REQUIRE(s.status == 201, s.body);
  // The emulator drops the next delivery: Cal.com's at-most-once in action.
  auto m = emu_post("/_emulator/webhook-mode", "{\"mode\":\"drop\",\"count\":1}");
  BOOST_TEST_REQUIRE(m.status == 200, m.body);
  auto bk = emu_book(b.et, b.starts[2], "wh-dropped@example.test");
  BOOST_TEST_REQUIRE(bk.status == 201, bk.body);
  const std::string uid = bk.json()["data"]["uid"].asString();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(!booking(uid).has_value());
  const int64_t v0 = version(b.coach.id);
  // Reconcile (what the worker's periodic job runs).
  calcom::Client cal(calcom::settings_from(cfg()));
  auto r = reconcile::reconcile_coach(cfg(), db, cal, b.coach.id);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().message));
  BOOST_TEST(r->n_seen >= 1);
  BOOST_TEST(r->n_changed >= 1);
  auto x = booking(uid);
  BOOST_TEST_REQUIRE(x.has_value());
  BOOST_TEST(x->str("status") == "accepted");
  BOOST_TEST(x->i64("coach_user_id") == b.coach.id);
  BOOST_TEST(x->str("last_source") == "reconcile");
  BOOST_TEST(version(b.coach.id) > v0);
  // Nothing new: a second pass changes nothing.
  auto r2 = reconcile::reconcile_coach(cfg(), db, cal, b.coach.id);
  BOOST_TEST_REQUIRE(r2.ok());
  BOOST_TEST(r2->n_changed == 0);
  // A dropped cancel is healed too, through the admin API this time.
  emu_post("/_emulator/webhook-mode", "{\"mode\":\"drop\",\"count\":1}");
  auto cn = http("POST", cfg().cal_api_base_url + "/v2/bookings/" + uid + "/cancel",
                 {{"Content-Type", "application/json"}, {"cal-api-version", "2024-08-13"}}, "{}");
  BOOST_TEST_REQUIRE(cn.status == 200, cn.body);
  BOOST_TEST(booking(uid)->str("status") == "accepted");
  Person admin = person("admin");
  auto api = http("POST", base_url() + "/api/cal/webhooks/reconcile", admin.json,
                  "{\"coachId\":" + std::to_string(b.coach.id) + "}");
  BOOST_TEST_REQUIRE(api.status == 200, api.body);
  BOOST_TEST(booking(uid)->str("status") == "cancelled");
  // The late webhook (Cal.com's delayed delivery) afterwards changes nothing.
  emu_post("/_emulator/webhook-mode", "{\"mode\":\"normal\"}");
  http("DELETE", base_url() + "/api/cal/webhooks/" + std::to_string(s.json()["data"]["subscription"]["id"].asInt64()), b.coach.json);
}
