/* test_it_sessions.cpp: coaching sessions against the running stack: status
 * convergence with out-of-order and duplicate evidence (Zoom-style evidence
 * through sessions::record_evidence, Cal.com MEETING_* and no-show webhooks
 * through the signed receiver), notes visibility and access control (404 for
 * strangers), note edit conflicts (409 with the current text) and history,
 * complete / no-show (mark-absent reaches the Cal.com emulator), reminders
 * across create / reschedule / cancel (the jobs table, and the send path for
 * current and obsolete reminders). Bookings use a FREE session type. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE sessions_it
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ctime>
#include <thread>

#include "http.hpp"
#include "session_reminders.hpp"
#include "sessions.hpp"
#include "test_support.hpp"
#include "webhooks.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

struct Booked {
  std::string uid;
  std::string start;  // ISO UTC
};

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() { http_client::global_init(); }

  Person person(const std::string& role, const std::string& tz = "Europe/London") { return signed_in(db, role, tz); }
  Person new_coach() { return onboarded_coach(db); }
  int64_t free_type(const Person& c, const std::string& slug) {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"Free " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":60,\"priceMinor\":0}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  std::vector<std::string> slots(const Person& c, int64_t et, const std::string& day) {
    return day_slot_instants(c.id, et, day);
  }
  Booked book(const Person& agent, const Person& c, int64_t et, const std::string& start) {
    auto r = http("POST", base_url() + "/api/cal/bookings", agent.json,
                  "{\"coachId\":" + std::to_string(c.id) + ",\"eventTypeId\":" + std::to_string(et) + ",\"start\":\"" +
                      start + "\",\"timeZone\":\"America/New_York\",\"responses\":{}}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return Booked{r.json()["data"]["uid"].asString(), start};
  }
  /* A coach, an agent and one booked free session 8+ days ahead. */
  struct Setup {
    Person coach, agent;
    int64_t et = 0;
    Booked b;
    std::vector<std::string> free;
  };
  Setup setup(const std::string& slug, int slot_index = 1) {
    Setup s;
    s.coach = new_coach();
    s.agent = person("agent", "America/New_York");
    s.et = free_type(s.coach, slug + "-" + crypto::random_hex(3));
    s.free = slots(s.coach, s.et, future_weekday(3, 8));
    BOOST_TEST_REQUIRE(s.free.size() > 4u);
    s.b = book(s.agent, s.coach, s.et, s.free[slot_index]);
    return s;
  }
  Json::Value get_session(const Person& p, const std::string& uid, long expect = 200) {
    auto r = http("GET", base_url() + "/api/cal/sessions/" + uid, p.auth);
    BOOST_TEST(r.status == expect, "GET session " << r.status << " " << r.body);
    return r.json()["data"];
  }
  std::string session_status(const std::string& uid) {
    auto r = db.query_one("SELECT s.status FROM CoachingSession s WHERE s.root_uid = ?", {uid});
    return r ? r->str("status") : "";
  }
  /* A webhook event is applied by the receiver (or, when it defers, by the
   * worker) and reaches the session through booking_hooks: wait up to 20 s. */
  std::string wait_status(const std::string& uid, const std::string& want) {
    eventually([&] { return session_status(uid) == want; }, 20);
    return session_status(uid);
  }
  int64_t session_id(const std::string& uid) {
    auto r = db.query_one("SELECT id FROM CoachingSession WHERE root_uid = ?", {uid});
    return r ? r->i64("id") : 0;
  }
  Status evidence(const std::string& uid, sessions::Evidence k, const std::string& at, const std::string& id,
                  const std::string& email = "", const std::string& name = "") {
    Status out = ok_status();
    db.transaction([&](db::Db& tx) {
      sessions::EvidenceIn e;
      e.booking_uid = uid;
      e.kind = k;
      e.at_utc = at;
      e.participant_email = email;
      e.participant_name = name;
      e.source = "zoom";
      e.source_event_id = id;
      out = sessions::record_evidence(tx, e);
    });
    return out;
  }
  /* Moves the booking (and its session) so that it started minutes_ago. */
  void shift_to_now(const std::string& uid, int minutes_ago) {
    db.exec("UPDATE CalBooking SET start_utc = UTC_TIMESTAMP() - INTERVAL ? MINUTE, "
            "end_utc = UTC_TIMESTAMP() - INTERVAL ? MINUTE + INTERVAL 60 MINUTE WHERE cal_uid = ?",
            {int64_t(minutes_ago), int64_t(minutes_ago), uid});
    db.exec("UPDATE CoachingSession SET start_utc = UTC_TIMESTAMP() - INTERVAL ? MINUTE, "
            "end_utc = UTC_TIMESTAMP() - INTERVAL ? MINUTE + INTERVAL 60 MINUTE WHERE current_uid = ?",
            {int64_t(minutes_ago), int64_t(minutes_ago), uid});
  }
  Http post_webhook(const std::string& body) {
    return http("POST", base_url() + "/api/cal/webhooks/receiver",
                {{"Content-Type", "application/json"}, {"X-Cal-Signature-256", webhooks::sign_body(cfg().cal_webhook_secret, body)}},
                body);
  }
  std::string meeting_body(const std::string& trigger, const std::string& uid) {
    auto r = db.query_one("SELECT cal_booking_id, organizer_cal_user_id, DATE_FORMAT(start_utc, '%Y-%m-%dT%H:%i:%s.000Z') AS s, "
                          "DATE_FORMAT(end_utc, '%Y-%m-%dT%H:%i:%s.000Z') AS e FROM CalBooking WHERE cal_uid = ?",
                          {uid});
    BOOST_TEST_REQUIRE(r.has_value());
    Json::Value b;
    b["triggerEvent"] = trigger;
    b["id"] = Json::Int64(r->i64("cal_booking_id"));
    b["uid"] = uid;
    b["userId"] = Json::Int64(r->i64("organizer_cal_user_id"));
    b["startTime"] = r->str("s");
    b["endTime"] = r->str("e");
    b["status"] = "ACCEPTED";
    b["title"] = "Free session";
    return json::write(b);
  }
  std::vector<db::Row> reminder_jobs(const std::string& root, const std::string& status = "pending") {
    return db.query("SELECT id, idempotency_key, payload, UNIX_TIMESTAMP(run_after) AS run_s FROM jobs WHERE kind = ? "
                    "AND status = ? AND LEFT(idempotency_key, ?) = ? ORDER BY idempotency_key",
                    {std::string(session_reminders::kJobKind), status, int64_t(10 + root.size()), "reminder:" + root + ":"});
  }
};

int64_t epoch_of(const std::string& iso) {
  std::tm tm{};
  strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return timegm(&tm);
}

std::string compact(const std::string& iso) {  // 2030-01-07T09:00:00Z -> 20300107T090000Z
  std::string s;
  for (char c : iso)
    if (c != '-' && c != ':') s += c;
  return s;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_booking_creates_one_scheduled_session_per_chain, Fx) {
  auto s = setup("chain");
  BOOST_TEST(session_status(s.b.uid) == "scheduled");
  auto v = get_session(s.agent, s.b.uid);
  BOOST_TEST(v["status"].asString() == "scheduled");
  BOOST_TEST(v["rootUid"].asString() == s.b.uid);
  BOOST_TEST(v["viewerRole"].asString() == "agent");
  BOOST_TEST(v["start"]["timeZone"].asString() == "America/New_York");
  BOOST_TEST(v["start"]["local"].asString().find("T") == 10u);
  BOOST_TEST(v["start"]["local"].asString().back() != 'Z');  // New York local time with its offset
  // Reschedule: same session (root), now pointing at the new uid.
  auto r = http("POST", base_url() + "/api/cal/bookings/" + s.b.uid + "/reschedule", s.agent.json,
                "{\"start\":\"" + s.free[3] + "\"}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  const std::string new_uid = r.json()["data"]["uid"].asString();
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM CoachingSession WHERE root_uid = ?", {s.b.uid})->i64("n") == 1);
  BOOST_TEST(db.query_one("SELECT current_uid FROM CoachingSession WHERE root_uid = ?", {s.b.uid})->str("current_uid") == new_uid);
  auto via_new = get_session(s.coach, new_uid);
  BOOST_TEST(via_new["rootUid"].asString() == s.b.uid);
  BOOST_TEST(via_new["uid"].asString() == new_uid);
  BOOST_TEST(via_new["status"].asString() == "scheduled");
  // Cancel: cancelled.
  auto c = http("POST", base_url() + "/api/cal/bookings/" + new_uid + "/cancel", s.agent.json, "{}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(session_status(s.b.uid) == "cancelled");
}

BOOST_FIXTURE_TEST_CASE(status_converges_with_out_of_order_and_duplicate_evidence, Fx) {
  auto s = setup("evidence");
  auto agent_email = db.query_one("SELECT email FROM users WHERE id = ?", {s.agent.id})->str("email");
  auto coach_name = db.query_one("SELECT name FROM users WHERE id = ?", {s.coach.id})->str("name");
  // Ended arrives before started: completed at once, and a late start does not reopen it.
  BOOST_TEST_REQUIRE(evidence(s.b.uid, sessions::Evidence::meeting_ended, "2030-01-01 10:00:00", "zoom-end-1").ok());
  BOOST_TEST(session_status(s.b.uid) == "completed");
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::participant_joined, "2030-01-01 09:01:00.250", "zoom-join-a",
                      agent_email).ok());
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::participant_joined, "2030-01-01 09:00:30", "zoom-join-c", "",
                      coach_name).ok());
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::meeting_started, "2030-01-01 09:00:00", "zoom-start-1").ok());
  BOOST_TEST(session_status(s.b.uid) == "completed");
  // Duplicates (same event id) are no-ops; a second join later keeps the earliest.
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::meeting_ended, "2030-01-01 10:00:00", "zoom-end-1").ok());
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::participant_joined, "2030-01-01 09:01:00.250", "zoom-join-a",
                      agent_email).ok());
  BOOST_TEST(evidence(s.b.uid, sessions::Evidence::participant_joined, "2030-01-01 09:20:00", "zoom-join-a2",
                      agent_email).ok());
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM session_events WHERE session_id = ?", {session_id(s.b.uid)})->i64("n") == 5);
  auto row = db.query_one("SELECT status, DATE_FORMAT(started_at, '%H:%i:%s') AS st, DATE_FORMAT(ended_at, '%H:%i:%s') AS en, "
                          "DATE_FORMAT(agent_joined_at, '%H:%i:%s') AS aj, DATE_FORMAT(coach_joined_at, '%H:%i:%s') AS cj, "
                          "DATE_FORMAT(completed_at, '%H:%i:%s') AS done FROM CoachingSession WHERE root_uid = ?",
                          {s.b.uid});
  BOOST_TEST(row->str("status") == "completed");
  BOOST_TEST(row->str("st") == "09:00:00");
  BOOST_TEST(row->str("en") == "10:00:00");
  BOOST_TEST(row->str("aj") == "09:01:00");
  BOOST_TEST(row->str("cj") == "09:00:30");
  BOOST_TEST(row->str("done") == "10:00:00");
  auto v = get_session(s.agent, s.b.uid);
  BOOST_TEST(v["attendance"]["agent"]["joinedAt"].asString() == "2030-01-01T09:01:00Z");
  BOOST_TEST(v["attendance"]["coach"]["joinedAt"].asString() == "2030-01-01T09:00:30Z");
  // Bad evidence is refused and changes nothing.
  auto bad = evidence(s.b.uid, sessions::Evidence::meeting_started, "yesterday", "zoom-bad");
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.error().http_status == 400);
  BOOST_TEST(evidence("no-such-booking-uid", sessions::Evidence::meeting_started, "2030-01-01 09:00:00", "x").error().http_status == 404);
}

BOOST_FIXTURE_TEST_CASE(calcom_meeting_and_no_show_webhooks_drive_the_status, Fx) {
  auto s = setup("hooks");
  // MEETING_STARTED -> in_progress; MEETING_ENDED -> completed; the start again (redelivered) changes nothing.
  auto r1 = post_webhook(meeting_body("MEETING_STARTED", s.b.uid));
  BOOST_TEST_REQUIRE(r1.status == 200, r1.body);
  BOOST_TEST(wait_status(s.b.uid, "in_progress") == "in_progress");
  auto r2 = post_webhook(meeting_body("MEETING_ENDED", s.b.uid));
  BOOST_TEST_REQUIRE(r2.status == 200, r2.body);
  BOOST_TEST(wait_status(s.b.uid, "completed") == "completed");
  auto r3 = post_webhook(meeting_body("MEETING_STARTED", s.b.uid));
  BOOST_TEST(r3.status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // a sweep pass
  BOOST_TEST(session_status(s.b.uid) == "completed");

  // A second session: BOOKING_NO_SHOW_UPDATED for the attendee -> no_show.
  auto t = setup("noshowhook", 2);
  auto row = db.query_one("SELECT cal_booking_id, attendee_email FROM CalBooking WHERE cal_uid = ?", {t.b.uid});
  Json::Value b;
  b["triggerEvent"] = "BOOKING_NO_SHOW_UPDATED";
  b["createdAt"] = "2030-01-01T12:00:00.000Z";
  b["payload"]["bookingUid"] = t.b.uid;
  b["payload"]["bookingId"] = Json::Int64(row->i64("cal_booking_id"));
  b["payload"]["message"] = "x marked as no-show";
  Json::Value a;
  a["email"] = row->str("attendee_email");
  a["noShow"] = true;
  b["payload"]["attendees"].append(a);
  auto r4 = post_webhook(json::write(b));
  BOOST_TEST_REQUIRE(r4.status == 200, r4.body);
  BOOST_TEST(wait_status(t.b.uid, "no_show") == "no_show");
  auto v = get_session(t.coach, t.b.uid);
  BOOST_TEST(v["attendance"]["agent"]["absent"].asBool());
}

BOOST_FIXTURE_TEST_CASE(notes_visibility_and_access_control, Fx) {
  auto s = setup("notes");
  Person other_agent = person("agent"), other_coach = new_coach(), admin = person("admin");
  const std::string base = base_url() + "/api/cal/sessions/" + s.b.uid;
  auto p1 = http("POST", base + "/notes", s.coach.json, "{\"body\":\"Private: agent seems nervous\",\"visibility\":\"private\"}");
  BOOST_TEST_REQUIRE(p1.status == 201, p1.body);
  auto p2 = http("POST", base + "/notes", s.coach.json, "{\"body\":\"Homework: call 10 expired listings\",\"visibility\":\"shared\"}");
  BOOST_TEST_REQUIRE(p2.status == 201, p2.body);
  const int64_t private_id = p1.json()["data"]["id"].asInt64();

  // The agent sees only the shared note, in the session and in the list of notes.
  auto agent_view = get_session(s.agent, s.b.uid);
  BOOST_TEST_REQUIRE(agent_view["notes"].size() == 1u);
  BOOST_TEST(agent_view["notes"][0]["body"].asString() == "Homework: call 10 expired listings");
  BOOST_TEST(http("GET", base, s.agent.auth).body.find("nervous") == std::string::npos);
  BOOST_TEST(http("GET", base + "/notes", s.agent.auth).body.find("nervous") == std::string::npos);
  BOOST_TEST(http("GET", base + "/notes/" + std::to_string(private_id) + "/history", s.agent.auth).status == 404);
  // The agent may not write notes; the coach and an admin see both.
  BOOST_TEST(http("POST", base + "/notes", s.agent.json, "{\"body\":\"mine\",\"visibility\":\"shared\"}").status == 403);
  BOOST_TEST(get_session(s.coach, s.b.uid)["notes"].size() == 2u);
  BOOST_TEST(get_session(admin, s.b.uid)["notes"].size() == 2u);
  // Strangers: 404 everywhere, and nothing in their lists.
  for (const Person* p : {&other_agent, &other_coach}) {
    BOOST_TEST(http("GET", base, p->auth).status == 404);
    BOOST_TEST(http("GET", base + "/notes", p->auth).status == 404);
    BOOST_TEST(http("POST", base + "/notes", p->json, "{\"body\":\"x\"}").status == 404);
    BOOST_TEST(http("PATCH", base + "/notes/" + std::to_string(private_id), p->json, "{\"body\":\"x\",\"version\":1}").status == 404);
    BOOST_TEST(http("POST", base + "/complete", p->json, "{}").status == 404);
    BOOST_TEST(http("GET", base + "/notes/" + std::to_string(private_id) + "/history", p->auth).status == 404);
    auto list = http("GET", base_url() + "/api/cal/sessions?when=all", p->auth);
    BOOST_TEST(list.status == 200);
    BOOST_TEST(list.body.find(s.b.uid) == std::string::npos);
    BOOST_TEST(http("GET", base_url() + "/my/sessions/" + s.b.uid, p->auth).status == 404);
  }
  BOOST_TEST(http("GET", base, {}).status == 401);
  // Listed for the agent and the coach.
  BOOST_TEST(http("GET", base_url() + "/api/cal/sessions?when=upcoming", s.agent.auth).body.find(s.b.uid) != std::string::npos);
  BOOST_TEST(http("GET", base_url() + "/api/cal/sessions?as=coach", s.coach.auth).body.find(s.b.uid) != std::string::npos);
  // Bad input.
  BOOST_TEST(http("POST", base + "/notes", s.coach.json, "{\"body\":\"   \"}").status == 400);
  BOOST_TEST(http("POST", base + "/notes", s.coach.json, "{\"body\":\"x\",\"visibility\":\"public\"}").status == 400);
  BOOST_TEST(http("POST", base + "/notes", s.coach.json, "{\"body\":\"" + std::string(10001, 'a') + "\"}").status == 400);
  BOOST_TEST(http("POST", base + "/notes", s.coach.auth, "body=x").status == 415);
  BOOST_TEST(http("GET", base_url() + "/api/cal/sessions?status=bogus", s.coach.auth).status == 400);
  BOOST_TEST(http("GET", base_url() + "/api/cal/sessions?take=0", s.coach.auth).status == 400);
  BOOST_TEST(http("DELETE", base, s.coach.auth).status == 405);
}

BOOST_FIXTURE_TEST_CASE(note_edits_keep_history_and_stale_versions_get_409, Fx) {
  auto s = setup("edits");
  const std::string base = base_url() + "/api/cal/sessions/" + s.b.uid;
  auto p = http("POST", base + "/notes", s.coach.json, "{\"body\":\"v1 text\",\"visibility\":\"private\"}");
  BOOST_TEST_REQUIRE(p.status == 201, p.body);
  const std::string note = base + "/notes/" + std::to_string(p.json()["data"]["id"].asInt64());
  BOOST_TEST(p.json()["data"]["version"].asInt() == 1);
  auto e1 = http("PATCH", note, s.coach.json, "{\"body\":\"v2 text\",\"version\":1,\"visibility\":\"shared\"}");
  BOOST_TEST_REQUIRE(e1.status == 200, e1.body);
  BOOST_TEST(e1.json()["data"]["version"].asInt() == 2);
  BOOST_TEST(e1.json()["data"]["visibility"].asString() == "shared");
  // A second editor still on version 1: 409 with the current text, nothing overwritten.
  auto stale = http("PATCH", note, s.coach.json, "{\"body\":\"my concurrent edit\",\"version\":1}");
  BOOST_TEST_REQUIRE(stale.status == 409, stale.body);
  BOOST_TEST(stale.json()["error"]["code"].asString() == "version_conflict");
  BOOST_TEST(stale.json()["error"]["current"]["body"].asString() == "v2 text");
  BOOST_TEST(stale.json()["error"]["current"]["version"].asInt() == 2);
  BOOST_TEST(get_session(s.coach, s.b.uid)["notes"][0]["body"].asString() == "v2 text");
  // Missing version: 400.
  BOOST_TEST(http("PATCH", note, s.coach.json, "{\"body\":\"x\"}").status == 400);
  // The agent may not edit (even a shared note).
  BOOST_TEST(http("PATCH", note, s.agent.json, "{\"body\":\"x\",\"version\":2}").status == 403);
  // History: newest first, both versions; the agent (shared note now) sees only shared versions.
  auto h = http("GET", note + "/history", s.coach.auth);
  BOOST_TEST_REQUIRE(h.status == 200, h.body);
  auto hv = h.json()["data"];
  BOOST_TEST_REQUIRE(hv.size() == 2u);
  BOOST_TEST(hv[0]["version"].asInt() == 2);
  BOOST_TEST(hv[0]["body"].asString() == "v2 text");
  BOOST_TEST(hv[1]["body"].asString() == "v1 text");
  auto ha = http("GET", note + "/history", s.agent.auth);
  BOOST_TEST_REQUIRE(ha.status == 200, ha.body);
  BOOST_TEST(ha.json()["data"].size() == 1u);
  BOOST_TEST(ha.body.find("v1 text") == std::string::npos);
  // Edit with the right version works and makes version 3.
  auto e3 = http("PATCH", note, s.coach.json, "{\"body\":\"merged text\",\"version\":2}");
  BOOST_TEST(e3.status == 200);
  BOOST_TEST(e3.json()["data"]["version"].asInt() == 3);
}

BOOST_FIXTURE_TEST_CASE(complete_and_no_show_actions, Fx) {
  auto s = setup("actions");
  const std::string base = base_url() + "/api/cal/sessions/" + s.b.uid;
  // Before the start: both refused, nothing sent to Cal.com.
  auto early = http("POST", base + "/no-show", s.coach.json, "{}");
  BOOST_TEST(early.status == 409);
  BOOST_TEST(early.json()["error"]["code"].asString() == "not_started");
  BOOST_TEST(http("POST", base + "/complete", s.coach.json, "{}").status == 409);
  BOOST_TEST(http("POST", base + "/complete", s.agent.json, "{}").status == 403);

  // Started 5 minutes ago (our clock and the emulator's).
  const int64_t start_s = epoch_of(s.b.start);
  auto clk = emu_post("/_emulator/clock", "{\"offsetMs\":" + std::to_string((start_s - std::time(nullptr) + 300) * 1000) + "}");
  BOOST_TEST_REQUIRE(clk.status == 200, clk.body);
  shift_to_now(s.b.uid, 5);
  auto ns = http("POST", base + "/no-show", s.coach.json, "{}");
  emu_post("/_emulator/clock", "{\"reset\":true}");
  BOOST_TEST_REQUIRE(ns.status == 200, ns.body);
  BOOST_TEST(ns.json()["data"]["status"].asString() == "no_show");
  BOOST_TEST(ns.json()["data"]["attendance"]["agent"]["absent"].asBool());
  // The emulator recorded the attendee as absent.
  auto cal = http("GET", cfg().cal_api_base_url + "/v2/bookings/" + s.b.uid, {{"cal-api-version", "2024-08-13"}});
  BOOST_TEST_REQUIRE(cal.status == 200, cal.body);
  bool absent = false;
  const Json::Value cj = cal.json();
  for (const auto& a : cj["data"]["attendees"]) absent = absent || a["absent"].asBool();
  BOOST_TEST(absent, cal.body);

  // The coach then completes it after all (the latest explicit action wins).
  auto done = http("POST", base + "/complete", s.coach.json, "{}");
  BOOST_TEST_REQUIRE(done.status == 200, done.body);
  BOOST_TEST(done.json()["data"]["status"].asString() == "completed");
  BOOST_TEST(!done.json()["data"]["completedAt"].isNull());
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM session_events WHERE session_id = ? AND source = 'action'",
                          {session_id(s.b.uid)})->i64("n") == 2);
}

BOOST_FIXTURE_TEST_CASE(reminders_follow_reschedule_and_cancel, Fx) {
  auto s = setup("remind");
  const std::string root = s.b.uid;
  auto jobs1 = reminder_jobs(root);
  BOOST_TEST_REQUIRE(jobs1.size() == 4u);  // 24h and 1h, coach and agent
  const int64_t start1 = epoch_of(s.b.start);
  for (const auto& j : jobs1) {
    const std::string key = j.str("idempotency_key");
    BOOST_TEST(key.find(":" + compact(s.b.start) + ":") != std::string::npos, key);
    const int64_t expect = start1 - (key.find(":24h:") != std::string::npos ? 86400 : 3600);
    BOOST_TEST(std::llabs(j.i64("run_s") - expect) <= 2, key << " run " << j.i64("run_s") << " want " << expect);
  }
  const Json::Value old_payload = *json::parse(jobs1[0].str("payload"));

  // Reschedule: the old reminders are gone, four new ones at the new time.
  auto r = http("POST", base_url() + "/api/cal/bookings/" + s.b.uid + "/reschedule", s.agent.json,
                "{\"start\":\"" + s.free[4] + "\"}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  const std::string new_uid = r.json()["data"]["uid"].asString();
  auto jobs2 = reminder_jobs(root);
  BOOST_TEST_REQUIRE(jobs2.size() == 4u);
  for (const auto& j : jobs2) BOOST_TEST(j.str("idempotency_key").find(":" + compact(s.free[4]) + ":") != std::string::npos);
  // The old reminder, had a worker already claimed it, is not sent.
  bool sent = true;
  BOOST_TEST(session_reminders::perform_job(cfg(), db, 900000001, old_payload, &sent).ok());
  BOOST_TEST(!sent);
  // The current one is sent, once.
  const Json::Value now_payload = *json::parse(jobs2[0].str("payload"));
  BOOST_TEST(now_payload["bookingUid"].asString() == new_uid);
  sent = false;
  BOOST_TEST_REQUIRE(session_reminders::perform_job(cfg(), db, jobs2[0].i64("id"), now_payload, &sent).ok());
  BOOST_TEST(sent);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM session_reminder_deliveries WHERE reminder_key = ?",
                          {now_payload["key"].asString()})->i64("n") == 1);
  sent = true;
  BOOST_TEST(session_reminders::perform_job(cfg(), db, jobs2[0].i64("id"), now_payload, &sent).ok());
  BOOST_TEST(!sent);
  // The mail in the SMTP sink: times in the agent's own zone, a link to the session page.
  {
    const std::string mid = db.query_one("SELECT message_id FROM session_reminder_deliveries WHERE reminder_key = ?",
                                         {now_payload["key"].asString()})->str("message_id");
    const std::string dir = env_or("COACH_SMTP_DIR", env_or("COACH_RUN_DIR", "run/local") + "/mail") + "/new";
    std::string found;
    for (int i = 0; i < 40 && found.empty(); ++i) {
      for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(e.path());
        std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (raw.find(mid) != std::string::npos) found = raw;
      }
      if (found.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    BOOST_TEST_REQUIRE(!found.empty(), "no mail with " << mid << " in " << dir);
    std::string unfolded;
    for (size_t i = 0; i < found.size(); ++i) {
      if (found.compare(i, 3, "=\r\n") == 0) { i += 2; continue; }   // quoted-printable soft breaks
      if (found.compare(i, 2, "=\n") == 0) { i += 1; continue; }
      if (found.compare(i, 3, "\r\n ") == 0) { i += 2; continue; }   // folded headers
      if (found.compare(i, 2, "\n ") == 0) { i += 1; continue; }
      unfolded += found[i];
    }
    BOOST_TEST(unfolded.find("Subject: Reminder:") != std::string::npos);
    BOOST_TEST(unfolded.find("America/New_York") != std::string::npos);
    BOOST_TEST(unfolded.find("/my/sessions/" + new_uid) != std::string::npos);
  }
  // A due reminder is sent by the worker (run_after moved to now), once.
  const int64_t due_id = jobs2[2].i64("id");
  const std::string due_key = json::parse(jobs2[2].str("payload"))->get("key", "").asString();
  db.exec("UPDATE jobs SET run_after = CURRENT_TIMESTAMP(3) WHERE id = ?", {due_id});
  std::string st;
  for (int i = 0; i < 80 && st != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    st = db.query_one("SELECT status FROM jobs WHERE id = ?", {due_id})->str("status");
  }
  BOOST_TEST(st == "done");
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM session_reminder_deliveries WHERE reminder_key = ?", {due_key})->i64("n") == 1);

  // Cancel: no pending reminder left, and a claimed one does not send.
  auto c = http("POST", base_url() + "/api/cal/bookings/" + new_uid + "/cancel", s.agent.json, "{}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST(reminder_jobs(root).empty());
  const Json::Value other = *json::parse(jobs2[1].str("payload"));
  sent = true;
  BOOST_TEST(session_reminders::perform_job(cfg(), db, jobs2[1].i64("id"), other, &sent).ok());
  BOOST_TEST(!sent);
}

BOOST_FIXTURE_TEST_CASE(reminders_whose_time_has_passed_are_not_queued, Fx) {
  auto s = setup("late");
  BOOST_TEST_REQUIRE(reminder_jobs(s.b.uid).size() == 4u);
  // The session now starts in 30 minutes (as if booked 30 minutes ahead): no reminder at all.
  db.exec("UPDATE CalBooking SET start_utc = UTC_TIMESTAMP() + INTERVAL 30 MINUTE, end_utc = UTC_TIMESTAMP() + INTERVAL 90 MINUTE "
          "WHERE cal_uid = ?", {s.b.uid});
  db.transaction([&](db::Db& tx) { sessions::on_booking_changed(tx, s.b.uid); });
  BOOST_TEST(reminder_jobs(s.b.uid).empty());
  // In 5 hours: only the 1 h reminders (the 24 h ones are already late).
  db.exec("UPDATE CalBooking SET start_utc = UTC_TIMESTAMP() + INTERVAL 5 HOUR, end_utc = UTC_TIMESTAMP() + INTERVAL 6 HOUR "
          "WHERE cal_uid = ?", {s.b.uid});
  db.transaction([&](db::Db& tx) { sessions::on_booking_changed(tx, s.b.uid); });
  auto j = reminder_jobs(s.b.uid);
  BOOST_TEST_REQUIRE(j.size() == 2u);
  for (const auto& x : j) BOOST_TEST(x.str("idempotency_key").find(":1h:") != std::string::npos);
  // The join window: open 10 minutes before the start, not an hour before.
  auto v = get_session(s.agent, s.b.uid);
  BOOST_TEST(!v["meeting"]["joinOpen"].asBool());
}

namespace {
/* value="..." of the first input named name (HTML-escaped text is fine for tokens). */
std::string input_value(const std::string& html, const std::string& name) {
  const std::string key = "name=\"" + name + "\" value=\"";
  auto p = html.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  return html.substr(p, html.find('"', p) - p);
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(session_page_forms_add_and_edit_notes_with_csrf_and_conflicts, Fx) {
  auto s = setup("forms");
  const std::string page_url = base_url() + "/my/sessions/" + s.b.uid;
  auto cookie_of = [&](int64_t uid) {
    return Headers{{"Cookie", "__session=" + clerk_token(clerk_id_of(db, uid))}};
  };
  Headers coach = cookie_of(s.coach.id), agent = cookie_of(s.agent.id);
  auto page = http("GET", page_url, coach);
  BOOST_TEST_REQUIRE(page.status == 200, page.body.substr(0, 400));
  BOOST_TEST(page.body.find("id=\"note-form\"") != std::string::npos);
  BOOST_TEST(page.body.find("id=\"session-status\">Scheduled<") != std::string::npos);
  const std::string csrf = input_value(page.body, "csrf_token");
  BOOST_TEST_REQUIRE(csrf.size() == 64u);
  Headers post = coach;
  post.emplace_back("Content-Type", "application/x-www-form-urlencoded");

  // Without the CSRF token: 403, nothing saved.
  BOOST_TEST(http("POST", page_url + "/notes", post, "body=x&visibility=shared").status == 403);
  auto add = http("POST", page_url + "/notes", post, "csrf_token=" + csrf + "&visibility=private&body=" + url_encode("Coach only <b>"));
  BOOST_TEST_REQUIRE(add.status == 303, add.body.substr(0, 400));
  BOOST_TEST(add.headers["location"] == "/my/sessions/" + s.b.uid + "?done=note_added#notes");
  auto add2 = http("POST", page_url + "/notes", post, "csrf_token=" + csrf + "&visibility=shared&body=Shared+plan");
  BOOST_TEST_REQUIRE(add2.status == 303);
  auto empty = http("POST", page_url + "/notes", post, "csrf_token=" + csrf + "&visibility=shared&body=+");
  BOOST_TEST(empty.status == 400);
  auto ids = db.query("SELECT n.id, n.visibility FROM SessionNote n JOIN CoachingSession s ON s.id = n.session_id "
                      "WHERE s.root_uid = ? ORDER BY n.id", {s.b.uid});
  BOOST_TEST_REQUIRE(ids.size() == 2u);
  const std::string private_id = ids[0].str("id");

  // The coach's page escapes the text; the agent's page has the shared note only, and no note form.
  auto coach_page = http("GET", page_url, coach);
  BOOST_TEST(coach_page.body.find("Coach only &lt;b&gt;") != std::string::npos);
  auto agent_page = http("GET", page_url, agent);
  BOOST_TEST_REQUIRE(agent_page.status == 200);
  BOOST_TEST(agent_page.body.find("Shared plan") != std::string::npos);
  BOOST_TEST(agent_page.body.find("Coach only") == std::string::npos);
  BOOST_TEST(agent_page.body.find("id=\"note-form\"") == std::string::npos);
  Headers agent_post = agent;
  agent_post.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  const std::string agent_csrf = input_value(agent_page.body, "csrf_token");
  BOOST_TEST(http("POST", page_url + "/notes", agent_post, "csrf_token=" + agent_csrf + "&body=hi").status == 403);

  // Edit from version 1, then a stale edit from version 1: 409 page with both texts, nothing lost.
  auto e1 = http("POST", page_url + "/notes/" + private_id, post, "csrf_token=" + csrf + "&version=1&visibility=private&body=Second");
  BOOST_TEST_REQUIRE(e1.status == 303, e1.body.substr(0, 400));
  auto e2 = http("POST", page_url + "/notes/" + private_id, post, "csrf_token=" + csrf + "&version=1&visibility=private&body=Concurrent");
  BOOST_TEST(e2.status == 409);
  BOOST_TEST(e2.body.find("Someone changed this note") != std::string::npos);
  BOOST_TEST(e2.body.find("Second") != std::string::npos);
  BOOST_TEST(e2.body.find("Concurrent") != std::string::npos);
  BOOST_TEST(db.query_one("SELECT body FROM SessionNote WHERE id = ?", {int64_t(std::stoll(private_id))})->str("body") == "Second");
  auto hist = http("GET", page_url + "/notes/" + private_id + "/history", coach);
  BOOST_TEST(hist.status == 200);
  BOOST_TEST(hist.body.find("Version 2") != std::string::npos);
  BOOST_TEST(http("GET", page_url + "/notes/" + private_id + "/history", agent).status == 404);
  // Complete before the start: refused on the page (409), not recorded.
  auto done = http("POST", page_url + "/complete", post, "csrf_token=" + csrf);
  BOOST_TEST(done.status == 409);
  BOOST_TEST(session_status(s.b.uid) == "scheduled");
  BOOST_TEST(http("GET", page_url + "/complete", coach).status == 405);
}
