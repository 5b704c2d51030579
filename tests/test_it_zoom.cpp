/* test_it_zoom.cpp: Zoom end to end against the running stack (nginx, the
 * FastCGI endpoints, the worker, MariaDB, the Cal.com and Zoom emulators):
 * a booking gets a meeting and its join URL (our row, CalBooking, our API and
 * Cal.com's booking location), a reschedule PATCHes the same meeting, a
 * cancel deletes it; token expiry refreshes exactly once; a Zoom outage keeps
 * the booking and the retried job creates the meeting; the webhook receiver
 * refuses bad signatures (401, nothing stored), answers URL validation, and
 * meeting/participant events reach sessions::record_evidence; a coach who
 * connected Zoom inside Cal.com gets Cal.com's meeting and none of ours. */
#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE zoom
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <thread>

#include "crypto.hpp"
#include "test_support.hpp"
#include "zoom_sig.hpp"

using namespace coach;
using namespace coach::testing;

namespace {

std::string zoom_url() {
  std::string u = env_or("COACH_ZOOM_URL", "");
  if (!u.empty()) return u;
  u = cfg().zoom_oauth_token_url;
  auto p = u.find("/oauth/token");
  return p == std::string::npos ? u : u.substr(0, p);
}

/* Meetings are made by worker jobs with retries: allow them 40 s. */
bool zoom_eventually(const std::function<bool()>& f) { return eventually(f, 40); }

Json::Value zoom_state() { return http("GET", zoom_url() + "/_emulator/state").json(); }
int64_t zoom_counter(const std::string& name) { return zoom_state()["counters"][name].asInt64(); }
Http zoom_post(const std::string& path, const std::string& body) {
  return http("POST", zoom_url() + path, {{"Content-Type", "application/json"}}, body);
}

struct Fx {
  db::Db db{db::settings_from(cfg())};
  Fx() { http_client::global_init(); }

  Person person(const std::string& role, const std::string& tz = "Europe/London") { return signed_in(db, role, tz); }
  Person new_coach() { return onboarded_coach(db); }
  /* A free session type (price 0): bookings are made at once (no payment). */
  int64_t create_type(const Person& c, const std::string& slug, int minutes, const std::string& extra = "") {
    auto r = http("POST", base_url() + "/api/cal/event-types", c.json,
                  "{\"title\":\"Zoom " + slug + "\",\"slug\":\"" + slug + "\",\"lengthInMinutes\":" +
                      std::to_string(minutes) + ",\"priceMinor\":0" + extra + "}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["id"].asInt64();
  }
  std::vector<std::string> slot_starts(const Person& c, int64_t et, const std::string& day) {
    return day_slot_instants(c.id, et, day);
  }
  std::string book(const Person& agent, const Person& c, int64_t et, const std::string& start) {
    auto r = http("POST", base_url() + "/api/cal/bookings", agent.json,
                  "{\"coachId\":" + std::to_string(c.id) + ",\"eventTypeId\":" + std::to_string(et) + ",\"start\":\"" +
                      start + "\",\"timeZone\":\"America/New_York\",\"responses\":{},\"idempotencyKey\":\"z-" +
                      crypto::random_hex(6) + "\"}");
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    return r.json()["data"]["uid"].asString();
  }
  std::optional<db::Row> meeting_of(const std::string& root) {
    return db.query_one("SELECT id, provider, state, zoom_meeting_id, join_url, booking_uid, cal_location_uid, "
                        "DATE_FORMAT(start_utc, '%Y-%m-%dT%H:%i:%sZ') AS start_iso, duration_min, n_attempts, last_error "
                        "FROM zoom_meetings WHERE chain_root_uid = ?",
                        {root});
  }
  /* The mails in the SMTP sink's Maildir whose text contains needle (0 when the dir is unknown). */
  static int mails_with(const std::string& needle, const std::string& also) {
    std::string dir = env_or("COACH_SMTP_DIR", "");
    if (dir.empty() || !std::filesystem::is_directory(dir)) return -1;
    if (std::filesystem::is_directory(dir + "/new")) dir += "/new";
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string t = ss.str();
      if (t.find(needle) != std::string::npos && t.find(also) != std::string::npos) ++n;
    }
    return n;
  }
  std::string state_of(const std::string& root) {
    auto m = meeting_of(root);
    return m ? m->str("state") : "";
  }
  /* Waits for our meeting of root to be created; returns its row. */
  db::Row created(const std::string& root) {
    BOOST_TEST_REQUIRE(zoom_eventually([&] { return state_of(root) == "created"; }), "meeting state " << state_of(root));
    return *meeting_of(root);
  }
  Json::Value cal_booking(const std::string& uid) {
    auto r = http("GET", cfg().cal_api_base_url + "/v2/bookings/" + uid, {{"cal-api-version", "2024-08-13"}});
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    return r.json()["data"];
  }
  int64_t n_events() { return db.query_one("SELECT COUNT(*) AS n FROM zoom_webhook_events")->i64("n"); }
  static Http post_webhook(const std::string& body, const std::string& ts, const std::string& sig) {
    Headers h = {{"Content-Type", "application/json; charset=utf-8"}};
    if (!ts.empty()) h.emplace_back("x-zm-request-timestamp", ts);
    if (!sig.empty()) h.emplace_back("x-zm-signature", sig);
    return http("POST", base_url() + "/api/zoom/webhook", h, body);
  }
  static std::string now_s() { return std::to_string(static_cast<int64_t>(std::time(nullptr))); }
  /* Due now: the outage test does not wait out the backoff. */
  void nudge_jobs(const std::string& root) {
    db.exec("UPDATE jobs SET run_after = CURRENT_TIMESTAMP(3) WHERE kind = 'zoom_meeting' AND status = 'pending' "
            "AND payload LIKE ?",
            {"%" + root + "%"});
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_booking_gets_a_meeting_and_its_join_url_reaches_the_booking, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "zb" + crypto::random_hex(3), 45);
  auto slots = slot_starts(coach, et, future_weekday(3, 9));
  BOOST_TEST_REQUIRE(slots.size() > 2u);
  const int64_t created0 = zoom_counter("meetings_created");
  const std::string uid = book(agent, coach, et, slots[1]);
  // The row is there from the booking's own transaction (pending until the worker runs).
  BOOST_TEST_REQUIRE(meeting_of(uid).has_value());
  db::Row m = created(uid);
  BOOST_TEST(m.str("provider") == "ours");
  BOOST_TEST(m.str("booking_uid") == uid);
  BOOST_TEST(m.str("start_iso") == slots[1]);
  BOOST_TEST(m.i64("duration_min") == 45);
  const std::string join = m.str("join_url");
  BOOST_TEST(join.rfind(zoom_url() + "/j/" + m.str("zoom_meeting_id"), 0) == 0u, join);
  BOOST_TEST(zoom_counter("meetings_created") >= created0 + 1);
  // On the booking: our row, our API.
  BOOST_TEST(db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid})->str("join_url") == join);
  auto b = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.auth);
  BOOST_TEST_REQUIRE(b.status == 200, b.body);
  BOOST_TEST(b.json()["data"]["joinUrl"].asString() == join);
  // Cal.com's booking location is the join URL (PATCH /v2/bookings/{uid}/location as the coach).
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return meeting_of(uid)->str("cal_location_uid") == uid; }));
  BOOST_TEST(cal_booking(uid)["location"].asString() == join);
  // The meeting at Zoom: what we asked for.
  auto z = http("GET", base_url() + "/api/cal/zoom/bookings/" + uid, coach.auth);
  BOOST_TEST_REQUIRE(z.status == 200, z.body);
  BOOST_TEST(z.json()["data"]["joinUrl"].asString() == join);
  BOOST_TEST(z.json()["data"]["settings"]["waitingRoom"].asBool());
  BOOST_TEST(!z.json()["data"]["settings"]["joinBeforeHost"].asBool());
  BOOST_TEST(!z.json()["data"]["startUrl"].asString().empty());
  auto live = http("GET", base_url() + "/api/cal/zoom/meetings/" + m.str("id"), coach.auth);
  BOOST_TEST_REQUIRE(live.status == 200, live.body);
  BOOST_TEST(live.json()["data"]["live"]["start_time"].asString() == slots[1]);
  BOOST_TEST(live.json()["data"]["live"]["duration"].asInt() == 45);
  BOOST_TEST(live.json()["data"]["live"]["settings"]["waiting_room"].asBool());
  // Another coach cannot see it; an agent cannot use the Zoom API at all.
  Person other = new_coach();
  BOOST_TEST(http("GET", base_url() + "/api/cal/zoom/bookings/" + uid, other.auth).status == 404);
  BOOST_TEST(http("GET", base_url() + "/api/cal/zoom/meetings/" + m.str("id"), other.auth).status == 404);
  BOOST_TEST(http("GET", base_url() + "/api/cal/zoom", agent.auth).status == 403);
  // A coach who booked a session as the client: the join link, never the host's start URL or control.
  const std::string booked_by_coach = book(other, coach, et, slots[2]);
  db::Row m2 = created(booked_by_coach);
  auto mine = http("GET", base_url() + "/api/cal/zoom/bookings/" + booked_by_coach, other.auth);
  BOOST_TEST_REQUIRE(mine.status == 200, mine.body);
  BOOST_TEST(!mine.json()["data"]["joinUrl"].asString().empty());
  BOOST_TEST(mine.json()["data"]["startUrl"].asString().empty());
  const std::string path2 = base_url() + "/api/cal/zoom/meetings/" + m2.str("id");
  BOOST_TEST(http("GET", path2, other.auth).status == 404);
  BOOST_TEST(http("PATCH", path2, other.json, "{\"duration\":15}").status == 404);
  BOOST_TEST(http("DELETE", path2, other.json).status == 404);
  BOOST_TEST(state_of(booked_by_coach) == "created");
  // The confirmation mails (queued with the booking, sent after the meeting) carry the join link.
  const std::string title = db.query_one("SELECT title FROM EventType WHERE cal_event_type_id = ?", {et})->str("title");
  if (mails_with(title, "x") >= 0)
    BOOST_TEST(eventually([&] { return mails_with(title, "/j/" + m.str("zoom_meeting_id")) >= 2; }, 30));
  // The same change again queues nothing new: exactly one meeting for the chain.
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM zoom_meetings WHERE chain_root_uid = ?", {uid})->i64("n") == 1);
}

BOOST_FIXTURE_TEST_CASE(reschedule_moves_the_same_meeting_and_cancel_deletes_it, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "zr" + crypto::random_hex(3), 30);
  auto slots = slot_starts(coach, et, future_weekday(4, 9));
  BOOST_TEST_REQUIRE(slots.size() > 4u);
  const std::string uid = book(agent, coach, et, slots[0]);
  db::Row m = created(uid);
  const std::string zid = m.str("zoom_meeting_id"), join = m.str("join_url");
  const int64_t updated0 = zoom_counter("meetings_updated");

  auto r = http("POST", base_url() + "/api/cal/bookings/" + uid + "/reschedule", agent.json,
                "{\"start\":\"" + slots[3] + "\",\"reason\":\"clash\"}");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  const std::string uid2 = r.json()["data"]["uid"].asString();
  BOOST_TEST_REQUIRE(uid2 != uid);
  BOOST_TEST_REQUIRE(zoom_eventually([&] {
    auto x = meeting_of(uid);
    return x && x->str("booking_uid") == uid2 && x->str("start_iso") == slots[3];
  }));
  m = *meeting_of(uid);
  BOOST_TEST(m.str("zoom_meeting_id") == zid);   // the same meeting, PATCHed
  BOOST_TEST(m.str("join_url") == join);
  // (Counters only grow: other tests' bookings may make meetings meanwhile.)
  BOOST_TEST(zoom_counter("meetings_updated") >= updated0 + 1);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM zoom_meetings WHERE chain_root_uid = ?", {uid})->i64("n") == 1);
  BOOST_TEST(db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid2})->str("join_url") == join);
  auto live = http("GET", base_url() + "/api/cal/zoom/meetings/" + m.str("id"), coach.auth);
  BOOST_TEST_REQUIRE(live.status == 200, live.body);
  BOOST_TEST(live.json()["data"]["live"]["start_time"].asString() == slots[3]);
  BOOST_TEST(live.json()["data"]["bookingUid"].asString() == uid2);
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return meeting_of(uid)->str("cal_location_uid") == uid2; }));
  BOOST_TEST(cal_booking(uid2)["location"].asString() == join);

  const int64_t deleted0 = zoom_counter("meetings_deleted");
  auto c = http("POST", base_url() + "/api/cal/bookings/" + uid2 + "/cancel", agent.json, "{\"reason\":\"sick\"}");
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return state_of(uid) == "deleted"; }), "state " << state_of(uid));
  BOOST_TEST(zoom_counter("meetings_deleted") >= deleted0 + 1);
  auto gone = http("GET", base_url() + "/api/cal/zoom/meetings/" + m.str("id"), coach.auth);
  BOOST_TEST(gone.status == 404, gone.body);
}

BOOST_FIXTURE_TEST_CASE(an_expired_token_is_refreshed_once, Fx) {
  Person coach = new_coach();
  auto first = http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"topic\":\"warm up\",\"duration\":15}");
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  auto fetches = [&] { return db.query_one("SELECT n_fetches FROM zoom_token WHERE id = 1")->i64("n_fetches"); };
  const int64_t n0 = fetches(), unauthorized0 = zoom_counter("unauthorized_401");
  // A cached token is reused.
  auto again = http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"topic\":\"cached\"}");
  BOOST_TEST_REQUIRE(again.status == 201, again.body);
  BOOST_TEST(fetches() == n0);

  BOOST_TEST_REQUIRE(zoom_post("/_emulator/expire-tokens", "{}").status == 200);
  auto after = http("POST", base_url() + "/api/cal/zoom/meetings", coach.json,
                    "{\"topic\":\"after expiry\",\"duration\":20,\"waitingRoom\":false,\"joinBeforeHost\":true,"
                    "\"autoRecording\":\"cloud\"}");
  BOOST_TEST_REQUIRE(after.status == 201, after.body);
  BOOST_TEST(fetches() == n0 + 1);                                        // one refresh
  BOOST_TEST(zoom_counter("unauthorized_401") >= unauthorized0 + 1);      // after a 401 (code 124)
  const Json::Value d = after.json()["data"];
  BOOST_TEST(d["settings"]["autoRecording"].asString() == "cloud");
  BOOST_TEST(!d["settings"]["waitingRoom"].asBool());
  auto live = http("GET", base_url() + "/api/cal/zoom/meetings/" + std::to_string(d["id"].asInt64()), coach.auth);
  BOOST_TEST_REQUIRE(live.status == 200, live.body);
  BOOST_TEST(live.json()["data"]["live"]["settings"]["auto_recording"].asString() == "cloud");
  BOOST_TEST(live.json()["data"]["live"]["settings"]["join_before_host"].asBool());
  BOOST_TEST(fetches() == n0 + 1);                                        // and cached again
  auto st = http("GET", base_url() + "/api/cal/zoom", coach.auth).json()["data"];
  BOOST_TEST(st["configured"].asBool());
  BOOST_TEST(st["tokenCached"].asBool());
  BOOST_TEST(st["tokenExpiresInS"].asInt64() > 60);
  // The token is never shown whole.
  BOOST_TEST(st["token"].asString().find("chars)") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_meeting_deleted_in_zoom_is_made_again, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "zd" + crypto::random_hex(3), 30);
  auto slots = slot_starts(coach, et, future_weekday(3, 11));
  BOOST_TEST_REQUIRE(!slots.empty());
  const std::string uid = book(agent, coach, et, slots[0]);
  const db::Row m = created(uid);
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return meeting_of(uid)->str("cal_location_uid") == uid; }));
  BOOST_TEST_REQUIRE(zoom_post("/_emulator/webhook/validate", "{}").status == 200);
  // Someone deletes it in Zoom (with a token of their own); Zoom sends meeting.deleted.
  auto tok = http("POST", cfg().zoom_oauth_token_url + "?grant_type=account_credentials&account_id=" + cfg().zoom_account_id,
                  {{"Authorization", "Basic " + crypto::base64_encode(cfg().zoom_client_id + ":" + cfg().zoom_client_secret)}});
  BOOST_TEST_REQUIRE(tok.status == 200, tok.body);
  auto del = http("DELETE", cfg().zoom_api_base_url + "/meetings/" + m.str("zoom_meeting_id"),
                  {{"Authorization", "Bearer " + tok.json()["access_token"].asString()}});
  BOOST_TEST_REQUIRE(del.status == 204, del.body);
  BOOST_TEST_REQUIRE(zoom_eventually([&] {
                       auto x = meeting_of(uid);
                       return x->str("state") == "created" && x->str("zoom_meeting_id") != m.str("zoom_meeting_id");
                     }),
                     "state " << state_of(uid));
  const db::Row m2 = *meeting_of(uid);
  BOOST_TEST(m2.str("join_url") != m.str("join_url"));
  BOOST_TEST(db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid})->str("join_url") == m2.str("join_url"));
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return meeting_of(uid)->str("cal_location_uid") == uid; }));
  BOOST_TEST(cal_booking(uid)["location"].asString() == m2.str("join_url"));
}

BOOST_FIXTURE_TEST_CASE(a_meeting_made_by_a_lost_attempt_is_adopted_not_duplicated, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "zl" + crypto::random_hex(3), 30);
  auto slots = slot_starts(coach, et, future_weekday(4, 12));
  BOOST_TEST_REQUIRE(!slots.empty());
  auto f = zoom_post("/_emulator/faults", "{\"path_prefix\":\"/v2/users\",\"method\":\"POST\",\"status\":503,\"count\":1000}");
  struct ClearFaults {
    ~ClearFaults() {
      try {
        http("DELETE", zoom_url() + "/_emulator/faults");
      } catch (...) {
      }
    }
  } clear_faults;
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  const std::string uid = book(agent, coach, et, slots[0]);
  auto job_waiting = [&] {
    auto j = db.query_one("SELECT status, attempts FROM jobs WHERE kind = 'zoom_meeting' AND payload LIKE ? "
                          "ORDER BY id DESC LIMIT 1", {"%" + uid + "%"});
    return j && j->str("status") == "pending" && j->i64("attempts") >= 1;
  };
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return state_of(uid) == "failed" && job_waiting(); }));
  // Hold the retry, then play an attempt that created the meeting at Zoom and
  // died before storing it: the meeting exists with the chain's marker.
  db.exec("UPDATE jobs SET run_after = CURRENT_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE kind = 'zoom_meeting' "
          "AND status = 'pending' AND payload LIKE ?", {"%" + uid + "%"});
  BOOST_TEST_REQUIRE(http("DELETE", zoom_url() + "/_emulator/faults").status == 200);
  auto tok = http("POST", cfg().zoom_oauth_token_url + "?grant_type=account_credentials&account_id=" + cfg().zoom_account_id,
                  {{"Authorization", "Basic " + crypto::base64_encode(cfg().zoom_client_id + ":" + cfg().zoom_client_secret)}});
  BOOST_TEST_REQUIRE(tok.status == 200, tok.body);
  auto lost = http("POST", cfg().zoom_api_base_url + "/users/me/meetings",
                   {{"Authorization", "Bearer " + tok.json()["access_token"].asString()}, {"Content-Type", "application/json"}},
                   "{\"topic\":\"lost attempt\",\"type\":2,\"start_time\":\"" + slots[0] +
                       "\",\"duration\":30,\"agenda\":\"Coaching session. (ref " + uid + ")\"}");
  BOOST_TEST_REQUIRE(lost.status == 201, lost.body);
  const std::string lost_id = std::to_string(lost.json()["id"].asInt64());
  BOOST_TEST_REQUIRE(zoom_eventually([&] {
                       nudge_jobs(uid);
                       return state_of(uid) == "created";
                     }),
                     "state " << state_of(uid));
  auto m = *meeting_of(uid);
  BOOST_TEST(m.str("zoom_meeting_id") == lost_id);   // adopted, not a second meeting
  BOOST_TEST(db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid})->str("join_url") == m.str("join_url"));
}

BOOST_FIXTURE_TEST_CASE(concurrent_callers_share_one_refresh, Fx) {
  Person coach = new_coach();
  BOOST_TEST_REQUIRE(http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{}").status == 201);
  auto fetches = [&] { return db.query_one("SELECT n_fetches FROM zoom_token WHERE id = 1")->i64("n_fetches"); };
  const int64_t n0 = fetches();
  BOOST_TEST_REQUIRE(zoom_post("/_emulator/expire-tokens", "{}").status == 200);
  // Several processes hit the expired token at once: the row lock lets one fetch.
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      if (http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"topic\":\"race\"}").status == 201) ++ok;
    });
  for (auto& t : ts) t.join();
  BOOST_TEST(ok.load() == 4);
  BOOST_TEST(fetches() == n0 + 1);
}

BOOST_FIXTURE_TEST_CASE(test_meetings_validate_update_and_delete, Fx) {
  Person coach = new_coach();
  BOOST_TEST(http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"duration\":0}").status == 400);
  BOOST_TEST(http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"autoRecording\":\"tape\"}").status == 400);
  BOOST_TEST(http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "{\"start\":\"tomorrow\"}").status == 400);
  BOOST_TEST(http("POST", base_url() + "/api/cal/zoom/meetings", coach.json, "[1]").status == 400);
  auto c = http("POST", base_url() + "/api/cal/zoom/meetings", coach.json,
                "{\"topic\":\"Options\",\"start\":\"2031-05-06T07:00:00Z\",\"duration\":25}");
  BOOST_TEST_REQUIRE(c.status == 201, c.body);
  const std::string id = std::to_string(c.json()["data"]["id"].asInt64());
  auto p = http("PATCH", base_url() + "/api/cal/zoom/meetings/" + id, coach.json,
                "{\"topic\":\"Moved\",\"start\":\"2031-05-06T09:30:00Z\",\"duration\":50}");
  BOOST_TEST_REQUIRE(p.status == 200, p.body);
  auto live = http("GET", base_url() + "/api/cal/zoom/meetings/" + id, coach.auth).json()["data"]["live"];
  BOOST_TEST(live["topic"].asString() == "Moved");
  BOOST_TEST(live["start_time"].asString() == "2031-05-06T09:30:00Z");
  BOOST_TEST(live["duration"].asInt() == 50);
  BOOST_TEST(http("PATCH", base_url() + "/api/cal/zoom/meetings/" + id, coach.json, "{\"duration\":-5}").status == 400);
  BOOST_TEST(http("DELETE", base_url() + "/api/cal/zoom/meetings/" + id, coach.auth).status == 200);
  BOOST_TEST(http("GET", base_url() + "/api/cal/zoom/meetings/" + id, coach.auth).status == 404);
  BOOST_TEST(http("DELETE", base_url() + "/api/cal/zoom/meetings/" + id, coach.auth).status == 409);
  BOOST_TEST(http("GET", base_url() + "/api/cal/zoom/meetings/99999999999", coach.auth).status == 404);
}

BOOST_FIXTURE_TEST_CASE(a_zoom_outage_keeps_the_booking_and_the_retry_creates_the_meeting, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "zo" + crypto::random_hex(3), 30);
  auto slots = slot_starts(coach, et, future_weekday(1, 10));
  BOOST_TEST_REQUIRE(!slots.empty());
  // Every create fails until the faults are cleared (other tests' jobs may hit them too).
  auto f = zoom_post("/_emulator/faults", "{\"path_prefix\":\"/v2/users\",\"method\":\"POST\",\"status\":503,\"count\":1000}");
  struct ClearFaults {  // also when a check below stops the test
    ~ClearFaults() {
      try {
        http("DELETE", zoom_url() + "/_emulator/faults");
      } catch (...) {
      }
    }
  } clear_faults;
  BOOST_TEST_REQUIRE(f.status == 200, f.body);
  const std::string uid = book(agent, coach, et, slots[0]);   // the booking is made (201)
  BOOST_TEST(db.query_one("SELECT status FROM CalBooking WHERE cal_uid = ?", {uid})->str("status") == "accepted");
  // The failure is visible: state failed with the error, the job waits to retry.
  BOOST_TEST_REQUIRE(zoom_eventually([&] { return state_of(uid) == "failed"; }), "state " << state_of(uid));
  auto m = *meeting_of(uid);
  BOOST_TEST(m.str("last_error").find("zoom_unavailable") != std::string::npos, m.str("last_error"));
  BOOST_TEST(m.i64("n_attempts") >= 1);
  auto j = db.query_one("SELECT status, attempts FROM jobs WHERE kind = 'zoom_meeting' AND payload LIKE ? "
                        "ORDER BY id DESC LIMIT 1", {"%" + uid + "%"});
  BOOST_TEST_REQUIRE(j.has_value());
  BOOST_TEST(j->str("status") != "done");
  auto z = http("GET", base_url() + "/api/cal/zoom/bookings/" + uid, coach.auth).json()["data"];
  BOOST_TEST(z["state"].asString() == "failed");
  // The confirmation mails went out before the meeting existed: they say the link follows.
  const std::string title = db.query_one("SELECT title FROM EventType WHERE cal_event_type_id = ?", {et})->str("title");
  if (mails_with(title, "x") >= 0)
    BOOST_TEST(eventually([&] { return mails_with(title, "the link will follow") >= 2; }, 30));
  // Still failing on the next attempt (the job is retried, not dropped).
  BOOST_TEST_REQUIRE(zoom_eventually([&] {
    nudge_jobs(uid);
    return meeting_of(uid)->i64("n_attempts") >= 2;
  }));
  BOOST_TEST(state_of(uid) == "failed");
  // After the outage the retried job creates it.
  BOOST_TEST_REQUIRE(http("DELETE", zoom_url() + "/_emulator/faults").status == 200);
  BOOST_TEST_REQUIRE(eventually([&] {
                       nudge_jobs(uid);
                       return state_of(uid) == "created";
                     }, 60),
                     "state " << state_of(uid));
  m = *meeting_of(uid);
  BOOST_TEST(m.i64("n_attempts") >= 3);
  BOOST_TEST(m.is_null("last_error"));
  BOOST_TEST(db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid})->str("join_url") == m.str("join_url"));
}

BOOST_FIXTURE_TEST_CASE(bad_signatures_are_401_and_store_nothing, Fx) {
  const std::string secret = cfg().zoom_webhook_secret;
  BOOST_TEST_REQUIRE(!secret.empty());
  const std::string body = "{\"event\":\"meeting.started\",\"event_ts\":" + now_s() +
                           "000,\"payload\":{\"account_id\":\"a\",\"object\":{\"id\":\"123\",\"uuid\":\"u-" +
                           crypto::random_hex(4) + "\"}}}";
  const int64_t n0 = n_events();
  const std::string ts = now_s();
  const std::string good = zoom_sig::sign(secret, ts, body);
  std::string tampered = body;
  tampered.replace(tampered.find("123"), 3, "124");
  BOOST_TEST(post_webhook(tampered, ts, good).status == 401);                                      // body changed
  BOOST_TEST(post_webhook(body, std::to_string(std::stoll(ts) + 1), good).status == 401);          // ts changed
  BOOST_TEST(post_webhook(body, ts, zoom_sig::sign("wrong-secret", ts, body)).status == 401);      // wrong key
  const std::string old_ts = std::to_string(std::stoll(ts) - 600);
  BOOST_TEST(post_webhook(body, old_ts, zoom_sig::sign(secret, old_ts, body)).status == 401);      // stale (replay)
  BOOST_TEST(post_webhook(body, "", good).status == 401);                                          // no timestamp
  BOOST_TEST(post_webhook(body, ts, "").status == 401);                                            // no signature
  auto r = post_webhook(body, ts, "v0=" + std::string(64, '0'));
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["error"]["code"].asString() == "invalid_signature");
  BOOST_TEST(n_events() == n0);
  // The genuine one is stored (an unknown meeting: recorded, ignored) and a repeat is a duplicate.
  auto ok = post_webhook(body, ts, good);
  BOOST_TEST_REQUIRE(ok.status == 200, ok.body);
  BOOST_TEST(!ok.json()["duplicate"].asBool());
  BOOST_TEST(n_events() == n0 + 1);
  auto dup = post_webhook(body, ts, good);
  BOOST_TEST(dup.json()["duplicate"].asBool());
  BOOST_TEST(n_events() == n0 + 1);
  BOOST_TEST(http("GET", base_url() + "/api/zoom/webhook").status == 405);
}

BOOST_FIXTURE_TEST_CASE(url_validation_is_answered, Fx) {
  const std::string secret = cfg().zoom_webhook_secret;
  const std::string plain = "pt" + crypto::random_hex(8);
  const std::string body = "{\"payload\":{\"plainToken\":\"" + plain + "\"},\"event_ts\":" + now_s() +
                           "000,\"event\":\"endpoint.url_validation\"}";
  const std::string ts = now_s();
  const int64_t n0 = n_events();
  auto r = post_webhook(body, ts, zoom_sig::sign(secret, ts, body));
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.json()["plainToken"].asString() == plain);
  BOOST_TEST(r.json()["encryptedToken"].asString() == crypto::hmac_sha256_hex(secret, plain));
  BOOST_TEST(n_events() == n0);
  // Unsigned validation requests get nothing.
  BOOST_TEST(post_webhook(body, ts, "").status == 401);
  // And the emulator's own check (signed by it, verified by it) passes.
  auto v = zoom_post("/_emulator/webhook/validate", "{}");
  BOOST_TEST_REQUIRE(v.status == 200, v.body);
  BOOST_TEST(v.json()["validated"].asBool(), v.body);
}

BOOST_FIXTURE_TEST_CASE(meeting_events_reach_the_session_evidence, Fx) {
  Person coach = new_coach(), agent = person("agent");
  int64_t et = create_type(coach, "ze" + crypto::random_hex(3), 30);
  auto slots = slot_starts(coach, et, future_weekday(5, 9));
  BOOST_TEST_REQUIRE(!slots.empty());
  const std::string uid = book(agent, coach, et, slots[0]);
  const std::string zid = created(uid).str("zoom_meeting_id");
  const std::string agent_email = db.query_one("SELECT email FROM users WHERE id = ?", {agent.id})->str("email");
  BOOST_TEST_REQUIRE(zoom_post("/_emulator/webhook/validate", "{}").status == 200);
  BOOST_TEST_REQUIRE(zoom_post("/_emulator/meetings/" + zid + "/start", "{}").status == 200);
  auto j = zoom_post("/_emulator/meetings/" + zid + "/participants",
                     "{\"action\":\"join\",\"user_name\":\"Agent A\",\"email\":\"" + agent_email + "\"}");
  BOOST_TEST_REQUIRE(j.status == 200, j.body);
  BOOST_TEST_REQUIRE(zoom_post("/_emulator/meetings/" + zid + "/end", "{}").status == 200);
  auto applied = [&](const std::string& ev) {
    auto r = db.query_one("SELECT COUNT(*) AS n FROM zoom_webhook_events WHERE zoom_meeting_id = ? AND event = ? "
                          "AND status = 'applied' AND booking_uid = ?",
                          {std::stoll(zid), ev, uid});
    return r->i64("n") >= 1;
  };
  for (const char* ev : {"meeting.started", "meeting.participant_joined", "meeting.participant_left", "meeting.ended"})
    BOOST_TEST(eventually([&] { return applied(ev); }, 30), ev);
  auto m = *db.query_one("SELECT zoom_status, started_at IS NOT NULL AS s, ended_at IS NOT NULL AS e FROM zoom_meetings "
                         "WHERE chain_root_uid = ?", {uid});
  BOOST_TEST(m.str("zoom_status") == "ended");
  BOOST_TEST(m.i64("s") == 1);
  BOOST_TEST(m.i64("e") == 1);
  // record_evidence: session_events (engineer D's table) holds them once each, from Zoom.
  auto has_table = db.query_one("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() "
                                "AND table_name = 'session_events'");
  if (has_table->i64("n") > 0) {
    auto n = db.query_one("SELECT COUNT(*) AS n FROM session_events WHERE source = 'zoom' AND booking_uid = ?", {uid});
    BOOST_TEST(n->i64("n") == 4);
    // ...but that meeting ran days before the booked time (a test of the link): the session is not started by it.
    BOOST_TEST(db.query_one("SELECT status FROM CoachingSession WHERE root_uid = ?", {uid})->str("status") == "scheduled");
  }
  // The events show on the API.
  auto evs = http("GET", base_url() + "/api/cal/zoom/events", coach.auth);
  BOOST_TEST_REQUIRE(evs.status == 200, evs.body);
  int mine = 0;
  const Json::Value ej = evs.json();
  for (const auto& e : ej["data"])
    if (e["bookingUid"].asString() == uid) ++mine;
  BOOST_TEST(mine >= 4);
}

BOOST_FIXTURE_TEST_CASE(a_coach_with_zoom_in_calcom_gets_no_second_meeting, Fx) {
  Person coach = new_coach(), agent = person("agent");
  const int64_t cal_user = db.query_one("SELECT cal_user_id FROM CalendarIntegration WHERE user_id = ?", {coach.id})
                               ->i64("cal_user_id");
  auto ca = emu_post("/_emulator/connect-app",
                     "{\"userId\":" + std::to_string(cal_user) + ",\"app\":\"zoom\",\"connected\":true}");
  BOOST_TEST_REQUIRE(ca.status == 200, ca.body);
  int64_t et = create_type(coach, "zc" + crypto::random_hex(3), 30, ",\"location\":\"zoom\"");
  auto slots = slot_starts(coach, et, future_weekday(2, 10));
  BOOST_TEST_REQUIRE(!slots.empty());
  const std::string uid = book(agent, coach, et, slots[0]);
  const std::string cal_url = db.query_one("SELECT join_url FROM CalBooking WHERE cal_uid = ?", {uid})->str("join_url");
  BOOST_TEST(cal_url.find("zoom.us/j/") != std::string::npos, cal_url);
  auto m = meeting_of(uid);
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->str("provider") == "calcom");
  BOOST_TEST(m->str("state") == "external");
  BOOST_TEST(m->str("join_url") == cal_url);
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'zoom_meeting' AND payload LIKE ?",
                          {"%" + uid + "%"})->i64("n") == 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  BOOST_TEST(state_of(uid) == "external");
  BOOST_TEST(db.query_one("SELECT COUNT(*) AS n FROM zoom_meetings WHERE chain_root_uid = ? AND provider = 'ours'",
                          {uid})->i64("n") == 0);
  auto b = http("GET", base_url() + "/api/cal/bookings/" + uid, agent.auth);
  BOOST_TEST(b.json()["data"]["joinUrl"].asString() == cal_url);
}

BOOST_FIXTURE_TEST_CASE(the_test_page_renders_for_coaches_only, Fx) {
  Person coach = new_coach(), agent = person("agent");
  auto r = http("GET", base_url() + "/cal-zoom-integration-test", coach.auth);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(r.body.find("id=\"btn-check\"") != std::string::npos);
  BOOST_TEST(r.body.find("id=\"create-form\"") != std::string::npos);
  BOOST_TEST(http("GET", base_url() + "/cal-zoom-integration-test", agent.auth).status == 403);
}

BOOST_FIXTURE_TEST_CASE(the_coach_hosts_when_a_zoom_user_else_the_account_owner, Fx) {
  const Json::Value users = zoom_state()["users"];
  std::string owner_id;
  for (const auto& u : users)
    if (u["owner"].asBool()) owner_id = u["id"].asString();
  BOOST_TEST_REQUIRE(!owner_id.empty());
  // A coach invited into the Zoom account (a "+" in the address survives the path).
  Person invited = new_coach(), outsider = new_coach(), agent = person("agent");
  const std::string email = "coach+" + crypto::random_hex(4) + "@zoom-hosts.example";
  db.exec("UPDATE users SET email = ? WHERE id = ?", {email, invited.id});
  auto add = zoom_post("/_emulator/users", "{\"email\":\"" + email + "\"}");
  BOOST_TEST_REQUIRE(add.status == 200, add.body);
  const std::string zoom_user_id = add.json()["id"].asString();
  BOOST_TEST_REQUIRE(!zoom_user_id.empty());
  BOOST_TEST(zoom_user_id != owner_id);

  int64_t et1 = create_type(invited, "zh" + crypto::random_hex(3), 30);
  auto s1 = slot_starts(invited, et1, future_weekday(2, 10));
  BOOST_TEST_REQUIRE(s1.size() > 1u);
  const std::string uid1 = book(agent, invited, et1, s1[1]);
  created(uid1);
  BOOST_TEST(db.query_one("SELECT host_id FROM zoom_meetings WHERE chain_root_uid = ?", {uid1})->str("host_id") ==
             zoom_user_id);

  // A coach without a Zoom user still gets a meeting: the account owner hosts it.
  int64_t et2 = create_type(outsider, "zo" + crypto::random_hex(3), 30);
  auto s2 = slot_starts(outsider, et2, future_weekday(2, 10));
  BOOST_TEST_REQUIRE(s2.size() > 1u);
  const std::string uid2 = book(agent, outsider, et2, s2[1]);
  created(uid2);
  BOOST_TEST(db.query_one("SELECT host_id FROM zoom_meetings WHERE chain_root_uid = ?", {uid2})->str("host_id") ==
             owner_id);
}
